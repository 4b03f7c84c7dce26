import { QuiverError } from '../../contract/errors.js';
import type { CommitResult, CommitVersionInput } from '../../contract/index.js';
import { manifestDigest } from '../../manifest.js';
import { assertManifestInput } from '../../manifest-validation.js';
import { serializeJsonObject } from '../../metadata.js';
import { assertAlias, assertName, assertTag, assertType, LATEST_ALIAS } from '../../names.js';
import { formatArtifactRef } from '../../ref.js';
import { setAliasesInTransaction } from './artifact-mutations.js';
import { versionById } from './artifact-records.js';
import type { EmbeddedContext as Store } from './context.js';
import type { Executor } from './database/connection.js';
import { eventTransaction, newUid } from './events.js';

export function typeMismatch(project: string, name: string, expected: string, actual: string): QuiverError {
  return new QuiverError(
    'E_TYPE_MISMATCH',
    `The artifact '${project}/${name}' has type '${expected}', not '${actual}'; use type '${expected}' or another name.`,
    {
      details: { expected, actual },
    },
  );
}

/** The type of an existing artifact, or null. */
export async function artifactType(
  db: Executor,
  artifact: { entity: string; project: string; name: string },
): Promise<string | null> {
  const row = await db
    .selectFrom('artifacts')
    .select('type')
    .where('entity', '=', artifact.entity)
    .where('project', '=', artifact.project)
    .where('name', '=', artifact.name)
    .executeTakeFirst();
  return row?.type ?? null;
}

/**
 * One write transaction: with the blob lock held shared, checks that every blob of the manifest
 * is stored (a concurrent gc may have removed one: `E_CONCURRENT_GC`, nothing recorded), then
 * creates the version, its manifest, its aliases and tags — or finds the equal existing version.
 */
export async function commitVersion(store: Store, input: CommitVersionInput): Promise<CommitResult> {
  const entity = assertName(input.entity ?? store.principal.entity, 'entity');
  const project = assertName(input.project, 'project');
  const artifact = { name: assertName(input.name, 'artifact'), type: assertType(input.type) };
  const description = input.description ?? null;
  if (description !== null && typeof description !== 'string')
    throw new QuiverError('E_INVALID_OPTION', 'description must be text or null.');
  const aliases = [...new Set((input.aliases ?? []).map((alias) => assertAlias(alias)))];
  const tags = [...new Set((input.tags ?? []).map((tag) => assertTag(tag)))];
  const metadata = serializeJsonObject(input.metadata ?? {}, 'metadata');
  const manifest = assertManifestInput(input.manifest, artifact.name);
  const digest = manifestDigest(manifest);
  const size = manifest.reduce((sum, entry) => sum + entry.size, 0);
  const { connection } = store;

  const outcome = await eventTransaction(store, async (trx, append) => {
    await connection.lockBlobs(trx, 'shared');
    const missing = await store.blobs.missing(manifest.filter((entry) => entry.ref === undefined));
    if (missing.length > 0) {
      throw new QuiverError(
        'E_CONCURRENT_GC',
        `${missing.length} blob(s) of this commit were removed by a concurrent 'quiver gc' before it was recorded. Nothing was committed; retry.`,
        { details: { missing: missing.slice(0, 10) } },
      );
    }
    const createdAt = new Date().toISOString();
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
      .select(['id', 'version'])
      .where('artifact_id', '=', row.id)
      .where('digest', '=', digest)
      .where('state', '=', 'committed')
      .orderBy('version')
      .executeTakeFirst();
    let versionId: number;
    let versionNumber: number;
    if (existing) {
      versionId = existing.id;
      versionNumber = Number(existing.version);
    } else {
      versionNumber = locked.next_version;
      const inserted = await trx
        .insertInto('artifact_versions')
        .values({
          artifact_id: row.id,
          uid: newUid(),
          version: locked.next_version,
          digest,
          description,
          metadata,
          size,
          file_count: manifest.length,
          produced_by_run: input.runId ?? null,
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
    }
    const target = {
      artifactKey: row.id,
      versionKey: versionId,
      version: versionNumber,
      entity,
      ref: formatArtifactRef({ entity, project, name: artifact.name, version: versionNumber }),
    };
    if (!existing) {
      await setAliasesInTransaction(trx, append, target, [LATEST_ALIAS]);
      await append({
        topic: 'artifacts',
        action: 'version.create',
        entity,
        subject: target.ref,
        before: null,
        after: {
          version: versionNumber,
          digest,
          type: artifact.type,
          size,
          fileCount: manifest.length,
          runId: input.runId ?? null,
        },
      });
    }
    await setAliasesInTransaction(trx, append, target, aliases);
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
