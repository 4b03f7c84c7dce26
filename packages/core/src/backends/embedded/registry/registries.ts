import type { Selectable } from 'kysely';
import { QuiverError } from '../../../contract/errors.js';
import type { CreateRegistryOptions, RegistryInfo } from '../../../contract/index.js';
import { assertAlias, assertName, assertType } from '../../../names.js';
import { DEFAULT_REGISTRY } from '../../../ref.js';
import type { EmbeddedContext as Store } from '../context.js';
import type { Executor } from '../database/connection.js';
import type { RegistryTable } from '../database/schema.js';
import { registryTransaction } from '../events.js';

/** Defaults of a registry created without options (the `model` registry is made this way). */
export const DEFAULT_PROTECTED_ALIASES = ['production'];

export type RegistryRow = Selectable<RegistryTable>;

export function toRegistryInfo(row: RegistryRow): RegistryInfo {
  return {
    entity: row.entity,
    name: row.name,
    description: row.description,
    acceptedTypes: JSON.parse(row.accepted_types) as string[],
    protectedAliases: JSON.parse(row.protected_aliases) as string[],
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

/** Creates the `model` registry of an entity if it does not exist yet (it always exists, lazily). */
export async function ensureDefaultRegistry(trx: Executor, entity: string, actor: string): Promise<void> {
  await trx
    .insertInto('registries')
    .values({
      entity,
      name: DEFAULT_REGISTRY,
      description: 'Models the team relies on.',
      accepted_types: JSON.stringify(['model']),
      protected_aliases: JSON.stringify(DEFAULT_PROTECTED_ALIASES),
      created_by: actor,
      created_at: new Date().toISOString(),
    })
    .onConflict((conflict) => conflict.columns(['entity', 'name']).doNothing())
    .execute();
}

/**
 * Loads a registry row, or fails with `E_NOT_FOUND`. With `createDefault` (mutations only) the
 * default registry is created on demand.
 */
export async function registryRow(
  trx: Executor,
  entity: string,
  name: string,
  actor: string,
  createDefault = false,
): Promise<RegistryRow> {
  if (name === DEFAULT_REGISTRY && createDefault) await ensureDefaultRegistry(trx, entity, actor);
  const row = await trx
    .selectFrom('registries')
    .selectAll()
    .where('entity', '=', entity)
    .where('name', '=', name)
    .executeTakeFirst();
  if (row) return row;
  if (name === DEFAULT_REGISTRY) {
    throw new QuiverError(
      'E_NOT_FOUND',
      `Nothing is registered in ${entity}'s model registry yet; link a version with 'quiver registry link <ref> <model> --create'.`,
      { details: { entity, registry: name } },
    );
  }
  throw new QuiverError(
    'E_NOT_FOUND',
    `There is no registry '${name}' in ${entity}; create it with 'quiver registry create ${name}'.`,
    {
      details: { entity, registry: name },
    },
  );
}

export async function createRegistry(store: Store, options: CreateRegistryOptions): Promise<RegistryInfo> {
  const entity = assertName(options.entity ?? store.principal.entity, 'entity');
  const name = assertName(options.name, 'registry');
  const acceptedTypes = [...new Set((options.acceptedTypes ?? ['model']).map((type) => assertType(type)))];
  const protectedAliases = [
    ...new Set((options.protectedAliases ?? DEFAULT_PROTECTED_ALIASES).map((alias) => assertAlias(alias))),
  ];
  if (acceptedTypes.length === 0)
    throw new QuiverError('E_INVALID_OPTION', 'A registry must accept at least one artifact type.');
  return registryTransaction(store, async (trx, log) => {
    await ensureDefaultRegistry(trx, entity, store.principal.actor);
    const existing = await trx
      .selectFrom('registries')
      .select('id')
      .where('entity', '=', entity)
      .where('name', '=', name)
      .executeTakeFirst();
    if (existing)
      throw new QuiverError('E_ALREADY_EXISTS', `The registry '${name}' already exists in ${entity}.`, {
        details: { registry: name },
      });
    const row = await trx
      .insertInto('registries')
      .values({
        entity,
        name,
        description: options.description ?? '',
        accepted_types: JSON.stringify(acceptedTypes),
        protected_aliases: JSON.stringify(protectedAliases),
        created_by: store.principal.actor,
        created_at: new Date().toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const info = toRegistryInfo(row);
    await log({
      entity,
      registry: name,
      subject: `${entity}/registry/${name}`,
      action: 'registry.create',
      before: null,
      after: { ...info },
    });
    return info;
  });
}

/** Registries of an entity (the default `model` registry included). */
export async function listRegistries(store: Store, entity = store.principal.entity): Promise<RegistryInfo[]> {
  const db = store.connection.db;
  const existing = await db
    .selectFrom('registries')
    .select('id')
    .where('entity', '=', entity)
    .where('name', '=', DEFAULT_REGISTRY)
    .executeTakeFirst();
  if (!existing)
    await store.connection.writeTransaction((trx) =>
      ensureDefaultRegistry(trx, entity, store.principal.actor),
    );
  const rows = await db
    .selectFrom('registries')
    .selectAll()
    .where('entity', '=', entity)
    .orderBy('name')
    .execute();
  return rows.map(toRegistryInfo);
}
