import { QuiverError } from '../../../contract/errors.js';
import type {
  LinkOptions,
  LinkResult,
  ModelLocator,
  RegistryRef,
  RegistryVersionInfo,
} from '../../../contract/index.js';
import { assertAlias, assertName, LATEST_ALIAS } from '../../../names.js';
import type { EmbeddedContext as Store } from '../context.js';
import type { Executor } from '../database/connection.js';
import { type EventLogger, newUid, registryTransaction } from '../events.js';
import { keyOf } from '../keys.js';
import { resolveVersion } from '../resolve-ref.js';
import { insertModel } from './registered-models.js';
import { type RegistryRow, registryRow } from './registries.js';
import {
  findModel,
  type LinkRow,
  type ModelRow,
  modelEvent,
  modelRef,
  resolveRegistryRef,
} from './registry-records.js';

function protectedAliasesOf(registry: RegistryRow): string[] {
  return JSON.parse(registry.protected_aliases) as string[];
}

function assertMayChange(
  registry: RegistryRow,
  model: ModelRow,
  alias: string,
  force: boolean | undefined,
  verb: string,
): void {
  if (!force && protectedAliasesOf(registry).includes(alias)) {
    throw new QuiverError(
      'E_ALIAS_PROTECTED',
      `'${alias}' is a protected alias of ${modelRef(registry, model.name)}: ${verb} it needs --force (force: true). Protected here: ${protectedAliasesOf(registry).join(', ')}.`,
      { details: { alias, model: model.name } },
    );
  }
}

/** Points an alias at a link inside a registry transaction, logging a set or a move. */
async function pointAlias(
  trx: Executor,
  log: EventLogger,
  registry: RegistryRow,
  model: ModelRow,
  link: LinkRow,
  alias: string,
  actor: string,
): Promise<void> {
  const current = await trx
    .selectFrom('registry_aliases as al')
    .innerJoin('registry_links as l', 'l.id', 'al.link_id')
    .select(['al.link_id', 'l.version'])
    .where('al.model_id', '=', model.id)
    .where('al.alias', '=', alias)
    .executeTakeFirst();
  if (current?.link_id === link.id) return;
  const updatedAt = new Date().toISOString();
  await trx
    .insertInto('registry_aliases')
    .values({ model_id: model.id, alias, link_id: link.id, updated_by: actor, updated_at: updatedAt })
    .onConflict((conflict) =>
      conflict
        .columns(['model_id', 'alias'])
        .doUpdateSet({ link_id: link.id, updated_by: actor, updated_at: updatedAt }),
    )
    .execute();
  await log({
    ...modelEvent(registry, model),
    action: current ? 'alias.move' : 'alias.set',
    before: current ? { alias, version: current.version } : null,
    after: { alias, version: link.version },
  });
}

/**
 * Links a committed artifact version into a registered model, without copying a byte, as the
 * model's next version. Linking the same source again returns the same registry version (and
 * applies the aliases). `latest` moves to each new link.
 */
