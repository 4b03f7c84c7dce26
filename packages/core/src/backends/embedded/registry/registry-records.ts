import type { Selectable } from 'kysely';
import { QuiverError } from '../../../contract/errors.js';
import type {
  ModelLocator,
  RegisteredModelInfo,
  RegistryRef,
  RegistryVersionInfo,
} from '../../../contract/index.js';
import { assertName } from '../../../names.js';
import { DEFAULT_REGISTRY, formatRegistryRef } from '../../../ref.js';
import { selectVersions, toVersionInfos } from '../artifact-records.js';
import type { EmbeddedContext as Store } from '../context.js';
import type { Executor } from '../database/connection.js';
import type { RegisteredModelTable, RegistryLinkTable } from '../database/schema.js';
import type { RegistryEventInput } from '../events.js';
import { keyOf, withKey } from '../keys.js';
import { type RegistryRow, registryRow } from './registries.js';

export type ModelRow = Selectable<RegisteredModelTable>;
export type LinkRow = Selectable<RegistryLinkTable>;

/** The registry and model rows a locator names, or `E_NOT_FOUND`. */
export async function findModel(
  trx: Executor,
  store: Store,
  locator: ModelLocator,
): Promise<{ registry: RegistryRow; model: ModelRow }> {
  const entity = assertName(locator.entity ?? store.principal.entity, 'entity');
  const registry = await registryRow(
    trx,
    entity,
    assertName(locator.registry ?? DEFAULT_REGISTRY, 'registry'),
    store.principal.actor,
  );
  const model = await trx
    .selectFrom('registered_models')
    .selectAll()
    .where('registry_id', '=', registry.id)
    .where('name', '=', assertName(locator.model, 'model'))
    .executeTakeFirst();
  if (!model) {
    throw new QuiverError(
      'E_NOT_FOUND',
      `There is no registered model '${locator.model}' in ${entity}/registry/${registry.name}; link a version with --create, or run 'quiver registry model create ${locator.model}'.`,
      { details: { model: locator.model, registry: registry.name } },
    );
  }
  return { registry, model };
}

export function modelRef(registry: RegistryRow, modelName: string): string {
  return formatRegistryRef({ entity: registry.entity, registry: registry.name, model: modelName });
}

/** Tags, aliases and version counts for model rows (a fixed number of queries). */
export async function toModelInfos(
  db: Executor,
  registries: ReadonlyMap<number, RegistryRow>,
  models: readonly ModelRow[],
): Promise<RegisteredModelInfo[]> {
  if (models.length === 0) return [];
  const ids = models.map((model) => model.id);
  const tags = new Map<number, string[]>();
  const aliases = new Map<number, Record<string, number>>();
  const counts = new Map<number, { count: number; latest: number | null }>();
  for (let offset = 0; offset < ids.length; offset += 5000) {
    const chunk = ids.slice(offset, offset + 5000);
    for (const row of await db
      .selectFrom('registered_model_tags')
      .selectAll()
      .where('model_id', 'in', chunk)
      .orderBy('tag')
      .execute()) {
      tags.set(row.model_id, [...(tags.get(row.model_id) ?? []), row.tag]);
    }
    const aliasRows = await db
      .selectFrom('registry_aliases as al')
      .innerJoin('registry_links as l', 'l.id', 'al.link_id')
      .select(['al.model_id', 'al.alias', 'l.version'])
      .where('al.model_id', 'in', chunk)
      .orderBy('al.alias')
      .execute();
    for (const row of aliasRows)
      aliases.set(row.model_id, { ...(aliases.get(row.model_id) ?? {}), [row.alias]: row.version });
    const countRows = await db
      .selectFrom('registry_links')
      .select((eb) => ['model_id', eb.fn.countAll<number>().as('count'), eb.fn.max('version').as('latest')])
      .where('model_id', 'in', chunk)
      .groupBy('model_id')
      .execute();
    for (const row of countRows)
      counts.set(row.model_id, {
        count: Number(row.count),
        latest: row.latest === null ? null : Number(row.latest),
      });
  }
  return models.map((model) => {
    const registry = registries.get(model.registry_id)!;
    return withKey(
      {
        id: model.uid,
        entity: registry.entity,
        registry: registry.name,
        name: model.name,
        ref: modelRef(registry, model.name),
        card: model.card,
        tags: tags.get(model.id) ?? [],
        aliases: aliases.get(model.id) ?? {},
        versionCount: counts.get(model.id)?.count ?? 0,
        latest: counts.get(model.id)?.latest ?? null,
        createdBy: model.created_by,
        createdAt: model.created_at,
        updatedAt: model.updated_at,
      },
      model.id,
    );
  });
}

