import * as crypto from 'node:crypto';
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { chmod, copyFile, type FileHandle, open, rename } from 'node:fs/promises';
import { partialPathFor } from './download-files.js';

const CHUNK_BYTES = 8 * 1024 * 1024;

/** `promise`, with a handler attached so its rejection is never reported as unhandled. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function writeAll(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, null);
    offset += bytesWritten;
  }
}

/** Options of {@link copyAndHash} and {@link hashHandle}. */
export interface CopyOptions {
  /**
   * Size of each read (default 8 MiB). Give the file's size when it is smaller: allocating
   * 8 MiB buffers per small file costs more than copying it (garbage collection, page faults).
   */
  chunkBytes?: number;
  /** Turns an error of reading the source into the error to throw (e.g. a typed one). */
  mapReadError?: (error: unknown) => unknown;
  /** Turns an error of writing the target into the error to throw. */
  mapWriteError?: (error: unknown) => unknown;
}

/** The chunk size for a file of `size` bytes: the file in one read when small, 8 MiB at most. */
export function chunkBytesFor(size: number | undefined): number {
  if (size === undefined || !Number.isSafeInteger(size) || size < 0) return CHUNK_BYTES;
  // One byte more than the file, so that the read which finds the end needs no second buffer.
  return Math.min(CHUNK_BYTES, Math.max(64 * 1024, size + 1));
}

const identity = (error: unknown): unknown => error;

/**
 * Copies `source` into `target` while hashing it with sha256, reading each byte once. Three
 * buffers rotate so that reading the next chunk (thread pool), hashing this one (here) and writing
 * the previous one (thread pool) all happen at the same time. On failure, nothing is left running.
 */
export async function copyAndHash(
  source: FileHandle,
  target: FileHandle,
  onProgress?: (bytes: number) => void,
  options: CopyOptions = {},
): Promise<{ sha256: string; size: number }> {
  const chunk = options.chunkBytes ?? CHUNK_BYTES;
  const mapRead = options.mapReadError ?? identity;
  const mapWrite = options.mapWriteError ?? identity;
  // A read or write may fail while the loop awaits the other one: each is marked handled when it
  // starts (the loop still awaits and rethrows it), so a full disk never becomes an unhandled
  // rejection, which would end the process.
  const read = (buffer: Buffer) =>
    handled(
      source.read(buffer, 0, chunk, null).catch((error: unknown) => {
        throw mapRead(error);
      }),
    );
  const write = (buffer: Buffer, length: number) =>
    handled(
      writeAll(target, buffer, length).catch((error: unknown) => {
        throw mapWrite(error);
      }),
    );
  const hash: Hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let pendingWrite: Promise<void> = Promise.resolve();
  let pendingRead = read(buffers[0]!);
  let size = 0;
  try {
    for (let index = 0; ; index++) {
      const { bytesRead } = await pendingRead;
      if (bytesRead === 0) break;
      const buffer = buffers[index % 3]!;
      // The buffer after this one was last written two chunks ago; that write has completed.
      pendingRead = read(buffers[(index + 1) % 3]!);
      hash.update(buffer.subarray(0, bytesRead));
      await pendingWrite;
      pendingWrite = write(buffer, bytesRead);
      size += bytesRead;
      onProgress?.(bytesRead);
    }
    await pendingWrite;
  } catch (error) {
    // Let the other operation in flight finish before the caller closes the handles.
    await Promise.allSettled([pendingRead, pendingWrite]);
    throw error;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Hashes an open file with sha256 without copying it, reading the next chunk while hashing this one. */
export async function hashHandle(
  source: FileHandle,
  onProgress?: (bytes: number) => void,
  options: Pick<CopyOptions, 'chunkBytes' | 'mapReadError'> = {},
): Promise<{ sha256: string; size: number }> {
  const chunk = options.chunkBytes ?? CHUNK_BYTES;
  const mapRead = options.mapReadError ?? identity;
  const read = (buffer: Buffer) =>
    handled(
      source.read(buffer, 0, chunk, null).catch((error: unknown) => {
        throw mapRead(error);
      }),
    );
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  let pendingRead = read(buffers[0]!);
  let size = 0;
  for (let index = 0; ; index++) {
    const { bytesRead } = await pendingRead;
    if (bytesRead === 0) break;
    pendingRead = read(buffers[(index + 1) % 2]!);
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

/**
 * The bytes of a stream read into memory when they are exactly `size` bytes with digest `sha256`
 * (reading stops past `size`), else undefined.
 */
export async function collectVerified(
  chunks: AsyncIterable<Uint8Array>,
  sha256: string,
  size: number,
): Promise<Buffer | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > size) return undefined;
    parts.push(chunk);
  }
  const bytes = Buffer.concat(parts);
  return bytes.length === size && sha256Hex(bytes) === sha256 ? bytes : undefined;
}

/** One-shot `crypto.hash` (Node ≥ 20.12): a third cheaper than a Hash object for small inputs. */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: Uint8Array | string, encoding: 'hex') => string }
).hash;

