import { QuiverError } from '../../../contract/errors.js';
import type {
  CreateModelOptions,
  ListModelsOptions,
  ModelLocator,
  Page,
  PageRequest,
  RegisteredModelDetails,
  RegisteredModelInfo,
} from '../../../contract/index.js';
import { assertName, assertTag } from '../../../names.js';
import { DEFAULT_REGISTRY } from '../../../ref.js';
import type { EmbeddedContext as Store } from '../context.js';
import type { Executor } from '../database/connection.js';
import { newUid, registryTransaction } from '../events.js';
import { decodeCursor, pageOf, pageSize } from '../paging.js';
import { type RegistryRow, registryRow } from './registries.js';
import {
  findModel,
  type ModelRow,
  modelEvent,
  modelRef,
  toModelInfos,
  toRegistryVersions,
} from './registry-records.js';

async function infoOf(db: Executor, registry: RegistryRow, model: ModelRow): Promise<RegisteredModelInfo> {
  return (await toModelInfos(db, new Map([[registry.id, registry]]), [model]))[0]!;
}

export async function createModel(store: Store, options: CreateModelOptions): Promise<RegisteredModelInfo> {
  const tags = [...new Set((options.tags ?? []).map((tag) => assertTag(tag)))];
  const { registry, model } = await registryTransaction(store, async (trx, log) => {
    const entity = assertName(options.entity ?? store.principal.entity, 'entity');
    const registry = await registryRow(
      trx,
      entity,
      assertName(options.registry ?? DEFAULT_REGISTRY, 'registry'),
      store.principal.actor,
      true,
    );
    const name = assertName(options.model, 'model');
    const exists = await trx
      .selectFrom('registered_models')
      .select('id')
      .where('registry_id', '=', registry.id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (exists)
      throw new QuiverError('E_ALREADY_EXISTS', `${modelRef(registry, name)} already exists.`, {
        details: { model: name },
      });
    const model = await insertModel(trx, store, registry, name, options.card ?? '');
    if (tags.length > 0)
      await trx
        .insertInto('registered_model_tags')
        .values(tags.map((tag) => ({ model_id: model.id, tag })))
        .execute();
    await log({
      ...modelEvent(registry, model),
      action: 'model.create',
      before: null,
      after: { name, card: model.card, tags },
    });
    return { registry, model };
  });
  return infoOf(store.connection.db, registry, model);
}

/** Inserts a model row (inside a registry transaction). */
export async function insertModel(
  trx: Executor,
  store: Store,
  registry: RegistryRow,
  name: string,
  card: string,
): Promise<ModelRow> {
  const now = new Date().toISOString();
  return trx
    .insertInto('registered_models')
    .values({
      registry_id: registry.id,
      uid: newUid(),
      name,
      card,
      next_version: 0,
      created_by: store.principal.actor,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function renameModel(
  store: Store,
  locator: ModelLocator,
  newName: string,
): Promise<RegisteredModelInfo> {
  const name = assertName(newName, 'model');
  const { registry, model } = await registryTransaction(store, async (trx, log) => {
    const { registry, model } = await findModel(trx, store, locator);
    const taken = await trx
      .selectFrom('registered_models')
      .select('id')
      .where('registry_id', '=', registry.id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (taken)
      throw new QuiverError(
        'E_ALREADY_EXISTS',
        `${modelRef(registry, name)} already exists; choose another name.`,
      );
    const updated = await trx
      .updateTable('registered_models')
      .set({ name, updated_at: new Date().toISOString() })
      .where('id', '=', model.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await log({
      ...modelEvent(registry, { ...model, name }),
      action: 'model.rename',
      before: { name: model.name },
      after: { name },
    });
    return { registry, model: updated };
  });
  return infoOf(store.connection.db, registry, model);
}

/** Replaces the model card (markdown). */
export async function updateCard(
  store: Store,
  locator: ModelLocator,
  card: string,
): Promise<RegisteredModelInfo> {
  if (typeof card !== 'string' || Buffer.byteLength(card) > 1024 * 1024) {
    throw new QuiverError('E_INVALID_OPTION', 'A model card must be markdown text of at most 1 MiB.');
  }
  const { registry, model } = await registryTransaction(store, async (trx, log) => {
    const { registry, model } = await findModel(trx, store, locator);
    const updated = await trx
      .updateTable('registered_models')
      .set({ card, updated_at: new Date().toISOString() })
      .where('id', '=', model.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await log({
      ...modelEvent(registry, model),
      action: 'model.card',
      before: { card: model.card },
      after: { card },
    });
    return { registry, model: updated };
  });
  return infoOf(store.connection.db, registry, model);
}

export async function tagModel(
  store: Store,
  locator: ModelLocator,
  add: readonly string[],
  remove: readonly string[] = [],
): Promise<RegisteredModelInfo> {
  const adding = [...new Set(add.map((tag) => assertTag(tag)))];
  const removing = [...new Set(remove.map((tag) => assertTag(tag)))];
  const { registry, model } = await registryTransaction(store, async (trx, log) => {
    const { registry, model } = await findModel(trx, store, locator);
    const before = (
      await trx.selectFrom('registered_model_tags').select('tag').where('model_id', '=', model.id).execute()
    ).map((row) => row.tag);
    const added = adding.filter((tag) => !before.includes(tag));
    const removed = removing.filter((tag) => before.includes(tag));
    if (added.length > 0)
      await trx
        .insertInto('registered_model_tags')
        .values(added.map((tag) => ({ model_id: model.id, tag })))
        .execute();
    if (removed.length > 0)
      await trx
        .deleteFrom('registered_model_tags')
        .where('model_id', '=', model.id)
        .where('tag', 'in', removed)
        .execute();
    const after = [...before.filter((tag) => !removed.includes(tag)), ...added].sort();
    const event = {
      ...modelEvent(registry, model),
      before: { tags: before.sort() },
      after: { tags: after },
    };
    if (added.length > 0) await log({ ...event, action: 'model.tag' });
    if (removed.length > 0) await log({ ...event, action: 'model.untag' });
    return { registry, model };
  });
  return infoOf(store.connection.db, registry, model);
}

/** Registered models with their aliases, tags and version counts, by name. */
export async function listModels(
  store: Store,
  options: ListModelsOptions & PageRequest = {},
): Promise<Page<RegisteredModelInfo>> {
  const limit = pageSize(options);
  const after = decodeCursor(options.cursor, { n: 'string' });
  return store.connection.readTransaction(async (db) => {
    const entity = assertName(options.entity ?? store.principal.entity, 'entity');
    const registry = await registryRow(
      db,
      entity,
      assertName(options.registry ?? DEFAULT_REGISTRY, 'registry'),
      store.principal.actor,
    ).catch(async (error: unknown) => {
      if (options.registry === undefined || options.registry === DEFAULT_REGISTRY) {
        // The default registry is made lazily; a read-only listing of a fresh store is simply empty.
        return undefined;
      }
      throw error;
    });
    if (!registry) return { items: [], next: null };
    let query = db
      .selectFrom('registered_models')
      .selectAll()
      .where('registry_id', '=', registry.id)
      .orderBy('name')
      .limit(limit + 1);
    if (after) query = query.where('name', '>', after.n);
    if (options.prefix)
      query = query.where('name', '>=', options.prefix).where('name', '<', `${options.prefix}\uffff`);
    for (const tag of options.tags ?? []) {
      query = query.where(
        'id',
        'in',
        db.selectFrom('registered_model_tags').select('model_id').where('tag', '=', assertTag(tag)),
      );
    }
    const page = pageOf(
      await query.execute(),
      limit,
      (row) => row,
      (row) => ({ n: row.name }),
    );
    return { items: await toModelInfos(db, new Map([[registry.id, registry]]), page.items), next: page.next };
  });
}

/** A model with all its versions (newest first), their aliases and sources. */
export async function showModel(store: Store, locator: ModelLocator): Promise<RegisteredModelDetails> {
  return store.connection.readTransaction(async (db) => {
    const { registry, model } = await findModel(db, store, locator);
    const links = await db
      .selectFrom('registry_links')
      .selectAll()
      .where('model_id', '=', model.id)
      .orderBy('version', 'desc')
      .execute();
    return {
      ...(await infoOf(db, registry, model)),
      versions: await toRegistryVersions(db, registry, model, links),
    };
  });
}

/** Deletes a model and its links (sources stay). Refused while a protected alias is assigned, unless `force`. */
export async function deleteModel(
  store: Store,
  locator: ModelLocator,
  options: { force?: boolean } = {},
): Promise<RegisteredModelInfo> {
  return registryTransaction(store, async (trx, log) => {
    const { registry, model } = await findModel(trx, store, locator);
    const info = await infoOf(trx, registry, model);
    const protectedAliases = JSON.parse(registry.protected_aliases) as string[];
    const held = (
      await trx.selectFrom('registry_aliases').select('alias').where('model_id', '=', model.id).execute()
    )
      .map((row) => row.alias)
      .filter((alias) => protectedAliases.includes(alias));
    if (held.length > 0 && !options.force) {
      throw new QuiverError(
        'E_ALIAS_PROTECTED',
        `${modelRef(registry, model.name)} holds the protected alias${held.length > 1 ? 'es' : ''} ${held.join(', ')}; move it first, or delete with --force.`,
        { details: { aliases: held } },
      );
    }
    await trx.deleteFrom('registry_aliases').where('model_id', '=', model.id).execute();
    await trx
      .deleteFrom('registry_usage')
      .where('link_id', 'in', trx.selectFrom('registry_links').select('id').where('model_id', '=', model.id))
      .execute();
    await trx.deleteFrom('registry_links').where('model_id', '=', model.id).execute();
    await trx.deleteFrom('registered_model_tags').where('model_id', '=', model.id).execute();
    await trx.deleteFrom('registered_models').where('id', '=', model.id).execute();
    await log({
      ...modelEvent(registry, model),
      action: 'model.delete',
      before: { name: model.name, versions: info.versionCount, aliases: info.aliases, tags: info.tags },
      after: null,
    });
    return info;
  });
}
