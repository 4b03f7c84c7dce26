import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type ApiKeyInfo,
  type CreatedApiKey,
  credentialsFile,
  openRemoteBackend,
  QuiverError,
  RemoteBackend,
  type RemoteIdentity,
  readCredentials,
  serverKeyOf,
  type TeamInfo,
  type UserInfo,
} from '@quiver/core';
import { Command, Option } from 'commander';
import { type CommonOptions, isJsonOutput, runWithClient, withCommonOptions } from '../context.js';
import { createOutput, reportError, table } from '../output.js';
import { UsageError, wholeNumber } from '../usage.js';

function remoteOf(backend: unknown): RemoteBackend {
  if (!(backend instanceof RemoteBackend))
    throw new QuiverError(
      'E_USAGE',
      "This talks to a Quiver server: set QUIVER_BASE_URL and QUIVER_API_KEY, or run 'quiver login <url>' first.",
    );
  return backend;
}

/** Runs a body against the server the environment (or `quiver login`) names. */
export function withServer(
  options: CommonOptions,
  body: (server: RemoteBackend, output: ReturnType<typeof createOutput>) => Promise<void>,
): Promise<void> {
  return runWithClient(options, async (client, output) => {
    await body(remoteOf(client.backend), output);
    return 0;
  });
}

/** The options of `quiver server start`, as commander parses them. */
interface StartFlags {
  data: string;
  host: string;
  port: number;
  corsOrigin?: string[];
  logLevel?: string;
  json?: boolean;
}

