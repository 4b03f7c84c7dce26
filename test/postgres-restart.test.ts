import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Artifact,
  type EmbeddedBackend,
  init,
  isQuiverError,
  openEmbeddedStore,
  openStore,
  QuiverClient,
  type Store,
} from '@quiver/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type PrivatePostgres,
  postgresBinDir,
  startPrivatePostgres,
} from './support/private-postgres.js';
import { spawnScript } from './support/processes.js';

const haveServer = postgresBinDir() !== undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dirs: string[] = [];
const stores: Store[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-pg-restart-'));
  dirs.push(dir);
  return dir;
}

async function storeOn(databaseUrl: string, dir = tempDir()): Promise<Store<EmbeddedBackend>> {
  const store = await openEmbeddedStore({ dir, entity: 'tester', databaseUrl });
  stores.push(store);
  return store;
}

const draft = (content: string): Artifact => new Artifact('weights', 'model').addBytes('w.bin', content);

type Executor = Parameters<Parameters<EmbeddedBackend['connection']['writeTransaction']>[0]>[0];

/**
 * A probe row in an existing table (event_consumers: primary key name + topic, read by nothing
 * here); a second insert fails.
 */
const insertProbe = (db: Executor, id: number, attempt: number) =>
  db
    .insertInto('event_consumers')
    .values({ name: 'probe', topic: String(id), cursor: 0, updated_at: `attempt-${attempt}` })
    .execute();

const probes = async (db: Executor) =>
  (
    await db
      .selectFrom('event_consumers')
      .select(['topic', 'updated_at'])
      .where('name', '=', 'probe')
      .orderBy('topic')
      .execute()
  ).map((row) => `${row.topic}:${row.updated_at}`);

/**
 * A loopback TCP proxy in front of the server that, once armed, cuts the connection when the
 * client sends a given SQL text: either after passing it on (the server runs it, the reply is
 * lost) or before (the server never sees it).
 */
