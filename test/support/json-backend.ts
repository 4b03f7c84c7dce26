import {
  type ArtifactsApiV1,
  type BlobStore,
  type EventsApiV1,
  httpStatusOf,
  type MaintenanceApiV1,
  type Principal,
  type QuiverBackendV1,
  QuiverError,
  type RegistryApiV1,
  type RunsApiV1,
} from '@quiver/core';

/**
 * A second implementation of the backend contract: every call of `runs`, `artifacts`, `registry`,
 * `events` and `maintenance` reaches the wrapped backend only as JSON — its arguments and its
 * result each go through `JSON.stringify`/`JSON.parse`, and errors cross as a server's answer
 * would (`{ code, message, details }` and an HTTP status) — exactly what an HTTP client and server
 * put in between. Function-valued arguments (progress callbacks, the consumer's handler) stay
 * local functions, but what the backend hands them and what they throw back cross as JSON too.
 * `blobs` forwards unchanged (bytes are a channel of their own) except that it has no fast paths
 * (`localPath`, `presignedUrl`), so the SDK's generic streaming paths run.
 *
 * Every result (and argument) must be JSON-safe: a value that JSON would change (a `Date`, a
 * `Map`, a class instance, `undefined` in an array, a bigint, NaN, …) makes the call throw an
 * `Error` naming the method and where the value is — this is what lets a conformance suite run
 * through this wrapper prove the contract serialisable.
 */
export function jsonRoundTrip(backend: QuiverBackendV1): QuiverBackendV1 {
  const wrapped: QuiverBackendV1 = {
    specificationVersion: backend.specificationVersion,
    get principal() {
      return backend.principal;
    },
    blobs: withoutFastPaths(() => backend.blobs),
    runs: forwardApi('runs', RUNS_METHODS, () => backend.runs),
    artifacts: forwardApi('artifacts', ARTIFACTS_METHODS, () => backend.artifacts),
    registry: forwardApi('registry', REGISTRY_METHODS, () => backend.registry),
    events: forwardApi('events', EVENTS_METHODS, () => backend.events),
    maintenance: forwardApi('maintenance', MAINTENANCE_METHODS, () => backend.maintenance),
    withPrincipal(principal: Principal) {
      return jsonRoundTrip(backend.withPrincipal(cross(principal, 'withPrincipal argument 0', false)));
    },
    close() {
      return backend.close();
    },
  };
  WRAPPED.add(wrapped);
  return wrapped;
}

const WRAPPED = new WeakSet<QuiverBackendV1>();

/** True when `backend` was made by {@link jsonRoundTrip} (so a suite can check it runs through JSON). */
export function isJsonRoundTrip(backend: QuiverBackendV1): boolean {
  return WRAPPED.has(backend);
}

// The method names of each sub-API. `satisfies Record<keyof …, true>` makes TypeScript fail when
// the contract gains (or loses) a method these lists do not name.
const RUNS_METHODS = {
  create: true,
  heartbeat: true,
  appendHistory: true,
  finish: true,
  recordUse: true,
  get: true,
  list: true,
  history: true,
  inputs: true,
  outputs: true,
  series: true,
  projects: true,
} as const satisfies Record<keyof RunsApiV1, true>;

const ARTIFACTS_METHODS = {
  typeOf: true,
  missingBlobs: true,
  commit: true,
  resolve: true,
  entries: true,
  files: true,
  list: true,
  versions: true,
  setAlias: true,
  removeAlias: true,
  tag: true,
  deleteVersion: true,
  lineage: true,
} as const satisfies Record<keyof ArtifactsApiV1, true>;

const REGISTRY_METHODS = {
  registries: true,
  createRegistry: true,
  createModel: true,
  models: true,
  model: true,
  rename: true,
  updateCard: true,
  tag: true,
  deleteModel: true,
  link: true,
  unlink: true,
  version: true,
  setAlias: true,
  removeAlias: true,
  history: true,
} as const satisfies Record<keyof RegistryApiV1, true>;

const EVENTS_METHODS = { read: true, consume: true } as const satisfies Record<keyof EventsApiV1, true>;

const MAINTENANCE_METHODS = { verify: true, gc: true } as const satisfies Record<
  keyof MaintenanceApiV1,
  true
>;

type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;

/** Every member of BlobStore but the fast paths, forwarded unchanged: read through or called. */
const BLOB_MEMBERS = {
  location: 'property',
  stage: 'method',
  publish: 'method',
  discard: 'method',
  has: 'method',
  missing: 'method',
  info: 'method',
  open: 'method',
  read: 'method',
  touch: 'method',
  pin: 'method',
  pinned: 'method',
  rehash: 'method',
  list: 'method',
  remove: 'method',
  beginRemoval: 'method',
  restoreAbandonedRemovals: 'method',
  removeStaleStaging: 'method',
} as const satisfies Record<RequiredKeys<BlobStore>, 'method' | 'property'>;

/** The optional fast paths left out, so that the SDK's generic paths are the ones exercised. */
export const OMITTED_BLOB_FAST_PATHS = { localPath: true, presignedUrl: true } as const satisfies Record<
  OptionalKeys<BlobStore>,
  true
>;

type AnyMethod = (...args: unknown[]) => unknown;

function withoutFastPaths(inner: () => BlobStore): BlobStore {
  const wrapper = {};
  for (const [name, kind] of Object.entries(BLOB_MEMBERS)) {
    const store = () => inner() as unknown as Record<string, unknown>;
    Object.defineProperty(
      wrapper,
      name,
      kind === 'property'
        ? { enumerable: true, get: () => store()[name] }
        : {
            enumerable: true,
            value: (...args: unknown[]) => {
              const target = store();
              return (target[name] as AnyMethod).apply(target, args);
            },
          },
    );
  }
  return wrapper as BlobStore;
}