function startCommand(): Command {
  return new Command('start')
    .description(
      'start a team server on an embedded store (SQLite and a blob folder; QUIVER_DATABASE_URL for PostgreSQL)',
    )
    .addOption(new Option('--data <dir>', 'data folder').default('quiver-data').env('QUIVER_SERVER_DATA'))
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'port (0: any free one)')
        .argParser(wholeNumber('--port', 0, 65535))
        .default(8080)
        .env('QUIVER_SERVER_PORT'),
    )
    .addOption(
      new Option(
        '--cors-origin <origin>',
        'let browser pages of this origin (scheme://host[:port], e.g. http://127.0.0.1:5173) call the API; repeat for more (default: QUIVER_CORS_ORIGINS, comma-separated; else none)',
      ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(
      new Option(
        '--log-level <level>',
        'how much the JSON request log says (default: info; warn with --json, whose log goes to standard error)',
      )
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .env('QUIVER_LOG_LEVEL'),
    )
    .addOption(new Option('--json', 'print the URL (and first admin key) as one JSON line'))
    .action(async (options: StartFlags) => {
      options.json ||= isJsonOutput();
      const { parseCorsOrigin, startServer } = await import('@quiver/server');
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        const corsOrigins = options.corsOrigin?.map((value) => {
          try {
            return parseCorsOrigin(value, '--cors-origin');
          } catch (error) {
            throw new UsageError('E_INVALID_OPTION', error instanceof Error ? error.message : String(error), {
              option: '--cors-origin',
              value,
            });
          }
        });
        server = await startServer({
          dataDir: options.data,
          host: options.host,
          port: options.port,
          // With --json, standard output is the one line below; the log goes to standard error.
          logger: options.json
            ? { level: options.logLevel ?? 'warn', stream: process.stderr }
            : { level: options.logLevel ?? 'info' },
          ...(corsOrigins ? { corsOrigins } : {}),
        });
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
        return;
      }
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ url: server.url, ...(server.adminKey ? { adminKey: server.adminKey } : {}) })}\n`,
        );
      } else {
        process.stdout.write(`Quiver server listening on ${server.url} (data in ${options.data})\n`);
        if (server.corsOrigins)
          process.stdout.write(
            `Browser pages of ${server.corsOrigins.join(', ')} may call its API (CORS).\n`,
          );
        if (server.adminKey)
          process.stdout.write(
            `First start: user 'admin' was created. Its API key, shown this once:\n\n  ${server.adminKey}\n\nRun: quiver login ${server.url} --key <that key>\n`,
          );
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

/** Everything on standard input (a password is piped in, so it never sits in argv or the shell history). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function userCommand(): Command {
  const user = new Command('user').description('users of the server (server admins)');
  user.addCommand(
    withCommonOptions(new Command('create'))
      .argument('<name>')
      .option('--admin', 'make the user a server admin')
      .action((name: string, options: CommonOptions & { admin?: boolean }) =>
        withServer(options, async (server, output) => {
          const created = (await server.request('POST', '/admin/users', {
            name,
            admin: options.admin ?? false,
          })) as UserInfo;
          output.result(
            created,
            (value) => `created user ${value.name}${value.admin ? ' (server admin)' : ''}`,
          );
        }),
      ),
  );
  user.addCommand(
    withCommonOptions(new Command('password'))
      .description(
        "set a user's password for the web UI's sign-in (yours, or as a server admin anyone's); read from standard input",
      )
      .argument('<name>')
      .action((name: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const password = (await readStdin()).replace(/\r?\n$/, '');
          if (password === '')
            throw new QuiverError(
              'E_USAGE',
              `Pipe the password in: printf '%s' "$PASSWORD" | quiver server user password ${name}`,
            );
          await server.request('PUT', `/admin/users/${encodeURIComponent(name)}/password`, { password });
          output.result(
            { user: name, password: 'set' },
            () => `set the password of ${name}; their browser sessions ended`,
          );
        }),
      ),
  );
  user.addCommand(
    withCommonOptions(new Command('ls')).action((options: CommonOptions) =>
      withServer(options, async (server, output) => {
        const users = (await server.request('GET', '/admin/users')) as UserInfo[];
        output.result(users, (value) =>
          table(
            ['NAME', 'ADMIN', 'CREATED'],
            value.map((u) => [u.name, u.admin ? 'yes' : '', u.createdAt]),
          ),
        );
      }),
    ),
  );
  return user;
}

function teamCommand(): Command {
  const team = new Command('team').description(
    'teams: entities their members share (made by server admins; members managed by team admins)',
  );
  const show = (value: TeamInfo) =>
    `team ${value.name}: ${value.members.map((m) => `${m.user} (${m.role})`).join(', ') || 'no members'}`;
  team.addCommand(
    withCommonOptions(new Command('create'))
      .argument('<name>')
      .action((name: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          output.result((await server.request('POST', '/admin/teams', { name })) as TeamInfo, show);
        }),
      ),
  );
  team.addCommand(
    withCommonOptions(new Command('add'))
      .description('add a user to a team, or change its role there')
      .argument('<team>')
      .argument('<user>')
      .addOption(
        new Option('--role <role>', 'viewer, member or admin')
          .choices(['viewer', 'member', 'admin'])
          .default('member'),
      )
      .action((name: string, user: string, options: CommonOptions & { role: string }) =>
        withServer(options, async (server, output) => {
          const path = `/admin/teams/${encodeURIComponent(name)}/members/${encodeURIComponent(user)}`;
          output.result(
            (await server.request('PUT', path, { role: options.role }, { idempotent: true })) as TeamInfo,
            show,
          );
        }),
      ),
  );
  team.addCommand(
    withCommonOptions(new Command('remove'))
      .argument('<team>')
      .argument('<user>')
      .action((name: string, user: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const path = `/admin/teams/${encodeURIComponent(name)}/members/${encodeURIComponent(user)}`;
          output.result((await server.request('DELETE', path)) as TeamInfo, show);
        }),
      ),
  );
  team.addCommand(
    withCommonOptions(new Command('ls')).action((options: CommonOptions) =>
      withServer(options, async (server, output) => {
        const teams = (await server.request('GET', '/admin/teams')) as TeamInfo[];
        output.result(teams, (value) => (value.length === 0 ? '(none)' : value.map(show).join('\n')));
      }),
    ),
  );
  return team;
}

function keyCommand(): Command {
  const key = new Command('key').description('API keys: your own (a server admin: anyone’s)');
  key.addCommand(
    withCommonOptions(new Command('create'))
      .description('make an API key (for yourself, or as a server admin for <user>); it is shown this once')
      .argument('[user]')
      .requiredOption('--name <name>', 'what the key is for, such as ci or laptop')
      .action((user: string | undefined, options: CommonOptions & { name: string }) =>
        withServer(options, async (server, output) => {
          const created = (await server.request('POST', '/admin/keys', {
            ...(user !== undefined ? { user } : {}),
            name: options.name,
          })) as CreatedApiKey;
          output.result(
            created,
            (value) => `API key for ${value.user} (${value.name}), shown this once:\n\n  ${value.key}\n`,
          );
        }),
      ),
  );
  key.addCommand(
    withCommonOptions(new Command('ls'))
      .option('--user <name>', 'only this user’s keys')
      .action((options: CommonOptions & { user?: string }) =>
        withServer(options, async (server, output) => {
          const query = options.user ? `?user=${encodeURIComponent(options.user)}` : '';
          const keys = (await server.request('GET', `/admin/keys${query}`)) as ApiKeyInfo[];
          output.result(keys, (value) =>
            table(
              ['ID', 'USER', 'NAME', 'KEY', 'LAST USED', 'REVOKED'],
              value.map((k) => [k.id, k.user, k.name, k.hint, k.lastUsedAt ?? 'never', k.revokedAt ?? '']),
            ),
          );
        }),
      ),
  );
  key.addCommand(
    withCommonOptions(new Command('revoke'))
      .argument('<id>')
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const revoked = (await server.request(
            'POST',
            `/admin/keys/${encodeURIComponent(id)}/revoke`,
            {},
            { idempotent: true },
          )) as ApiKeyInfo;
          output.result(revoked, (value) => `revoked key ${value.id} (${value.name}) of ${value.user}`);
        }),
      ),
  );
  return key;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('the team server: start it, and manage its users, teams and keys')
    .addCommand(startCommand())
    .addCommand(userCommand())
    .addCommand(teamCommand())
    .addCommand(keyCommand());
}

/** Asks for the key on the terminal (or reads its first line from a pipe), so it is not on the command line. */
async function askForKey(url: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal: process.stdin.isTTY,
  });
  try {
    return (await prompt.question(process.stdin.isTTY ? `API key for ${url}: ` : '')).trim();
  } finally {
    prompt.close();
  }
}

/** `quiver login <url>`: checks the key with the server and keeps it in a file only its owner can read. */
export function loginCommand(): Command {
  return new Command('login')
    .description('log in to a Quiver server: keep its API key for this user and make it the default server')
    .argument('<url>', 'the server, such as http://localhost:8080')
    .addOption(
      new Option(
        '--key <key>',
        'the API key (else QUIVER_API_KEY, else asked for; a key on the command line may be seen by others)',
      ),
    )
    .addOption(new Option('--json', 'print machine-readable JSON on stdout'))
    .action(async (url: string, options: { key?: string; json?: boolean }) => {
      const output = createOutput(options.json === true || isJsonOutput());
      try {
        const apiKey = options.key ?? process.env.QUIVER_API_KEY ?? (await askForKey(url));
        const backend = await openRemoteBackend({ baseUrl: url, apiKey });
        const identity: RemoteIdentity = backend.identity;
        const file = credentialsFile();
        const credentials = readCredentials();
        const origin = serverKeyOf(url);
        credentials.servers[origin] = { apiKey, user: identity.actor };
        credentials.default = origin;
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
        output.result(
          { server: origin, user: identity.actor, file },
          (value) =>
            `logged in to ${value.server} as ${value.user} (key kept in ${value.file}, readable only by you)`,
        );
      } catch (error) {
        process.exitCode = reportError(error, output.json);
      }
    });
}

export function whoamiCommand(): Command {
  return withCommonOptions(new Command('whoami'))
    .description('show who the API key acts for on the server, and its teams')
    .action((options: CommonOptions) =>
      withServer(options, async (server, output) => {
        const identity = server.identity;
        output.result(
          {
            server: server.blobs.location,
            user: identity.actor,
            entity: identity.entity,
            memberships: identity.memberships,
          },
          (value) =>
            [
              `${value.user} on ${value.server}`,
              ...value.memberships.map((m) => `  ${m.entity}: ${m.role}`),
            ].join('\n'),
        );
      }),
    );
}
