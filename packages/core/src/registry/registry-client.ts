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

/**
 * The model registry, through `client.registry`.
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

  model(locator: ModelLocator): Promise<RegisteredModelDetails> {
    return showModel(this.store, locator);
  }

  rename(locator: ModelLocator, name: string): Promise<RegisteredModelInfo> {
    return renameModel(this.store, locator, name);
  }

  updateCard(locator: ModelLocator, card: string): Promise<RegisteredModelInfo> {
    return updateCard(this.store, locator, card);
  }

  tag(
    locator: ModelLocator,
    add: readonly string[],
    remove: readonly string[] = [],
  ): Promise<RegisteredModelInfo> {
    return tagModel(this.store, locator, add, remove);
  }

  deleteModel(locator: ModelLocator, options: { force?: boolean } = {}): Promise<RegisteredModelInfo> {
    return deleteModel(this.store, locator, options);
  }

  /** Links an artifact version (any ref) into a registered model. */
  link(sourceRef: string, target: ModelLocator, options: LinkOptions = {}): Promise<LinkResult> {
    return linkVersion(this.store, sourceRef, target, options);
  }

  unlink(selector: RegistryVersionSelector, options: { force?: boolean } = {}): Promise<RegistryVersionInfo> {
    return unlinkVersion(this.store, toRegistryRef(selector), options);
  }

  /** The registry version a ref names (`registry/model:production`, `registry/datasets/x:v2`, …). */
  version(selector: RegistryVersionSelector): Promise<RegistryVersionInfo> {
    return resolveRegistryRef(this.store, toRegistryRef(selector));
  }

  setAlias(
    selector: RegistryVersionSelector,
    alias: string,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return setRegistryAlias(this.store, toRegistryRef(selector), alias, options);
  }

  removeAlias(
    locator: ModelLocator,
    alias: string,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return removeRegistryAlias(this.store, locator, alias, options);
  }

  /** The audit history of a registered model, oldest first. */
  async history(locator: ModelLocator): Promise<RegistryEvent[]> {
    const { model } = await findModel(this.store.connection.db, this.store, locator);
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
