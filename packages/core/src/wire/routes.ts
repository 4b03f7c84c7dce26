import { z } from 'zod';
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
 * The HTTP mapping of the backend contract, shared by the server (which registers a route per
 * operation) and the remote backend (which turns each call into that request). One table, so the
 * two sides cannot drift: TypeScript fails when the contract gains a method the table lacks.
 *
 * Requests are JSON: a `GET` carries its arguments in the query string, everything else in a
 * JSON body. Every schema is strict — an unknown field is refused, not ignored — and bounds every
 * size; what the schemas leave open (names, refs, manifests) the backend checks as it does for a
 * local caller.
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

/** One operation of the contract over HTTP. */
export interface WireOperation<Args extends unknown[] = unknown[]> {
  verb: 'GET' | 'POST' | 'PUT';
  /** Under {@link API_PREFIX}, with `:name` parameters (fastify's syntax). */
  path: string;
  /** Safe to send again when the connection dropped before the answer came (the client retries it). */
  idempotent: boolean;
  role: WireRole;
  /** The shape of the query string (GET) or body (others) the server accepts. */
  input: z.ZodType;
  /** The method's arguments as a request (the client). */
  encode(...args: Args): Partial<WireRequest>;
  /** The request, after its `input` schema accepted it, as the method's arguments (the server). */
  decode(request: WireRequest): Args;
}

type Api = Pick<QuiverBackendV1, 'runs' | 'artifacts' | 'registry' | 'maintenance'>;
// Function-valued options (progress callbacks) stay on the client.
type WireArgs<F> = F extends (...args: infer A) => unknown ? A : never;
type ApiTable<T> = { [K in keyof T]: WireOperation<WireArgs<T[K]>> };

// ---- schemas -------------------------------------------------------------------------------

const MAX_TEXT = 1_000_000;
const text = (max = 1024) => z.string().max(max);
const optionalText = (max = 1024) => text(max).optional();
const json: z.ZodType = z.json();
const jsonObject = z.record(z.string().max(1024), json);
const limitParam = z.coerce.number().int().min(1).max(1000).optional();
const cursorParam = z.string().max(4096).nullable().optional();
const pageQuery = { cursor: cursorParam, limit: limitParam };
const list = <T extends z.ZodType>(item: T, max = 10_000) => z.array(item).max(max);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits');
const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Query-string booleans and lists come as text. */
const queryList = z
  .union([text(), list(text(), 1000)])
  .transform((value) => (Array.isArray(value) ? value : [value]));

const modelLocator = z.strictObject({
  entity: optionalText(),
  registry: optionalText(),
  model: text(),
});
const registryRef = z.strictObject({
  entity: optionalText(),
  registry: text(),
  model: text(),
  version: z.coerce.number().int().min(0).optional(),
  alias: optionalText(),
});
const manifestEntry = z.strictObject({ path: text(4096), sha256, size, ref: optionalText(8192) });

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
const q = <T>(request: WireRequest): T => request.query as unknown as T;
const b = <T>(request: WireRequest): T => request.body as T;

