import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

async function writeAll(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, null);
    offset += bytesWritten;
  }
}

/**
 * Copies `source` into `target` while hashing it with sha256, reading each byte once. Two
 * buffers alternate so the next read and the hashing overlap the previous write.
 */
export async function copyAndHash(
  source: FileHandle,
  target: FileHandle,
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash: Hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let pendingWrite: Promise<void> = Promise.resolve();
  let size = 0;
  for (let index = 0; ; index++) {
    const buffer = buffers[index % 2]!;
    const { bytesRead } = await source.read(buffer, 0, CHUNK_BYTES, null);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    await pendingWrite;
    pendingWrite = writeAll(target, buffer, bytesRead);
    size += bytesRead;
    onProgress?.(bytesRead);
  }
  await pendingWrite;
  return { sha256: hash.digest('hex'), size };
}

/** Hashes an open file with sha256 without copying it. */
export async function hashHandle(source: FileHandle): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let size = 0;
  for (;;) {
    const { bytesRead } = await source.read(buffer, 0, CHUNK_BYTES, null);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 of bytes in memory, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
