import { z } from 'zod';
import type { ArtifactsApiV1, MaintenanceApiV1, RegistryApiV1, RunsApiV1 } from '../contract/index.js';
import { WIRE_CALLS, type WireApi, type WireArgs, type WireCall, type WireRequest } from './operations.js';

export { API_PREFIX, type WireRequest, type WireRole } from './operations.js';

/**
 * The HTTP mapping of the backend contract, server half: per operation the schema of the request
 * it accepts and how that request becomes the method's arguments, merged with the client half
 * (`WIRE_CALLS` of `operations.ts`) into the table the server registers a route per operation
 * from. TypeScript fails when either half lacks an operation or has one the other does not.
 *
 * Every schema is strict — an unknown field is refused, not ignored — and bounds every size; what
 * the schemas leave open (names, refs, manifests) the backend checks as it does for a local caller.
 */

/** One operation of the contract over HTTP. */
export interface WireOperation<Args extends unknown[] = unknown[]> extends WireCall<Args> {
  /** The shape of the query string (GET) or body (others) the server accepts. */
  input: z.ZodType;
  /** The request, after its `input` schema accepted it, as the method's arguments (the server). */
  decode(request: WireRequest): Args;
}

type ApiTable<T> = { [K in keyof T]: WireOperation<WireArgs<T[K]>> };
/** The server half of an API's table: exactly the methods of its `WIRE_CALLS` table. */
type InputTable<T> = { [K in keyof T]: Pick<WireOperation<WireArgs<T[K]>>, 'input' | 'decode'> };

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

const q = <T>(request: WireRequest): T => request.query as unknown as T;
const b = <T>(request: WireRequest): T => request.body as T;

const runs: InputTable<RunsApiV1> = {
  create: {
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
    decode: (request) => [b(request)],
  },
  heartbeat: {
    input: z.strictObject({}),
    decode: (request) => [request.params.runId!],
  },
  appendHistory: {
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
    decode: (request) => [request.params.runId!, b(request)],
  },
  finish: {
    input: z.strictObject({ exitCode: z.number().int(), crashed: z.boolean().optional() }),
    decode: (request) => [request.params.runId!, b(request)],
  },
  recordUse: {
    input: z.strictObject({ ref: text() }),
    decode: (request) => [request.params.runId!, b<{ ref: string }>(request).ref],
  },
  get: {
    input: z.strictObject({}),
    decode: (request) => [request.params.runId!],
  },
  list: {
    input: z.strictObject({ entity: optionalText(), project: optionalText(), ...pageQuery }),
    decode: (request) => [q(request)],
  },
  history: {
    input: z.strictObject(pageQuery),
    decode: (request) => [request.params.runId!, q(request)],
  },
  inputs: {
    input: z.strictObject({}),
    decode: (request) => [request.params.runId!],
  },
  outputs: {
    input: z.strictObject({}),
    decode: (request) => [request.params.runId!],
  },
  series: {
    input: z.strictObject({
      keys: queryList.optional(),
      points: z.coerce.number().int().min(2).max(10_000).optional(),
    }),
    decode: (request) => [request.params.runId!, q(request)],
  },
  projects: {
    input: z.strictObject({ entity: optionalText() }),
    decode: (request) => [q(request)],
  },
};

const artifactLocator = { entity: optionalText(), project: text(), name: text() };

const artifacts: InputTable<ArtifactsApiV1> = {
  typeOf: {
    input: z.strictObject(artifactLocator),
    decode: (request) => [q(request)],
  },
  missingBlobs: {
    input: z.strictObject({ blobs: list(z.strictObject({ sha256, size }), 100_000) }),
    decode: (request) => [b<{ blobs: Array<{ sha256: string; size: number }> }>(request).blobs],
  },
  commit: {
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
    decode: (request) => [b(request)],
  },
  resolve: {
    input: z.strictObject({ ref: text() }),
    decode: (request) => [q<{ ref: string }>(request).ref],
  },
  entries: {
    input: z.strictObject({}),
    decode: (request) => [request.params.versionId!],
  },
  files: {
    input: z.strictObject({ ...pageQuery, prefix: optionalText(4096) }),
    decode: (request) => [request.params.versionId!, q(request)],
  },
  list: {
    input: z.strictObject({ entity: optionalText(), project: optionalText(), ...pageQuery }),
    decode: (request) => [q(request)],
  },
  versions: {
    input: z.strictObject({ ...artifactLocator, ...pageQuery }),
    decode: (request) => {
      const { cursor, limit, ...artifact } = q<Record<string, unknown>>(request);
      return [artifact as never, { cursor, limit } as never];
    },
  },
  setAlias: {
    input: z.strictObject({ ref: text(), alias: text() }),
    decode: (request) => {
      const { ref, alias } = b<{ ref: string; alias: string }>(request);
      return [ref, alias];
    },
  },
  removeAlias: {
    input: z.strictObject({ ref: text(), alias: text() }),
    decode: (request) => {
      const { ref, alias } = b<{ ref: string; alias: string }>(request);
      return [ref, alias];
    },
  },
  tag: {
    input: z.strictObject({ ref: text(), add: list(text(), 1000), remove: list(text(), 1000) }),
    decode: (request) => {
      const { ref, add, remove } = b<{ ref: string; add: string[]; remove: string[] }>(request);
      return [ref, add, remove];
    },
  },
  deleteVersion: {
    input: z.strictObject({ ref: text(), force: z.boolean().optional() }),
    decode: (request) => {
      const { ref, ...options } = b<{ ref: string; force?: boolean }>(request);
      return [ref, options];
    },
  },
  lineage: {
    input: z.strictObject({ ref: text(), depth: z.coerce.number().int().min(0).max(100) }),
    decode: (request) => {
      const { ref, depth } = q<{ ref: string; depth: number }>(request);
      return [ref, depth];
    },
  },
};

