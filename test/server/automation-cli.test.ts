import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/processes.js';
import { startReceiver } from '../support/webhook-receiver.js';

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-automation-cli-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('mia');
  const key = (await store.backend.accounts.createKey('mia', 'cli')).key;
  app = await buildServer({
    backend: store.backend,
    logger: false,
    webhooks: { allow: ['127.0.0.1'], pollMs: 50, retryBaseMs: 100 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  env = {
    QUIVER_BASE_URL: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    QUIVER_API_KEY: key,
    QUIVER_DIR: join(dir, 'client'),
    HOOK_TOKEN: 'bearer-from-the-environment',
  };
});

afterAll(async () => {
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('quiver automation', () => {
  it('creates, lists, tests, shows the log, pauses, resumes and deletes, with --json; the secret is shown once', {
    timeout: 120_000,
  }, async () => {
    await using receiver = await startReceiver();
    const created = await runCli(
      [
        'automation',
        'create',
        '--name',
        'notify',
        '--trigger',
        'artifact.alias.added',
        '--filter',
        '^best$',
        '--url',
        receiver.url,
        '--bearer-token-env',
        'HOOK_TOKEN',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const secret = /whsec_\S+/.exec(created.stdout)?.[0];
    expect(secret).toBeDefined();
    expect(created.stdout).toContain('shown this once');
    const id = /aut_[0-9A-Z]+/.exec(created.stdout)![0];

    const listed = await runCli(['automation', 'ls', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { id, name: 'notify', trigger: 'artifact.alias.added', filter: '^best$', hasBearerToken: true },
    ]);
    for (const output of [listed.stdout, listed.stderr]) {
      expect(output).not.toContain(secret!);
      expect(output).not.toContain('bearer-from-the-environment');
    }

    expect((await runCli(['automation', 'test', id], env)).code).toBe(0);
    const [webhook] = await receiver.waitFor(1);
    expect(
      new Webhook(secret!).verify(webhook!.body, {
        'webhook-id': String(webhook!.headers['webhook-id']),
        'webhook-timestamp': String(webhook!.headers['webhook-timestamp']),
        'webhook-signature': String(webhook!.headers['webhook-signature']),
      }),
    ).toMatchObject({ type: 'automation.test' });
    expect(webhook!.headers.authorization).toBe('Bearer bearer-from-the-environment');

    let log: Array<{ state: string; attempts: number }> = [];
    for (let i = 0; i < 50 && log[0]?.state !== 'delivered'; i++) {
      const shown = await runCli(['automation', 'deliveries', id, '--json'], env);
      log = JSON.parse(shown.stdout);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(log).toMatchObject([{ state: 'delivered', attempts: 1 }]);
    const shown = await runCli(['automation', 'show', id], env);
    expect(shown.stdout).toMatch(/delivered\s+1\s+200 in \d+ ms/);

    const paused = await runCli(['automation', 'pause', id, '--json'], env);
    expect(paused.code, paused.stderr + paused.stdout).toBe(0);
    expect(JSON.parse(paused.stdout).state).toBe('paused');
    const resumed = await runCli(['automation', 'resume', id, '--skip', '--json'], env);
    expect(resumed.code, `signal ${resumed.signal}: ${resumed.stderr}${resumed.stdout}`).toBe(0);
    expect(JSON.parse(resumed.stdout).state).toBe('active');
    const rotated = await runCli(['automation', 'rotate-secret', id], env);
    expect(rotated.stdout).toMatch(/whsec_/);
    expect(rotated.stdout).not.toContain(secret!);
    expect((await runCli(['automation', 'rm', id], env)).code).toBe(0);
    const gone = await runCli(['automation', 'show', id], env);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/No automation/);
  });

  it('refuses bad input with what to do, and makes nothing', { timeout: 60_000 }, async () => {
    const template = join(dir, 'broken.json');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template variable outside a string
    writeFileSync(template, '{"text": ${alias}}');
    const cases: Array<[string[], RegExp]> = [
      [
        ['--trigger', 'run.metric', '--url', 'http://127.0.0.1:9/h', '--threshold', 'loss~1'],
        /--threshold is/,
      ],
      [['--trigger', 'registry.link', '--url', 'ftp://example.com/h'], /http:\/\/ or https:\/\//],
      [['--trigger', 'registry.link', '--url', 'http://10.0.0.1/h'], /private, loopback or link-local/],
      [
        ['--trigger', 'registry.link', '--url', 'http://127.0.0.1:9/h', '--filter', '(unclosed'],
        /regular expression/,
      ],
      [
        ['--trigger', 'registry.link', '--url', 'http://127.0.0.1:9/h', '--template-file', template],
        /not JSON/,
      ],
      [
        ['--trigger', 'registry.link', '--url', 'http://127.0.0.1:9/h', '--bearer-token-env', 'NOPE_UNSET'],
        /not set/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['automation', 'create', '--name', 'bad', ...args], env);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(await store.backend.automations.list('mia')).toEqual([]);
  });
});
