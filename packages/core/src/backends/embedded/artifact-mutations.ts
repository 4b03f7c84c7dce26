import { isQuiverError, QuiverError } from '../../contract/errors.js';
import type { ArtifactVersionInfo } from '../../contract/index.js';
import { assertAlias, assertTag, LATEST_ALIAS } from '../../names.js';
import { formatRegistryRef, parseRef } from '../../ref.js';
import { resolveArtifactRef, versionById } from './artifact-records.js';
import type { EmbeddedContext as Store } from './context.js';
import type { Executor } from './database/connection.js';
import { type EventAppender, eventTransaction } from './events.js';
import { keyOf } from './keys.js';
import { resolveVersion } from './resolve-ref.js';

/** The version an alias change is about: its row keys and its ref. */
export interface AliasTarget {
  artifactKey: number;
  versionKey: number;
  version: number;
  entity: string;
  ref: string;
}

/**
 * Points each alias at the target version, moving it from wherever it was (inside the caller's
 * transaction), and logs each set or move but `latest`'s (which follows every new version).
 */
export async function setAliasesInTransaction(
  trx: Executor,
  append: EventAppender | undefined,
  target: AliasTarget,
  aliases: readonly string[],
): Promise<void> {
  if (aliases.length === 0) return;
  const updatedAt = new Date().toISOString();
  const current = new Map(
    (
      await trx
        .selectFrom('aliases as al')
        .innerJoin('artifact_versions as v', 'v.id', 'al.version_id')
        .select(['al.alias', 'al.version_id', 'v.version'])
        .where('al.artifact_id', '=', target.artifactKey)
        .where('al.alias', 'in', aliases)
        .execute()
    ).map((row) => [row.alias, row]),
  );
  for (const alias of aliases) {
    const held = current.get(alias);
    if (held?.version_id === target.versionKey) continue;
    await trx
      .insertInto('aliases')
      .values({
        artifact_id: target.artifactKey,
        alias,
        version_id: target.versionKey,
        updated_at: updatedAt,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['artifact_id', 'alias'])
          .doUpdateSet({ version_id: target.versionKey, updated_at: updatedAt }),
      )
      .execute();
    if (append && alias !== LATEST_ALIAS)
      await append({
        topic: 'artifacts',
        action: held ? 'artifact.alias.move' : 'artifact.alias.set',
        entity: target.entity,
        subject: target.ref,
        before: held ? { alias, version: Number(held.version) } : null,
        after: { alias, version: target.version },
      });
  }
}

/** The alias target of a version this backend resolved. */
function aliasTarget(version: ArtifactVersionInfo, artifactKey: number): AliasTarget {
  return {
    artifactKey,
    versionKey: keyOf(version),
    version: version.version,
    entity: version.entity,
    ref: version.ref,
  };
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
  await eventTransaction(store, async (trx, append) => {
    const artifactId = await artifactIdOf(trx, keyOf(target));
    await store.connection.lockArtifact(trx, artifactId);
    await setAliasesInTransaction(trx, append, aliasTarget(target, artifactId), [checked]);
  });
  return (await versionById(store.connection.db, keyOf(target)))!;
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
  await eventTransaction(store, async (trx, append) => {
    const removed = await trx
      .deleteFrom('aliases')
      .where('version_id', '=', keyOf(target))
      .where('alias', '=', checked)
      .executeTakeFirst();
    if (Number(removed.numDeletedRows) > 0 && checked !== LATEST_ALIAS)
      await append({
        topic: 'artifacts',
        action: 'artifact.alias.remove',
        entity: target.entity,
        subject: target.ref,
        before: { alias: checked, version: target.version },
        after: null,
      });
  });
  return (await versionById(store.connection.db, keyOf(target)))!;
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
  await eventTransaction(store, async (trx, append) => {
    const added = adding.filter((tag) => !target.tags.includes(tag));
    const removed = removing.filter((tag) => target.tags.includes(tag));
    if (adding.length > 0) {
      await trx
        .insertInto('version_tags')
        .values(adding.map((tag) => ({ version_id: keyOf(target), tag })))
        .onConflict((conflict) => conflict.columns(['version_id', 'tag']).doNothing())
        .execute();
    }
    if (removing.length > 0)
      await trx
        .deleteFrom('version_tags')
        .where('version_id', '=', keyOf(target))
        .where('tag', 'in', removing)
        .execute();
    const event = { topic: 'artifacts' as const, entity: target.entity, subject: target.ref };
    const after = [...target.tags.filter((tag) => !removed.includes(tag)), ...added].sort();
    if (added.length > 0)
      await append({
        ...event,
        action: 'version.tag',
        before: { tags: target.tags },
        after: { tags: after },
      });
    if (removed.length > 0)
      await append({
        ...event,
        action: 'version.untag',
        before: { tags: target.tags },
        after: { tags: after },
      });
  });
  return (await versionById(store.connection.db, keyOf(target)))!;
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
  await eventTransaction(store, async (trx, append) => {
    const artifactId = await artifactIdOf(trx, keyOf(target));
    // Checked under the artifact's lock, so a concurrent alias or link cannot slip in between.
    await store.connection.lockArtifact(trx, artifactId);
    const held = (
      await trx.selectFrom('aliases').select('alias').where('version_id', '=', keyOf(target)).execute()
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
      .where('l.source_version_id', '=', keyOf(target))
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
    await trx.deleteFrom('aliases').where('version_id', '=', keyOf(target)).execute();
    await trx.deleteFrom('manifest_entries').where('version_id', '=', keyOf(target)).execute();
    await trx
      .updateTable('artifact_versions')
      .set({ state: 'deleted', deleted_at: new Date().toISOString() })
      .where('id', '=', keyOf(target))
      .execute();
    const newest = await trx
      .selectFrom('artifact_versions')
      .select(['id', 'version'])
      .where('artifact_id', '=', artifactId)
      .where('state', '=', 'committed')
      .orderBy('version', 'desc')
      .executeTakeFirst();
    if (newest)
      await setAliasesInTransaction(
        trx,
        undefined,
        { ...aliasTarget(target, artifactId), versionKey: newest.id, version: Number(newest.version) },
        [LATEST_ALIAS],
      );
    await append({
      topic: 'artifacts',
      action: 'version.delete',
      entity: target.entity,
      subject: target.ref,
      before: { version: target.version, digest: target.digest, aliases: target.aliases },
      after: null,
    });
  });
  return target;
}
