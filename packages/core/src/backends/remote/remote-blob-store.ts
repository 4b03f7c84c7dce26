import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Dispatcher, request as undiciRequest } from 'undici';
import { collectVerified, hashChunks, hashHandle, sha256Hex } from '../../blobs/copy-and-hash.js';
import { QuiverError } from '../../contract/errors.js';
import type {
  BlobPin,
  BlobRange,
  BlobRemoval,
  BlobSource,
  BlobStore,
  StagedBlob,
  StoredBlob,
} from '../../contract/index.js';
import { mapLimited } from '../../map-limited.js';
import { errorFromText, isConnectionError, RETRIED_STATUSES, type RemoteTransport } from './transport.js';

/** A blob staged for upload: hashed here, its bytes still where they came from. */
interface RemoteStagedBlob extends StagedBlob {
  source: { path: string } | { bytes: Uint8Array };
  /** A spool file this store made for a stream (removed once uploaded or discarded). */
  spool?: string;
}

/** Bytes per read of a file being uploaded. */
const TRANSFER_CHUNK = 1024 * 1024;

/** How many times one download resumes after its connection broke off. */
export const DOWNLOAD_RESUMES = 8;

/** Uploads running at once. */
const UPLOAD_CONCURRENCY = 4;

const SHA256 = /^[0-9a-f]{64}$/;

/** The size an upload declares (the server counts the bytes against it). */
export const SIZE_HEADER = 'x-quiver-size';

/**
 * Sent with a download: the client can fetch the bytes straight from object storage, so a server
 * over S3 may answer with a redirect to a presigned URL instead of streaming them itself.
 */
export const DIRECT_HEADER = 'x-quiver-direct';

function serverSide(what: string): QuiverError {
  return new QuiverError(
    'E_FORBIDDEN',
    `${what} runs on the Quiver server, not through a client; ask its admin (quiver server …).`,
  );
}

/**
 * The blob store of a remote backend. `stage` hashes bytes here and remembers where they are;
 * `publish` asks the server which digests it lacks and uploads only those, several at a time,
 * each as one streamed `PUT /blobs/:sha256` that the server hashes again and refuses when the
 * bytes do not match. Reads stream `GET /blobs/:sha256` (with `Range`); the SDK verifies what it
 * reads. Removal and gc run on the server.
 */
export class RemoteBlobStore implements BlobStore {
  constructor(private readonly transport: RemoteTransport) {}

  get location(): string {
    return `${this.transport.baseUrl.origin}${this.transport.baseUrl.pathname.replace(/\/+$/, '')}`;
  }

  async stage(
    source: BlobSource,
    options: { onProgress?: (bytes: number) => void } = {},
  ): Promise<StagedBlob> {
    if ('bytes' in source) {
      options.onProgress?.(source.bytes.length);
      return this.staged(sha256Hex(source.bytes), source.bytes.length, { bytes: source.bytes });
    }
    if ('path' in source) {
      if (source.knownSha256 !== undefined && source.knownSize !== undefined) {
        options.onProgress?.(source.knownSize);
        return this.staged(source.knownSha256, source.knownSize, { path: source.path });
      }
      const handle = await open(source.path, 'r');
      try {
        const { sha256, size } = await hashHandle(handle, options.onProgress);
        return this.staged(sha256, size, { path: source.path });
      } finally {
        await handle.close();
      }
    }
    // A stream is read once: spool it to a temporary file while hashing.
    const dir = await mkdtemp(join(tmpdir(), 'quiver-upload-'));
    const spool = join(dir, 'blob');
    try {
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256');
      let size = 0;
      await pipeline(
        Readable.from(source.stream),
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            options.onProgress?.(chunk.length);
            yield chunk;
          }
        },
        createWriteStream(spool),
      );
      return { ...this.staged(hash.digest('hex'), size, { path: spool }), spool: dir } as StagedBlob;
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private staged(sha256: string, size: number, source: RemoteStagedBlob['source']): RemoteStagedBlob {
    return { sha256, size, reused: false, source };
  }

  async publish(staged: readonly StagedBlob[]): Promise<void> {
    const blobs = staged as readonly RemoteStagedBlob[];
    const unique = [...new Map(blobs.map((blob) => [blob.sha256, blob])).values()];
    const missing = new Set(await this.missing(unique));
    await mapLimited(
      unique.filter((blob) => missing.has(blob.sha256)),
      UPLOAD_CONCURRENCY,
      (blob) => this.upload(blob),
    );
    await this.discard(blobs);
  }

  private async upload(blob: RemoteStagedBlob): Promise<void> {
    const url = this.transport.url('/blobs/:sha256', { params: { sha256: blob.sha256 } });
    const response = await transfer(
      this.transport,
      url,
      () => ({
        method: 'PUT',
        headers: this.transport.headers({
          'content-type': 'application/octet-stream',
          'content-length': String(blob.size),
        }),
        body:
          'bytes' in blob.source
            ? blob.source.bytes
            : createReadStream(blob.source.path, { highWaterMark: TRANSFER_CHUNK }),
      }),
      // The same bytes under the same digest: sending them again is safe.
      true,
    );
    await response.body.dump();
  }

