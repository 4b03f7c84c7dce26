import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The folder holding initdb / pg_ctl, or undefined when PostgreSQL's server binaries are absent. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // No pg_config.
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (free when asked; nothing holds it afterwards). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A PostgreSQL server of this test alone, which it may stop and restart at will. */
export interface PrivatePostgres extends AsyncDisposable {
  port: number;
  /** The superuser's password (logins over TCP need it: scram-sha-256). */
  password: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>`. */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (clients are told "terminating connection due to administrator command"). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops, waits `downMs` with the server down, starts again. */
  restart(downMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * initdb + pg_ctl in a temp folder (owned by `postgres` when running as root, as PostgreSQL
 * refuses to run as root), listening on 127.0.0.1 only, on a free port.
 */
export async function startPrivatePostgres(password = 'private-pg-secret'): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb) are not installed');
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'quiver-private-pg-'));
  const data = join(root, 'data');
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${password}\n`);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
    chownSync(passwordFile, uid, gid);
  }
  chmodSync(root, 0o700);
  const tool = (name: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, name), ...args], { cwd: root })
      : run(join(bin, name), args, { cwd: root });

  await tool('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${passwordFile}`,
    '--no-sync',
    '--no-instructions',
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${root}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=40',
    '-c shared_buffers=16MB',
  ].join(' ');
  const start = async (): Promise<void> => {
    await tool('pg_ctl', [
      '-D',
      data,
      '-l',
      join(root, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '30',
      'start',
    ]);
  };
  const stop = async (): Promise<void> => {
    await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  await start();

  const url = (database = 'postgres'): string =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await tool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  };
  return {
    port,
    password,
    url,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    stop,
    start,
    async restart(downMs = 2000) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}
