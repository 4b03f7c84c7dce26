import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { collectVerified, hashChunks, hashHandle, sha256Hex } from '../../../blobs/copy-and-hash.js';
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
import { mapLimited } from '../../../map-limited.js';
import { describeS3, isS3NotFound, type S3Location, s3Error } from '../../../s3/s3-client.js';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** Metadata key of the seal (`x-amz-meta-quiver-seal`). */
const SEAL = 'quiver-seal';
/** Multipart part size: 4 in flight keep at most 32 MiB of one upload in memory. */
export const PART_BYTES = 8 * 1024 * 1024;
export const PARTS_IN_FLIGHT = 4;
/** S3 allows at most this many parts. */
const MAX_PARTS = 10_000;
/** CopyObject copies at most 5 GiB; larger objects are copied part by part. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 1024 ** 3;
/** A pin or removal of another machine counts for at least this long. */
const FOREIGN_MAX_AGE_MS = 60 * 60 * 1000;
/** HEADs at once when checking many blobs. */
const CHECKS_IN_FLIGHT = 16;
/** A touch within this long of the last one by this process is skipped (the grace period is an hour). */
const TOUCH_SKIP_MS = 60 * 1000;

/** A check of blobs' seals: the store's key signs `sha256:size` of every blob whose bytes it verified. */
export interface BlobSealer {
  seal(sha256: string, size: number): string;
}

