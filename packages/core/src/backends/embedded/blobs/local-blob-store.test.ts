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

  it('stages a path, bytes or a stream alike, and serves whole blobs and ranges as streams', async () => {
    const root = mkdtempSync(join(tmpdir(), 'quiver-blobs-'));
    const store = new LocalBlobStore(join(root, 'blobs'));
    const bytes = randomBytes(3 * MiB + 17);
    const file = join(root, 'input.bin');
    writeFileSync(file, bytes);
    async function* chunks() {
      for (let offset = 0; offset < bytes.length; offset += 64 * 1024)
        yield bytes.subarray(offset, offset + 64 * 1024);
    }
    let streamed = 0;
    const fromStream = await store.stage({ stream: chunks() }, { onProgress: (n) => (streamed += n) });
    expect(streamed).toBe(bytes.length);
    expect(fromStream).toMatchObject({ sha256: sha256Hex(bytes), size: bytes.length, reused: false });
    expect(await store.has(fromStream.sha256)).toBe(false); // nothing visible before publish
    await store.publish([fromStream]);
    expect(await store.stage({ path: file })).toMatchObject({ sha256: fromStream.sha256, reused: true });
    expect(await store.stage({ bytes })).toMatchObject({ sha256: fromStream.sha256, reused: true });
    const read = async (range?: { start: number; end: number }) => {
      const parts: Buffer[] = [];
      for await (const chunk of await store.open(fromStream.sha256, range)) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts);
    };
    expect((await read()).equals(bytes)).toBe(true);
    expect((await read({ start: 10, end: 1000 })).equals(bytes.subarray(10, 1000))).toBe(true);
    expect((await read({ start: 5, end: 5 })).length).toBe(0);
    expect(store.localPath(fromStream.sha256)).toBe(store.pathOf(fromStream.sha256));
    await expect(store.open('0'.repeat(64))).rejects.toMatchObject({ code: 'E_BLOB_MISSING' });
    await expect(store.open('../../etc/passwd')).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
  });
});
