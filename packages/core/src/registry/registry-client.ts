import type { Executor } from '../database/connection.js';
import { QuiverError } from '../errors.js';
import { parseRef, type RegistryRef } from '../ref.js';
import type { Store } from '../store.js';
import { consumeEvents, modelEvents, type RegistryEvent, readEvents } from './events.js';
import {
  type LinkOptions,
  type LinkResult,
  linkVersion,
  removeRegistryAlias,
  setRegistryAlias,
  unlinkVersion,
} from './links.js';
import {
  type CreateModelOptions,
  createModel,
  deleteModel,
  type ListModelsOptions,
  listModels,
  type RegisteredModelDetails,
  renameModel,
  showModel,
  tagModel,
  updateCard,
} from './registered-models.js';
import {
  type CreateRegistryOptions,
  createRegistry,
  listRegistries,
  type RegistryInfo,
} from './registries.js';
import {
  findModel,
  type ModelLocator,
  type RegisteredModelInfo,
  type RegistryVersionInfo,
  resolveRegistryRef,
} from './registry-records.js';

/** Accepts a registry ref text, a parsed one, or a locator (which then names `latest`). */
export type RegistryVersionSelector = string | RegistryRef;

function toRegistryRef(selector: RegistryVersionSelector): RegistryRef {
  if (typeof selector !== 'string') return selector;
  const parsed = parseRef(selector.includes('/') ? selector : `registry/${selector}`);
  if (parsed.kind !== 'registry') {
    throw new QuiverError(
      'E_INVALID_REF',
      `'${selector}' names an artifact; give a registry ref such as registry/<model>:production.`,
      {
        details: { ref: selector },
      },
    );
  }
  const { kind: _kind, ...ref } = parsed;
  return ref;
}

/** A registered model: a ref text (`registry/digits`, `digits`, `me/registry/datasets/x`) or a locator. */
export type ModelSelector = string | ModelLocator;

function toLocator(selector: ModelSelector): ModelLocator {
  if (typeof selector !== 'string') return selector;
  const ref = toRegistryRef(selector);
  if (selector.includes(':')) {
    throw new QuiverError(
      'E_INVALID_REF',
      `'${selector}' names a version of a model; give the model alone (e.g. registry/${ref.model}).`,
      { details: { ref: selector } },
    );
  }
  return {
    model: ref.model,
    registry: ref.registry,
    ...(ref.entity !== undefined ? { entity: ref.entity } : {}),
  };
}

/**
 * The model registry, through `client.registry`. Methods about a registered model take it as a
 * ref text (`'registry/digits'`) or a {@link ModelLocator}; methods about a version take a
 * registry ref (`'registry/digits:production'`).
 *
 * @example
 * await client.registry.link('vision/mlp:best', { model: 'digits' }, { create: true, aliases: ['staging'] });
 * await client.registry.setAlias('registry/digits:v0', 'production', { force: true });
 */
export class RegistryClient {
  constructor(private readonly store: Store) {}

  registries(entity?: string): Promise<RegistryInfo[]> {
    return listRegistries(this.store, entity);
  }

  createRegistry(options: CreateRegistryOptions): Promise<RegistryInfo> {
    return createRegistry(this.store, options);
  }

  createModel(options: CreateModelOptions): Promise<RegisteredModelInfo> {
    return createModel(this.store, options);
  }

  models(options: ListModelsOptions = {}): Promise<RegisteredModelInfo[]> {
    return listModels(this.store, options);
  }

  async model(locator: ModelSelector): Promise<RegisteredModelDetails> {
    return showModel(this.store, toLocator(locator));
  }

  async rename(locator: ModelSelector, name: string): Promise<RegisteredModelInfo> {
    return renameModel(this.store, toLocator(locator), name);
  }

  async updateCard(locator: ModelSelector, card: string): Promise<RegisteredModelInfo> {
    return updateCard(this.store, toLocator(locator), card);
  }

  async tag(
    locator: ModelSelector,
    add: readonly string[],
    remove: readonly string[] = [],
  ): Promise<RegisteredModelInfo> {
    return tagModel(this.store, toLocator(locator), add, remove);
  }

  async deleteModel(locator: ModelSelector, options: { force?: boolean } = {}): Promise<RegisteredModelInfo> {
    return deleteModel(this.store, toLocator(locator), options);
  }

  /** Links an artifact version (any ref) into a registered model. */
  async link(sourceRef: string, target: ModelSelector, options: LinkOptions = {}): Promise<LinkResult> {
    return linkVersion(this.store, sourceRef, toLocator(target), options);
  }

  async unlink(
    selector: RegistryVersionSelector,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return unlinkVersion(this.store, toRegistryRef(selector), options);
  }

  /** The registry version a ref names (`registry/model:production`, `registry/datasets/x:v2`, …). */
  async version(selector: RegistryVersionSelector): Promise<RegistryVersionInfo> {
    return resolveRegistryRef(this.store, toRegistryRef(selector));
  }

  async setAlias(
    selector: RegistryVersionSelector,
    alias: string,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return setRegistryAlias(this.store, toRegistryRef(selector), alias, options);
  }

  /**
   * Removes an alias from a registered model: `removeAlias('registry/digits', 'staging')`, or with
   * the alias in the ref as `setAlias` takes it: `removeAlias('registry/digits:staging')`.
   */
  async removeAlias(
    locator: ModelSelector,
    alias?: string,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    if (typeof locator === 'string' && alias === undefined) {
      const ref = toRegistryRef(locator);
      if (!locator.includes(':') || ref.alias === undefined)
        throw new QuiverError(
          'E_INVALID_REF',
          `'${locator}' names no alias; use removeAlias('registry/${ref.model}', '<alias>') or removeAlias('registry/${ref.model}:<alias>').`,
          { details: { ref: locator } },
        );
      const { alias: named, version: _version, ...model } = ref;
      return removeRegistryAlias(this.store, model, named, options);
    }
    if (alias === undefined)
      throw new QuiverError('E_INVALID_ALIAS', 'Give the alias to remove.', { details: { alias } });
    return removeRegistryAlias(this.store, toLocator(locator), alias, options);
  }

  /** The audit history of a registered model, oldest first. */
  async history(locator: ModelSelector): Promise<RegistryEvent[]> {
    const { model } = await findModel(this.store.connection.db, this.store, toLocator(locator));
    return modelEvents(this.store, model.id);
  }

  /** Every registry event after a sequence number, oldest first. */
  events(options: { after?: number; limit?: number } = {}): Promise<RegistryEvent[]> {
    return readEvents(this.store.connection.db, options);
  }

  /** Delivers unseen events to a named consumer and advances its cursor atomically (see `consumeEvents`). */
  consume(
    consumer: string,
    handler: (events: RegistryEvent[], trx: Executor) => Promise<void>,
    options: { limit?: number } = {},
  ): Promise<{ delivered: number; cursor: number }> {
    return consumeEvents(this.store, consumer, handler, options);
  }
}
