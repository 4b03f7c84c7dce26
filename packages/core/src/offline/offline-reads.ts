import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { sha256Hex } from '../blobs/copy-and-hash.js';
import type { ArtifactsApiV1, RunsApiV1 } from '../contract/backend.js';
import { isQuiverError, QuiverError } from '../contract/errors.js';
import type { BlobRange, BlobStore, ManifestEntry, QuiverBackendV1, ResolvedRef } from '../contract/index.js';
import { normalizeRef, RefCache, recordOfflineUse } from './ref-cache.js';

function notFound(error: unknown): boolean {
  return isQuiverError(error) && error.code === 'E_NOT_FOUND';
}

function notCached(ref: string, cause: unknown): QuiverError {
  return new QuiverError(
    'E_NOT_CACHED',
    `${ref} is not in this offline bundle, and this machine has not fetched it: use it once online (run.useModel or run.useArtifact) and it resolves from the cache offline, pinned to the version it was then.`,
    { cause, details: { ref } },
  );
}

/**
 * The backend of an offline run: the bundle, and for what the bundle does not hold, the versions
 * this machine fetched online (`RefCache`) — a ref resolves to the version it was pinned to then,
 * its entries come from the cache, and its bytes from the files downloaded then (verified by every
 * reader). A use of such a version is written to the bundle's `uses.jsonl` for `quiver sync`.
 */
export function withOfflineReads(
  inner: QuiverBackendV1,
  cacheDir: string,
  usesFile: string | undefined,
): QuiverBackendV1 {
  const cache = new RefCache(cacheDir);
  const cached = (ref: string, cause: unknown): ResolvedRef => {
    const record = cache.lookup(normalizeRef(ref, inner.principal.entity)) ?? cache.lookup(ref);
    if (!record) throw notCached(ref, cause);
    return record.resolved;
  };
  const runs: RunsApiV1 = Object.create(inner.runs);
  runs.recordUse = async (runId, ref) => {
    try {
      return await inner.runs.recordUse(runId, ref);
    } catch (error) {
      if (!notFound(error)) throw error;
      const resolved = cached(ref, error);
      if (usesFile) recordOfflineUse(usesFile, ref, resolved.version.ref);
      return resolved;
    }
  };
  const artifacts: ArtifactsApiV1 = Object.create(inner.artifacts);
  artifacts.resolve = async (ref) => {
    try {
      return await inner.artifacts.resolve(ref);
    } catch (error) {
      if (!notFound(error)) throw error;
      return cached(ref, error);
    }
  };
  artifacts.entries = async (versionId): Promise<ManifestEntry[]> => {
    try {
      return await inner.artifacts.entries(versionId);
    } catch (error) {
      if (!notFound(error)) throw error;
      const record = cache.byVersionId(versionId);
      if (!record) throw error;
      return record.entries;
    }
  };
  const blobs = cachedFilesBlobStore(inner.blobs, cache);
  const backend: QuiverBackendV1 = {
    specificationVersion: 'v1',
    principal: inner.principal,
    blobs,
    runs,
    artifacts,
    registry: inner.registry,
    events: inner.events,
    maintenance: inner.maintenance,
    withPrincipal: (principal) => withOfflineReads(inner.withPrincipal(principal), cacheDir, usesFile),
    close: () => inner.close(),
  };
  return backend;
}

/** The bundle's blobs, and the files a cached download left for blobs it lacks (readers verify them). */
function cachedFilesBlobStore(inner: BlobStore, cache: RefCache): BlobStore {
  const blobs: BlobStore = Object.create(inner);
  const fallback = async (sha256: string): Promise<string | undefined> =>
    (await inner.has(sha256)) ? undefined : cache.fileWith(sha256);
  blobs.has = async (sha256, size) => (await inner.has(sha256, size)) || cache.fileWith(sha256) !== undefined;
  blobs.open = async (sha256: string, range?: BlobRange) => {
    const file = await fallback(sha256);
    if (!file) return inner.open(sha256, range);
    return createReadStream(file, range ? { start: range.start, end: range.end - 1 } : {});
  };
  blobs.read = async (sha256, size, options) => {
    const file = await fallback(sha256);
    if (!file) return inner.read(sha256, size, options);
    const bytes = await readFile(file);
    if (bytes.length !== size || sha256Hex(bytes) !== sha256)
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The cached file ${file} no longer holds the bytes it was downloaded with; fetch ${options?.entryPath ?? sha256} again online.`,
        { details: { sha256 } },
      );
    return bytes;
  };
  if (inner.localPath) {
    const own = inner.localPath.bind(inner);
    blobs.localPath = (sha256) => {
      const path = own(sha256);
      return existsSync(path) ? path : (cache.fileWith(sha256) ?? path);
    };
  }
  return blobs;
}
