import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../blobs/copy-and-hash.js';
import { LocalBlobStore } from './local-blob-store.js';

const MiB = 1024 * 1024;

describe('LocalBlobStore', () => {
  it.each([100 * 1024, 3 * MiB, 40 * MiB])(
    'stores a %d-byte file under the sha256 of its bytes, read-only',
    async (size) => {
      const root = mkdtempSync(join(tmpdir(), 'quiver-blobs-'));
      const store = new LocalBlobStore(join(root, 'blobs'));
      const file = join(root, 'input.bin');
      const bytes = randomBytes(size);
      writeFileSync(file, bytes);
      const staged = await store.stageFile(file);
      expect(staged.sha256).toBe(sha256Hex(bytes));
      await store.publish([staged]);
      expect(readFileSync(store.pathOf(staged.sha256)).equals(bytes)).toBe(true);
      expect(statSync(store.pathOf(staged.sha256)).mode & 0o777).toBe(0o444);
    },
  );

  it('never stores a blob whose bytes differ from its name, even when the file changes while it is copied', async () => {
    const root = mkdtempSync(join(tmpdir(), 'quiver-blobs-'));
    const store = new LocalBlobStore(join(root, 'blobs'));
    for (let attempt = 0; attempt < 6; attempt++) {
      const file = join(root, `changing-${attempt}.bin`);
      writeFileSync(file, randomBytes(48 * MiB));
      const changer = setTimeout(() => writeFileSync(file, randomBytes(48 * MiB)), attempt * 15);
      const staged = await store.stageFile(file);
      clearTimeout(changer);
      await store.publish([staged]);
      const stored = await store.rehash(staged.sha256);
      expect(stored?.sha256).toBe(staged.sha256);
    }
  });
});
