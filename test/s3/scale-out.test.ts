import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { openClient, type QuiverClient } from '@quiver/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithKey, POSTGRES_ADMIN_URL } from '../support/backends.js';
import { type LoadBalancer, startLoadBalancer } from '../support/load-balancer.js';
import { runScript } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/remote-server.js';
import { createBucket, deleteBucket, listBucket, s3Client, s3StoreEnv, testS3 } from '../support/s3.js';

const s3 = testS3();
const GiB = 1024 ** 3;

/** Writes `size` pseudo-random bytes (fast: one random MiB repeated with a counter in each). */
async function bigFile(path: string, size: number): Promise<void> {
  const block = randomBytes(1024 * 1024);
  const handle = await open(path, 'w');
  try {
    for (let offset = 0, index = 0; offset < size; offset += block.length, index++) {
      block.writeUInt32LE(index, 0);
      await handle.write(block, 0, Math.min(block.length, size - offset), offset);
    }
  } finally {
    await handle.close();
  }
}

// Two replicas over one PostgreSQL database and one RGW bucket, behind nginx configured as
// docs/deploy.md says.
describe.skipIf(!s3)('scale-out: 2 replicas over PostgreSQL and Ceph RGW behind nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-scale-'));
  const database = `quiver_scale_${randomBytes(5).toString('hex')}`;
  const databaseUrl = Object.assign(new URL(POSTGRES_ADMIN_URL), { pathname: `/${database}` }).href;
  let bucket: string;
  let replicaEnv: Record<string, string>;
  const replicas: TestServer[] = [];
  let balancer: LoadBalancer;
  let adminKey: string;
  let testerKey: string;
  let env: Record<string, string>;

  const startReplica = (index: number) =>
    startTestServer({ dataDir: join(dir, `replica-${index}-${Date.now()}`), databaseUrl, env: replicaEnv });
  /** Bytes a process has read, sockets included (`rchar` of /proc/<pid>/io). */
  const bytesRead = (replica: TestServer): number => {
    try {
      return Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${replica.process.pid}/io`, 'utf8'))?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  /** The replica that has read `threshold` more bytes than when this was called (polls for 60 s). */
  const replicaReceiving = async (threshold: number): Promise<TestServer> => {
    const before = replicas.map(bytesRead);
    for (let waited = 0; waited < 60_000; waited += 100) {
      const index = replicas.findIndex((replica, at) => bytesRead(replica) - before[at]! > threshold);
      if (index !== -1) return replicas[index]!;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('no replica received the upload');
  };
  const clientOf = (baseUrl: string): Promise<QuiverClient> =>
    openClient({ baseUrl, apiKey: testerKey, dir: mkdtempSync(join(dir, 'client-')) });

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    bucket = await createBucket(s3!);
    replicaEnv = { ...s3StoreEnv(s3!, bucket), QUIVER_SECRET_KEY: randomBytes(32).toString('hex') };
    // Both start at once on the empty database: migrations and the first admin happen once.
    replicas.push(...(await Promise.all([startReplica(0), startReplica(1)])));
    const keys = replicas.map((replica) => replica.adminKey).filter(Boolean);
    expect(keys).toHaveLength(1);
    adminKey = keys[0]!;
    balancer = await startLoadBalancer(replicas.map((replica) => replica.url));
    testerKey = await createUserWithKey({ url: balancer.url, adminKey } as TestServer, 'tester', {
      admin: true,
    });
    env = {
      QUIVER_DIR: join(dir, 'workers'),
      QUIVER_BASE_URL: balancer.url,
      QUIVER_API_KEY: testerKey,
      QUIVER_ENTITY: 'tester',
    };
  }, 180_000);

  afterAll(async () => {
    await balancer?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
    if (bucket) await deleteBucket(s3!, bucket);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 processes × 25 new + 25 duplicate commits and a 1 GiB upload, with a replica SIGKILLed in the middle: v0…v99, nothing partial, verify clean', {
    timeout: 600_000,
  }, async () => {
    const big = join(dir, 'big.bin');
    await bigFile(big, GiB);
    const workers = [0, 1, 2, 3].map((worker) =>
      runScript('test/children/commit-worker.ts', [String(worker)], env),
    );
    const upload = runScript('test/children/log-big-file.ts', [big], env);
    // Kill the replica the upload's bytes are flowing through, once 100 MiB of it went in.
    const victim = await replicaReceiving(100 * 1024 * 1024);
    victim.process.kill('SIGKILL');
    const results = await Promise.all(workers);
    const uploaded = await upload;
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(uploaded.stdout.trim().split('\n').pop()!) as {
      ref?: string;
      error?: { code: string };
    };
    // The SDK sent the upload again, from the file, through the surviving replica.
    expect(uploaded.code, `${uploaded.stdout}${uploaded.stderr}`).toBe(0);
    expect(answer.ref).toBe('tester/faults/big:v0');

    // A new replica replaces the dead one; everything is read through the balancer.
    replicas[replicas.indexOf(victim)] = await startReplica(2);
    const client = await clientOf(replicas[0]!.url);
    try {
      const versions = await client.versions('race/shared').toArray();
      expect(versions.map((version) => version.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 100 }, (_, index) => index),
      );
      const holders = new Map<string, number>();
      for (const version of versions)
        for (const alias of version.aliases) holders.set(alias, (holders.get(alias) ?? 0) + 1);
      for (const [alias, count] of holders) expect(count, alias).toBe(1);
      const [entry] = await (await client.artifact(answer.ref!)).entries();
      expect(entry!.size).toBe(GiB);
      // Whatever the killed replica left half-done is invisible: only sealed, whole blobs count,
      // and a gc of abandoned uploads leaves no multipart upload open.
      const report = await client.verify();
      expect(report.problems).toEqual([]);
      await client.gc({ graceMs: 0 });
      const raw = s3Client(s3!);
      const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      raw.destroy();
      expect(uploads.Uploads ?? []).toEqual([]);
      expect((await client.verify()).ok).toBe(true);
      expect((await listBucket(s3!, bucket, 'sha256/')).filter((item) => item.size === GiB)).toHaveLength(1);
    } finally {
      await client.close();
      rmSync(big, { force: true });
    }
  });

  it('alias moves from 2 clients × 200 on different replicas: one holder at every moment, an ordered history', {
    timeout: 300_000,
  }, async () => {
    const client = await clientOf(balancer.url);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const file = join(dir, 'model.bin');
      for (let index = 0; index < 5; index++) {
        writeFileSync(file, `base ${index}`);
        const logged = await runScript(
          'packages/cli/src/bin.ts',
          ['artifact', 'put', 'tester/moves/net', file, '--json'],
          env,
        );
        expect(logged.code, logged.stderr).toBe(0);
        await client.registry.link(`tester/moves/net:v${index}`, { model: 'race' }, { create: true });
      }
      await client.registry.setAlias('registry/race:v4', 'production', { force: true });
      // Each mover talks to its own replica, straight (not through the balancer).
      const movers = Promise.all(
        replicas.map((replica, index) =>
          runScript('test/children/registry-mover.ts', [String(2 * index), String(2 * index + 1), '200'], {
            ...env,
            QUIVER_BASE_URL: replica.url,
          }),
        ),
      );
      let done = false;
      const finished = movers.finally(() => {
        done = true;
      });
      let observations = 0;
      while (!done) {
        const holders = await db.query(
          `select a.link_id from registry_aliases a join registered_models m on m.id = a.model_id
           where m.name = 'race' and a.alias = 'production'`,
        );
        expect(holders.rows).toHaveLength(1);
        expect((await client.registry.version('registry/race:production')).aliases).toContain('production');
        observations++;
      }
      for (const result of await finished) expect(result.code, result.stderr).toBe(0);
      expect(observations).toBeGreaterThan(10);
      const history = await client.registry.history({ model: 'race' });
      const moves = history.filter(
        (event) => (event.after as { alias?: string } | null)?.alias === 'production',
      );
      expect(moves).toHaveLength(1 + 400);
      for (let index = 1; index < moves.length; index++) {
        expect(moves[index]!.action).toBe('alias.move');
        expect((moves[index]!.before as { version: number }).version).toBe(
          (moves[index - 1]!.after as { version: number }).version,
        );
        expect(moves[index]!.sequence).toBeGreaterThan(moves[index - 1]!.sequence);
      }
      const final = await client.registry.version('registry/race:production');
      expect(final.version).toBe((moves.at(-1)!.after as { version: number }).version);
    } finally {
      await db.end();
      await client.close();
    }
  });
});
