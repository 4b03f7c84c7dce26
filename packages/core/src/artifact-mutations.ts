import { type ArtifactVersionInfo, resolveArtifactRef, versionById } from './artifact-records.js';
import type { Executor } from './database/connection.js';
import { isQuiverError, QuiverError } from './errors.js';
import { assertAlias, assertTag, LATEST_ALIAS } from './names.js';
import { formatRegistryRef, parseRef } from './ref.js';
import { resolveVersion } from './resolve-ref.js';
import type { Store } from './store.js';

/** Points each alias at `versionId`, moving it from wherever it was (inside the caller's transaction). */
export async function setAliasesInTransaction(
  trx: Executor,
  artifactId: number,
  versionId: number,
  aliases: readonly string[],
): Promise<void> {
  const updatedAt = new Date().toISOString();
  for (const alias of aliases) {
    await trx
      .insertInto('aliases')
      .values({ artifact_id: artifactId, alias, version_id: versionId, updated_at: updatedAt })
      .onConflict((conflict) =>
        conflict
          .columns(['artifact_id', 'alias'])
          .doUpdateSet({ version_id: versionId, updated_at: updatedAt }),
      )
      .execute();
  }
}

async function artifactIdOf(trx: Executor, versionId: number): Promise<number> {
  const row = await trx
    .selectFrom('artifact_versions')
    .select(['artifact_id', 'state'])
    .where('id', '=', versionId)
    .executeTakeFirst();
  if (row?.state !== 'committed') throw new QuiverError('E_NOT_FOUND', 'The version was deleted meanwhile.');
  return row.artifact_id;
}

/** Points `alias` at the version `ref` resolves to, atomically moving it if another version held it. */
export async function setAlias(store: Store, ref: string, alias: string): Promise<ArtifactVersionInfo> {
  const checked = assertAlias(alias);
  const target = await resolveVersion(store, ref);
  await store.connection.writeTransaction(async (trx) => {
    const artifactId = await artifactIdOf(trx, target.id);
    await store.connection.lockArtifact(trx, artifactId);
    await setAliasesInTransaction(trx, artifactId, target.id, [checked]);
  });
  return (await versionById(store.connection.db, target.id))!;
}

/** Removes `alias` from the version `ref` resolves to. */
export async function removeAlias(store: Store, ref: string, alias: string): Promise<ArtifactVersionInfo> {
  const checked = assertAlias(alias, { allowVersionShaped: true });
  const target = await resolveVersion(store, ref);
  if (!target.aliases.includes(checked)) {
    throw new QuiverError('E_NOT_FOUND', `${target.ref} does not hold the alias '${checked}'.`, {
      details: { alias: checked },
    });
  }
  await store.connection.db
    .deleteFrom('aliases')
    .where('version_id', '=', target.id)
    .where('alias', '=', checked)
    .execute();
  return (await versionById(store.connection.db, target.id))!;
}

/** Adds or removes tags on the version `ref` resolves to. */
export async function tagVersion(
  store: Store,
  ref: string,
  add: readonly string[],
  remove: readonly string[] = [],
): Promise<ArtifactVersionInfo> {
  const adding = add.map((tag) => assertTag(tag));
  const removing = remove.map((tag) => assertTag(tag));
  const target = await resolveVersion(store, ref);
  await store.connection.writeTransaction(async (trx) => {
    if (adding.length > 0) {
      await trx
        .insertInto('version_tags')
        .values(adding.map((tag) => ({ version_id: target.id, tag })))
        .onConflict((conflict) => conflict.columns(['version_id', 'tag']).doNothing())
        .execute();
    }
    if (removing.length > 0)
      await trx
        .deleteFrom('version_tags')
        .where('version_id', '=', target.id)
        .where('tag', 'in', removing)
        .execute();
  });
  return (await versionById(store.connection.db, target.id))!;
}

/**
 * Deletes a version: its number is never reused and its blobs become garbage for `gc`. Refused
 * while the version holds an alias other than `latest` (unless `force`) and, always, while it is
 * linked in the registry (unlink it first). `latest` moves to the newest remaining version.
 */
export async function deleteVersion(
  store: Store,
  ref: string,
  options: { force?: boolean } = {},
): Promise<ArtifactVersionInfo> {
  const target = await resolveVersion(store, ref).catch(async (error: unknown) => {
    // A version whose record was changed can still be removed (that is what verify advises).
    if (!isQuiverError(error, 'E_CORRUPT_MANIFEST')) throw error;
    const parsed = parseRef(ref);
    if (parsed.kind !== 'artifact') throw error;
    const { kind: _kind, ...artifactRef } = parsed;
    return resolveArtifactRef(store, artifactRef, store.connection.db, { lenient: true });
  });
  await store.connection.writeTransaction(async (trx) => {
    const artifactId = await artifactIdOf(trx, target.id);
    // Checked under the artifact's lock, so a concurrent alias or link cannot slip in between.
    await store.connection.lockArtifact(trx, artifactId);
    const held = (
      await trx.selectFrom('aliases').select('alias').where('version_id', '=', target.id).execute()
    )
      .map((row) => row.alias)
      .filter((alias) => alias !== LATEST_ALIAS);
    if (held.length > 0 && !options.force) {
      throw new QuiverError(
        'E_ALIAS_HELD',
        `${target.ref} holds the alias${held.length > 1 ? 'es' : ''} ${held.map((alias) => `'${alias}'`).join(', ')}; move ${held.length > 1 ? 'them' : 'it'} first, or delete with --force.`,
        { details: { aliases: held } },
      );
    }
    const links = await trx
      .selectFrom('registry_links as l')
      .innerJoin('registered_models as m', 'm.id', 'l.model_id')
      .innerJoin('registries as r', 'r.id', 'm.registry_id')
      .select(['r.entity', 'r.name as registry', 'm.name as model', 'l.version'])
      .where('l.source_version_id', '=', target.id)
      .execute();
    if (links.length > 0) {
      const where = links.map((link) =>
        formatRegistryRef({
          entity: link.entity,
          registry: link.registry,
          model: link.model,
          version: link.version,
        }),
      );
      throw new QuiverError(
        'E_VERSION_LINKED',
        `${target.ref} is linked in the registry as ${where.join(', ')}; unlink it first ('quiver registry unlink').`,
        {
          details: { links: where },
        },
      );
    }
    await trx.deleteFrom('aliases').where('version_id', '=', target.id).execute();
    await trx.deleteFrom('manifest_entries').where('version_id', '=', target.id).execute();
    await trx
      .updateTable('artifact_versions')
      .set({ state: 'deleted', deleted_at: new Date().toISOString() })
      .where('id', '=', target.id)
      .execute();
    const newest = await trx
      .selectFrom('artifact_versions')
      .select('id')
      .where('artifact_id', '=', artifactId)
      .where('state', '=', 'committed')
      .orderBy('version', 'desc')
      .executeTakeFirst();
    if (newest) await setAliasesInTransaction(trx, artifactId, newest.id, [LATEST_ALIAS]);
  });
  return target;
}
