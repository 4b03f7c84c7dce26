import type { Artifact, DraftEntry } from './artifact.js';
import { setAliasesInTransaction } from './artifact-mutations.js';
import { type ArtifactVersionInfo, versionById } from './artifact-records.js';
import type { StagedBlob } from './blobs/blob-store.js';
import type { Executor } from './database/connection.js';
import { QuiverError } from './errors.js';
import { CACHED_DIGEST_MIN_BYTES, cachedDigest, fileIdentity, rememberDigest } from './file-digest-cache.js';
import { type ManifestEntry, manifestDigest } from './manifest.js';
import { mapLimited } from './map-limited.js';
import { serializeJsonObject } from './metadata.js';
import { assertAlias, assertName, assertTag, LATEST_ALIAS } from './names.js';
import { referenceHandlerFor } from './references/index.js';
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

/** A committed version, and whether its content equalled an existing version's. */
export interface CommitResult {
  version: ArtifactVersionInfo;
  /** True when no new version was created because an existing one has the same manifest digest. */
  deduplicated: boolean;
}

const now = (): string => new Date().toISOString();

function disappeared(entry: { source: string; path: string }, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== 'ENOENT') return error;
  return new QuiverError(
    'E_FILE_NOT_FOUND',
    `The file ${entry.source} (entry '${entry.path}') disappeared before it was committed.`,
    { cause: error },
  );
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
    {
      details: { expected, actual },
    },
  );
}

/** Fails before any byte is stored when the artifact exists with another type (checked again under lock). */
async function assertTypeMatches(
  db: Executor,
  artifact: { entity: string; project: string; name: string; type: string },
): Promise<void> {
  const row = await db
    .selectFrom('artifacts')
    .select('type')
    .where('entity', '=', artifact.entity)
    .where('project', '=', artifact.project)
    .where('name', '=', artifact.name)
    .executeTakeFirst();
  if (row && row.type !== artifact.type)
    throw typeMismatch(artifact.project, artifact.name, row.type, artifact.type);
}

