import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