const runs: ApiTable<RunsApiV1> = {
  create: {
    verb: 'POST',
    path: '/runs',
    idempotent: false,
    role: 'member',
    input: z.strictObject({
      id: z.string().regex(/^[a-z0-9]{1,64}$/),
      entity: optionalText(),
      project: text(),
      name: optionalText(),
      jobType: text().nullable(),
      group: text().nullable(),
      tags: list(text(), 1000),
      notes: text(MAX_TEXT).nullable(),
      config: jsonObject,
      host: text(),
      pid: z.number().int(),
    }),
    encode: (input) => ({ body: input }),
    decode: (request) => [b(request)],
  },
  heartbeat: {
    verb: 'POST',
    path: '/runs/:runId/heartbeat',
    idempotent: true,
    role: 'member',
    input: z.strictObject({}),
    encode: (runId) => ({ params: { runId }, body: {} }),
    decode: (request) => [request.params.runId!],
  },
  appendHistory: {
    verb: 'POST',
    path: '/runs/:runId/history',
    // Upserted by step: sending the same rows again changes nothing.
    idempotent: true,
    role: 'member',
    input: z.strictObject({
      rows: list(
        z.strictObject({ step: z.number().int().min(0), metrics: z.record(text(), z.number()) }),
        100_000,
      ),
      summary: z.record(
        text(),
        z.strictObject({ last: z.number(), min: z.number(), max: z.number(), step: z.number().int() }),
      ),
    }),
    encode: (runId, input) => ({ params: { runId }, body: input }),
    decode: (request) => [request.params.runId!, b(request)],
  },
  finish: {
    verb: 'POST',
    path: '/runs/:runId/finish',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ exitCode: z.number().int(), crashed: z.boolean().optional() }),
    encode: (runId, options) => ({ params: { runId }, body: options }),
    decode: (request) => [request.params.runId!, b(request)],
  },
  recordUse: {
    verb: 'POST',
    path: '/runs/:runId/uses',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ ref: text() }),
    encode: (runId, ref) => ({ params: { runId }, body: { ref } }),
    decode: (request) => [request.params.runId!, b<{ ref: string }>(request).ref],
  },
  get: {
    verb: 'GET',
    path: '/runs/:runId',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({}),
    encode: (runId) => ({ params: { runId } }),
    decode: (request) => [request.params.runId!],
  },
  list: {
    verb: 'GET',
    path: '/runs',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ entity: optionalText(), project: optionalText(), ...pageQuery }),
    encode: (options) => ({ query: optional(options) }),
    decode: (request) => [q(request)],
  },
  history: {
    verb: 'GET',
    path: '/runs/:runId/history',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject(pageQuery),
    encode: (runId, page = {}) => ({ params: { runId }, query: optional(page) }),
    decode: (request) => [request.params.runId!, q(request)],
  },
  inputs: {
    verb: 'GET',
    path: '/runs/:runId/inputs',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({}),
    encode: (runId) => ({ params: { runId } }),
    decode: (request) => [request.params.runId!],
  },
  outputs: {
    verb: 'GET',
    path: '/runs/:runId/outputs',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({}),
    encode: (runId) => ({ params: { runId } }),
    decode: (request) => [request.params.runId!],
  },
  series: {
    verb: 'GET',
    path: '/runs/:runId/series',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({
      keys: queryList.optional(),
      points: z.coerce.number().int().min(2).max(10_000).optional(),
    }),
    encode: (runId, options = {}) => ({ params: { runId }, query: optional({ ...options }) }),
    decode: (request) => [request.params.runId!, q(request)],
  },
  projects: {
    verb: 'GET',
    path: '/projects',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ entity: optionalText() }),
    encode: (options = {}) => ({ query: optional({ ...options }) }),
    decode: (request) => [q(request)],
  },
};

const artifactLocator = { entity: optionalText(), project: text(), name: text() };

const artifacts: ApiTable<ArtifactsApiV1> = {
  typeOf: {
    verb: 'GET',
    path: '/artifacts/type',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject(artifactLocator),
    encode: (artifact) => ({ query: optional({ ...artifact }) }),
    decode: (request) => [q(request)],
  },
  missingBlobs: {
    verb: 'POST',
    path: '/blobs/missing',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ blobs: list(z.strictObject({ sha256, size }), 100_000) }),
    encode: (blobs) => ({ body: { blobs } }),
    decode: (request) => [b<{ blobs: Array<{ sha256: string; size: number }> }>(request).blobs],
  },
  commit: {
    verb: 'POST',
    path: '/versions',
    // A commit of equal content returns the existing version, so a retry creates nothing twice.
    idempotent: true,
    role: 'member',
    input: z.strictObject({
      entity: optionalText(),
      project: text(),
      name: text(),
      type: text(),
      description: text(MAX_TEXT).nullable(),
      metadata: jsonObject,
      manifest: list(manifestEntry, 1_000_000),
      runId: text().nullable(),
      aliases: list(text(), 1000),
      tags: list(text(), 1000),
    }),
    encode: (input) => ({ body: input }),
    decode: (request) => [b(request)],
  },
  resolve: {
    verb: 'GET',
    path: '/refs/resolve',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ ref: text() }),
    encode: (ref) => ({ query: { ref } }),
    decode: (request) => [q<{ ref: string }>(request).ref],
  },
  entries: {
    verb: 'GET',
    path: '/versions/:versionId/entries',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({}),
    encode: (versionId) => ({ params: { versionId } }),
    decode: (request) => [request.params.versionId!],
  },
  files: {
    verb: 'GET',
    path: '/versions/:versionId/files',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ ...pageQuery, prefix: optionalText(4096) }),
    encode: (versionId, page = {}) => ({ params: { versionId }, query: optional({ ...page }) }),
    decode: (request) => [request.params.versionId!, q(request)],
  },
  list: {
    verb: 'GET',
    path: '/artifacts',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ entity: optionalText(), project: optionalText(), ...pageQuery }),
    encode: (options) => ({ query: optional(options) }),
    decode: (request) => [q(request)],
  },
  versions: {
    verb: 'GET',
    path: '/artifacts/versions',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ ...artifactLocator, ...pageQuery }),
    encode: (artifact, page = {}) => ({ query: optional({ ...artifact, ...page }) }),
    decode: (request) => {
      const { cursor, limit, ...artifact } = q<Record<string, unknown>>(request);
      return [artifact as never, { cursor, limit } as never];
    },
  },
  setAlias: {
    verb: 'POST',
    path: '/refs/aliases',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ ref: text(), alias: text() }),
    encode: (ref, alias) => ({ body: { ref, alias } }),
    decode: (request) => {
      const { ref, alias } = b<{ ref: string; alias: string }>(request);
      return [ref, alias];
    },
  },
  removeAlias: {
    verb: 'POST',
    path: '/refs/aliases/remove',
    idempotent: false,
    role: 'member',
    input: z.strictObject({ ref: text(), alias: text() }),
    encode: (ref, alias) => ({ body: { ref, alias } }),
    decode: (request) => {
      const { ref, alias } = b<{ ref: string; alias: string }>(request);
      return [ref, alias];
    },
  },
  tag: {
    verb: 'POST',
    path: '/refs/tags',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ ref: text(), add: list(text(), 1000), remove: list(text(), 1000) }),
    encode: (ref, add, remove) => ({ body: { ref, add, remove } }),
    decode: (request) => {
      const { ref, add, remove } = b<{ ref: string; add: string[]; remove: string[] }>(request);
      return [ref, add, remove];
    },
  },
  deleteVersion: {
    verb: 'POST',
    path: '/refs/delete',
    idempotent: false,
    role: 'member',
    input: z.strictObject({ ref: text(), force: z.boolean().optional() }),
    encode: (ref, options) => ({ body: { ref, ...options } }),
    decode: (request) => {
      const { ref, ...options } = b<{ ref: string; force?: boolean }>(request);
      return [ref, options];
    },
  },
  lineage: {
    verb: 'GET',
    path: '/refs/lineage',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ ref: text(), depth: z.coerce.number().int().min(0).max(100) }),
    encode: (ref, depth) => ({ query: { ref, depth: String(depth) } }),
    decode: (request) => {
      const { ref, depth } = q<{ ref: string; depth: number }>(request);
      return [ref, depth];
    },
  },
};