  async discard(staged: readonly StagedBlob[]): Promise<void> {
    for (const blob of staged as readonly RemoteStagedBlob[])
      if (blob.spool) await rm(blob.spool, { recursive: true, force: true });
  }

  async has(sha256: string, size?: number): Promise<boolean> {
    const info = await this.info(sha256);
    return info !== undefined && (size === undefined || info.size === size);
  }

  async missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]> {
    const list = [...blobs].map(({ sha256, size }) => ({ sha256, size }));
    if (list.length === 0) return [];
    const missing: string[] = [];
    for (let start = 0; start < list.length; start += 10_000) {
      const url = this.transport.url('/blobs/missing');
      const response = await this.transport.send(
        url,
        () => ({
          method: 'POST',
          headers: this.transport.headers({ 'content-type': 'application/json' }),
          body: JSON.stringify({ blobs: list.slice(start, start + 10_000) }),
        }),
        true,
      );
      const answer = (await response.json()) as unknown;
      if (!Array.isArray(answer) || !answer.every((item) => typeof item === 'string' && SHA256.test(item)))
        throw new QuiverError(
          'E_INTERNAL',
          'The server answered the missing-blobs check with something else than digests.',
        );
      missing.push(...(answer as string[]));
    }
    return missing;
  }

  async info(sha256: string): Promise<StoredBlob | undefined> {
    const url = this.transport.url('/blobs/:sha256', { params: { sha256 } });
    try {
      const response = await this.transport.send(
        url,
        () => ({ method: 'HEAD', headers: this.transport.headers() }),
        true,
      );
      const size = Number(response.headers.get('content-length'));
      if (!Number.isSafeInteger(size) || size < 0)
        throw new QuiverError('E_INTERNAL', `The server gave no valid size for blob ${sha256}.`);
      const modified = Date.parse(response.headers.get('last-modified') ?? '');
      return { sha256, size, modifiedAt: new Date(Number.isNaN(modified) ? 0 : modified) };
    } catch (error) {
      if (error instanceof QuiverError && error.code === 'E_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /**
   * A blob's bytes (or a range of them) as they stream from the server. A connection that breaks
   * off mid-stream is resumed where it stopped, with a `Range` request, up to
   * {@link DOWNLOAD_RESUMES} times, so a large download survives a dropped connection or a server
   * restart without starting over (the reader's hash runs on over the joined bytes).
   */
  async open(sha256: string, range?: BlobRange): Promise<AsyncIterable<Uint8Array>> {
    if (range && range.end <= range.start) return (async function* () {})();
    const first = await this.request(sha256, range?.start ?? 0, range?.end);
    const length = Number(first.headers['content-length']);
    // Where the bytes asked for end: the range's end, else the first answer's length.
    const end = range?.end ?? (Number.isSafeInteger(length) && length >= 0 ? length : undefined);
    const resume = (offset: number) => this.request(sha256, offset, end);
    return (async function* () {
      let offset = range?.start ?? 0;
      let body: AsyncIterable<Uint8Array> = first.body;
      for (let resumes = 0; ; ) {
        try {
          for await (const chunk of body) {
            offset += chunk.length;
            yield chunk;
          }
          return;
        } catch (error) {
          if (!isConnectionError(error) || end === undefined || offset >= end) throw error;
          if (++resumes > DOWNLOAD_RESUMES)
            throw new QuiverError(
              'E_UNAVAILABLE',
              `The download of blob ${sha256} broke off ${resumes} times (last at byte ${offset} of ${end}); nothing more was written. Try again when the connection is steadier.`,
              { details: { sha256, offset } },
            );
          body = (await resume(offset)).body;
        }
      }
    })();
  }

  /**
   * One GET of a blob from `start` (to `end`, exclusive, when given); a range that is not honoured
   * is an error. A server over object storage may redirect to a presigned URL of the bucket: the
   * bytes then come from there (no Quiver key is sent to it). When the bucket cannot be reached
   * from here, or refuses, the download goes through the server instead.
   */
  private async request(sha256: string, start: number, end: number | undefined) {
    const ranged = start > 0 || end !== undefined;
    const range: Record<string, string> = ranged
      ? { range: `bytes=${start}-${end === undefined ? '' : end - 1}` }
      : {};
    let response = await this.fromServer(sha256, range, this.direct);
    if (response.statusCode === 307) {
      const location = response.headers.location;
      await response.body.dump();
      const direct = typeof location === 'string' ? await this.fromBucket(location, range) : undefined;
      if (direct) response = direct;
      else {
        this.direct = false;
        response = await this.fromServer(sha256, range, false);
      }
    }
    if (ranged && response.statusCode !== 206) {
      await response.body.dump();
      throw new QuiverError('E_INTERNAL', `The server ignored the byte range asked for blob ${sha256}.`);
    }
    return response;
  }

  /** Downloads may be redirected to object storage until one such redirect fails. */
  private direct = true;

  private async fromServer(sha256: string, range: Record<string, string>, direct: boolean) {
    const url = this.transport.url('/blobs/:sha256', { params: { sha256 } });
    try {
      return await transfer(
        this.transport,
        url,
        () => ({
          method: 'GET',
          headers: this.transport.headers({
            ...range,
            accept: 'application/octet-stream',
            ...(direct ? { [DIRECT_HEADER]: '1' } : {}),
          }),
        }),
        true,
      );
    } catch (error) {
      if (error instanceof QuiverError && error.code === 'E_NOT_FOUND')
        throw new QuiverError('E_BLOB_MISSING', `The server holds no blob ${sha256}.`, {
          details: { sha256 },
        });
      throw error;
    }
  }

  /** A presigned GET of the bucket; undefined when it cannot be used (the caller asks the server). */
  private async fromBucket(location: string, range: Record<string, string>) {
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    try {
      const response = await undiciRequest(url, { method: 'GET', headers: range });
      if (response.statusCode === 200 || response.statusCode === 206) return response;
      await response.body.dump();
      return undefined;
    } catch {
      return undefined;
    }
  }

  async read(sha256: string, size: number, options: { entryPath?: string } = {}): Promise<Uint8Array> {
    const bytes = await collectVerified(await this.open(sha256), sha256, size);
    if (!bytes)
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The server sent bytes for ${options.entryPath ?? sha256} that do not match its digest; nothing was used.`,
        { details: { sha256, ...(options.entryPath ? { path: options.entryPath } : {}) } },
      );
    return bytes;
  }

  /** The server refreshes a blob's time when a commit checks it (`missingBlobs`). */
  async touch(_sha256: string): Promise<void> {}

  /** Pins live on the server: the commit's missing check refreshes what it relies on. */
  pin(): BlobPin {
    return { add() {}, release() {} };
  }

  async pinned(_graceMs: number): Promise<Set<string>> {
    return new Set();
  }

  async rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined> {
    const info = await this.info(sha256);
    if (!info) return undefined;
    // Streamed, not read into memory: a blob may be many GiB.
    return hashChunks(await this.open(sha256)).catch(() => undefined);
  }

  /** Every stored blob, a page at a time (a server admin's key only). */
  async *list(): AsyncIterable<StoredBlob> {
    let after: string | undefined;
    for (;;) {
      const url = this.transport.url('/admin/blobs', {
        query: { limit: '1000', ...(after ? { after } : {}) },
      });
      const response = await this.transport.send(
        url,
        () => ({ method: 'GET', headers: this.transport.headers() }),
        true,
      );
      const page = (await response.json()) as Array<{ sha256: unknown; size: unknown; modifiedAt: unknown }>;
      if (!Array.isArray(page))
        throw new QuiverError(
          'E_INTERNAL',
          'The server answered the blob listing with something else than a list.',
        );
      for (const blob of page) {
        if (typeof blob.sha256 !== 'string' || !SHA256.test(blob.sha256) || !Number.isSafeInteger(blob.size))
          throw new QuiverError('E_INTERNAL', 'The server listed a blob without a valid digest and size.');
        yield {
          sha256: blob.sha256,
          size: blob.size as number,
          modifiedAt: new Date(String(blob.modifiedAt)),
        };
      }
      if (page.length < 1000) return;
      after = page[page.length - 1]!.sha256 as string;
    }
  }

  async remove(_sha256: string): Promise<void> {
    throw serverSide('Removing a blob');
  }

  beginRemoval(): BlobRemoval {
    throw serverSide('Garbage collection');
  }

  async restoreAbandonedRemovals(): Promise<number> {
    return 0;
  }

  async removeStaleStaging(_graceMs: number): Promise<{ files: number; bytes: number }> {
    return { files: 0, bytes: 0 };
  }
}

/**
 * Streams bytes to or from the server with undici's `request` (Node streams end to end, far
 * cheaper per byte than fetch's web streams): blob uploads and downloads. Retries like
 * `transport.send`; `body` is made again for each attempt. Answers of 4xx and 5xx become their
 * `QuiverError`.
 */
function transfer(
  transport: RemoteTransport,
  url: URL,
  init: () => {
    method: Dispatcher.HttpMethod;
    headers: Record<string, string>;
    body?: Readable | Uint8Array;
  },
  retry: boolean,
): Promise<Dispatcher.ResponseData> {
  const exchange = () => {
    const { method, headers, body } = init();
    return undiciRequest(url, { method, headers, ...(body ? { body } : {}) });
  };
  return transport.retrying(url, retry, exchange, async (response, canRetry) => {
    if (response.statusCode < 400) return 'done';
    const text = await response.body.text().catch(() => '');
    if (canRetry && RETRIED_STATUSES.has(response.statusCode)) return 'again';
    throw errorFromText(text, response.statusCode);
  });
}