async function cuttingProxy(targetPort: number) {
  let trigger: { text: string; forward: boolean; fired: boolean } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(targetPort, '127.0.0.1');
    upstream.on('data', (chunk) => client.write(chunk));
    // Forwarded before the cut: the server gets the whole statement, and closes its end itself.
    let forwarded = false;
    client.on('data', (chunk: Buffer) => {
      if (trigger && !trigger.fired && chunk.includes(trigger.text)) {
        trigger.fired = true;
        forwarded = trigger.forward;
        if (trigger.forward) upstream.end(chunk);
        else upstream.destroy();
        client.destroy();
        return;
      }
      upstream.write(chunk);
    });
    const close = () => {
      client.destroy();
      if (!forwarded) upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    /** Cuts the next connection that sends `text`. */
    arm(text: string, forward: boolean) {
      trigger = { text, forward, fired: false };
      return trigger;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!haveServer)(
  `a PostgreSQL restart under a live process${haveServer ? '' : ' (skipped: PostgreSQL server binaries — initdb — are not installed)'}`,
  () => {
    let server: PrivatePostgres;
    beforeAll(async () => {
      server = await startPrivatePostgres();
    });
    afterAll(async () => server?.cleanup());

    it('an idle pool across a restart: the next commit and metric log succeed, and the process lives', async () => {
      const store = await storeOn(await server.createDatabase('idle_pool'));
      const client = new QuiverClient(store);
      const run = await init({ project: 'restart', store });
      await run.logArtifact(draft('one'));
      run.log({ loss: 1 });
      await run.flush();

      // The pool's idle connections are told "terminating connection due to administrator command".
      await server.restart(1500);

      const second = await run.logArtifact(draft('two'));
      expect(second.version).toBe(1);
      run.log({ loss: 0.5 });
      await run.flush();

      // Work started while the server is down waits for it.
      await server.stop();
      const during = Promise.all([
        run.logArtifact(draft('three')),
        (async () => {
          run.log({ loss: 0.25 });
          await run.flush();
        })(),
      ]);
      await sleep(1500);
      await server.start();
      const [third] = await during;
      expect(third.version).toBe(2);

      const finished = await run.finish();
      expect(finished.state).toBe('finished');
      const details = await client.run(run.id);
      expect(details.history.map((row) => row.loss)).toEqual([1, 0.5, 0.25]);
      const versions = await client.versions('restart', 'weights');
      expect(versions.map((version) => version.version).sort()).toEqual([0, 1, 2]);
      for (const version of versions)
        expect((await version.verify(await version.download(tempDir()))).ok).toBe(true);
    });

    it('a transaction whose connection is killed mid-work runs again and commits once', async () => {
      const url = await server.createDatabase('killed_mid_work');
      const store = await storeOn(url);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        let attempts = 0;
        const result = await store.backend.connection.writeTransaction(async (trx) => {
          attempts++;
          if (attempts === 1) {
            const { pid } = await trx
              .selectNoFrom((eb) => eb.fn<number>('pg_backend_pid', []).as('pid'))
              .executeTakeFirstOrThrow();
            await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
          }
          await insertProbe(trx, 1, attempts);
          return attempts;
        });
        expect(result).toBe(2);
        expect(await probes(store.backend.connection.db)).toEqual(['1:attempt-2']);
      } finally {
        await admin.end();
      }
    });

    it('when the reply to COMMIT is lost, the outcome is looked up: landed → not run again; not landed → run again', async () => {
      const url = await server.createDatabase('lost_commit');
      const proxy = await cuttingProxy(server.port);
      try {
        const store = await storeOn(url.replace(`:${server.port}/`, `:${proxy.port}/`));
        const rows = () => probes(store.backend.connection.db);

        // COMMIT reaches the server, the acknowledgement never comes back.
        let attempts = 0;
        const landed = proxy.arm('commit\0', true);
        await store.backend.connection.writeTransaction(async (trx) => {
          attempts++;
          await insertProbe(trx, 1, attempts);
        });
        expect(landed.fired).toBe(true);
        expect(attempts).toBe(1);
        expect(await rows()).toEqual(['1:attempt-1']);

        // The connection drops before COMMIT reaches the server: rolled back, so run again.
        attempts = 0;
        const lost = proxy.arm('commit\0', false);
        await store.backend.connection.writeTransaction(async (trx) => {
          attempts++;
          await insertProbe(trx, 2, attempts);
        });
        expect(lost.fired).toBe(true);
        expect(attempts).toBe(2);
        expect(await rows()).toEqual(['1:attempt-1', '2:attempt-2']);

        // A repeatable statement outside a transaction (an UPDATE setting constants) is re-sent.
        const update = proxy.arm('update "runs"', true);
        const run = await init({ project: 'restart', store });
        await store.backend.connection.db
          .updateTable('runs')
          .set({ notes: 'resent' })
          .where('id', '=', run.id)
          .execute();
        expect(update.fired).toBe(true);
        expect((await new QuiverClient(store).run(run.id)).notes).toBe('resent');

        // A plain INSERT whose reply is lost is not re-sent (it may have been applied): E_DATABASE.
        const insert = proxy.arm('insert into "event_consumers"', true);
        const error = await insertProbe(store.backend.connection.db, 3, 0).catch((caught: unknown) => caught);
        expect(insert.fired).toBe(true);
        expect(isQuiverError(error, 'E_DATABASE')).toBe(true);
        expect((error as Error).message).toMatch(/may or may not have been applied/);
        expect((error as Error).message).toContain('QUIVER_DATABASE_URL');
        expect((error as Error).message).not.toContain(server.password);
        // It was applied (once the server ran it, after the cut): running it again would have
        // failed or doubled it.
        await expect
          .poll(rows, { timeout: 10_000, interval: 100 })
          .toEqual(['1:attempt-1', '2:attempt-2', '3:attempt-0']);
        await run.finish();
      } finally {
        await proxy.close();
      }
    });

    it('a training run with the checkpoint callback survives a restart: it finishes and every checkpoint is stored', async () => {
      const url = await server.createDatabase('training');
      const dir = tempDir();
      const epochs = 16;
      const child = spawnScript('test/children/train-through-restart.ts', [String(epochs), '250'], {
        QUIVER_DIR: dir,
        QUIVER_DATABASE_URL: url,
        QUIVER_ENTITY: 'tester',
      });
      let stdout = '';
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      const reachedEpoch = new Promise<void>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/^epoch 3 /m.test(stdout)) resolve();
        });
      });
      await Promise.race([reachedEpoch, exited]);
      const epochsBefore = [...stdout.matchAll(/^epoch (\d+) /gm)].length;
      await server.restart(2000);
      const runningAfterRestart = child.exitCode === null;
      const { code, signal } = await exited;

      expect({
        code,
        signal,
        stderr: stderr
          .split('\n')
          .filter((line) => /error|warn/i.test(line))
          .map((line) => line.slice(0, 300)),
      }).toEqual({
        code: 0,
        signal: null,
        stderr: [],
      });
      // The restart happened mid-training: epochs ended after the server came back.
      expect(runningAfterRestart).toBe(true);
      expect(epochsBefore).toBeLessThan(epochs);
      const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { runId: string; state: string };
      expect(summary.state).toBe('finished');

      const store = await storeOn(url, dir);
      const client = new QuiverClient(store);
      const details = await client.run(summary.runId);
      expect(details.state).toBe('finished');
      expect(details.history).toHaveLength(epochs);
      const versions = (await client.versions('restart', `model-${summary.runId}`)).reverse();
      expect(versions.map((version) => version.aliases.find((alias) => alias.startsWith('epoch-')))).toEqual(
        Array.from({ length: epochs }, (_, index) => `epoch-${index + 1}`),
      );
      expect(versions.at(-1)!.aliases).toContain('final');
      for (const version of versions) {
        const target = await version.download(join(tempDir(), `v${version.version}`));
        expect((await version.verify(target)).ok).toBe(true);
      }
    });

    it('a wrong password is E_DATABASE naming QUIVER_DATABASE_URL, without the password', async () => {
      const wrong = server.url().replace(server.password, 'hunter2-wrong');
      const error = await openStore({ dir: tempDir(), databaseUrl: wrong }).catch(
        (caught: unknown) => caught,
      );
      expect(isQuiverError(error, 'E_DATABASE')).toBe(true);
      expect((error as Error).message).toMatch(/wrong password/);
      expect((error as Error).message).toContain('QUIVER_DATABASE_URL');
      expect((error as Error).message).toContain('postgres://postgres:***@127.0.0.1');
      expect(JSON.stringify(error)).not.toContain('hunter2-wrong');
      expect((error as Error).message).not.toContain('hunter2-wrong');
    });
  },
);