/** Registry versions for link rows of one model, with their aliases and source versions. */
export async function toRegistryVersions(
  db: Executor,
  registry: RegistryRow,
  model: ModelRow,
  links: readonly LinkRow[],
): Promise<RegistryVersionInfo[]> {
  if (links.length === 0) return [];
  const linkIds = links.map((link) => link.id);
  const aliasRows = await db
    .selectFrom('registry_aliases')
    .select(['link_id', 'alias'])
    .where('link_id', 'in', linkIds)
    .orderBy('alias')
    .execute();
  const sources = await toVersionInfos(
    db,
    await selectVersions(db)
      .where(
        'v.id',
        'in',
        links.map((link) => link.source_version_id),
      )
      .execute(),
  );
  const sourceById = new Map(sources.map((source) => [keyOf(source), source]));
  return links.map((link) => {
    const source = sourceById.get(link.source_version_id);
    if (!source)
      throw new QuiverError(
        'E_NOT_FOUND',
        `The artifact version behind ${modelRef(registry, model.name)}:v${link.version} was deleted.`,
      );
    const selector: RegistryRef = {
      entity: registry.entity,
      registry: registry.name,
      model: model.name,
      version: link.version,
    };
    return withKey(
      {
        linkId: link.uid,
        ref: formatRegistryRef(selector),
        entity: registry.entity,
        registry: registry.name,
        model: model.name,
        version: link.version,
        aliases: aliasRows.filter((row) => row.link_id === link.id).map((row) => row.alias),
        linkedBy: link.linked_by,
        linkedAt: link.linked_at,
        source,
      },
      link.id,
    );
  });
}

/** Resolves a registry ref to the link it names (by version or alias), or `E_NOT_FOUND`. */
export async function resolveRegistryRef(
  store: Store,
  ref: RegistryRef,
  executor?: Executor,
): Promise<RegistryVersionInfo> {
  // Without a transaction to join, read on one snapshot so the aliases reported match the lookup.
  if (!executor) return store.connection.readTransaction((trx) => resolveRegistryRef(store, ref, trx));
  const trx = executor;
  const { registry, model } = await findModel(trx, store, ref);
  let link: LinkRow | undefined;
  if (ref.version !== undefined) {
    link = await trx
      .selectFrom('registry_links')
      .selectAll()
      .where('model_id', '=', model.id)
      .where('version', '=', ref.version)
      .executeTakeFirst();
  } else {
    link = await trx
      .selectFrom('registry_links as l')
      .innerJoin('registry_aliases as al', 'al.link_id', 'l.id')
      .selectAll('l')
      .where('al.model_id', '=', model.id)
      .where('al.alias', '=', ref.alias ?? 'latest')
      .executeTakeFirst();
  }
  if (!link) {
    const what =
      ref.version !== undefined
        ? `version v${ref.version} is not linked`
        : `no version holds the alias '${ref.alias}'`;
    throw new QuiverError(
      'E_NOT_FOUND',
      `Cannot resolve '${formatRegistryRef(ref)}': ${what}. See 'quiver registry model show ${model.name}'.`,
      {
        details: { ref: formatRegistryRef(ref) },
      },
    );
  }
  return (await toRegistryVersions(trx, registry, model, [link]))[0]!;
}

/** Registry versions for any link ids (several models and registries). */
export async function registryVersionsByLinkIds(
  db: Executor,
  linkIds: readonly number[],
): Promise<RegistryVersionInfo[]> {
  if (linkIds.length === 0) return [];
  const links = await db
    .selectFrom('registry_links')
    .selectAll()
    .where('id', 'in', [...linkIds])
    .orderBy('id')
    .execute();
  const models = await db
    .selectFrom('registered_models')
    .selectAll()
    .where('id', 'in', [...new Set(links.map((link) => link.model_id))])
    .execute();
  const registries = await db
    .selectFrom('registries')
    .selectAll()
    .where('id', 'in', [...new Set(models.map((model) => model.registry_id))])
    .execute();
  const result: RegistryVersionInfo[] = [];
  for (const model of models) {
    const registry = registries.find((candidate) => candidate.id === model.registry_id)!;
    result.push(
      ...(await toRegistryVersions(
        db,
        registry,
        model,
        links.filter((link) => link.model_id === model.id),
      )),
    );
  }
  return result.sort((a, b) => keyOf(a) - keyOf(b));
}

/** The part of an audit event that names the model a mutation touched. */
export function modelEvent(
  registry: RegistryRow,
  model: ModelRow,
): Pick<RegistryEventInput, 'entity' | 'registry' | 'modelKey' | 'modelId' | 'model' | 'subject'> {
  return {
    entity: registry.entity,
    registry: registry.name,
    modelKey: model.id,
    modelId: model.uid,
    model: model.name,
    subject: modelRef(registry, model.name),
  };
}