async function materialize(
  store: Store,
  entry: DraftEntry,
  progress: (bytes: number) => void,
): Promise<{ manifest: ManifestEntry; staged?: StagedBlob }> {
  switch (entry.kind) {
    case 'bytes': {
      const staged = await store.blobs.stageBytes(entry.bytes);
      progress(entry.bytes.length);
      return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
    }
    case 'file': {
      if (entry.size < CACHED_DIGEST_MIN_BYTES) {
        // Small files: hashing them costs less than a digest-cache lookup.
        const staged = await store.blobs
          .stageFile(entry.source, { sizeHint: entry.size, onProgress: progress })
          .catch((error: unknown) => {
            throw disappeared(entry, error);
          });
        return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
      }
      let identity: ReturnType<typeof fileIdentity>;
      try {
        identity = fileIdentity(entry.source);
      } catch (error) {
        throw disappeared(entry, error);
      }
      const knownSha256 = await cachedDigest(store, entry.source, identity);
      const staged = await store.blobs.stageFile(entry.source, {
        ...(knownSha256 ? { knownSha256, knownSize: identity.size } : {}),
        sizeHint: identity.size,
        onProgress: progress,
      });
      if (staged.sha256 !== knownSha256) {
        const after = fileIdentity(entry.source);
        // Only remember a digest when the file did not change while it was read.
        if (after.mtimeNs === identity.mtimeNs && after.size === staged.size)
          await rememberDigest(store, entry.source, identity, staged.sha256);
      }
      return { manifest: { path: entry.path, sha256: staged.sha256, size: staged.size }, staged };
    }
    case 'stored': {
      if (!(await store.blobs.has(entry.sha256, entry.size))) {
        throw new QuiverError(
          'E_BLOB_MISSING',
          `The stored content of '${entry.path}' is missing; run 'quiver verify'.`,
          { details: { path: entry.path } },
        );
      }
      await store.blobs.touch(entry.sha256);
      progress(entry.size);
      return { manifest: { path: entry.path, sha256: entry.sha256, size: entry.size } };
    }
    case 'reference': {
      const { url, handler } = referenceHandlerFor(entry.uri);
      const described =
        entry.sha256 !== undefined && entry.size !== undefined
          ? { sha256: entry.sha256, size: entry.size }
          : await handler.describe(url);
      return {
        manifest: { path: entry.path, sha256: described.sha256, size: described.size, ref: url.href },
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
  const entity = assertName(options.entity ?? store.settings.entity, 'entity');
  const project = assertName(options.project, 'project');
  const aliases = [...new Set((options.aliases ?? []).map((alias) => assertAlias(alias)))];
  const tags = [...new Set((options.tags ?? []).map((tag) => assertTag(tag)))];
  const metadata = serializeJsonObject(artifact.metadata, 'metadata');
  const entries = artifact.entries;
  if (entries.length === 0) {
    throw new QuiverError(
      'E_EMPTY_ARTIFACT',
      `The artifact '${artifact.name}' has no entries; add files with addFile, addDir, addBytes or addReference.`,
    );
  }

  for (const entry of entries) if (entry.kind === 'reference') referenceHandlerFor(entry.uri);
  await assertTypeMatches(store.connection.db, { entity, project, name: artifact.name, type: artifact.type });

  const bytesTotal = entries.reduce((sum, entry) => sum + draftEntrySize(entry), 0);
  const progress: CommitProgress = { bytesDone: 0, bytesTotal, filesDone: 0, filesTotal: entries.length };
  const staged: StagedBlob[] = [];
  let materialized: Array<{ manifest: ManifestEntry }>;
  try {
    materialized = await mapLimited(entries, 4, async (entry) => {
      const result = await materialize(store, entry, (bytes) => {
        progress.bytesDone += bytes;
        options.onProgress?.({ ...progress });
      });
      if (result.staged) staged.push(result.staged);
      progress.filesDone++;
      return result;
    });
    options.onProgress?.({ ...progress });
    await store.blobs.publish(staged);
  } catch (error) {
    await store.blobs.discard(staged);
    throw error;
  }

  const manifest = materialized.map((item) => item.manifest);
  const digest = manifestDigest(manifest);
  const size = manifest.reduce((sum, entry) => sum + entry.size, 0);
  const { connection } = store;

  const outcome = await connection.writeTransaction(async (trx) => {
    const createdAt = now();
    await trx
      .insertInto('artifacts')
      .values({
        entity,
        project,
        name: artifact.name,
        type: artifact.type,
        next_version: 0,
        created_at: createdAt,
      })
      .onConflict((conflict) => conflict.columns(['entity', 'project', 'name']).doNothing())
      .execute();
    const row = await trx
      .selectFrom('artifacts')
      .selectAll()
      .where('entity', '=', entity)
      .where('project', '=', project)
      .where('name', '=', artifact.name)
      .executeTakeFirstOrThrow();
    await connection.lockArtifact(trx, row.id);
    const locked = await trx
      .selectFrom('artifacts')
      .select(['type', 'next_version'])
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    if (locked.type !== artifact.type) throw typeMismatch(project, artifact.name, locked.type, artifact.type);
    const existing = await trx
      .selectFrom('artifact_versions')
      .select('id')
      .where('artifact_id', '=', row.id)
      .where('digest', '=', digest)
      .where('state', '=', 'committed')
      .orderBy('version')
      .executeTakeFirst();
    let versionId: number;
    if (existing) {
      versionId = existing.id;
    } else {
      const inserted = await trx
        .insertInto('artifact_versions')
        .values({
          artifact_id: row.id,
          version: locked.next_version,
          digest,
          description: artifact.description ?? null,
          metadata,
          size,
          file_count: manifest.length,
          produced_by_run: options.runId ?? null,
          state: 'committed',
          created_at: createdAt,
          deleted_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      versionId = inserted.id;
      for (let offset = 0; offset < manifest.length; offset += 1000) {
        await trx
          .insertInto('manifest_entries')
          .values(
            manifest.slice(offset, offset + 1000).map((entry) => ({
              version_id: versionId,
              path: entry.path,
              sha256: entry.sha256,
              size: entry.size,
              ref_uri: entry.ref ?? null,
            })),
          )
          .execute();
      }
      await trx
        .updateTable('artifacts')
        .set({ next_version: locked.next_version + 1 })
        .where('id', '=', row.id)
        .execute();
      await setAliasesInTransaction(trx, row.id, versionId, [LATEST_ALIAS]);
    }
    await setAliasesInTransaction(trx, row.id, versionId, aliases);
    if (tags.length > 0) {
      await trx
        .insertInto('version_tags')
        .values(tags.map((tag) => ({ version_id: versionId, tag })))
        .onConflict((conflict) => conflict.columns(['version_id', 'tag']).doNothing())
        .execute();
    }
    return { versionId, deduplicated: existing !== undefined };
  });

  const version = await versionById(connection.db, outcome.versionId);
  if (!version) throw new QuiverError('E_DATABASE', 'The committed version could not be read back.');
  return { version, deduplicated: outcome.deduplicated };
}
