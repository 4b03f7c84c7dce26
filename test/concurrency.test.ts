import { describe, expect, it } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';
import { runScript } from './support/processes.js';

describe.each(testBackends())('concurrent commits on %s', (backend) => {
  it('4 processes × (25 new + 25 already committed) → exactly v0…v99, latest on v99, every alias on one version', {
    timeout: 180_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const store = await testStore.open(); // creates the schema, as a first user would
    const results = await Promise.all(
      [0, 1, 2, 3].map((worker) =>
        runScript('test/children/commit-worker.ts', [String(worker)], testStore.env),
      ),
    );
    for (const result of results) expect(result.stderr).toBe('');
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);

    const db = store.backend.connection.db;
    const versions = await db
      .selectFrom('artifact_versions')
      .select(['version', 'digest'])
      .where('state', '=', 'committed')
      .orderBy('version')
      .execute();
    expect(versions.map((row) => row.version)).toEqual(Array.from({ length: 100 }, (_, index) => index));
    expect(new Set(versions.map((row) => row.digest)).size).toBe(100);

    const aliases = await db
      .selectFrom('aliases')
      .innerJoin('artifact_versions', 'artifact_versions.id', 'aliases.version_id')
      .select(['aliases.alias', 'artifact_versions.version'])
      .execute();
    const holders = new Map<string, number[]>();
    for (const row of aliases) holders.set(row.alias, [...(holders.get(row.alias) ?? []), row.version]);
    expect([...holders.keys()].sort()).toEqual(
      ['best', 'dup0', 'dup1', 'dup2', 'dup3', 'latest', 'w0', 'w1', 'w2', 'w3'].sort(),
    );
    for (const [, held] of holders) expect(held).toHaveLength(1);
    expect(holders.get('latest')).toEqual([99]);
  });
});
