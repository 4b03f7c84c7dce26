import type { Artifact, DraftEntry } from './artifact.js';
import { isQuiverError, QuiverError } from './contract/errors.js';
import type { BlobPin, CommitResult, JsonObject, ManifestEntry, StagedBlob } from './contract/index.js';
import { assertEntryPath } from './entry-path.js';
import { CACHED_DIGEST_MIN_BYTES, cachedDigest, fileIdentity, rememberDigest } from './file-digest-cache.js';
import { fileSystemError } from './fs-errors.js';
import { mapLimited } from './map-limited.js';
import { serializeJsonObject } from './metadata.js';
import { assertAlias, assertName, assertTag } from './names.js';
import { DEFAULT_MAX_OBJECTS, type ReferenceDescription, referenceHandlerFor } from './references/index.js';
import type { Store } from './store.js';

/** Progress of a commit, reported as bytes are hashed and stored. */
export interface CommitProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

/** Options of {@link commitArtifact}. */
export interface CommitOptions {
  entity?: string;
  project: string;
  /** The run that produced this version. */
  runId?: string | null;
  /** Aliases to point at the version (besides `latest`, which Quiver moves itself). */
  aliases?: readonly string[];
  tags?: readonly string[];
  onProgress?: (progress: CommitProgress) => void;
}

/**
 * A typed error for a failure while staging an entry: which side failed (the source file, or the
 * store's blob folder, which a full disk or a read-only mount hits) and that nothing was committed.
 */
