import type {
  ArtifactsApiV1,
  MaintenanceApiV1,
  ModelLocator,
  QuiverBackendV1,
  RegistryApiV1,
  RegistryRef,
  RunsApiV1,
} from '../contract/index.js';

/**
 * The HTTP mapping of the backend contract, client half: per operation its verb, path, role and
 * how the method's arguments become a request. The remote backend sends its calls from this table;
 * `routes.ts` adds each operation's schema and decoder for the server, so the two sides cannot
 * drift: TypeScript fails when the contract gains a method the table lacks. No zod and no Node
 * built-ins here: browsers bundle this file.
 *
 * Requests are JSON: a `GET` carries its arguments in the query string, everything else in a
 * JSON body.
 */

/** The version prefix of every route of the contract. */
export const API_PREFIX = '/api/v1';

/** The least role in an entity an operation needs (the server checks it; `admin` manages). */
export type WireRole = 'viewer' | 'member' | 'admin';

/** One request as both sides see it: path parameters, query string and JSON body. */
export interface WireRequest {
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  body: unknown;
}

/** One operation of the contract over HTTP, as the client sends it. */
export interface WireCall<Args extends unknown[] = unknown[]> {
  verb: 'GET' | 'POST' | 'PUT';
  /** Under {@link API_PREFIX}, with `:name` parameters (fastify's syntax). */
  path: string;
  /** Safe to send again when the connection dropped before the answer came (the client retries it). */
  idempotent: boolean;
  role: WireRole;
  /** The method's arguments as a request (the client). */
  encode(...args: Args): Partial<WireRequest>;
}

/** The APIs of the contract the wire table maps. */
export type WireApi = Pick<QuiverBackendV1, 'runs' | 'artifacts' | 'registry' | 'maintenance'>;
// Function-valued options (progress callbacks) stay on the client.
export type WireArgs<F> = F extends (...args: infer A) => unknown ? A : never;
type ApiTable<T> = { [K in keyof T]: WireCall<WireArgs<T[K]>> };

// ---- the table -----------------------------------------------------------------------------

const str = (value: unknown): string => String(value);
const optional = (value: object): Record<string, string | string[]> => {
  const out: Record<string, string | string[]> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || item === null) continue;
    out[key] = Array.isArray(item) ? item.map(str) : str(item);
  }
  return out;
};
/** Only the contract's fields: callers may hand richer objects (a parsed ref carries `kind`). */
const locatorOf = (value: ModelLocator): ModelLocator => ({
  ...(value.entity !== undefined ? { entity: value.entity } : {}),
  ...(value.registry !== undefined ? { registry: value.registry } : {}),
  model: value.model,
});
const registryRefOf = (value: RegistryRef): RegistryRef => ({
  ...(value.entity !== undefined ? { entity: value.entity } : {}),
  registry: value.registry,
  model: value.model,
  ...(value.version !== undefined ? { version: value.version } : {}),
  ...(value.alias !== undefined ? { alias: value.alias } : {}),
});

