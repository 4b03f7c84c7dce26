import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { QuiverError } from '../../errors.js';
import type { BlobStore, StagedBlob, StoredBlob } from '../blob-store.js';
import {
  copyAndHash,
  copyWhileHashing,
  hashHandle,
  PARALLEL_COPY_MIN_BYTES,
  sha256Hex,
} from '../copy-and-hash.js';
import { hashAndWriteInBackground } from './background-writer.js';

const execFileAsync = promisify(execFile);
const SMALL_FILE_BYTES = 256 * 1024;
/** Above this many unsynced files one `syncfs` is cheaper than one fsync each. */
const FSYNC_EACH_LIMIT = 16;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Blobs in a local directory: `<root>/sha256/<2 hex>/<64 hex>`, read-only, each unique content
 * once. Writes go to `<root>/tmp/`, are fsynced, then renamed into place.
 */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  private readonly temporaryDir: string;
  private readonly knownDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
    this.temporaryDir = join(root, 'tmp');
    mkdirSync(this.temporaryDir, { recursive: true });
    mkdirSync(join(root, 'sha256'), { recursive: true });
  }

  /** Where the blob with this digest lives (whether or not it exists). */
  pathOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256))
      throw new QuiverError('E_INVALID_REF', `Not a sha256 digest: '${sha256}'.`);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  private temporaryPath(): string {
    return join(this.temporaryDir, `${Date.now()}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Keeps an existing blob out of `gc`'s reach (its grace period counts from now) and drops a duplicate temp. */
  private reuse(sha256: string, temporary?: string): StagedBlob | undefined {
    const path = this.pathOf(sha256);
    try {
      const now = new Date();
      utimesSync(path, now, now);
      const size = statSync(path).size;
      if (temporary) unlinkSync(temporary);
      return { sha256, size };
    } catch {
      return undefined;
    }
  }

  async stageFile(
    path: string,
    options: {
      knownSha256?: string;
      knownSize?: number;
      sizeHint?: number;
      onProgress?: (bytes: number) => void;
    } = {},
  ): Promise<StagedBlob> {
    if (options.knownSha256 && (await this.has(options.knownSha256, options.knownSize))) {
      const reused = this.reuse(options.knownSha256);
      if (reused) {
        options.onProgress?.(reused.size);
        return reused;
      }
    }
    const size = options.sizeHint ?? statSync(path).size;
    if (size <= SMALL_FILE_BYTES) {
      const bytes = readFileSync(path);
      options.onProgress?.(bytes.length);
      return this.stageBytesSync(bytes);
    }
    const temporary = this.temporaryPath();
    let result: { sha256: string; size: number };
    try {
      result =
        size >= PARALLEL_COPY_MIN_BYTES
          ? await this.copyUnchangedFile(path, temporary, options.onProgress)
          : await this.copyFile(path, temporary, options.onProgress);
      chmodSync(temporary, 0o444);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    return this.reuse(result.sha256, temporary) ?? { ...result, temporary, synced: true };
  }

  /** One pass: read, hash and write each chunk; the copy is fsynced. */
  private async copyFile(
    path: string,
    temporary: string,
    onProgress?: (bytes: number) => void,
  ): Promise<{ sha256: string; size: number }> {
    const source = await open(path, 'r');
    try {
      const target = await open(temporary, 'wx', 0o644);
      try {
        const result = await copyAndHash(source, target, onProgress);
        await target.sync();
        return result;
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }

  /**
   * Kernel copy beside a hashing read (see `copyWhileHashing`), fsynced while the hashing
   * finishes, trusted only if the file's
   * identity and change time are the same after as before; otherwise one careful pass.
   */
  private async copyUnchangedFile(
    path: string,
    temporary: string,
    onProgress?: (bytes: number) => void,
  ): Promise<{ sha256: string; size: number }> {
    const before = await stat(path, { bigint: true });
    const result = await copyWhileHashing(path, temporary, {
      ...(onProgress ? { onProgress } : {}),
      afterCopy: () => fsyncFile(temporary),
    });
    const after = await stat(path, { bigint: true });
    const unchanged =
      before.ino === after.ino &&
      before.size === after.size &&
      before.mtimeNs === after.mtimeNs &&
      before.ctimeNs === after.ctimeNs;
    if (unchanged && BigInt(result.size) === after.size) return result;
    await unlink(temporary);
    return this.copyFile(path, temporary, onProgress);
  }

  private stageBytesSync(bytes: Uint8Array): StagedBlob {
    const sha256 = sha256Hex(bytes);
    const reused = existsSync(this.pathOf(sha256)) ? this.reuse(sha256) : undefined;
    if (reused && reused.size === bytes.length) return reused;
    const temporary = this.temporaryPath();
    const descriptor = openSync(temporary, 'wx', 0o444);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(descriptor, bytes, offset, bytes.length - offset);
      if (bytes.length > SMALL_FILE_BYTES) fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    return { sha256, size: bytes.length, temporary, synced: bytes.length > SMALL_FILE_BYTES };
  }

  /**
   * Small buffers are hashed and written synchronously (cheaper than a thread hop). Large ones are
   * hashed, written and fsynced on a worker thread with its own event loop, so storing a checkpoint
   * progresses even while a training loop keeps the main thread busy.
   */
  async stageBytes(bytes: Uint8Array): Promise<StagedBlob> {
    if (bytes.length <= SMALL_FILE_BYTES) return this.stageBytesSync(bytes);
    const temporary = this.temporaryPath();
    let sha256: string;
    try {
      sha256 = await hashAndWriteInBackground(bytes, temporary);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    return this.reuse(sha256, temporary) ?? { sha256, size: bytes.length, temporary, synced: true };
  }

  async publish(blobs: readonly StagedBlob[]): Promise<void> {
    const pending = blobs.filter(
      (blob): blob is StagedBlob & { temporary: string } => blob.temporary !== undefined,
    );
    if (pending.length === 0) return;
    const unsynced = pending.filter((blob) => !blob.synced);
    if (unsynced.length > FSYNC_EACH_LIMIT) await this.syncFileSystem(unsynced.map((blob) => blob.temporary));
    else for (const blob of unsynced) fsyncPath(blob.temporary);
    const touchedDirs = new Set<string>();
    // Synchronous renames: one syscall each, without a thread-pool round trip per blob.
    for (const blob of pending) {
      const target = this.pathOf(blob.sha256);
      const directory = dirname(target);
      if (!this.knownDirs.has(directory)) {
        mkdirSync(directory, { recursive: true });
        this.knownDirs.add(directory);
      }
      // Renaming over an existing blob (same digest, same bytes) is harmless.
      renameSync(blob.temporary, target);
      touchedDirs.add(directory);
    }
    if (touchedDirs.size > FSYNC_EACH_LIMIT) await this.syncFileSystem([...touchedDirs]);
    else for (const directory of touchedDirs) fsyncPath(directory);
  }

  async discard(blobs: readonly StagedBlob[]): Promise<void> {
    for (const blob of blobs) if (blob.temporary) await unlink(blob.temporary).catch(() => undefined);
  }

  /** One `syncfs(2)` for the blob directory's file system (through coreutils `sync -f`). */
  private async syncFileSystem(fallbackPaths: readonly string[]): Promise<void> {
    try {
      await execFileAsync('sync', ['-f', this.root]);
    } catch {
      for (const path of fallbackPaths) fsyncPath(path);
    }
  }

  async has(sha256: string, size?: number): Promise<boolean> {
    try {
      const stats = await stat(this.pathOf(sha256));
      return size === undefined || stats.size === size;
    } catch {
      return false;
    }
  }

  async copyTo(
    sha256: string,
    size: number,
    target: string,
    options: { entryPath?: string; onProgress?: (bytes: number) => void } = {},
  ): Promise<void> {
    const entry = options.entryPath ?? sha256;
    let source: Awaited<ReturnType<typeof open>>;
    try {
      source = await open(this.pathOf(sha256), 'r');
    } catch {
      throw new QuiverError(
        'E_BLOB_MISSING',
        `The stored content of '${entry}' (sha256 ${sha256}) is missing. Run 'quiver verify' to see every affected version.`,
        {
          details: { path: entry, sha256 },
        },
      );
    }
    const temporary = join(dirname(target), `.${randomBytes(6).toString('hex')}.quiver-partial`);
    let result: { sha256: string; size: number };
    try {
      if (size >= PARALLEL_COPY_MIN_BYTES) {
        // A stored blob never changes, so the kernel copy and the hashing read see the same bytes.
        await source.close();
        result = await copyWhileHashing(
          this.pathOf(sha256),
          temporary,
          options.onProgress ? { onProgress: options.onProgress } : {},
        );
        chmodSync(temporary, 0o644);
      } else {
        const output = await open(temporary, 'wx', 0o644);
        try {
          result = await copyAndHash(source, output, options.onProgress);
        } finally {
          await output.close();
        }
      }
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    } finally {
      await source.close().catch(() => undefined);
    }
    if (result.sha256 !== sha256 || result.size !== size) {
      await unlink(temporary).catch(() => undefined);
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `Checksum mismatch for '${entry}': expected sha256 ${sha256} (${size} bytes), read ${result.sha256} (${result.size} bytes). The stored copy is corrupt; nothing was written for this entry. Run 'quiver verify' and re-log the artifact from its source.`,
        { details: { path: entry, expected: sha256, actual: result.sha256 } },
      );
    }
    await rename(temporary, target);
  }

  async rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.pathOf(sha256), 'r');
    } catch {
      return undefined;
    }
    try {
      return await hashHandle(handle);
    } finally {
      await handle.close();
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    const base = join(this.root, 'sha256');
    for (const prefix of await readdir(base)) {
      for (const name of await readdir(join(base, prefix))) {
        if (!SHA256_PATTERN.test(name)) continue;
        const stats = await stat(join(base, prefix, name)).catch(() => undefined);
        if (stats) yield { sha256: name, size: stats.size, modifiedAt: stats.mtime };
      }
    }
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async removeStaleTemporaries(graceMs: number): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    const cutoff = Date.now() - graceMs;
    for (const name of await readdir(this.temporaryDir)) {
      const path = join(this.temporaryDir, name);
      const stats = await stat(path).catch(() => undefined);
      if (!stats || stats.mtimeMs > cutoff) continue;
      await unlink(path).catch(() => undefined);
      files++;
      bytes += stats.size;
    }
    return { files, bytes };
  }

  /** Refreshes a blob's time so a concurrent `gc` leaves it alone. */
  async touch(sha256: string): Promise<void> {
    const now = new Date();
    await utimes(this.pathOf(sha256), now, now).catch(() => undefined);
  }
}

function fsyncPath(path: string): void {
  const descriptor = openSync(path, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