function stagingError(store: Store, entry: { path: string; source?: string }, error: unknown): unknown {
  if (error instanceof QuiverError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const failedPath = (error as NodeJS.ErrnoException)?.path;
  const onStore =
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    code === 'EROFS' ||
    (typeof failedPath === 'string' &&
      (failedPath === store.backend.blobs.location ||
        failedPath.startsWith(`${store.backend.blobs.location}/`)));
  if (!onStore && code === 'ENOENT' && entry.source !== undefined) {
    return new QuiverError(
      'E_FILE_NOT_FOUND',
      `The file ${entry.source} (entry '${entry.path}') disappeared before it was committed. Nothing was committed.`,
      { cause: error, details: { path: entry.path } },
    );
  }
  return fileSystemError(error, {
    side: onStore ? 'store' : 'source',
    path: onStore ? store.backend.blobs.location : (entry.source ?? entry.path),
    outcome: `Nothing was committed for '${entry.path}' or the rest of this version.`,
  });
}

function draftEntrySize(entry: DraftEntry): number {
  if (entry.kind === 'bytes') return entry.bytes.length;
  if (entry.kind === 'file' || entry.kind === 'stored') return entry.size;
  return 0;
}

function typeMismatch(project: string, name: string, expected: string, actual: string): QuiverError {
  return new QuiverError(
    'E_TYPE_MISMATCH',
    `The artifact '${project}/${name}' has type '${expected}', not '${actual}'; use type '${expected}' or another name.`,
    { details: { expected, actual } },
  );
}

async function materialize(
  store: Store,
  entry: DraftEntry,
  progress: (bytes: number) => void,
): Promise<{ manifest: ManifestEntry; staged?: StagedBlob }> {
  try {
    return await materializeEntry(store, entry, progress);
  } catch (error) {
    throw stagingError(
      store,
      entry.kind === 'file' ? { path: entry.path, source: entry.source } : entry,
      error,
    );
  }
}

async function materializeEntry(
  store: Store,
  entry: DraftEntry,
  progress: (bytes: number) => void,
): Promise<{ manifest: ManifestEntry; staged?: StagedBlob }> {
  switch (entry.kind) {
    case 'bytes': {
      const staged = await store.backend.blobs.stage({ bytes: entry.bytes }, { onProgress: progress });
      return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
    }
    case 'file': {
      if (entry.size < CACHED_DIGEST_MIN_BYTES) {
        // Small files: hashing them costs less than a digest-cache lookup.
        const staged = await store.backend.blobs.stage(
          { path: entry.source, sizeHint: entry.size },
          { onProgress: progress },
        );
        return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
      }
      const identity = fileIdentity(entry.source);
      const knownSha256 = await cachedDigest(store, entry.source, identity);
      const staged = await store.backend.blobs.stage(
        {
          path: entry.source,
          ...(knownSha256 ? { knownSha256, knownSize: identity.size } : {}),
          sizeHint: identity.size,
        },
        { onProgress: progress },
      );
      if (staged.sha256 !== knownSha256) {
        const after = fileIdentity(entry.source);
        // Only remember a digest when the file did not change while it was read.
        if (after.mtimeNs === identity.mtimeNs && after.size === staged.size)
          await rememberDigest(store, entry.source, identity, staged.sha256);
      }
      return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
    }
    case 'stored': {
      if (!(await store.backend.blobs.has(entry.sha256, entry.size))) {
        throw new QuiverError(
          'E_BLOB_MISSING',
          `The stored content of '${entry.path}' is missing; run 'quiver verify'.`,
          { details: { path: entry.path } },
        );
      }
      await store.backend.blobs.touch(entry.sha256);
      progress(entry.size);
      return { manifest: { path: entry.path, sha256: entry.sha256, size: entry.size } };
    }
    case 'reference': {
      const { url, handler } = referenceHandlerFor(entry.uri);
      const described: ReferenceDescription =
        entry.sha256 !== undefined && entry.size !== undefined
          ? { sha256: entry.sha256, size: entry.size }
          : await handler.describe(url, entry.checksum !== undefined ? { checksum: entry.checksum } : {});
      const ref = described.uri === undefined ? url.href : referenceHandlerFor(described.uri).url.href;
      return {
        manifest: { path: entry.path, sha256: described.sha256, size: described.size, ref },
      };
    }
  }
}

/**
 * Commits a draft as the next version of its artifact. Blobs are made durable first; then one
 * transaction creates the version, its manifest, its aliases and its lineage. Content equal to an
 * existing version's returns that version (`deduplicated: true`) with the aliases applied.
 */
export async function commitArtifact(
  store: Store,
  artifact: Artifact,
  options: CommitOptions,
): Promise<CommitResult> {
  const entity = assertName(options.entity ?? store.backend.principal.entity, 'entity');
  const project = assertName(options.project, 'project');
  const aliases = [...new Set((options.aliases ?? []).map((alias) => assertAlias(alias)))];
  const tags = [...new Set((options.tags ?? []).map((tag) => assertTag(tag)))];
  const metadata = serializeJsonObject(artifact.metadata, 'metadata');
  if (artifact.entries.length === 0) {
    throw new QuiverError(
      'E_EMPTY_ARTIFACT',
      `The artifact '${artifact.name}' has no entries; add files with addFile, addDir, addBytes or addReference.`,
    );
  }

  for (const entry of artifact.entries) if (entry.kind === 'reference') referenceHandlerFor(entry.uri);
  // Fails before any byte is stored when the artifact exists with another type (checked again at commit).
  const existingType = await store.backend.artifacts.typeOf({ entity, project, name: artifact.name });
  if (existingType !== null && existingType !== artifact.type)
    throw typeMismatch(project, artifact.name, existingType, artifact.type);

  const entries = await expandReferences(artifact.entries);
  const bytesTotal = entries.reduce((sum, entry) => sum + draftEntrySize(entry), 0);
  const pin = store.backend.blobs.pin();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const manifest = await stageEntries(store, entries, bytesTotal, options.onProgress, pin);
        return await store.backend.artifacts.commit({
          entity,
          project,
          name: artifact.name,
          type: artifact.type,
          description: artifact.description ?? null,
          metadata: JSON.parse(metadata) as JsonObject,
          manifest,
          runId: options.runId ?? null,
          aliases,
          tags,
        });
      } catch (error) {
        // gc removed a blob this commit had staged or reused before the commit held the blob
        // lock: nothing was recorded; stage again (a file is read again, its copy reused or made).
        // Stored entries are checked again while staging and fail with E_BLOB_MISSING if gone.
        if (!isQuiverError(error, 'E_CONCURRENT_GC') || attempt >= MAX_GC_RETRIES) throw error;
      }
    }
  } finally {
    await pin.release();
  }
}

