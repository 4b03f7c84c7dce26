import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, type FileHandle, open } from 'node:fs/promises';

const CHUNK_BYTES = 8 * 1024 * 1024;

async function writeAll(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, null);
    offset += bytesWritten;
  }
}

/**
 * Copies `source` into `target` while hashing it with sha256, reading each byte once. Three
 * buffers rotate so that reading the next chunk (thread pool), hashing this one (here) and writing
 * the previous one (thread pool) all happen at the same time.
 */
export async function copyAndHash(
  source: FileHandle,
  target: FileHandle,
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash: Hash = createHash('sha256');
  const buffers = [
    Buffer.allocUnsafe(CHUNK_BYTES),
    Buffer.allocUnsafe(CHUNK_BYTES),
    Buffer.allocUnsafe(CHUNK_BYTES),
  ];
  let pendingWrite: Promise<void> = Promise.resolve();
  let pendingRead = source.read(buffers[0]!, 0, CHUNK_BYTES, null);
  let size = 0;
  for (let index = 0; ; index++) {
    const { bytesRead } = await pendingRead;
    if (bytesRead === 0) break;
    const buffer = buffers[index % 3]!;
    // The buffer after this one was last written two chunks ago; that write has completed.
    pendingRead = source.read(buffers[(index + 1) % 3]!, 0, CHUNK_BYTES, null);
    hash.update(buffer.subarray(0, bytesRead));
    await pendingWrite;
    pendingWrite = writeAll(target, buffer, bytesRead);
    size += bytesRead;
    onProgress?.(bytesRead);
  }
  await pendingWrite;
  return { sha256: hash.digest('hex'), size };
}

/** Hashes an open file with sha256 without copying it, reading the next chunk while hashing this one. */
export async function hashHandle(
  source: FileHandle,
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let pendingRead = source.read(buffers[0]!, 0, CHUNK_BYTES, null);
  let size = 0;
  for (let index = 0; ; index++) {
    const { bytesRead } = await pendingRead;
    if (bytesRead === 0) break;
    pendingRead = source.read(buffers[(index + 1) % 2]!, 0, CHUNK_BYTES, null);
    hash.update(buffers[index % 2]!.subarray(0, bytesRead));
    size += bytesRead;
    onProgress?.(bytesRead);
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 and size of a stream of chunks (an HTTP body, a Blob's stream, a file stream). */
export async function hashChunks(
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 of bytes in memory, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Files at least this large are copied by the kernel while another thread hashes them. */
export const PARALLEL_COPY_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Copies `sourcePath` to a new `targetPath` inside the kernel (`copy_file_range`, no bytes through
 * JavaScript) while this thread reads and hashes the source: on two cores the copy costs about
 * nothing beyond the hash. Returns the digest of what was *read*; the caller must know the source
 * did not change meanwhile (a stored blob never does; a user's file is checked by `stat`).
 */
export async function copyWhileHashing(
  sourcePath: string,
  targetPath: string,
  options: { onProgress?: (bytes: number) => void; afterCopy?: () => Promise<void> } = {},
): Promise<{ sha256: string; size: number }> {
  const source = await open(sourcePath, 'r');
  try {
    // `afterCopy` (e.g. an fsync of the copy) overlaps the rest of the hashing.
    const copied = copyFile(sourcePath, targetPath, constants.COPYFILE_EXCL).then(() =>
      options.afterCopy?.(),
    );
    const [, digest] = await Promise.all([copied, hashHandle(source, options.onProgress)]);
    return digest;
  } finally {
    await source.close();
  }
}