describe('PostgreSQL connection errors say what is wrong and what to check, without the password', () => {
  const secret = 'hunter2-secret';
  let silent: Server;
  let silentPort = 0;
  beforeAll(async () => {
    // Accepts connections and never answers: a connect timeout, not a hang.
    silent = createServer(() => undefined);
    silentPort = await freePort();
    await new Promise<void>((resolve) => silent.listen(silentPort, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    silent.close();
  });

  const failure = async (databaseUrl: string) => {
    const startedAt = Date.now();
    const error = await openStore({ dir: tempDir(), databaseUrl }).catch((caught: unknown) => caught);
    expect(isQuiverError(error, 'E_DATABASE')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('QUIVER_DATABASE_URL');
    expect(message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
    return {
      message,
      details: (error as { details: Record<string, unknown> }).details,
      ms: Date.now() - startedAt,
    };
  };

  it.concurrent('no such database', async () => {
    const admin = new URL(
      process.env.QUIVER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    );
    admin.password = secret;
    admin.pathname = '/quiver_no_such_database';
    const { message, details } = await failure(admin.href);
    expect(details.problem).toBe('no-database');
    expect(message).toMatch(/database 'quiver_no_such_database' does not exist/);
    expect(message).toMatch(/createdb/);
  });

  it.concurrent('bad host', async () => {
    const { message, details } = await failure(`postgres://u:${secret}@nonexistent.invalid:5432/db`);
    expect(details.problem).toBe('unknown-host');
    expect(message).toMatch(/host 'nonexistent\.invalid' could not be found/);
    expect(message).toContain('postgres://u:***@nonexistent.invalid:5432/db');
  });

  it.concurrent('refused port', async () => {
    const port = await freePort();
    const { message, details, ms } = await failure(`postgres://u:${secret}@127.0.0.1:${port}/db`);
    expect(details.problem).toBe('refused');
    expect(message).toMatch(/connection refused/);
    expect(message).toMatch(/not running/);
    expect(ms).toBeLessThan(5000);
  });

  it.concurrent('unroutable / unresponsive host: fails after the 10 s connect timeout instead of hanging', async () => {
    const { message, details, ms } = await failure(`postgres://u:${secret}@127.0.0.1:${silentPort}/db`);
    expect(details.problem).toBe('timeout');
    expect(message).toMatch(/timed out after 10 s/);
    expect(ms).toBeGreaterThanOrEqual(9_000);
    expect(ms).toBeLessThan(20_000);
  });

  it.concurrent('the URL parameter connect_timeout (seconds) shortens it', async () => {
    const { details, ms } = await failure(
      `postgres://u:${secret}@127.0.0.1:${silentPort}/db?connect_timeout=1`,
    );
    expect(details.problem).toBe('timeout');
    expect(ms).toBeLessThan(5000);
  });
});