/**
 * References that name many objects (an `s3://` prefix) as one entry per object, under the
 * reference's name; two entries landing on one path are refused as in a draft.
 */
async function expandReferences(entries: readonly DraftEntry[]): Promise<DraftEntry[]> {
  const expanded: DraftEntry[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'reference' || entry.sha256 !== undefined) {
      expanded.push(entry);
      continue;
    }
    const { url, handler } = referenceHandlerFor(entry.uri);
    const objects = await handler.expand?.(url, {
      maxObjects: entry.maxObjects ?? DEFAULT_MAX_OBJECTS,
      ...(entry.checksum !== undefined ? { checksum: entry.checksum } : {}),
    });
    if (!objects) {
      expanded.push(entry);
      continue;
    }
    for (const object of objects) {
      const path = `${entry.path}/${object.path}`;
      assertEntryPath(path);
      expanded.push({
        kind: 'reference',
        path,
        uri: object.uri ?? entry.uri,
        sha256: object.sha256,
        size: object.size,
      });
    }
  }
  const seen = new Set<string>();
  for (const entry of expanded) {
    if (seen.has(entry.path))
      throw new QuiverError(
        'E_DUPLICATE_ENTRY',
        `Two entries of the artifact land on '${entry.path}'; rename one.`,
        {
          details: { path: entry.path },
        },
      );
    seen.add(entry.path);
  }
  return expanded;
}

/** How often a commit stages again after a concurrent gc removed what it had staged. */
const MAX_GC_RETRIES = 3;

/** Hashes and stages every entry (four at a time) and makes the staged blobs durable. */
async function stageEntries(
  store: Store,
  entries: readonly DraftEntry[],
  bytesTotal: number,
  onProgress: CommitOptions['onProgress'],
  pin: BlobPin,
): Promise<ManifestEntry[]> {
  const progress: CommitProgress = { bytesDone: 0, bytesTotal, filesDone: 0, filesTotal: entries.length };
  const staged: StagedBlob[] = [];
  const stage = async (entry: DraftEntry) => {
    const result = await materialize(store, entry, (bytes) => {
      progress.bytesDone += bytes;
      onProgress?.({ ...progress });
    });
    if (result.staged) staged.push(result.staged);
    progress.filesDone++;
    return result;
  };
  try {
    const materialized = await mapLimited(entries, 4, stage);
    // From here gc leaves these blobs alone. Stored content that was reused (not copied) may
    // have been collected before the pin was written: stage those entries again.
    await pin.add(
      materialized.filter((item) => item.manifest.ref === undefined).map((item) => item.manifest.sha256),
    );
    const reused = materialized
      .map((item, index) => ({ item, index }))
      .filter(
        ({ item }) => item.manifest.ref === undefined && (item.staged === undefined || item.staged.reused),
      );
    const gone = new Set(await store.backend.blobs.missing(reused.map(({ item }) => item.manifest)));
    if (gone.size > 0) {
      const again = reused.filter(({ item }) => gone.has(item.manifest.sha256));
      progress.filesDone -= again.length;
      const restaged = await mapLimited(again, 4, ({ index }) => stage(entries[index]!));
      for (const [position, { index }] of again.entries()) materialized[index] = restaged[position]!;
    }
    onProgress?.({ ...progress });
    await store.backend.blobs.publish(staged);
    return materialized.map((item) => item.manifest);
  } catch (error) {
    await store.backend.blobs.discard(staged);
    // Pinning and publishing write to the store's blob folder (a full or read-only disk).
    throw fileSystemError(error, {
      side: 'store',
      path: store.backend.blobs.location,
      outcome: 'Nothing was committed.',
    });
  }
}
