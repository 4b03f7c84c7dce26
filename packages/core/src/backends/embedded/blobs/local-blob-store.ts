import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { open, readdir, readFile, rm, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  BatchedWriter,
  copyAndHash,
  copyWhileHashing,
  hashHandle,
  PARALLEL_COPY_MIN_BYTES,
  sha256Hex,
} from '../../../blobs/copy-and-hash.js';
import { blobReadError } from '../../../blobs/download-files.js';
import { ownedName, ownerOfName } from '../../../blobs/process-owner.js';
import { QuiverError } from '../../../contract/errors.js';
import type {
  BlobPin,
  BlobRange,
  BlobRemoval,
  BlobSource,
  BlobStore,
  StagedBlob,
  StoredBlob,
} from '../../../contract/index.js';
import { hashAndWriteInBackground } from './background-writer.js';

const execFileAsync = promisify(execFile);
const SMALL_FILE_BYTES = 256 * 1024;
/** Above this many unsynced files one `syncfs` is cheaper than one fsync each. */
const FSYNC_EACH_LIMIT = 16;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** A pin of another machine's commit counts for at least this long. */
const PIN_MAX_AGE_MS = 60 * 60 * 1000;

/** A blob staged by the filesystem store: the temporary file holding it, unless it was reused. */
export interface LocalStagedBlob extends StagedBlob {
  temporary?: string;
  /** True when the temporary file was already fsynced. */
  synced?: boolean;
}