/** sha256 of bytes in memory, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return oneShotHash ? oneShotHash('sha256', bytes, 'hex') : createHash('sha256').update(bytes).digest('hex');
}

/** Files at least this large are copied by the kernel while another thread hashes them. */
export const PARALLEL_COPY_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Copies `sourcePath` to a new `targetPath` inside the kernel (`copy_file_range`, no bytes through
 * JavaScript) while this thread reads and hashes the source: on two cores the copy costs about
 * nothing beyond the hash. Returns the digest of what was *read*; the caller must know the source
 * did not change meanwhile (a stored blob never does; a user's file is checked by `stat`).
 * Both halves finish before it returns or throws; a failed read is reported before a failed copy
 * (`mapReadError` / `mapWriteError` turn them into typed errors).
 */
export async function copyWhileHashing(
  sourcePath: string,
  targetPath: string,
  options: {
    onProgress?: (bytes: number) => void;
    afterCopy?: () => Promise<void>;
    mapReadError?: (error: unknown) => unknown;
    mapWriteError?: (error: unknown) => unknown;
  } = {},
): Promise<{ sha256: string; size: number }> {
  const mapRead = options.mapReadError ?? identity;
  const mapWrite = options.mapWriteError ?? identity;
  let source: FileHandle;
  try {
    source = await open(sourcePath, 'r');
  } catch (error) {
    throw mapRead(error);
  }
  try {
    // `afterCopy` (e.g. an fsync of the copy) overlaps the rest of the hashing.
    const copied = copyFile(sourcePath, targetPath, constants.COPYFILE_EXCL)
      .then(() => options.afterCopy?.())
      .catch((error: unknown) => {
        throw mapWrite(error);
      });
    const [copy, digest] = await Promise.allSettled([
      copied,
      hashHandle(source, options.onProgress, { mapReadError: mapRead }),
    ]);
    if (digest.status === 'rejected') throw digest.reason;
    if (copy.status === 'rejected') throw copy.reason;
    return digest.value;
  } finally {
    await source.close();
  }
}

/** Files up to this size are copied out of the store in one read and one write. */
export const SMALL_COPY_BYTES = 256 * 1024;

/** How {@link copyVerified} reports what went wrong; every callback returns the error to throw. */
export interface VerifiedCopyErrors {
  /** Reading the source failed (`ENOENT` included: the caller knows what a missing source means). */
  source(error: unknown): unknown;
  /** Writing, renaming or creating the target (or its partial file) failed. */
  target(error: unknown): unknown;
  /** The bytes read are not the expected ones; nothing was written. */
  mismatch(actual: { sha256: string | undefined; size: number }): unknown;
}

/**
 * Copies the file `sourcePath`, expected to hold `size` bytes hashing to `sha256`, to `target`:
 * the bytes go to a partial file beside the target (see `download-files.ts`) that is renamed over
 * the target only once every byte matched. On any failure the partial file is removed before
 * this returns. Small files are read whole, hashed and written in one call each (no buffers of
 * 8 MiB, no thread-pool hops); large ones stream (see {@link copyAndHash} and
 * {@link copyWhileHashing}).
 */
export async function copyVerified(
  sourcePath: string,
  expected: { sha256: string; size: number },
  target: string,
  errors: VerifiedCopyErrors,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const temporary = partialPathFor(target);
  if (expected.size <= SMALL_COPY_BYTES) {
    // Synchronous from the read to the write, so one scratch buffer serves every small copy.
    const bytes = readSmallFile(sourcePath, expected.size, errors);
    const sha256 = sha256Hex(bytes);
    if (sha256 !== expected.sha256) throw errors.mismatch({ sha256, size: bytes.length });
    try {
      writeFileSync(temporary, bytes, { flag: 'wx', mode: 0o644 });
      renameSync(temporary, target);
    } catch (error) {
      removeQuietly(temporary);
      throw errors.target(error);
    }
    onProgress?.(bytes.length);
    return;
  }
  let result: { sha256: string; size: number };
  try {
    if (expected.size >= PARALLEL_COPY_MIN_BYTES) {
      result = await copyWhileHashing(sourcePath, temporary, {
        ...(onProgress ? { onProgress } : {}),
        // The copy keeps the source's mode (a blob is read-only); the download is the user's file.
        afterCopy: () => chmod(temporary, 0o644),
        mapReadError: errors.source,
        mapWriteError: errors.target,
      });
    } else {
      result = await copyStreaming(sourcePath, temporary, expected.size, errors, onProgress);
    }
  } catch (error) {
    removeQuietly(temporary);
    throw error;
  }
  if (result.sha256 !== expected.sha256 || result.size !== expected.size) {
    removeQuietly(temporary);
    throw errors.mismatch(result);
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    removeQuietly(temporary);
    throw errors.target(error);
  }
}

async function copyStreaming(
  sourcePath: string,
  temporary: string,
  size: number,
  errors: VerifiedCopyErrors,
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  let source: FileHandle;
  try {
    source = await open(sourcePath, 'r');
  } catch (error) {
    throw errors.source(error);
  }
  try {
    let output: FileHandle;
    try {
      output = await open(temporary, 'wx', 0o644);
    } catch (error) {
      throw errors.target(error);
    }
    try {
      return await copyAndHash(source, output, onProgress, {
        chunkBytes: chunkBytesFor(size),
        mapReadError: errors.source,
        mapWriteError: errors.target,
      });
    } finally {
      await output.close();
    }
  } finally {
    await source.close();
  }
}

let scratch: Buffer | undefined;

/**
 * Reads a file expected to hold `size` (≤ {@link SMALL_COPY_BYTES}) bytes into the shared scratch
 * buffer, valid until the next call; a file of another size is a mismatch, read no further.
 */
function readSmallFile(path: string, size: number, errors: VerifiedCopyErrors): Buffer {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch (error) {
    throw errors.source(error);
  }
  try {
    let actualSize: number;
    try {
      actualSize = fstatSync(descriptor).size;
    } catch (error) {
      throw errors.source(error);
    }
    if (actualSize !== size) throw errors.mismatch({ sha256: undefined, size: actualSize });
    scratch ??= Buffer.allocUnsafe(SMALL_COPY_BYTES);
    const bytes = scratch.subarray(0, size);
    let offset = 0;
    while (offset < size) {
      let bytesRead: number;
      try {
        bytesRead = readSync(descriptor, bytes, offset, size - offset, offset);
      } catch (error) {
        throw errors.source(error);
      }
      if (bytesRead === 0) throw errors.mismatch({ sha256: undefined, size: offset });
      offset += bytesRead;
    }
    return bytes;
  } finally {
    closeSync(descriptor);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never created
  }
}

/** Writes every byte of `chunks` at the handle's position (one writev, then whatever it left). */
export async function writeChunks(handle: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const { bytesWritten } = await handle.writev(chunks as Uint8Array[]);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(chunks).subarray(bytesWritten);
  for (let offset = 0; offset < rest.length; )
    offset += (await handle.write(rest, offset, rest.length - offset)).bytesWritten;
}

/**
 * Gathers the small chunks a network stream gives and writes them to a file a few MiB at a time
 * (one writev per batch), not one write per chunk. `flush()` after the last chunk.
 */
export class BatchedWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly batchBytes = 4 * 1024 * 1024,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.batchBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await writeChunks(this.handle, batch);
  }
}
