/** A blob written to a temporary file, hashed, and waiting to be made durable and visible. */
export interface StagedBlob {
  sha256: string;
  size: number;
  /** The temporary file holding the bytes; absent when the store already had this content. */
  temporary?: string;
  /** True when the temporary file was already fsynced. */
  synced?: boolean;
}

/** Facts about one stored blob. */
export interface StoredBlob {
  sha256: string;
  size: number;
  modifiedAt: Date;
}

/**
 * Content-addressed blob storage keyed by sha256. Implementations: `fs/` (a local directory);
 * S3-compatible storage follows with the same shape.
 */
export interface BlobStore {
  /** Stages a file from disk, reading it once while hashing. */
  stageFile(
    path: string,
    options?: {
      knownSha256?: string;
      knownSize?: number;
      sizeHint?: number;
      onProgress?: (bytes: number) => void;
    },
  ): Promise<StagedBlob>;
  /** Stages bytes held in memory (hashed in memory, written once). */
  stageBytes(bytes: Uint8Array): Promise<StagedBlob>;
  /** Makes every staged blob durable, then visible under its digest. Idempotent per blob. */
  publish(blobs: readonly StagedBlob[]): Promise<void>;
  /** Deletes the temporary files of staged blobs that will not be published. */
  discard(blobs: readonly StagedBlob[]): Promise<void>;
  /** True when a blob with this digest (and size, when given) is stored. */
  has(sha256: string, size?: number): Promise<boolean>;
  /** Which of `blobs` are not stored (with that size). */
  missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]>;
  /** Reads a whole blob into memory, verified against its digest and size. */
  read(sha256: string, size: number, options?: { entryPath?: string }): Promise<Uint8Array>;
  /** Facts about one stored blob, or undefined when it is not stored. */
  info(sha256: string): Promise<StoredBlob | undefined>;
  /** Pins blobs that a commit in flight relies on, so `gc` leaves them until released. */
  pin(): { add(digests: Iterable<string>): void; release(): void };
  /** Every digest pinned by commits in flight (`graceMs` bounds how long a pin of another machine counts). */
  pinned(graceMs: number): Promise<Set<string>>;
  /** Refreshes a blob's time so that a concurrent `gc` within its grace period leaves it alone. */
  touch(sha256: string): Promise<void>;
  /** Copies a blob to `target`, verifying its digest; the target appears only when it matches. */
  copyTo(
    sha256: string,
    size: number,
    target: string,
    options?: { entryPath?: string; onProgress?: (bytes: number) => void },
  ): Promise<void>;
  /** Re-hashes a stored blob. */
  rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined>;
  list(): AsyncIterable<StoredBlob>;
  remove(sha256: string): Promise<void>;
  /** Removal for gc in steps that can be undone (take, restore, finish). */
  beginRemoval(): {
    take(sha256: string): Promise<boolean>;
    restore(): Promise<void>;
    finish(): Promise<void>;
  };
  /** Puts back blobs of removals that never finished; returns how many. */
  restoreAbandonedRemovals(): Promise<number>;
  /** Removes temporary files older than `graceMs`. Returns how many and how many bytes. */
  removeStaleTemporaries(graceMs: number): Promise<{ files: number; bytes: number }>;
}