/** The sha256 of a file, read in chunks (files may be far larger than memory). */
function hashFileSync(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk))
      hash.update(chunk.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Blobs in a local directory: `<root>/sha256/<2 hex>/<64 hex>`, read-only, each unique content
 * once. Writes go to `<root>/tmp/`, are fsynced, then renamed into place.
 */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  /** The blob folder, named in messages. */
  get location(): string {
    return this.root;
  }
  private readonly temporaryDir: string;
  private readonly knownDirs = new Set<string>();

  private readonly pinDir: string;
  /** A machine-wide blob folder that equal blobs are hard-linked with (offline bundles). */
  private readonly sharedRoot: string | undefined;

  constructor(root: string, options: { shareWith?: string } = {}) {
    this.root = root;
    this.sharedRoot = options.shareWith;
    this.temporaryDir = join(root, 'tmp');
    this.pinDir = join(root, 'pins');
    mkdirSync(this.temporaryDir, { recursive: true });
    mkdirSync(join(root, 'sha256'), { recursive: true });
  }

  /** Where the blob with this digest lives (whether or not it exists). */
  pathOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256))
      throw new QuiverError('E_INVALID_REF', `Not a sha256 digest: '${sha256}'.`);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** `<ms>-<pid>-<host tag>-<random>`: gc can tell a live writer's file from an abandoned one. */
  private temporaryPath(): string {
    return join(this.temporaryDir, ownedName());
  }

  /**
   * Pins blobs for a commit in flight: their digests go to a file of this process under
   * `<root>/pins/`, which `gc` reads while it holds the blob lock and whose blobs it leaves alone
   * until `release()` (or until the process ends).
   */
  pin(): BlobPin {
    const file = join(this.pinDir, ownedName());
    let created = false;
    return {
      add(digests) {
        const lines = [...digests].filter((digest) => SHA256_PATTERN.test(digest));
        if (lines.length === 0) return;
        // Made on first use, so a store whose blob folder is mounted read-only still opens.
        if (!created) mkdirSync(dirname(file), { recursive: true });
        appendFileSync(file, `${lines.join('\n')}\n`);
        created = true;
      },
      release() {
        if (created) unlinkIfPresent(file);
      },
    };
  }

  /** Every digest pinned by a commit in flight; pin files of ended processes are removed. */
  async pinned(graceMs: number): Promise<Set<string>> {
    const digests = new Set<string>();
    const cutoff = Date.now() - Math.max(graceMs, PIN_MAX_AGE_MS);
    for (const name of await readdir(this.pinDir).catch(() => [] as string[])) {
      const path = join(this.pinDir, name);
      const owner = ownerOfName(name);
      if (owner === 'dead') {
        unlinkIfPresent(path);
        continue;
      }
      if (owner === 'unknown') {
        const stats = await stat(path).catch(() => undefined);
        if (!stats || stats.mtimeMs < cutoff) continue;
      }
      const text = await readFile(path, 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (SHA256_PATTERN.test(line)) digests.add(line);
    }
    return digests;
  }

  /** Keeps an existing blob out of `gc`'s reach (its grace period counts from now) and drops a duplicate temp. */
  private reuse(sha256: string, temporary?: string): LocalStagedBlob | undefined {
    const path = this.pathOf(sha256);
    try {
      const now = new Date();
      utimesSync(path, now, now);
      const size = statSync(path).size;
      if (temporary) unlinkSync(temporary);
      return { sha256, size, reused: true };
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
  ): Promise<LocalStagedBlob> {
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
    return this.reuse(result.sha256, temporary) ?? { ...result, reused: false, temporary, synced: true };
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

  private stageBytesSync(bytes: Uint8Array): LocalStagedBlob {
    const sha256 = sha256Hex(bytes);
    const reused = existsSync(this.pathOf(sha256)) ? this.reuse(sha256) : undefined;
    if (reused && reused.size === bytes.length) return reused;
    const temporary = this.temporaryPath();
    const descriptor = openSync(temporary, 'wx', 0o444);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(descriptor, bytes, offset, bytes.length - offset);
      if (bytes.length > SMALL_FILE_BYTES) fsyncSync(descriptor);
    } catch (error) {
      closeSync(descriptor);
      unlinkIfPresent(temporary);
      throw error;
    }
    closeSync(descriptor);
    return { sha256, size: bytes.length, reused: false, temporary, synced: bytes.length > SMALL_FILE_BYTES };
  }

  /**
   * Small buffers are hashed and written synchronously (cheaper than a thread hop). Large ones are
   * hashed, written and fsynced on a worker thread with its own event loop, so storing a checkpoint
   * progresses even while a training loop keeps the main thread busy.
   */
  async stageBytes(bytes: Uint8Array): Promise<LocalStagedBlob> {
    if (bytes.length <= SMALL_FILE_BYTES) return this.stageBytesSync(bytes);
    const temporary = this.temporaryPath();
    let sha256: string;
    try {
      sha256 = await hashAndWriteInBackground(bytes, temporary);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    return (
      this.reuse(sha256, temporary) ?? { sha256, size: bytes.length, reused: false, temporary, synced: true }
    );
  }

  async publish(staged: readonly StagedBlob[]): Promise<void> {
    const blobs = staged as readonly LocalStagedBlob[];
    const pending = blobs.filter(
      (blob): blob is LocalStagedBlob & { temporary: string } => blob.temporary !== undefined,
    );
    if (pending.length === 0) return;
    const unsynced = pending.filter((blob) => !blob.synced);
    try {
      if (unsynced.length > FSYNC_EACH_LIMIT)
        await this.syncFileSystem(unsynced.map((blob) => blob.temporary));
      else for (const blob of unsynced) fsyncPath(blob.temporary);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new QuiverError(
        'E_CONCURRENT_GC',
        `A staged file was removed before it was stored, most likely by a 'quiver gc' run from another machine or container. Nothing was committed; retry the operation.`,
        { cause: error },
      );
    }
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
      try {
        renameSync(blob.temporary, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw new QuiverError(
          'E_CONCURRENT_GC',
          `A staged file (${blob.temporary}) was removed before it was stored, most likely by a 'quiver gc' run from another machine. Nothing was committed; retry the operation.`,
          { details: { sha256: blob.sha256 }, cause: error },
        );
      }
      touchedDirs.add(directory);
      if (this.sharedRoot) this.share(blob.sha256, target);
    }
    if (touchedDirs.size > FSYNC_EACH_LIMIT) await this.syncFileSystem([...touchedDirs]);
    else for (const directory of touchedDirs) fsyncPath(directory);
  }

  /**
   * Deduplicates a published blob with the machine-wide folder by hard links: the first store to
   * hold a content lends it its file; a later one replaces its copy by a link to that file (same
   * size, atomically by rename). Each folder keeps a whole file of its own, so deleting the shared
   * folder (or copying a bundle elsewhere) loses nothing. Where links are impossible (another file
   * system), the copy stays.
   */
  private share(sha256: string, target: string): void {
    const shared = join(this.sharedRoot!, 'sha256', sha256.slice(0, 2), sha256);
    try {
      mkdirSync(dirname(shared), { recursive: true });
      linkSync(target, shared);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
    }
    try {
      const mine = statSync(target);
      const theirs = statSync(shared);
      if (mine.ino === theirs.ino || mine.size !== theirs.size || !theirs.isFile()) return;
      // Only a shared file that still holds these bytes replaces the copy just verified.
      if (hashFileSync(shared) !== sha256) return;
      const temporary = this.temporaryPath();
      linkSync(shared, temporary);
      renameSync(temporary, target);
    } catch {
      // Keeping the copy is always correct.
    }
  }

  async discard(staged: readonly StagedBlob[]): Promise<void> {
    const blobs = staged as readonly LocalStagedBlob[];
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

  /** The digests (of `blobs`) that are not stored with the given size: one stat each, no hashing. */
  async missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]> {
    const absent: string[] = [];
    for (const blob of blobs) {
      try {
        if (statSync(this.pathOf(blob.sha256)).size !== blob.size) absent.push(blob.sha256);
      } catch {
        absent.push(blob.sha256);
      }
    }
    return absent;
  }

  /** Reads a whole blob into memory, verified against its digest and size. */
  async read(sha256: string, size: number, options: { entryPath?: string } = {}): Promise<Uint8Array> {
    const entry = options.entryPath ?? sha256;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw blobReadError(error, this.pathOf(sha256), `Nothing was read for '${entry}'.`);
      throw new QuiverError(
        'E_BLOB_MISSING',
        `The stored content of '${entry}' (sha256 ${sha256}) is missing. Run 'quiver verify' to see every affected version.`,
        { details: { path: entry, sha256 }, cause: error },
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== sha256 || bytes.length !== size) {
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `Checksum mismatch for '${entry}': expected sha256 ${sha256} (${size} bytes), read ${actual} (${bytes.length} bytes). The stored copy is corrupt. Run 'quiver verify' and re-log the artifact from its source.`,
        { details: { path: entry, expected: sha256, actual } },
      );
    }
    return bytes;
  }

  /** Facts about one stored blob, or undefined when it is not stored. */
  async info(sha256: string): Promise<StoredBlob | undefined> {
    const stats = await stat(this.pathOf(sha256)).catch(() => undefined);
    return stats ? { sha256, size: stats.size, modifiedAt: stats.mtime } : undefined;
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

  /**
   * Starts removing blobs for `gc`: `take` moves a blob into a trash folder of this process
   * (`<root>/trash/<owner>/`), where no reader finds it; `restore` puts back everything taken,
   * `finish` deletes what is left in the trash. gc takes blobs while it holds the blob lock and
   * finishes only once the transaction that held it committed — a dropped database connection
   * releases the lock early, and then the blobs are restored, never lost.
   */
  beginRemoval(): BlobRemoval {
    const dir = join(this.root, 'trash', ownedName());
    const taken: string[] = [];
    let created = false;
    return {
      take: async (sha256) => {
        if (!created) {
          mkdirSync(dir, { recursive: true });
          created = true;
        }
        try {
          renameSync(this.pathOf(sha256), join(dir, sha256));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
          throw error;
        }
        taken.push(sha256);
        return true;
      },
      restore: async () => {
        for (const sha256 of taken.splice(0)) this.putBack(join(dir, sha256), sha256);
      },
      finish: async () => {
        taken.length = 0;
        if (created) await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /** Puts back the blobs of removals that never finished (a gc that was killed or lost its lock). */
  async restoreAbandonedRemovals(): Promise<number> {
    const base = join(this.root, 'trash');
    let restored = 0;
    for (const name of await readdir(base).catch(() => [] as string[])) {
      const owner = ownerOfName(name);
      const stats = await stat(join(base, name)).catch(() => undefined);
      if (!stats || owner === 'alive') continue;
      if (owner === 'unknown' && stats.mtimeMs > Date.now() - PIN_MAX_AGE_MS) continue;
      for (const file of await readdir(join(base, name)).catch(() => [] as string[])) {
        if (!SHA256_PATTERN.test(file)) continue;
        this.putBack(join(base, name, file), file);
        restored++;
      }
      await rm(join(base, name), { recursive: true, force: true });
    }
    return restored;
  }

  private putBack(trashed: string, sha256: string): void {
    const target = this.pathOf(sha256);
    mkdirSync(dirname(target), { recursive: true });
    try {
      renameSync(trashed, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async removeStaleStaging(graceMs: number): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    const cutoff = Date.now() - graceMs;
    for (const name of await readdir(this.temporaryDir)) {
      const path = join(this.temporaryDir, name);
      const stats = await stat(path).catch(() => undefined);
      if (!stats) continue;
      // A running writer's file is in flight whatever its age (it removes it itself if it fails);
      // an ended writer's file is abandoned whatever its age; others wait out the grace period.
      const owner = ownerOfName(name);
      if (owner === 'alive' || (owner === 'unknown' && stats.mtimeMs > cutoff)) continue;
      await unlink(path).catch(() => undefined);
      files++;
      bytes += stats.size;
    }
    return { files, bytes };
  }

  /** Stages a file, bytes or a stream (streams are collected in memory and written once). */
  async stage(
    source: BlobSource,
    options: { onProgress?: (bytes: number) => void } = {},
  ): Promise<LocalStagedBlob> {
    if ('bytes' in source) {
      const staged = await this.stageBytes(source.bytes);
      options.onProgress?.(source.bytes.length);
      return staged;
    }
    if ('path' in source) {
      const { path, ...rest } = source;
      return this.stageFile(path, {
        ...rest,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    }
    return this.stageStream(source.stream, options.onProgress);
  }

  /** A stream is hashed while it is written to a temporary file, once; the copy is fsynced. */
  private async stageStream(
    stream: AsyncIterable<Uint8Array>,
    onProgress?: (bytes: number) => void,
  ): Promise<LocalStagedBlob> {
    const temporary = this.temporaryPath();
    const hash = createHash('sha256');
    let size = 0;
    try {
      const target = await open(temporary, 'wx', 0o644);
      try {
        const writer = new BatchedWriter(target);
        for await (const chunk of stream) {
          hash.update(chunk);
          size += chunk.length;
          await writer.write(chunk);
          onProgress?.(chunk.length);
        }
        await writer.flush();
        await target.sync();
      } finally {
        await target.close();
      }
      chmodSync(temporary, 0o444);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    const sha256 = hash.digest('hex');
    return this.reuse(sha256, temporary) ?? { sha256, size, reused: false, temporary, synced: true };
  }

  /** The bytes of a stored blob (or a range of it), as a stream. */
  async open(sha256: string, range?: BlobRange): Promise<AsyncIterable<Uint8Array>> {
    if (!SHA256_PATTERN.test(sha256))
      throw new QuiverError('E_INVALID_OPTION', `'${sha256}' is not a sha256 digest.`);
    const path = this.pathOf(sha256);
    if (range && range.end <= range.start) return (async function* () {})();
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
        throw new QuiverError(
          'E_BLOB_MISSING',
          `The stored content with sha256 ${sha256} is missing. Run 'quiver verify'.`,
          {
            details: { sha256 },
          },
        );
      throw error;
    });
    // The stream owns the handle: it closes it at the end, on an error and when abandoned.
    return handle.createReadStream({
      autoClose: true,
      // Large reads: a server sends these straight to a socket.
      highWaterMark: 1024 * 1024,
      ...(range ? { start: range.start, end: range.end - 1 } : {}),
    });
  }

  /** The file holding a blob on this machine's disk (never to be written). */
  localPath(sha256: string): string {
    return this.pathOf(sha256);
  }

  /** Refreshes a blob's time so a concurrent `gc` leaves it alone. */
  async touch(sha256: string): Promise<void> {
    const now = new Date();
    await utimes(this.pathOf(sha256), now, now).catch(() => undefined);
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
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