const runs: ApiTable<RunsApiV1> = {
  create: {
    verb: 'POST',
    path: '/runs',
    idempotent: false,
    role: 'member',
    encode: (input) => ({ body: input }),
  },
  heartbeat: {
    verb: 'POST',
    path: '/runs/:runId/heartbeat',
    idempotent: true,
    role: 'member',
    encode: (runId) => ({ params: { runId }, body: {} }),
  },
  appendHistory: {
    verb: 'POST',
    path: '/runs/:runId/history',
    // Upserted by step: sending the same rows again changes nothing.
    idempotent: true,
    role: 'member',
    encode: (runId, input) => ({ params: { runId }, body: input }),
  },
  finish: {
    verb: 'POST',
    path: '/runs/:runId/finish',
    idempotent: true,
    role: 'member',
    encode: (runId, options) => ({ params: { runId }, body: options }),
  },
  recordUse: {
    verb: 'POST',
    path: '/runs/:runId/uses',
    idempotent: true,
    role: 'member',
    encode: (runId, ref) => ({ params: { runId }, body: { ref } }),
  },
  get: {
    verb: 'GET',
    path: '/runs/:runId',
    idempotent: true,
    role: 'viewer',
    encode: (runId) => ({ params: { runId } }),
  },
  list: {
    verb: 'GET',
    path: '/runs',
    idempotent: true,
    role: 'viewer',
    encode: (options) => ({ query: optional(options) }),
  },
  history: {
    verb: 'GET',
    path: '/runs/:runId/history',
    idempotent: true,
    role: 'viewer',
    encode: (runId, page = {}) => ({ params: { runId }, query: optional(page) }),
  },
  inputs: {
    verb: 'GET',
    path: '/runs/:runId/inputs',
    idempotent: true,
    role: 'viewer',
    encode: (runId) => ({ params: { runId } }),
  },
  outputs: {
    verb: 'GET',
    path: '/runs/:runId/outputs',
    idempotent: true,
    role: 'viewer',
    encode: (runId) => ({ params: { runId } }),
  },
  series: {
    verb: 'GET',
    path: '/runs/:runId/series',
    idempotent: true,
    role: 'viewer',
    encode: (runId, options = {}) => ({ params: { runId }, query: optional({ ...options }) }),
  },
  projects: {
    verb: 'GET',
    path: '/projects',
    idempotent: true,
    role: 'viewer',
    encode: (options = {}) => ({ query: optional({ ...options }) }),
  },
};

const artifacts: ApiTable<ArtifactsApiV1> = {
  typeOf: {
    verb: 'GET',
    path: '/artifacts/type',
    idempotent: true,
    role: 'viewer',
    encode: (artifact) => ({ query: optional({ ...artifact }) }),
  },
  missingBlobs: {
    verb: 'POST',
    path: '/blobs/missing',
    idempotent: true,
    role: 'member',
    encode: (blobs) => ({ body: { blobs } }),
  },
  commit: {
    verb: 'POST',
    path: '/versions',
    // A commit of equal content returns the existing version, so a retry creates nothing twice.
    idempotent: true,
    role: 'member',
    encode: (input) => ({ body: input }),
  },
  resolve: {
    verb: 'GET',
    path: '/refs/resolve',
    idempotent: true,
    role: 'viewer',
    encode: (ref) => ({ query: { ref } }),
  },
  entries: {
    verb: 'GET',
    path: '/versions/:versionId/entries',
    idempotent: true,
    role: 'viewer',
    encode: (versionId) => ({ params: { versionId } }),
  },
  files: {
    verb: 'GET',
    path: '/versions/:versionId/files',
    idempotent: true,
    role: 'viewer',
    encode: (versionId, page = {}) => ({ params: { versionId }, query: optional({ ...page }) }),
  },
  list: {
    verb: 'GET',
    path: '/artifacts',
    idempotent: true,
    role: 'viewer',
    encode: (options) => ({ query: optional(options) }),
  },
  versions: {
    verb: 'GET',
    path: '/artifacts/versions',
    idempotent: true,
    role: 'viewer',
    encode: (artifact, page = {}) => ({ query: optional({ ...artifact, ...page }) }),
  },
  setAlias: {
    verb: 'POST',
    path: '/refs/aliases',
    idempotent: true,
    role: 'member',
    encode: (ref, alias) => ({ body: { ref, alias } }),
  },
  removeAlias: {
    verb: 'POST',
    path: '/refs/aliases/remove',
    idempotent: false,
    role: 'member',
    encode: (ref, alias) => ({ body: { ref, alias } }),
  },
  tag: {
    verb: 'POST',
    path: '/refs/tags',
    idempotent: true,
    role: 'member',
    encode: (ref, add, remove) => ({ body: { ref, add, remove } }),
  },
  deleteVersion: {
    verb: 'POST',
    path: '/refs/delete',
    idempotent: false,
    role: 'member',
    encode: (ref, options) => ({ body: { ref, ...options } }),
  },
  lineage: {
    verb: 'GET',
    path: '/refs/lineage',
    idempotent: true,
    role: 'viewer',
    encode: (ref, depth) => ({ query: { ref, depth: String(depth) } }),
  },
};