/**
 * Content-addressed blobs in an S3 (or S3-compatible) bucket, in the filesystem store's shape:
 * `<prefix>sha256/<2 hex>/<64 hex>`, plus `tmp/` (staging), `pins/`, `trash/` (gc's undo) and
 * `touched/` (reuse times) beside it.
 *
 * Integrity does not rest on the object store (RGW ignores `x-amz-checksum-sha256`; a multipart
 * ETag is no digest): bytes are hashed here while they stream to the bucket, and an upload under a
 * digest is completed only when its bytes have that digest — otherwise it is aborted and nothing
 * becomes visible. Every object Quiver verified carries a seal (an HMAC of digest and size under
 * the store's secret key) in its metadata; an object under a digest key without a valid seal —
 * written by someone else with the bucket's credentials — counts as absent, so an honest upload
 * replaces it. Reads are verified by their readers as with every store.
 *
 * Staging uploads straight to the final key (visible once verified), so `publish` has nothing
 * left to do; gc's grace period protects a verified blob until a commit records it.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly prefix: string;
  private readonly touchedAt = new Map<string, number>();

  constructor(
    private readonly client: S3Client,
    private readonly where: S3Location,
    private readonly sealer: BlobSealer,
  ) {
    this.prefix = where.prefix ?? '';
    this.location = describeS3(where);
  }

  private get bucket(): string {
    return this.where.bucket;
  }

  /** The key of the blob with this digest. */
  keyOf(sha256: string): string {
    if (!SHA256_PATTERN.test(sha256))
      throw new QuiverError('E_INVALID_REF', `Not a sha256 digest: '${sha256}'.`);
    return `${this.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;
  }

  private touchKey(sha256: string): string {
    return `${this.prefix}touched/${sha256}`;
  }

  private fail(error: unknown, what: string): never {
    throw s3Error(error, what, this.location);
  }

  private async sdk() {
    return import('@aws-sdk/client-s3');
  }

  // ---- writing -------------------------------------------------------------------------------

  async stage(
    source: BlobSource,
    options: { onProgress?: (bytes: number) => void } = {},
  ): Promise<StagedBlob> {
    if ('bytes' in source) {
      const sha256 = sha256Hex(source.bytes);
      const staged =
        (await this.reuse(sha256, source.bytes.length)) ?? (await this.putBytes(sha256, source.bytes));
      options.onProgress?.(source.bytes.length);
      return staged;
    }
    if ('path' in source) return this.stageFile(source, options.onProgress);
    if (source.expectedSha256 !== undefined && source.sizeHint !== undefined)
      return this.stageExpected(source.stream, source.expectedSha256, source.sizeHint, options.onProgress);
    return this.stageUnknownStream(source.stream, options.onProgress);
  }

  /** A stored, sealed blob with this digest (and size) gets a fresh time and is reused. */
  private async reuse(sha256: string, size: number): Promise<StagedBlob | undefined> {
    if (!(await this.has(sha256, size))) return undefined;
    await this.touch(sha256);
    return { sha256, size, reused: true };
  }

  private async putBytes(sha256: string, bytes: Uint8Array): Promise<StagedBlob> {
    const { PutObjectCommand } = await this.sdk();
    await this.client
      .send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(sha256),
          Body: bytes,
          ContentLength: bytes.length,
          // S3 servers check MD5 (RGW too): the bytes arrive as they were hashed.
          ContentMD5: createHash('md5').update(bytes).digest('base64'),
          ContentType: 'application/octet-stream',
          Metadata: { [SEAL]: this.sealer.seal(sha256, bytes.length) },
        }),
      )
      .catch((error: unknown) => this.fail(error, `Storing blob ${sha256}`));
    return { sha256, size: bytes.length, reused: false };
  }

  private async stageFile(
    source: Extract<BlobSource, { path: string }>,
    onProgress?: (bytes: number) => void,
  ): Promise<StagedBlob> {
    if (source.knownSha256 !== undefined && source.knownSize !== undefined) {
      const reused = await this.reuse(source.knownSha256, source.knownSize);
      if (reused) {
        onProgress?.(reused.size);
        return reused;
      }
    }
    // The key is the digest: hash first (a local read), then upload hashing again, so a file that
    // changes in between is caught before anything becomes visible.
    const handle = await open(source.path, 'r');
    let digest: { sha256: string; size: number };
    try {
      digest = await hashHandle(handle);
    } finally {
      await handle.close();
    }
    const reused = await this.reuse(digest.sha256, digest.size);
    if (reused) {
      onProgress?.(reused.size);
      return reused;
    }
    return this.stageExpected(
      createReadStream(source.path, { highWaterMark: 1024 * 1024 }),
      digest.sha256,
      digest.size,
      onProgress,
      `'${source.path}' changed while it was uploaded`,
    );
  }

  /**
   * Streams bytes that should hash to `sha256` straight to its key, hashing as they go. The upload
   * completes only when digest and size match: on a mismatch it is aborted (a multipart upload is
   * never completed, a single PUT never sent), and nothing under the key changes.
   */
  private async stageExpected(
    stream: AsyncIterable<Uint8Array>,
    sha256: string,
    size: number,
    onProgress?: (bytes: number) => void,
    mismatch?: string,
  ): Promise<StagedBlob> {
    const key = this.keyOf(sha256);
    if (await this.has(sha256, size)) {
      // Already stored and sealed: the bytes are read (the caller sent them) but not stored again.
      const actual = await hashChunks(progressOf(stream, onProgress));
      if (actual.sha256 === sha256 && actual.size === size) await this.touch(sha256);
      return { ...actual, reused: actual.sha256 === sha256 && actual.size === size };
    }
    const hash = createHash('sha256');
    let received = 0;
    let actual: { sha256: string; size: number } | undefined;
    const verified = async function* (): AsyncIterable<Uint8Array> {
      for await (const chunk of stream) {
        hash.update(chunk);
        received += chunk.length;
        onProgress?.(chunk.length);
        yield chunk;
      }
      actual = { sha256: hash.digest('hex'), size: received };
      // Thrown before the uploader sees the end of the body: it aborts instead of completing.
      if (actual.sha256 !== sha256 || actual.size !== size) throw new DigestMismatch(actual);
    };
    try {
      await this.upload(key, Readable.from(verified()), size, { [SEAL]: this.sealer.seal(sha256, size) });
    } catch (error) {
      if (error instanceof DigestMismatch) {
        if (mismatch)
          throw new QuiverError('E_CHECKSUM_MISMATCH', `${mismatch}; nothing was stored. Log it again.`, {
            details: { expected: sha256, actual: error.actual.sha256 },
          });
        // The caller compares and refuses (the server's upload route names both digests).
        return { ...error.actual, reused: false };
      }
      this.fail(error, `Uploading blob ${sha256}`);
    }
    return { sha256, size, reused: false };
  }

  /**
   * One upload: a PutObject for a body smaller than a part, else a multipart upload with at most
   * {@link PARTS_IN_FLIGHT} parts in memory. `size` (when known) sets the part size within S3's
   * 10,000 parts.
   */
  private async upload(
    key: string,
    body: Readable,
    size: number | undefined,
    metadata: Record<string, string>,
  ): Promise<void> {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const partSize = Math.max(PART_BYTES, Math.ceil((size ?? 0) / (MAX_PARTS - 1)));
    const upload = new Upload({
      client: this.client,
      queueSize: PARTS_IN_FLIGHT,
      partSize,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/octet-stream',
        Metadata: metadata,
      },
    });
    try {
      await upload.done();
    } catch (error) {
      // The body's own failure (a digest mismatch, a broken client connection) comes first.
      const cause = body.errored ?? error;
      throw cause instanceof DigestMismatch ? cause : (findMismatch(error) ?? cause);
    }
  }

  /** A stream without a known digest is uploaded to `tmp/` while hashed, then copied to its key. */
  private async stageUnknownStream(
    stream: AsyncIterable<Uint8Array>,
    onProgress?: (bytes: number) => void,
  ): Promise<StagedBlob> {
    const temporary = `${this.prefix}tmp/${ownedName()}`;
    const hash = createHash('sha256');
    let size = 0;
    const hashed = async function* (): AsyncIterable<Uint8Array> {
      for await (const chunk of stream) {
        hash.update(chunk);
        size += chunk.length;
        onProgress?.(chunk.length);
        yield chunk;
      }
    };
    try {
      await this.upload(temporary, Readable.from(hashed()), undefined, {});
      const sha256 = hash.digest('hex');
      if (await this.has(sha256, size)) {
        await this.touch(sha256);
        return { sha256, size, reused: true };
      }
      // Hashed here while it went up: the staged object is what the digest says.
      await this.copy(temporary, this.keyOf(sha256), size, { [SEAL]: this.sealer.seal(sha256, size) });
      return { sha256, size, reused: false };
    } catch (error) {
      this.fail(error, 'Uploading a blob');
    } finally {
      await this.deleteKeys([temporary]).catch(() => undefined);
    }
  }

  /** A server-side copy, part by part above 5 GiB; `metadata` replaces the source's when given. */
  private async copy(
    from: string,
    to: string,
    size: number,
    metadata?: Record<string, string>,
  ): Promise<void> {
    const sdk = await this.sdk();
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= MAX_COPY_BYTES) {
      await this.client.send(
        new sdk.CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: source,
          ...(metadata
            ? { MetadataDirective: 'REPLACE', Metadata: metadata, ContentType: 'application/octet-stream' }
            : {}),
        }),
      );
      return;
    }
    const head = metadata
      ? undefined
      : await this.client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: from }));
    const created = await this.client.send(
      new sdk.CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: to,
        ContentType: 'application/octet-stream',
        Metadata: metadata ?? head?.Metadata ?? {},
      }),
    );
    const uploadId = created.UploadId!;
    try {
      const ranges: Array<{ start: number; end: number }> = [];
      for (let start = 0; start < size; start += COPY_PART_BYTES)
        ranges.push({ start, end: Math.min(size, start + COPY_PART_BYTES) - 1 });
      const parts = await mapLimited(ranges, PARTS_IN_FLIGHT, async (range, index) => {
        const answer = await this.client.send(
          new sdk.UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: source,
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
        );
        return { PartNumber: index + 1, ETag: answer.CopyPartResult?.ETag };
      });
      await this.client.send(
        new sdk.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  /** Nothing to do: staging already verified and stored each blob under its key. */
  async publish(_blobs: readonly StagedBlob[]): Promise<void> {}

  /** Nothing to undo: what staging stored is verified content that gc collects when unreferenced. */
  async discard(_blobs: readonly StagedBlob[]): Promise<void> {}

  // ---- reading -------------------------------------------------------------------------------

  /** HEAD of a blob: its size, time and whether its seal is this store's; undefined when absent. */
  private async head(
    sha256: string,
  ): Promise<{ size: number; modifiedAt: Date; sealed: boolean } | undefined> {
    const { HeadObjectCommand } = await this.sdk();
    try {
      const answer = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }),
      );
      const size = Number(answer.ContentLength);
      if (!Number.isSafeInteger(size) || size < 0) return undefined;
      const seal = answer.Metadata?.[SEAL];
      return {
        size,
        modifiedAt: answer.LastModified ?? new Date(0),
        sealed: seal !== undefined && seal === this.sealer.seal(sha256, size),
      };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      this.fail(error, `Checking blob ${sha256}`);
    }
  }

  async has(sha256: string, size?: number): Promise<boolean> {
    const head = await this.head(sha256);
    return head?.sealed === true && (size === undefined || head.size === size);
  }

  async missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]> {
    const list = [...new Map([...blobs].map((blob) => [blob.sha256, blob])).values()];
    const present = await mapLimited(list, CHECKS_IN_FLIGHT, (blob) => this.has(blob.sha256, blob.size));
    return list.filter((_, index) => !present[index]).map((blob) => blob.sha256);
  }

  async info(sha256: string): Promise<StoredBlob | undefined> {
    const [head, touched] = await Promise.all([this.head(sha256), this.touchedTime(sha256)]);
    if (!head?.sealed) return undefined;
    const modifiedAt = touched && touched > head.modifiedAt ? touched : head.modifiedAt;
    return { sha256, size: head.size, modifiedAt };
  }

  private async touchedTime(sha256: string): Promise<Date | undefined> {
    const { HeadObjectCommand } = await this.sdk();
    try {
      const answer = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.touchKey(sha256) }),
      );
      return answer.LastModified;
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      this.fail(error, `Checking blob ${sha256}`);
    }
  }

  async open(sha256: string, range?: BlobRange): Promise<AsyncIterable<Uint8Array>> {
    const key = this.keyOf(sha256);
    if (range && range.end <= range.start) return (async function* () {})();
    const { GetObjectCommand } = await this.sdk();
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
      );
      return answer.Body as Readable;
    } catch (error) {
      if (isS3NotFound(error))
        throw new QuiverError(
          'E_BLOB_MISSING',
          `The stored content with sha256 ${sha256} is missing from ${this.location}. Run 'quiver verify'.`,
          {
            details: { sha256 },
          },
        );
      this.fail(error, `Reading blob ${sha256}`);
    }
  }

  async read(sha256: string, size: number, options: { entryPath?: string } = {}): Promise<Uint8Array> {
    const bytes = await collectVerified(await this.open(sha256), sha256, size);
    if (!bytes)
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The stored content of ${options.entryPath ?? sha256} in ${this.location} does not match its digest; run 'quiver verify'.`,
        { details: { sha256, ...(options.entryPath ? { path: options.entryPath } : {}) } },
      );
    return bytes;
  }

  async rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined> {
    try {
      return await hashChunks(await this.open(sha256));
    } catch {
      return undefined;
    }
  }

  /** A presigned GET (or PUT) of a blob's key, valid for `expiresInSeconds`. */
  async presignedUrl(
    sha256: string,
    options: { method: 'GET' | 'PUT'; expiresInSeconds: number },
  ): Promise<string> {
    const { GetObjectCommand, PutObjectCommand } = await this.sdk();
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const input = { Bucket: this.bucket, Key: this.keyOf(sha256) };
    const command = options.method === 'GET' ? new GetObjectCommand(input) : new PutObjectCommand(input);
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
  }

  /** Every object under `prefix`, a page at a time. */
  private async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    const { ListObjectsV2Command } = await this.sdk();
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        this.fail(error, 'Listing blobs');
      }
      for (const item of page.Contents ?? [])
        if (item.Key !== undefined)
          yield { key: item.Key, size: Number(item.Size ?? 0), modifiedAt: item.LastModified ?? new Date(0) };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(): AsyncIterable<StoredBlob> {
    const touched = new Map<string, Date>();
    for await (const item of this.listKeys(`${this.prefix}touched/`)) {
      const sha256 = item.key.slice(item.key.lastIndexOf('/') + 1);
      if (SHA256_PATTERN.test(sha256)) touched.set(sha256, item.modifiedAt);
    }
    for await (const item of this.listKeys(`${this.prefix}sha256/`)) {
      const sha256 = item.key.slice(item.key.lastIndexOf('/') + 1);
      // Only keys in the store's shape: a stray object elsewhere under sha256/ is not a blob.
      if (!SHA256_PATTERN.test(sha256) || item.key !== this.keyOf(sha256)) continue;
      const time = touched.get(sha256);
      yield { sha256, size: item.size, modifiedAt: time && time > item.modifiedAt ? time : item.modifiedAt };
    }
  }

  // ---- gc --------------------------------------------------------------------------------------

  /** Records a reuse time beside the blob (S3 cannot change an object's time without copying it). */
  async touch(sha256: string): Promise<void> {
    const last = this.touchedAt.get(sha256);
    if (last !== undefined && Date.now() - last < TOUCH_SKIP_MS) return;
    const { PutObjectCommand } = await this.sdk();
    await this.client
      .send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.touchKey(sha256), Body: '', ContentLength: 0 }),
      )
      .catch((error: unknown) => this.fail(error, `Refreshing blob ${sha256}`));
    this.touchedAt.set(sha256, Date.now());
    if (this.touchedAt.size > 100_000) this.touchedAt.clear();
  }

  /** Pins are objects under `pins/` listing digests, written before `add` returns. */
  pin(): BlobPin {
    const key = `${this.prefix}pins/${ownedName()}`;
    const digests = new Set<string>();
    let written = false;
    return {
      add: async (list) => {
        for (const digest of list) if (SHA256_PATTERN.test(digest)) digests.add(digest);
        if (digests.size === 0) return;
        const { PutObjectCommand } = await this.sdk();
        await this.client
          .send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: [...digests].join('\n') }))
          .catch((error: unknown) => this.fail(error, 'Pinning blobs of a commit'));
        written = true;
      },
      release: async () => {
        if (written) await this.deleteKeys([key]).catch(() => undefined);
      },
    };
  }

  async pinned(graceMs: number): Promise<Set<string>> {
    const { GetObjectCommand } = await this.sdk();
    const digests = new Set<string>();
    const cutoff = Date.now() - Math.max(graceMs, FOREIGN_MAX_AGE_MS);
    const stale: string[] = [];
    for await (const item of this.listKeys(`${this.prefix}pins/`)) {
      const owner = ownerOfName(item.key.slice(item.key.lastIndexOf('/') + 1));
      if (owner === 'dead') {
        stale.push(item.key);
        continue;
      }
      if (owner === 'unknown' && item.modifiedAt.getTime() < cutoff) continue;
      try {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: item.key }));
        const text = await answer.Body!.transformToString();
        for (const line of text.split('\n')) if (SHA256_PATTERN.test(line)) digests.add(line);
      } catch (error) {
        if (!isS3NotFound(error)) this.fail(error, 'Reading pins');
      }
    }
    await this.deleteKeys(stale).catch(() => undefined);
    return digests;
  }

  async remove(sha256: string): Promise<void> {
    await this.deleteKeys([this.keyOf(sha256), this.touchKey(sha256)]);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const { DeleteObjectCommand } = await this.sdk();
    // One DELETE each: DeleteObjects needs Content-MD5, which the SDK sends only when asked for.
    await mapLimited(keys, CHECKS_IN_FLIGHT, (key) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch((error: unknown) => {
        if (!isS3NotFound(error)) this.fail(error, 'Deleting objects');
      }),
    );
  }

  /**
   * gc's undoable removal: `take` copies a blob to `trash/<removal>/` and deletes it (so no commit
   * can find it while gc's transaction holds the blob lock), `restore` copies taken blobs back,
   * `finish` deletes the trash.
   */
  beginRemoval(): BlobRemoval {
    const trash = `${this.prefix}trash/${ownedName()}/`;
    const taken = new Map<string, number>();
    return {
      take: async (sha256) => {
        const head = await this.head(sha256);
        if (!head) return false;
        try {
          await this.copy(this.keyOf(sha256), `${trash}${sha256}`, head.size);
          await this.deleteKeys([this.keyOf(sha256), this.touchKey(sha256)]);
        } catch (error) {
          this.fail(error, `Removing blob ${sha256}`);
        }
        taken.set(sha256, head.size);
        return true;
      },
      restore: async () => {
        for (const [sha256, size] of taken) await this.putBack(`${trash}${sha256}`, sha256, size);
        taken.clear();
      },
      finish: async () => {
        await this.deleteKeys([...taken.keys()].map((sha256) => `${trash}${sha256}`));
        taken.clear();
      },
    };
  }

  private async putBack(trashed: string, sha256: string, size: number): Promise<void> {
    try {
      if (!(await this.head(sha256))) await this.copy(trashed, this.keyOf(sha256), size);
      await this.deleteKeys([trashed]);
    } catch (error) {
      if (!isS3NotFound(error)) this.fail(error, `Restoring blob ${sha256}`);
    }
  }

  /** Trash of removals whose gc ended (or, on another machine, is older than an hour) goes back. */
  async restoreAbandonedRemovals(): Promise<number> {
    let restored = 0;
    const cutoff = Date.now() - FOREIGN_MAX_AGE_MS;
    for await (const item of this.listKeys(`${this.prefix}trash/`)) {
      const [removal, sha256] = item.key.slice(`${this.prefix}trash/`.length).split('/');
      if (!removal || !sha256 || !SHA256_PATTERN.test(sha256)) continue;
      const owner = ownerOfName(removal);
      if (owner === 'alive' || (owner === 'unknown' && item.modifiedAt.getTime() > cutoff)) continue;
      await this.putBack(item.key, sha256, item.size);
      restored++;
    }
    return restored;
  }

  /** Removes staging objects and aborts multipart uploads older than `graceMs`. */
  async removeStaleStaging(graceMs: number): Promise<{ files: number; bytes: number }> {
    const sdk = await this.sdk();
    const cutoff = Date.now() - graceMs;
    let files = 0;
    let bytes = 0;
    const stale: string[] = [];
    for await (const item of this.listKeys(`${this.prefix}tmp/`)) {
      if (
        item.modifiedAt.getTime() >= cutoff &&
        ownerOfName(item.key.slice(item.key.lastIndexOf('/') + 1)) !== 'dead'
      )
        continue;
      stale.push(item.key);
      files++;
      bytes += item.size;
    }
    await this.deleteKeys(stale);
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new sdk.ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadMarker ? { UploadIdMarker: uploadMarker } : {}),
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || (upload.Initiated?.getTime() ?? 0) >= cutoff) continue;
          const parts = await this.client
            .send(
              new sdk.ListPartsCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }),
            )
            .catch(() => undefined);
          for (const part of parts?.Parts ?? []) bytes += Number(part.Size ?? 0);
          await this.client
            .send(
              new sdk.AbortMultipartUploadCommand({
                Bucket: this.bucket,
                Key: upload.Key,
                UploadId: upload.UploadId,
              }),
            )
            .catch((error: unknown) => {
              if (!isS3NotFound(error)) throw error;
            });
          files++;
        }
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadMarker = page.NextUploadIdMarker;
        if (!keyMarker && !uploadMarker) break;
      }
    } catch (error) {
      this.fail(error, 'Cleaning abandoned uploads');
    }
    return { files, bytes };
  }
}

/** Bytes whose digest or size is not the one declared (thrown inside the upload's body). */
class DigestMismatch extends Error {
  constructor(readonly actual: { sha256: string; size: number }) {
    super(`the bytes hash to ${actual.sha256} (${actual.size} bytes)`);
  }
}

function findMismatch(error: unknown): DigestMismatch | undefined {
  for (let cause = error; cause; cause = (cause as { cause?: unknown }).cause)
    if (cause instanceof DigestMismatch) return cause;
  return undefined;
}

async function* progressOf(
  stream: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number) => void,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    onProgress?.(chunk.length);
    yield chunk;
  }
}
