import { createHash, randomFillSync } from 'node:crypto';
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

const WRITE_CHUNK_BYTES = 16 * MiB;
/** As core's copy-and-hash reads. */
const HASH_CHUNK_BYTES = 4 * MiB;

/** Writes `bytes` random bytes to a new file. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  const handle = await open(path, 'wx');
  try {
    for (let written = 0; written < bytes; ) {
      const length = Math.min(WRITE_CHUNK_BYTES, bytes - written);
      randomFillSync(chunk, 0, length);
      written += (await handle.write(chunk, 0, length)).bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

/** Creates `dir` holding `count` files of `bytes` random bytes each. */
export async function writeRandomFiles(dir: string, count: number, bytes: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const width = String(count - 1).length;
  for (let index = 0; index < count; index++) {
    await writeFile(
      join(dir, `file-${String(index).padStart(width, '0')}.bin`),
      randomFillSync(Buffer.alloc(bytes)),
    );
  }
}

function direntsOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** How many files a folder holds (recursively) and their total size; zero for a missing folder. */
export function folderUsage(dir: string): { files: number; bytes: number } {
  const usage = { files: 0, bytes: 0 };
  for (const dirent of direntsOf(dir)) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) {
      const inner = folderUsage(path);
      usage.files += inner.files;
      usage.bytes += inner.bytes;
    } else if (dirent.isFile()) {
      usage.files++;
      usage.bytes += statSync(path).size;
    }
  }
  return usage;
}

export function removeTree(path: string): Promise<void> {
  return rm(path, { recursive: true, force: true });
}

/**
 * SHA-256 of a file, reading the next 4 MiB chunk while hashing the last (two reused buffers): the
 * least work any content-addressed store does for a new file.
 */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)];
  const handle = await open(path, 'r');
  try {
    let pending = handle.read(buffers[0]!, 0, HASH_CHUNK_BYTES, null);
    for (let index = 1; ; index++) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      pending = handle.read(buffers[index % 2]!, 0, HASH_CHUNK_BYTES, null);
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