export async function linkVersion(
  store: Store,
  sourceRef: string,
  target: ModelLocator,
  options: LinkOptions = {},
): Promise<LinkResult> {
  const aliases = [...new Set((options.aliases ?? []).map((alias) => assertAlias(alias)))];
  assertName(target.model, 'model');
  if (target.entity !== undefined) assertName(target.entity, 'entity');
  if (target.registry !== undefined) assertName(target.registry, 'registry');
  const source = await resolveVersion(store, sourceRef);
  const outcome = await registryTransaction(store, async (trx, log) => {
    const entity = target.entity ?? store.principal.entity;
    const registry = await registryRow(trx, entity, target.registry ?? 'model', store.principal.actor, true);
    const accepted = JSON.parse(registry.accepted_types) as string[];
    if (!accepted.includes(source.type)) {
      throw new QuiverError(
        'E_TYPE_NOT_ACCEPTED',
        `The registry '${registry.name}' accepts ${accepted.join(', ')} artifacts; ${source.ref} is a '${source.type}'. Link it into a registry that accepts '${source.type}'.`,
        { details: { type: source.type, accepted } },
      );
    }
    const sourceRow = await trx
      .selectFrom('artifact_versions')
      .select('artifact_id')
      .where('id', '=', keyOf(source))
      .executeTakeFirstOrThrow();
    // Under the source artifact's lock, a concurrent delete of this version cannot slip in.
    await store.connection.lockArtifact(trx, sourceRow.artifact_id);
    const committed = await trx
      .selectFrom('artifact_versions')
      .select('state')
      .where('id', '=', keyOf(source))
      .executeTakeFirst();
    if (committed?.state !== 'committed')
      throw new QuiverError('E_NOT_FOUND', `${source.ref} was deleted; link a committed version.`);
    let modelCreated = false;
    let model = await trx
      .selectFrom('registered_models')
      .selectAll()
      .where('registry_id', '=', registry.id)
      .where('name', '=', target.model)
      .executeTakeFirst();
    if (!model) {
      if (!options.create) {
        await findModel(trx, store, target); // throws the not-found error with its advice
      }
      model = await insertModel(trx, store, registry, target.model, '');
      modelCreated = true;
      await log({
        ...modelEvent(registry, model),
        action: 'model.create',
        before: null,
        after: { name: model.name, card: '', tags: [] },
      });
    }
    let link = await trx
      .selectFrom('registry_links')
      .selectAll()
      .where('model_id', '=', model.id)
      .where('source_version_id', '=', keyOf(source))
      .executeTakeFirst();
    // Re-linking with an alias the link already holds changes nothing, so needs no force.
    const alreadyHeld = link
      ? (
          await trx.selectFrom('registry_aliases').select('alias').where('link_id', '=', link.id).execute()
        ).map((row) => row.alias)
      : [];
    for (const alias of aliases)
      if (!alreadyHeld.includes(alias)) assertMayChange(registry, model, alias, options.force, 'setting');
    const linked = link === undefined;
    if (!link) {
      link = await trx
        .insertInto('registry_links')
        .values({
          model_id: model.id,
          version: model.next_version,
          source_version_id: keyOf(source),
          uid: newUid(),
          linked_by: store.principal.actor,
          linked_at: new Date().toISOString(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('registered_models')
        .set({ next_version: model.next_version + 1, updated_at: link.linked_at })
        .where('id', '=', model.id)
        .execute();
      await log({
        ...modelEvent(registry, model),
        action: 'link',
        before: null,
        after: { version: link.version, source: source.ref },
      });
      await pointAlias(trx, log, registry, model, link, LATEST_ALIAS, store.principal.actor);
    }
    for (const alias of aliases)
      await pointAlias(trx, log, registry, model, link, alias, store.principal.actor);
    return {
      ref: {
        entity,
        registry: registry.name,
        model: model.name,
        version: link.version,
      } satisfies RegistryRef,
      linked,
      modelCreated,
    };
  });
  return {
    version: await resolveRegistryRef(store, outcome.ref),
    linked: outcome.linked,
    modelCreated: outcome.modelCreated,
  };
}

/** Removes a bookmark (the artifact version stays). Refused while it holds a protected alias, unless `force`. */
export async function unlinkVersion(
  store: Store,
  ref: RegistryRef,
  options: { force?: boolean } = {},
): Promise<RegistryVersionInfo> {
  return registryTransaction(store, async (trx, log) => {
    // Resolved inside the transaction: two concurrent unlinks cannot both remove (and log) it.
    const target = await resolveRegistryRef(store, ref, trx);
    const { registry, model } = await findModel(trx, store, ref);
    const held = (
      await trx.selectFrom('registry_aliases').select('alias').where('link_id', '=', keyOf(target)).execute()
    ).map((row) => row.alias);
    for (const alias of held) assertMayChange(registry, model, alias, options.force, 'removing');
    await trx.deleteFrom('registry_aliases').where('link_id', '=', keyOf(target)).execute();
    await trx.deleteFrom('registry_usage').where('link_id', '=', keyOf(target)).execute();
    await trx.deleteFrom('registry_links').where('id', '=', keyOf(target)).execute();
    await log({
      ...modelEvent(registry, model),
      action: 'unlink',
      before: { version: target.version, source: target.source.ref, aliases: held },
      after: null,
    });
    if (held.includes(LATEST_ALIAS)) {
      const newest = await trx
        .selectFrom('registry_links')
        .selectAll()
        .where('model_id', '=', model.id)
        .orderBy('version', 'desc')
        .executeTakeFirst();
      if (newest) await pointAlias(trx, log, registry, model, newest, LATEST_ALIAS, store.principal.actor);
    }
    return target;
  });
}

/** Points an alias at a registry version (`ref` must name one), moving it atomically. */
export async function setRegistryAlias(
  store: Store,
  ref: RegistryRef,
  alias: string,
  options: { force?: boolean } = {},
): Promise<RegistryVersionInfo> {
  const checked = assertAlias(alias);
  const target = await registryTransaction(store, async (trx, log) => {
    const target = await resolveRegistryRef(store, ref, trx);
    const { registry, model } = await findModel(trx, store, ref);
    const link = await trx
      .selectFrom('registry_links')
      .selectAll()
      .where('id', '=', keyOf(target))
      .executeTakeFirst();
    if (!link) throw new QuiverError('E_NOT_FOUND', `${target.ref} was unlinked meanwhile.`);
    assertMayChange(registry, model, checked, options.force, 'setting or moving');
    await pointAlias(trx, log, registry, model, link, checked, store.principal.actor);
    return target;
  });
  return resolveRegistryRef(store, { ...ref, version: target.version, alias: undefined });
}

/** Removes an alias from a registered model. */
export async function removeRegistryAlias(
  store: Store,
  locator: ModelLocator,
  alias: string,
  options: { force?: boolean } = {},
): Promise<RegistryVersionInfo> {
  const checked = assertAlias(alias, { allowVersionShaped: true });
  return registryTransaction(store, async (trx, log) => {
    const { registry, model } = await findModel(trx, store, locator);
    const target = await resolveRegistryRef(
      store,
      { entity: registry.entity, registry: registry.name, model: model.name, alias: checked },
      trx,
    );
    assertMayChange(registry, model, checked, options.force, 'removing');
    await trx
      .deleteFrom('registry_aliases')
      .where('model_id', '=', model.id)
      .where('alias', '=', checked)
      .execute();
    await log({
      ...modelEvent(registry, model),
      action: 'alias.remove',
      before: { alias: checked, version: target.version },
      after: null,
    });
    return { ...target, aliases: target.aliases.filter((held) => held !== checked) };
  });
}
