import { QuiverError } from './contract/errors.js';
import type {
  CreateModelOptions,
  CreateRegistryOptions,
  LinkOptions,
  LinkResult,
  ListModelsOptions,
  ModelLocator,
  RegisteredModelDetails,
  RegisteredModelInfo,
  RegistryApiV1,
  RegistryEvent,
  RegistryInfo,
  RegistryRef,
  RegistryVersionInfo,
} from './contract/index.js';
import { Paged } from './paged.js';
import { parseRef } from './ref.js';
import type { Store } from './store.js';

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
  /** Over a store (Node) or a browser connection: only its backend's registry and events are used. */
  constructor(private readonly store: { readonly backend: Pick<Store['backend'], 'registry' | 'events'> }) {}

  private get backend(): RegistryApiV1 {
    return this.store.backend.registry;
  }

  registries(entity?: string): Promise<RegistryInfo[]> {
    return this.backend.registries(entity);
  }

  createRegistry(options: CreateRegistryOptions): Promise<RegistryInfo> {
    return this.backend.createRegistry(options);
  }

  createModel(options: CreateModelOptions): Promise<RegisteredModelInfo> {
    return this.backend.createModel(options);
  }

  /** Registered models by name, page by page (`await` it for an array). */
  models(options: ListModelsOptions = {}): Paged<RegisteredModelInfo> {
    return new Paged((page) => this.backend.models({ ...options, ...page }));
  }

  async model(locator: ModelSelector): Promise<RegisteredModelDetails> {
    return this.backend.model(toLocator(locator));
  }

  async rename(locator: ModelSelector, name: string): Promise<RegisteredModelInfo> {
    return this.backend.rename(toLocator(locator), name);
  }

  async updateCard(locator: ModelSelector, card: string): Promise<RegisteredModelInfo> {
    return this.backend.updateCard(toLocator(locator), card);
  }

  async tag(
    locator: ModelSelector,
    add: readonly string[],
    remove: readonly string[] = [],
  ): Promise<RegisteredModelInfo> {
    return this.backend.tag(toLocator(locator), [...add], [...remove]);
  }

  async deleteModel(locator: ModelSelector, options: { force?: boolean } = {}): Promise<RegisteredModelInfo> {
    return this.backend.deleteModel(toLocator(locator), options);
  }

  /** Links an artifact version (any ref) into a registered model. */
  async link(sourceRef: string, target: ModelSelector, options: LinkOptions = {}): Promise<LinkResult> {
    return this.backend.link(sourceRef, toLocator(target), options);
  }

  async unlink(
    selector: RegistryVersionSelector,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return this.backend.unlink(toRegistryRef(selector), options);
  }

  /** The registry version a ref names (`registry/model:production`, `registry/datasets/x:v2`, …). */
  async version(selector: RegistryVersionSelector): Promise<RegistryVersionInfo> {
    return this.backend.version(toRegistryRef(selector));
  }

  async setAlias(
    selector: RegistryVersionSelector,
    alias: string,
    options: { force?: boolean } = {},
  ): Promise<RegistryVersionInfo> {
    return this.backend.setAlias(toRegistryRef(selector), alias, options);
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
      return this.backend.removeAlias(model, named, options);
    }
    if (alias === undefined)
      throw new QuiverError('E_INVALID_ALIAS', 'Give the alias to remove.', { details: { alias } });
    return this.backend.removeAlias(toLocator(locator), alias, options);
  }

  /** The audit history of a registered model, oldest first. */
  history(locator: ModelSelector): Promise<RegistryEvent[]> {
    return this.backend.history(toLocator(locator));
  }

  /** Registry events (topic `registry` of the event log) after a sequence number, oldest first. */
  async events(options: { after?: number; limit?: number } = {}): Promise<RegistryEvent[]> {
    return (await this.store.backend.events.read({ ...options, topic: 'registry' })) as RegistryEvent[];
  }

  /** Delivers unseen registry events to a named consumer and advances its cursor atomically (see the contract's `consume`). */
  consume(
    consumer: string,
    handler: (events: RegistryEvent[]) => Promise<void>,
    options: { limit?: number } = {},
  ): Promise<{ delivered: number; cursor: number }> {
    return this.store.backend.events.consume(consumer, (events) => handler(events as RegistryEvent[]), {
      ...options,
      topic: 'registry',
    });
  }
}