const registry: ApiTable<RegistryApiV1> = {
  registries: {
    verb: 'GET',
    path: '/registries',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({ entity: optionalText() }),
    encode: (entity) => ({ query: optional({ entity }) }),
    decode: (request) => [q<{ entity?: string }>(request).entity],
  },
  createRegistry: {
    verb: 'POST',
    path: '/registries',
    idempotent: false,
    role: 'admin',
    input: z.strictObject({
      name: text(),
      entity: optionalText(),
      description: optionalText(MAX_TEXT),
      acceptedTypes: list(text(), 100).optional(),
      protectedAliases: list(text(), 100).optional(),
    }),
    encode: (options) => ({ body: options }),
    decode: (request) => [b(request)],
  },
  createModel: {
    verb: 'POST',
    path: '/registry/models',
    idempotent: false,
    role: 'member',
    input: modelLocator.extend({ card: optionalText(MAX_TEXT), tags: list(text(), 1000).optional() }),
    encode: (options) => ({
      body: {
        ...locatorOf(options),
        ...(options.card !== undefined ? { card: options.card } : {}),
        ...(options.tags !== undefined ? { tags: options.tags } : {}),
      },
    }),
    decode: (request) => [b(request)],
  },
  models: {
    verb: 'GET',
    path: '/registry/models',
    idempotent: true,
    role: 'viewer',
    input: z.strictObject({
      entity: optionalText(),
      registry: optionalText(),
      prefix: optionalText(),
      tags: queryList.optional(),
      ...pageQuery,
    }),
    encode: (options) => ({ query: optional({ ...options }) }),
    decode: (request) => [q(request)],
  },
  model: {
    verb: 'GET',
    path: '/registry/model',
    idempotent: true,
    role: 'viewer',
    input: modelLocator,
    encode: (locator) => ({ query: optional(locatorOf(locator)) }),
    decode: (request) => [q(request)],
  },
  rename: {
    verb: 'POST',
    path: '/registry/model/rename',
    idempotent: false,
    role: 'member',
    input: z.strictObject({ locator: modelLocator, name: text() }),
    encode: (locator, name) => ({ body: { locator: locatorOf(locator), name } }),
    decode: (request) => {
      const { locator, name } = b<{ locator: never; name: string }>(request);
      return [locator, name];
    },
  },
  updateCard: {
    verb: 'PUT',
    path: '/registry/model/card',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ locator: modelLocator, card: text(MAX_TEXT) }),
    encode: (locator, card) => ({ body: { locator: locatorOf(locator), card } }),
    decode: (request) => {
      const { locator, card } = b<{ locator: never; card: string }>(request);
      return [locator, card];
    },
  },
  tag: {
    verb: 'POST',
    path: '/registry/model/tags',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ locator: modelLocator, add: list(text(), 1000), remove: list(text(), 1000) }),
    encode: (locator, add, remove) => ({ body: { locator: locatorOf(locator), add, remove } }),
    decode: (request) => {
      const { locator, add, remove } = b<{ locator: never; add: string[]; remove: string[] }>(request);
      return [locator, add, remove];
    },
  },
  deleteModel: {
    verb: 'POST',
    path: '/registry/model/delete',
    idempotent: false,
    role: 'admin',
    input: z.strictObject({ locator: modelLocator, force: z.boolean().optional() }),
    encode: (locator, options) => ({ body: { locator: locatorOf(locator), ...options } }),
    decode: (request) => {
      const { locator, ...options } = b<{ locator: never; force?: boolean }>(request);
      return [locator, options];
    },
  },
  link: {
    verb: 'POST',
    path: '/registry/links',
    // Linking the same source again returns the same registry version.
    idempotent: true,
    role: 'member',
    input: z.strictObject({
      source: text(),
      target: modelLocator,
      options: z.strictObject({
        aliases: list(text(), 100).optional(),
        create: z.boolean().optional(),
        force: z.boolean().optional(),
      }),
    }),
    encode: (source, target, options) => ({ body: { source, target: locatorOf(target), options } }),
    decode: (request) => {
      const { source, target, options } = b<{ source: string; target: never; options: never }>(request);
      return [source, target, options];
    },
  },
  unlink: {
    verb: 'POST',
    path: '/registry/unlink',
    idempotent: false,
    role: 'member',
    input: z.strictObject({ ref: registryRef, force: z.boolean().optional() }),
    encode: (ref, options) => ({ body: { ref: registryRefOf(ref), ...options } }),
    decode: (request) => {
      const { ref, ...options } = b<{ ref: never; force?: boolean }>(request);
      return [ref, options];
    },
  },
  version: {
    verb: 'GET',
    path: '/registry/version',
    idempotent: true,
    role: 'viewer',
    input: registryRef,
    encode: (ref) => ({ query: optional(registryRefOf(ref)) }),
    decode: (request) => [q(request)],
  },
  setAlias: {
    verb: 'POST',
    path: '/registry/aliases',
    idempotent: true,
    role: 'member',
    input: z.strictObject({ ref: registryRef, alias: text(), force: z.boolean().optional() }),
    encode: (ref, alias, options) => ({ body: { ref: registryRefOf(ref), alias, ...options } }),
    decode: (request) => {
      const { ref, alias, ...options } = b<{ ref: never; alias: string; force?: boolean }>(request);
      return [ref, alias, options];
    },
  },
  removeAlias: {
    verb: 'POST',
    path: '/registry/aliases/remove',
    idempotent: false,
    role: 'member',
    input: z.strictObject({ locator: modelLocator, alias: text(), force: z.boolean().optional() }),
    encode: (locator, alias, options) => ({ body: { locator: locatorOf(locator), alias, ...options } }),
    decode: (request) => {
      const { locator, alias, ...options } = b<{ locator: never; alias: string; force?: boolean }>(request);
      return [locator, alias, options];
    },
  },
  history: {
    verb: 'GET',
    path: '/registry/history',
    idempotent: true,
    role: 'viewer',
    input: modelLocator,
    encode: (locator) => ({ query: optional(locatorOf(locator)) }),
    decode: (request) => [q(request)],
  },
};

const maintenance: ApiTable<MaintenanceApiV1> = {
  verify: {
    verb: 'POST',
    path: '/admin/verify',
    idempotent: true,
    role: 'admin',
    input: z.strictObject({}),
    encode: () => ({ body: {} }),
    decode: () => [{}],
  },
  gc: {
    verb: 'POST',
    path: '/admin/gc',
    idempotent: false,
    role: 'admin',
    input: z.strictObject({
      graceMs: z.number().int().min(0).optional(),
      dryRun: z.boolean().optional(),
    }),
    encode: (options = {}) => ({ body: options }),
    decode: (request) => [b(request)],
  },
};

/** Every operation of the contract but the event log's (which has routes of its own), by API. */
export const WIRE_OPERATIONS: { [A in keyof Api]: ApiTable<Api[A]> } = {
  runs,
  artifacts,
  registry,
  maintenance,
};

/** The table as a flat list, `operation` named `api.method`. */
export function wireOperations(): Array<{ api: keyof Api; method: string; operation: WireOperation }> {
  return Object.entries(WIRE_OPERATIONS).flatMap(([api, table]) =>
    Object.entries(table as Record<string, WireOperation>).map(([method, operation]) => ({
      api: api as keyof Api,
      method,
      operation,
    })),
  );
}
