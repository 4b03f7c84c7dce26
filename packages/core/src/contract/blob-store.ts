/** Where the bytes of a blob to stage come from. */
export type BlobSource =
  | {
      /** A local file, read once while hashing. */
      path: string;
      /** A digest remembered for this file (the client's digest cache): reused when the store has it. */
      knownSha256?: string;
      knownSize?: number;
      sizeHint?: number;
    }
  | { bytes: Uint8Array }
  | {
      stream: AsyncIterable<Uint8Array>;
      sizeHint?: number;
      /**
       * The digest the bytes should have (a server's upload route knows it): object storage then
       * streams them straight to their key and completes the upload only when they match.
       */
      expectedSha256?: string;
    };

/** A blob hashed and staged, waiting to be made durable and visible by `publish`. */
export interface StagedBlob {
  sha256: string;
  size: number;
  /** True when the store already held this content, so nothing new was written. */
  reused: boolean;
}

/** Facts about one stored blob. */
export interface StoredBlob {
  sha256: string;
  size: number;
  modifiedAt: Date;
}

/** Blobs being removed by gc in steps that can be undone. */
export interface BlobRemoval {
  /** Moves the blob out of reach; false when it was already gone. */
  take(sha256: string): Promise<boolean>;
  /** Puts back every blob taken so far. */
  restore(): Promise<void>;
  /** Deletes the blobs taken (after the removal committed). */
  finish(): Promise<void>;
}

/** The blobs a commit in flight relies on, left alone by gc until released. */
export interface BlobPin {
  /** Pins more digests; once it settles, a gc sees them. */
  add(digests: Iterable<string>): void | Promise<void>;
  release(): void | Promise<void>;
}

/** A byte range of a blob: `start` inclusive, `end` exclusive. */
export interface BlobRange {
  start: number;
  end: number;
}

/**
 * Content-addressed blob storage keyed by sha256, not shaped around local files: bytes go in as a
 * path, bytes or a stream and come out as a stream. The filesystem store (`fs/`) implements it;
 * S3-compatible storage and a remote backend's uploads implement the same shape. Stores with a
 * faster way out offer it as an optional method (`localPath`, `presignedUrl`).
 */
export interface BlobStore {
  /** Where the blobs live (a folder, a bucket URL), named in messages; never holds a secret. */
  readonly location: string;
  /** Hashes and stages bytes (written once; nothing is visible until `publish`). */
  stage(source: BlobSource, options?: { onProgress?: (bytes: number) => void }): Promise<StagedBlob>;
  /** Makes every staged blob durable, then visible under its digest. Idempotent per blob. */
  publish(blobs: readonly StagedBlob[]): Promise<void>;
  /** Drops staged blobs that will not be published. */
  discard(blobs: readonly StagedBlob[]): Promise<void>;
  /** True when a blob with this digest (and size, when given) is stored. */
  has(sha256: string, size?: number): Promise<boolean>;
  /** Which of `blobs` are not stored (with that size). */
  missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]>;
  /** Facts about one stored blob, or undefined when it is not stored. */
  info(sha256: string): Promise<StoredBlob | undefined>;
  /**
   * The bytes of a stored blob (or of a range of it) as a stream, not verified: a reader hashes
   * what it reads. `E_BLOB_MISSING` when it is not stored.
   */
  open(sha256: string, range?: BlobRange): Promise<AsyncIterable<Uint8Array>>;
  /** Reads a whole blob into memory, verified against its digest and size. */
  read(sha256: string, size: number, options?: { entryPath?: string }): Promise<Uint8Array>;
  /** Refreshes a blob's time so that a concurrent `gc` within its grace period leaves it alone. */
  touch(sha256: string): Promise<void>;
  /** Pins blobs that a commit in flight relies on, so `gc` leaves them until released. */
  pin(): BlobPin;
  /** Every digest pinned by commits in flight (`graceMs` bounds how long a stale pin counts). */
  pinned(graceMs: number): Promise<Set<string>>;
  /** Re-hashes a stored blob. */
  rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined>;
  list(): AsyncIterable<StoredBlob>;
  remove(sha256: string): Promise<void>;
  /** Removal for gc in steps that can be undone (take, restore, finish). */
  beginRemoval(): BlobRemoval;
  /** Puts back blobs of removals that never finished; returns how many. */
  restoreAbandonedRemovals(): Promise<number>;
  /** Removes abandoned staging (temporary files, incomplete uploads) older than `graceMs`. */
  removeStaleStaging(graceMs: number): Promise<{ files: number; bytes: number }>;
  /** Fast path of a store on this machine's disk: the file holding a blob, never to be written. */
  localPath?(sha256: string): string;
  /** Fast path of object storage: a URL that reads (or writes) a blob without the server in between. */
  presignedUrl?(
    sha256: string,
    options: { method: 'GET' | 'PUT'; expiresInSeconds: number },
  ): Promise<string>;
}
