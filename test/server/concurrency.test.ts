import { describe, expect, it } from 'vitest';
import { createTestStore } from '../support/backends.js';
import { runScript } from '../support/processes.js';

describe('commits through the server from several processes', () => {
  it('4 processes × 25 new + 25 duplicate commits give exactly v0…v99, each alias on one version', {
    timeout: 300_000,
  }, async () => {
    await using testStore = await createTestStore('remote');
    const results = await Promise.all(
      [0, 1, 2, 3].map((worker) =>
        runScript('test/children/commit-worker.ts', [String(worker)], testStore.env),
      ),
    );
    for (const result of results) expect(result.stderr).toBe('');
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);
    const client = await testStore.client();
    const versions = await client.versions('race/shared').toArray();
    expect(versions.map((version) => version.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, index) => index),
    );
    expect(new Set(versions.map((version) => version.digest)).size).toBe(100);
    const holders = new Map<string, number[]>();
    for (const version of versions)
      for (const alias of version.aliases)
        holders.set(alias, [...(holders.get(alias) ?? []), version.version]);
    expect([...holders.keys()].sort()).toEqual([
      'best',
      'dup0',
      'dup1',
      'dup2',
      'dup3',
      'latest',
      'w0',
      'w1',
      'w2',
      'w3',
    ]);
    for (const [alias, held] of holders) expect(held, alias).toHaveLength(1);
    expect(holders.get('latest')).toEqual([99]);
    // The server's store is whole.
    expect((await client.verify()).ok).toBe(true);
  });
});
