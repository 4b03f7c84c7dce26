// What a put leaves behind when it fails, and what a version returned by a finished run can do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init, isQuiverError, openClient } from '@quiver/core';
import { describe, expect, it, vi } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (isQuiverError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error(`expected a QuiverError, got ${JSON.stringify(await promise)}`);
}

describe('a put that fails', () => {
  it('on a full store disk: E_DISK_FULL names the store side, nothing is committed, no staging file stays', {
    timeout: 60_000,
  }, async () => {
    const mount = mkdtempSync(join(tmpdir(), 'quiver-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mount]);
    const source = mkdtempSync(join(tmpdir(), 'quiver-full-source-'));
    try {
      const dir = join(mount, 'store');
      writeFileSync(join(source, 'big.bin'), Buffer.alloc(5 * 1024 * 1024, 1));
      for (let index = 0; index < 12; index++)
        writeFileSync(join(source, `part-${index}.bin`), Buffer.alloc(300 * 1024, index + 2));
      const client = await openClient({ dir, entity: 'tester' });
      try {
        const drafts = [['big.bin'], readdirSync(source).filter((name) => name.startsWith('part-'))].map(
          (files) => {
            const draft = new Artifact('weights', 'model');
            for (const file of files) draft.addFile(join(source, file));
            return draft;
          },
        );
        // Bytes in memory above 256 KiB are written on a worker thread (TF.js checkpoints).
        drafts.push(
          new Artifact('weights', 'model').addBytes('weights.bin', new Uint8Array(5 * 1024 * 1024).fill(9)),
        );
        for (const draft of drafts) {
          const error = await errorOf(client.commit(draft, { project: 'full' }));
          expect(error.code).toBe('E_DISK_FULL');
          expect(error.message).toContain("store's blob folder");
          expect(error.message).toContain('Nothing was committed');
          expect(error.details).toMatchObject({ side: 'store', errno: 'ENOSPC' });
          // The failing put removed what it had staged: the disk is not left full.
          expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([]);
          expect(await client.artifacts({ project: 'full' })).toEqual([]);
        }
        // With the space back, the same put succeeds.
        const small = await client.commit(
          new Artifact('weights', 'model').addFile(join(source, 'part-0.bin')),
          {
            project: 'full',
          },
        );
        expect(small.version).toBe(0);
      } finally {
        await client.close();
      }
    } finally {
      execFileSync('umount', ['-l', mount]); // lazy: a handle still open must not leave it mounted
      rmSync(mount, { recursive: true, force: true });
      rmSync(source, { recursive: true, force: true });
    }
  });

  it('on a source that fails to read (EIO): E_IO names the source, nothing is committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quiver-eio-'));
    const client = await openClient({ dir, entity: 'tester' });
    try {
      // Reading /proc/self/mem at offset 0 (unmapped) fails with EIO: a failing device, on demand.
      const error = await errorOf(
        client.commit(new Artifact('broken', 'dataset').addFile('/proc/self/mem', { name: 'mem.bin' }), {
          project: 'eio',
        }),
      );
      expect(error.code).toBe('E_IO');
      expect(error.message).toContain('/proc/self/mem');
      expect(error.message).toContain('Nothing was committed');
      expect(error.details).toMatchObject({ side: 'source', errno: 'EIO' });
      expect(await client.artifacts({ project: 'eio' })).toEqual([]);
      expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([]);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(testBackends())('a version after run.finish() on %s', (backend) => {
  it('still lists, reads, downloads and verifies (the README example: log, finish, then use)', async () => {
    await using testStore = await createTestStore(backend);
    // The run opens (and finish closes) its own store, as in the README.
    vi.stubEnv('QUIVER_DIR', testStore.dir);
    vi.stubEnv('QUIVER_ENTITY', 'tester');
    vi.stubEnv('QUIVER_DATABASE_URL', testStore.env.QUIVER_DATABASE_URL);
    try {
      const run = await init({ project: 'mnist' });
      const version = await run.logArtifact(new Artifact('mlp', 'model').addBytes('model.json', '{"a":1}'), {
        aliases: ['best'],
      });
      await run.finish();
      expect((await version.entries()).map((entry) => entry.path)).toEqual(['model.json']);
      expect(new TextDecoder().decode(await version.read('model.json'))).toBe('{"a":1}');
      const target = join(testStore.dir, 'out');
      mkdirSync(target);
      await version.download(target);
      expect((await version.verify(target)).ok).toBe(true);
      expect((await version.newDraft()).entries).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('a store folder that cannot be created', () => {
  it('under /proc fails at once with E_READ_ONLY (Node’s recursive mkdir would loop forever)', async () => {
    const started = Date.now();
    await expect(openClient({ dir: '/proc/quiver-store/deeper', entity: 'tester' })).rejects.toMatchObject({
      code: 'E_READ_ONLY',
      message: expect.stringContaining('does not accept new folders'),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
