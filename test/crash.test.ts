import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { QuiverClient } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';
import { runScript, spawnScript } from './support/processes.js';

const KILLS = 20;

/** Every visible version must be whole: its entry count matches, and every blob is there and intact. */
async function assertNoPartialVersion(client: QuiverClient): Promise<number> {
  const versions = await client.versions('crash', 'checkpoint').catch(() => []);
  for (const version of versions) {
    const entries = await version.entries();
    expect(entries).toHaveLength(version.fileCount);
    expect(entries).toHaveLength(14);
    for (const entry of entries)
      expect(await client.store.backend.blobs.has(entry.sha256, entry.size)).toBe(true);
  }
  return versions.length;
}

/**
 * Starts the worker and SIGKILLs it `milliseconds` after it starts — or, with `afterFirstCommit`,
 * that long after its first commit (so a slow start on a loaded machine cannot make every kill
 * land before any commit).
 */
function killAfter(
  milliseconds: number,
  env: Record<string, string>,
  options: { afterFirstCommit?: boolean } = {},
): Promise<{ committed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawnScript('test/children/crash-worker.ts', [], env);
    let committed = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), milliseconds);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      committed += chunk
        .toString()
        .split('\n')
        .filter((line) => line.startsWith('committed')).length;
      if (committed > 0 && options.afterFirstCommit) arm();
    });
    if (!options.afterFirstCommit) arm();
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`worker ended on its own (${signal})`));
      else resolve({ committed });
    });
  });
}

describe.each(testBackends())('crashes on %s', (backend) => {
  it(`SIGKILL at random moments (${KILLS}×) never leaves a visible partial version; verify is clean; gc cleans leftovers`, {
    timeout: 300_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const client = await testStore.client();
    let seen = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // Start-up takes ~0.5–1 s (more on a loaded machine); then each commit ~50–150 ms: half the
      // kills are spread over start-up and the first commits, half land among later commits.
      if (kill % 2 === 0) await killAfter(500 + Math.floor(Math.random() * 1500), testStore.env);
      else await killAfter(Math.floor(Math.random() * 400), testStore.env, { afterFirstCommit: true });
      seen = await assertNoPartialVersion(client);
    }
    expect(seen).toBeGreaterThan(0); // kills landed after some commits too, not only during start-up

    const verify = await client.verify();
    expect(verify.problems).toEqual([]);

    const finished = await runScript('test/children/crash-worker.ts', ['2'], testStore.env);
    expect(finished.code).toBe(0);
    expect(await assertNoPartialVersion(client)).toBe(seen + 2);

    const temporaries = readdirSync(join(testStore.dir, 'blobs', 'tmp'));
    const collected = await client.gc({ graceMs: 0 });
    expect(collected.temporaries).toBe(temporaries.length);
    expect(readdirSync(join(testStore.dir, 'blobs', 'tmp'))).toEqual([]);
    // After gc every stored blob is referenced by a version, and the store still verifies.
    expect((await client.gc({ graceMs: 0, dryRun: true })).blobs).toBe(0);
    expect((await client.verify()).ok).toBe(true);
    await assertNoPartialVersion(client);
  });
});