const registry: InputTable<RegistryApiV1> = {
  registries: {
    input: z.strictObject({ entity: optionalText() }),
    decode: (request) => [q<{ entity?: string }>(request).entity],
  },
  createRegistry: {
    input: z.strictObject({
      name: text(),
      entity: optionalText(),
      description: optionalText(MAX_TEXT),
      acceptedTypes: list(text(), 100).optional(),
      protectedAliases: list(text(), 100).optional(),
    }),
    decode: (request) => [b(request)],
  },
  createModel: {
    input: modelLocator.extend({ card: optionalText(MAX_TEXT), tags: list(text(), 1000).optional() }),
    decode: (request) => [b(request)],
  },
  models: {
    input: z.strictObject({
      entity: optionalText(),
      registry: optionalText(),
      prefix: optionalText(),
      tags: queryList.optional(),
      ...pageQuery,
    }),
    decode: (request) => [q(request)],
  },
  model: {
    input: modelLocator,
    decode: (request) => [q(request)],
  },
  rename: {
    input: z.strictObject({ locator: modelLocator, name: text() }),
    decode: (request) => {
      const { locator, name } = b<{ locator: never; name: string }>(request);
      return [locator, name];
    },
  },
  updateCard: {
    input: z.strictObject({ locator: modelLocator, card: text(MAX_TEXT) }),
    decode: (request) => {
      const { locator, card } = b<{ locator: never; card: string }>(request);
      return [locator, card];
    },
  },
  tag: {
    input: z.strictObject({ locator: modelLocator, add: list(text(), 1000), remove: list(text(), 1000) }),
    decode: (request) => {
      const { locator, add, remove } = b<{ locator: never; add: string[]; remove: string[] }>(request);
      return [locator, add, remove];
    },
  },
  deleteModel: {
    input: z.strictObject({ locator: modelLocator, force: z.boolean().optional() }),
    decode: (request) => {
      const { locator, ...options } = b<{ locator: never; force?: boolean }>(request);
      return [locator, options];
    },
  },
  link: {
    input: z.strictObject({
      source: text(),
      target: modelLocator,
      options: z.strictObject({
        aliases: list(text(), 100).optional(),
        create: z.boolean().optional(),
        force: z.boolean().optional(),
      }),
    }),
    decode: (request) => {
      const { source, target, options } = b<{ source: string; target: never; options: never }>(request);
      return [source, target, options];
    },
  },
  unlink: {
    input: z.strictObject({ ref: registryRef, force: z.boolean().optional() }),
    decode: (request) => {
      const { ref, ...options } = b<{ ref: never; force?: boolean }>(request);
      return [ref, options];
    },
  },
  version: {
    input: registryRef,
    decode: (request) => [q(request)],
  },
  setAlias: {
    input: z.strictObject({ ref: registryRef, alias: text(), force: z.boolean().optional() }),
    decode: (request) => {
      const { ref, alias, ...options } = b<{ ref: never; alias: string; force?: boolean }>(request);
      return [ref, alias, options];
    },
  },
  removeAlias: {
    input: z.strictObject({ locator: modelLocator, alias: text(), force: z.boolean().optional() }),
    decode: (request) => {
      const { locator, alias, ...options } = b<{ locator: never; alias: string; force?: boolean }>(request);
      return [locator, alias, options];
    },
  },
  history: {
    input: modelLocator,
    decode: (request) => [q(request)],
  },
};

const maintenance: InputTable<MaintenanceApiV1> = {
  verify: {
    input: z.strictObject({}),
    decode: () => [{}],
  },
  gc: {
    input: z.strictObject({
      graceMs: z.number().int().min(0).optional(),
      dryRun: z.boolean().optional(),
    }),
    decode: (request) => [b(request)],
  },
};

/** An API's calls, each with its input and decoder. */
function merged<A extends keyof WireApi>(api: A, inputs: InputTable<WireApi[A]>): ApiTable<WireApi[A]> {
  const calls = WIRE_CALLS[api] as Record<string, WireCall>;
  const halves = inputs as Record<string, Pick<WireOperation, 'input' | 'decode'>>;
  return Object.fromEntries(
    Object.entries(calls).map(([method, call]) => [method, { ...call, ...halves[method] }]),
  ) as ApiTable<WireApi[A]>;
}

/** Every operation of the contract but the event log's (which has routes of its own), by API. */
export const WIRE_OPERATIONS: { [A in keyof WireApi]: ApiTable<WireApi[A]> } = {
  runs: merged('runs', runs),
  artifacts: merged('artifacts', artifacts),
  registry: merged('registry', registry),
  maintenance: merged('maintenance', maintenance),
};

/** The table as a flat list, `operation` named `api.method`. */
export function wireOperations(): Array<{ api: keyof WireApi; method: string; operation: WireOperation }> {
  return Object.entries(WIRE_OPERATIONS).flatMap(([api, table]) =>
    Object.entries(table as Record<string, WireOperation>).map(([method, operation]) => ({
      api: api as keyof WireApi,
      method,
      operation,
    })),
  );
}