const registry: ApiTable<RegistryApiV1> = {
  registries: {
    verb: 'GET',
    path: '/registries',
    idempotent: true,
    role: 'viewer',
    encode: (entity) => ({ query: optional({ entity }) }),
  },
  createRegistry: {
    verb: 'POST',
    path: '/registries',
    idempotent: false,
    role: 'admin',
    encode: (options) => ({ body: options }),
  },
  createModel: {
    verb: 'POST',
    path: '/registry/models',
    idempotent: false,
    role: 'member',
    encode: (options) => ({
      body: {
        ...locatorOf(options),
        ...(options.card !== undefined ? { card: options.card } : {}),
        ...(options.tags !== undefined ? { tags: options.tags } : {}),
      },
    }),
  },
  models: {
    verb: 'GET',
    path: '/registry/models',
    idempotent: true,
    role: 'viewer',
    encode: (options) => ({ query: optional({ ...options }) }),
  },
  model: {
    verb: 'GET',
    path: '/registry/model',
    idempotent: true,
    role: 'viewer',
    encode: (locator) => ({ query: optional(locatorOf(locator)) }),
  },
  rename: {
    verb: 'POST',
    path: '/registry/model/rename',
    idempotent: false,
    role: 'member',
    encode: (locator, name) => ({ body: { locator: locatorOf(locator), name } }),
  },
  updateCard: {
    verb: 'PUT',
    path: '/registry/model/card',
    idempotent: true,
    role: 'member',
    encode: (locator, card) => ({ body: { locator: locatorOf(locator), card } }),
  },
  tag: {
    verb: 'POST',
    path: '/registry/model/tags',
    idempotent: true,
    role: 'member',
    encode: (locator, add, remove) => ({ body: { locator: locatorOf(locator), add, remove } }),
  },
  deleteModel: {
    verb: 'POST',
    path: '/registry/model/delete',
    idempotent: false,
    role: 'admin',
    encode: (locator, options) => ({ body: { locator: locatorOf(locator), ...options } }),
  },
  link: {
    verb: 'POST',
    path: '/registry/links',
    // Linking the same source again returns the same registry version.
    idempotent: true,
    role: 'member',
    encode: (source, target, options) => ({ body: { source, target: locatorOf(target), options } }),
  },
  unlink: {
    verb: 'POST',
    path: '/registry/unlink',
    idempotent: false,
    role: 'member',
    encode: (ref, options) => ({ body: { ref: registryRefOf(ref), ...options } }),
  },
  version: {
    verb: 'GET',
    path: '/registry/version',
    idempotent: true,
    role: 'viewer',
    encode: (ref) => ({ query: optional(registryRefOf(ref)) }),
  },
  setAlias: {
    verb: 'POST',
    path: '/registry/aliases',
    idempotent: true,
    role: 'member',
    encode: (ref, alias, options) => ({ body: { ref: registryRefOf(ref), alias, ...options } }),
  },
  removeAlias: {
    verb: 'POST',
    path: '/registry/aliases/remove',
    idempotent: false,
    role: 'member',
    encode: (locator, alias, options) => ({ body: { locator: locatorOf(locator), alias, ...options } }),
  },
  history: {
    verb: 'GET',
    path: '/registry/history',
    idempotent: true,
    role: 'viewer',
    encode: (locator) => ({ query: optional(locatorOf(locator)) }),
  },
};

const maintenance: ApiTable<MaintenanceApiV1> = {
  verify: {
    verb: 'POST',
    path: '/admin/verify',
    idempotent: true,
    role: 'admin',
    encode: () => ({ body: {} }),
  },
  gc: {
    verb: 'POST',
    path: '/admin/gc',
    idempotent: false,
    role: 'admin',
    encode: (options = {}) => ({ body: options }),
  },
};

/** Every operation of the contract but the event log's (which has routes of its own), by API. */
export const WIRE_CALLS: { [A in keyof WireApi]: ApiTable<WireApi[A]> } = {
  runs,
  artifacts,
  registry,
  maintenance,
};