function forwardApi<T>(api: string, methods: Record<keyof T, true>, inner: () => T): T {
  const forwarded: Record<string, AnyMethod> = {};
  for (const name of Object.keys(methods)) {
    const method = `${api}.${name}`;
    forwarded[name] = async (...args) => {
      // The client's request: each argument as JSON, functions kept here as callbacks.
      const sent = args.map((arg, index) => cross(arg, `${method} argument ${index}`, true));
      let result: unknown;
      try {
        const target = inner() as Record<string, AnyMethod>;
        result = await target[name]!.apply(target, sent);
      } catch (error) {
        throw crossError(error, method);
      }
      // The server's answer.
      return cross(result, `${method} result`, false);
    };
  }
  return forwarded as T;
}

const CALLBACK = '__jsonRoundTripCallback';

/**
 * `value` as the other side of a JSON wire sees it, after checking that JSON does not change it.
 * `undefined` (a void result, an omitted argument) crosses as nothing. With `callbacks`, functions
 * are callback slots: they stay local, wrapped so that what they are given and what they return
 * or throw crosses as JSON.
 */
function cross<T>(value: T, where: string, callbacks: boolean): T {
  if (value === undefined) return value;
  const problem = jsonProblem(value, '', callbacks, new Set());
  if (problem !== undefined) {
    throw new Error(`${where} is not JSON-safe: ${problem}`);
  }
  const functions: AnyMethod[] = [];
  const body = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'function' ? { [CALLBACK]: functions.push(item as AnyMethod) - 1 } : item,
  );
  return JSON.parse(body, (_key, item: unknown) => {
    if (item !== null && typeof item === 'object' && Object.hasOwn(item, CALLBACK)) {
      const index = (item as Record<string, number>)[CALLBACK]!;
      return remoteCallback(functions[index]!, `${where} (callback)`);
    }
    return item;
  }) as T;
}

/** A callback as the backend side sees it: arguments, result and errors cross JSON. */
function remoteCallback(local: AnyMethod, where: string): AnyMethod {
  return (...args) => {
    const given = args.map((arg, index) => cross(arg, `${where} argument ${index}`, false));
    let result: unknown;
    try {
      result = local(...given);
    } catch (error) {
      throw crossError(error, where);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => cross(value, `${where} result`, false),
        (error: unknown) => {
          throw crossError(error, where);
        },
      );
    }
    return cross(result, `${where} result`, false);
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The error the other side makes of `error`: a QuiverError's JSON body and status through
 * `QuiverError.fromJSON`; anything else as a server's 500 (`E_INTERNAL`, with the message).
 */
function crossError(error: unknown, where: string): QuiverError {
  if (error instanceof QuiverError) {
    const problem = jsonProblem(error.details, '.details', false, new Set());
    if (problem !== undefined) {
      throw new Error(
        `${where} threw ${error.code} whose details are not JSON-safe: ${problem} (${error.message})`,
      );
    }
    const body = JSON.stringify(error);
    return QuiverError.fromJSON(JSON.parse(body), httpStatusOf(error.code));
  }
  const message = error instanceof Error ? error.message : String(error);
  const body = JSON.stringify({ code: 'E_INTERNAL', message, details: {} });
  return QuiverError.fromJSON(JSON.parse(body), 500);
}

/**
 * What JSON would change about `value` (and where), or undefined when
 * `JSON.parse(JSON.stringify(value))` is deep-equal to it — `undefined` object properties count
 * as absent. Plain objects and arrays only: a class instance loses its prototype.
 */
function jsonProblem(
  value: unknown,
  path: string,
  callbacks: boolean,
  seen: Set<object>,
): string | undefined {
  const at = path === '' ? 'the value' : path;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      if (Object.is(value, -0)) return `${at} is -0 (JSON makes it 0)`;
      return Number.isFinite(value) ? undefined : `${at} is ${value} (JSON makes it null)`;
    case 'undefined':
      return `${at} is undefined`;
    case 'bigint':
      return `${at} is a bigint`;
    case 'symbol':
      return `${at} is a symbol`;
    case 'function':
      return callbacks ? undefined : `${at} is a function`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return `${at} is circular`;
  const prototype = Object.getPrototypeOf(object) as object | null;
  if (Array.isArray(object)) {
    if (prototype !== Array.prototype) return `${at} is a ${describePrototype(prototype)}, not a plain array`;
    seen.add(object);
    for (let index = 0; index < object.length; index++) {
      if (!(index in object)) return `${path}[${index}] is a hole in a sparse array`;
      const problem = jsonProblem(object[index], `${path}[${index}]`, callbacks, seen);
      if (problem !== undefined) return problem;
    }
    seen.delete(object);
    return undefined;
  }
  if (prototype !== Object.prototype && prototype !== null) {
    return `${at} is a ${describePrototype(prototype)}, not a plain object`;
  }
  // Non-enumerable symbols (a backend's private row keys) are invisible to JSON and to deep
  // equality alike; enumerable ones would be lost.
  const symbols = Object.getOwnPropertySymbols(object).filter((symbol) =>
    Object.prototype.propertyIsEnumerable.call(object, symbol),
  );
  if (symbols.length > 0) return `${at} has symbol keys (${symbols.map(String).join(', ')})`;
  seen.add(object);
  for (const [key, child] of Object.entries(object)) {
    if (child === undefined) continue;
    const problem = jsonProblem(child, `${path}.${key}`, callbacks, seen);
    if (problem !== undefined) return problem;
  }
  seen.delete(object);
  return undefined;
}

function describePrototype(prototype: object | null): string {
  const name = (prototype as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'non-plain object';
}
