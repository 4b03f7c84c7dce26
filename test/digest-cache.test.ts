// The file-digest cache is state of one client machine: it lives in <QUIVER_DIR>/client.db, not
// in the (possibly shared) metadata database, and a cache that cannot be used only costs a re-hash.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, type EmbeddedBackend } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';

describe.each(testBackends())('the digest cache on %s', (backend) => {
  it('is kept in client.db of the client directory, never in the metadata database', async () => {
    await using testStore = await createTestStore(backend);
    const client = await testStore.client();
    const source = join(mkdtempSync(join(tmpdir(), 'quiver-digests-')), 'weights.bin');
    writeFileSync(source, Buffer.alloc(2 * 1024 * 1024, 5)); // above the 1 MiB cache threshold
    const first = await client.commit(new Artifact('m', 'model').addFile(source), { project: 'p' });
    const again = await client.commit(new Artifact('m', 'model').addFile(source), { project: 'p' });
    expect(again.ref).toBe(first.ref);
    expect(again.deduplicated).toBe(true);
    // The metadata database has no file_digests table at all (migration 0003 dropped it).
    const tables = await (client.store.backend as EmbeddedBackend).connection.db.introspection.getTables();
    expect(tables.map((table) => table.name)).not.toContain('file_digests');
    const file = join(testStore.dir, 'client.db');
    expect(existsSync(file)).toBe(true);
    expect(client.store.digests.file).toBe(file);
    const rows = client.store.digests.database()!.prepare('select path, sha256 from file_digests').all();
    expect(rows).toEqual([{ path: source, sha256: (await first.entries())[0]!.sha256 }]);
  });

  it('a client.db that is not a database only costs a re-hash', async () => {
    await using testStore = await createTestStore(backend);
    writeFileSync(join(testStore.dir, 'client.db'), 'this is not SQLite');
    const client = await testStore.client();
    const source = join(mkdtempSync(join(tmpdir(), 'quiver-digests-')), 'weights.bin');
    writeFileSync(source, Buffer.alloc(2 * 1024 * 1024, 6));
    const version = await client.commit(new Artifact('m', 'model').addFile(source), { project: 'p' });
    expect((await client.commit(new Artifact('m', 'model').addFile(source), { project: 'p' })).ref).toBe(
      version.ref,
    );
    expect((await client.verify()).ok).toBe(true);
  });
});
