// Validation that must not lock users out: explicit options win over a bad environment value, and
// aliases an older Quiver accepted (now refused as version-shaped) can still be removed.
import { Artifact, type EmbeddedBackend, init } from '@quiver/core';
import { describe, expect, it, vi } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';

describe.each(testBackends())('validation compatibility on %s', (backend) => {
  it("init({ mode: 'local' }) wins over QUIVER_MODE=bogus; QUIVER_MODE=bogus alone is refused", async () => {
    await using testStore = await createTestStore(backend);
    vi.stubEnv('QUIVER_DIR', testStore.dir);
    vi.stubEnv('QUIVER_DATABASE_URL', testStore.env.QUIVER_DATABASE_URL);
    vi.stubEnv('QUIVER_MODE', 'bogus');
    try {
      await expect(init({ project: 'p' })).rejects.toMatchObject({ code: 'E_INVALID_ENV' });
      const run = await init({ project: 'p', mode: 'local' });
      expect((await run.finish()).state).toBe('finished');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('an alias stored by an older version (v-1) can be removed, not set', async () => {
    await using testStore = await createTestStore(backend);
    const client = await testStore.client();
    const version = await client.commit(new Artifact('m', 'model').addBytes('a.txt', 'a'), { project: 'p' });
    const { db } = (client.store.backend as EmbeddedBackend).connection;
    const { id: versionKey } = await db
      .selectFrom('artifact_versions')
      .select('id')
      .where('uid', '=', version.id)
      .executeTakeFirstOrThrow();
    await db
      .insertInto('aliases')
      .values({
        artifact_id: (await db.selectFrom('artifacts').select('id').executeTakeFirstOrThrow()).id,
        version_id: versionKey,
        alias: 'v-1',
        updated_at: new Date().toISOString(),
      })
      .execute();
    await expect(client.setAlias(version.ref, 'v-1')).rejects.toMatchObject({ code: 'E_INVALID_ALIAS' });
    const after = await client.removeAlias(version.ref, 'v-1');
    expect(after.aliases).toEqual(['latest']);
  });
});
