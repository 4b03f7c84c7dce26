import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Artifact, type EmbeddedBackend, QuiverClient, type Store, storeOver } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { HOST_TAG } from '../packages/core/src/blobs/process-owner.js';
import { createTestStore, testBackends } from './support/backends.js';
import { runScript } from './support/processes.js';

const ROUNDS = 100; // per putter: 200 rounds per case

describe.each(testBackends())('gc beside commits on %s', (backend) => {
  it.each([
    ['the default grace, blobs aged past it', 'default', 'age'],
    ['grace 0', '0', 'fresh'],
  ])(
    'gc in a loop at %s while 2 processes delete and re-put the same content, 200 rounds → every committed version downloads and verifies',
    {
      timeout: 240_000,
    },
    async (_label, grace, age) => {
      await using testStore = await createTestStore(backend);
      const client = await testStore.client();
      const stopFile = join(testStore.dir, 'stop-gc');
      const collector = runScript('test/children/gc-race-collector.ts', [grace, stopFile], testStore.env);
      const putters = await Promise.all(
        [0, 1].map((worker) =>
          runScript('test/children/gc-race-putter.ts', [String(worker), String(ROUNDS), age], testStore.env),
        ),
      );
      writeFileSync(stopFile, '');
      const gc = await collector;
      for (const result of [...putters, gc]) {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      }
      const outcomes = putters.map(
        (result) => JSON.parse(result.stdout) as { committed: number; failures: string[]; kept: string },
      );
      const collected = JSON.parse(gc.stdout) as { runs: number; blobs: number };
      // The race was really run: gc removed content between re-puts of it.
      expect(collected.runs).toBeGreaterThan(5);
      expect(collected.blobs).toBeGreaterThan(0);
      for (const outcome of outcomes) {
        // A commit may give up (typed, nothing recorded) only rarely; it never lies about success.
        expect(outcome.failures.every((code) => code === 'E_CONCURRENT_GC')).toBe(true);
        expect(outcome.committed).toBeGreaterThanOrEqual(ROUNDS * 0.9);
        expect(outcome.kept, 'the last round gave up (E_CONCURRENT_GC): nothing to check').toBeDefined();
        const kept = await client.artifact(outcome.kept);
        const report = await kept.verify(await kept.download(join(testStore.dir, `final-${kept.name}`)));
        expect(report.ok).toBe(true);
      }
      await client.gc({ graceMs: 0 });
      const verify = await client.verify();
      expect(verify.problems).toEqual([]);
      expect(verify.ok).toBe(true);
    },
  );
});

describe('gc that loses its lock or is killed', () => {
  it('puts back what it took when its transaction fails (a dropped connection ends the lock early)', async () => {
    await using testStore = await createTestStore('sqlite');
    const client = await testStore.client();
    const version = await client.commit(new Artifact('m', 'model').addBytes('a.bin', 'content'), {
      project: 'p',
    });
    const [entry] = await version.entries();
    await client.deleteVersion(version.ref, { force: true });
    const store = client.store as Store<EmbeddedBackend>;
    const real = store.backend;
    const connection: EmbeddedBackend['connection'] = {
      ...real.connection,
      // The work runs (blobs are taken), then COMMIT fails as on a lost connection.
      writeTransaction: async (work) => {
        await real.connection.writeTransaction(work);
        throw new Error('Connection terminated unexpectedly');
      },
    };
    // The same backend over that connection (not closed: it shares the real one's connection).
    const Embedded = real.constructor as typeof EmbeddedBackend;
    const secrets = (real as unknown as { secrets: ConstructorParameters<typeof EmbeddedBackend>[3] })
      .secrets;
    const failing = storeOver(new Embedded(connection, real.blobs, real.principal, secrets), store.settings);
    await expect(new QuiverClient(failing).gc({ graceMs: 0 })).rejects.toThrow('Connection terminated');
    expect(await store.backend.blobs.has(entry!.sha256, entry!.size)).toBe(true);
    expect(readdirSync(join(testStore.dir, 'blobs', 'trash'))).toEqual([]);
    expect((await client.gc({ graceMs: 0 })).blobs).toBe(1);
    expect(await store.backend.blobs.has(entry!.sha256)).toBe(false);
  });

  it('a later gc puts back the blobs a killed gc had taken', async () => {
    await using testStore = await createTestStore('sqlite');
    const client = await testStore.client();
    const version = await client.commit(new Artifact('m', 'model').addBytes('a.bin', 'kept'), {
      project: 'p',
    });
    const [entry] = await version.entries();
    // As a gc of this machine killed between taking the blob and committing leaves it (pid 2^22+1
    // is above Linux's pid_max, so never alive; the host tag is the one the store writes).
    const blob = join(testStore.dir, 'blobs', 'sha256', entry!.sha256.slice(0, 2), entry!.sha256);
    const trash = join(testStore.dir, 'blobs', 'trash', `${Date.now()}-4194305-${HOST_TAG}-000000000000`);
    mkdirSync(trash, { recursive: true });
    renameSync(blob, join(trash, entry!.sha256));
    expect((await client.verify()).ok).toBe(false);
    await client.gc();
    expect((await client.verify()).ok).toBe(true);
    expect(readdirSync(join(testStore.dir, 'blobs', 'trash'))).toEqual([]);
  });
});
