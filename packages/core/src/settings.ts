import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { redactUrl } from './backends/embedded/index.js';
import { QuiverError } from './contract/errors.js';
import { assertName } from './names.js';
import { type S3Location, s3LocationFromEnv } from './s3/s3-client.js';

/** Where a store keeps its data. */
export interface StoreSettings {
  /** The store directory: `quiver.db` (SQLite) and `blobs/`. */
  dir: string;
  /** When set, metadata goes to this PostgreSQL database instead of SQLite. */
  databaseUrl?: string;
  /**
   * When set, blobs go to this S3 (or S3-compatible) bucket instead of `<dir>/blobs`
   * (`QUIVER_S3_BUCKET`, `QUIVER_S3_ENDPOINT`, `QUIVER_S3_REGION`, `QUIVER_S3_PREFIX`).
   */
  s3?: S3Location;
  /** The default entity (team or user) for refs without one. */
  entity: string;
  /** Who is acting, recorded in the registry's audit history (`QUIVER_ACTOR`, else the user name). */
  actor: string;
  /**
   * Set in remote mode (`QUIVER_BASE_URL`, or a `quiver login`): the server every call goes to.
   * `dir` then holds only this client's caches.
   */
  remote?: RemoteSettings;
}

/** A server to talk to, and the key; the key is not enumerable, so printing settings never shows it. */
export interface RemoteSettings {
  baseUrl: string;
  readonly apiKey: string;
  /** The entity asked for (`QUIVER_ENTITY`, an option); default: the key's user. */
  entity?: string;
}

/** Where `quiver login` keeps keys: `QUIVER_CREDENTIALS`, else `credentials.json` in Quiver's config folder. */
export function credentialsFile(env: Environment = process.env): string {
  return (
    readEnv(env, 'QUIVER_CREDENTIALS') ?? join(envPaths('quiver', { suffix: '' }).config, 'credentials.json')
  );
}

/** What `quiver login` writes: the default server, and a key per server origin. */
export interface Credentials {
  default?: string;
  servers: Record<string, { apiKey: string; user?: string }>;
}

/** Reads the login file; a missing one is empty, one that is not ours is an error naming it. */
export function readCredentials(env: Environment = process.env): Credentials {
  const file = credentialsFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { servers: {} };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const servers = (body as { servers?: unknown } | undefined)?.servers;
  if (servers === null || typeof servers !== 'object' || Array.isArray(servers))
    throw new QuiverError(
      'E_INVALID_ENV',
      `${file} is not a Quiver login file; remove it and run 'quiver login <url>' again.`,
    );
  const valid: Credentials['servers'] = {};
  for (const [origin, entry] of Object.entries(servers as Record<string, unknown>)) {
    const apiKey = (entry as { apiKey?: unknown } | null)?.apiKey;
    const user = (entry as { user?: unknown } | null)?.user;
    if (typeof apiKey === 'string') valid[origin] = { apiKey, ...(typeof user === 'string' ? { user } : {}) };
  }
  const fallback = (body as { default?: unknown }).default;
  return { servers: valid, ...(typeof fallback === 'string' ? { default: fallback } : {}) };
}

function remoteSettings(
  baseUrl: string,
  apiKey: string | undefined,
  entity: string | undefined,
): RemoteSettings {
  const settings = { baseUrl, ...(entity !== undefined ? { entity } : {}) } as RemoteSettings;
  Object.defineProperty(settings, 'apiKey', { value: apiKey ?? '', enumerable: false });
  return settings;
}

/** The origin a base URL is filed under in the login file. */
export function serverKeyOf(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseUrl;
  }
}

/**
 * `local`: runs are stored where the store settings say (embedded store or team server);
 * `offline`: each run is recorded into a self-contained bundle folder for `quiver sync`;
 * `disabled`: nothing is stored.
 */
export type QuiverMode = 'local' | 'offline' | 'disabled';
const MODES = ['local', 'offline', 'disabled'] as const;

type Environment = Record<string, string | undefined>;

/** Reads an environment variable, treating an empty value as unset. */
export function readEnv(env: Environment, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Throws the error every invalid environment value gets: it names the variable and what it accepts. */
export function invalidEnv(name: string, value: string, allowed: string): never {
  throw new QuiverError('E_INVALID_ENV', `${name}=${JSON.stringify(value)} is not valid: ${allowed}.`, {
    details: { variable: name, value },
  });
}

/** Checks a name read from an environment variable, naming the variable when it is wrong. */
export function envName(
  env: Environment,
  variable: string,
  what: 'entity' | 'project' | 'run',
): string | undefined {
  const value = readEnv(env, variable);
  if (value === undefined) return undefined;
  try {
    return assertName(value, what);
  } catch (error) {
    return invalidEnv(
      variable,
      value,
      (error as Error).message.replace(/^Invalid [a-z]+ name "[^"]*": /, ''),
    );
  }
}

/** `QUIVER_MODE`: `local` (default), `offline` or `disabled`. */
export function resolveMode(explicit: QuiverMode | undefined, env: Environment = process.env): QuiverMode {
  if (explicit !== undefined) {
    if (!MODES.includes(explicit)) {
      throw new QuiverError(
        'E_INVALID_OPTION',
        `mode '${String(explicit)}' is not valid: use one of ${MODES.join(', ')}.`,
      );
    }
    return explicit;
  }
  const value = readEnv(env, 'QUIVER_MODE');
  if (value === undefined) return 'local';
  if (value === 'online')
    invalidEnv(
      'QUIVER_MODE',
      value,
      `a server is chosen by QUIVER_BASE_URL (or 'quiver login'), not by the mode; use local, offline or disabled`,
    );
  if (!(MODES as readonly string[]).includes(value))
    invalidEnv('QUIVER_MODE', value, `use one of ${MODES.join(', ')}`);
  return value as QuiverMode;
}

/**
 * The store's settings: explicit options, then `QUIVER_DIR` / `QUIVER_DATABASE_URL` / `QUIVER_ENTITY`, then defaults.
 *
 * `QUIVER_MODE` is checked here as well (unless `options.mode` is given, which wins), so every way
 * of opening a store — `init`, `openClient`, the CLI — refuses a mode it does not know with
 * `E_INVALID_ENV`, like any other bad variable, instead of ignoring it. `disabled` is accepted:
 * it turns runs into no-ops but does not stop anyone reading a store.
 */
export function resolveStoreSettings(
  options: Partial<Omit<StoreSettings, 'remote'>> & {
    mode?: QuiverMode;
    /** A server to use instead of an embedded store (else `QUIVER_BASE_URL`). */
    baseUrl?: string;
    apiKey?: string;
    /** `null`: the embedded store, whatever the environment says. */
    remote?: RemoteSettings | null;
  } = {},
  env: Environment = process.env,
): StoreSettings {
  resolveMode(options.mode, env);
  const remote = options.remote === null ? undefined : (options.remote ?? resolveRemote(options, env));
  const dir = resolve(options.dir ?? readEnv(env, 'QUIVER_DIR') ?? envPaths('quiver', { suffix: '' }).data);
  const databaseUrl = options.databaseUrl ?? readEnv(env, 'QUIVER_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    if (options.databaseUrl !== undefined) {
      throw new QuiverError('E_INVALID_OPTION', `databaseUrl must start with postgres:// or postgresql://.`);
    }
    invalidEnv(
      'QUIVER_DATABASE_URL',
      redactUrl(databaseUrl),
      'give a postgres:// or postgresql:// URL, or unset it to use the embedded SQLite store',
    );
  }
  const entity = options.entity ?? envName(env, 'QUIVER_ENTITY', 'entity') ?? defaultEntity();
  const actor = options.actor ?? readEnv(env, 'QUIVER_ACTOR') ?? userName();
  const s3 = remote ? undefined : (options.s3 ?? s3LocationFromEnv(env as NodeJS.ProcessEnv));
  return {
    dir,
    ...(databaseUrl && !remote ? { databaseUrl } : {}),
    ...(s3 ? { s3 } : {}),
    entity: assertName(entity, 'entity'),
    actor,
    ...(remote ? { remote } : {}),
  };
}

/**
 * Remote mode: `baseUrl` / `QUIVER_BASE_URL` with `apiKey` / `QUIVER_API_KEY` or the login file's
 * key for that server; else, when no store was named (no dir, `QUIVER_DIR` or database URL), the
 * server `quiver login` made the default.
 */
function resolveRemote(
  options: { dir?: string; databaseUrl?: string; baseUrl?: string; apiKey?: string; entity?: string },
  env: Environment,
): RemoteSettings | undefined {
  const entity = options.entity ?? envName(env, 'QUIVER_ENTITY', 'entity');
  let baseUrl = options.baseUrl ?? readEnv(env, 'QUIVER_BASE_URL');
  let apiKey = options.apiKey ?? readEnv(env, 'QUIVER_API_KEY');
  const namedStore =
    options.dir !== undefined ||
    options.databaseUrl !== undefined ||
    readEnv(env, 'QUIVER_DIR') !== undefined ||
    readEnv(env, 'QUIVER_DATABASE_URL') !== undefined;
  if (baseUrl === undefined && namedStore) return undefined;
  if (baseUrl === undefined || apiKey === undefined) {
    const credentials = readCredentials(env);
    baseUrl ??= credentials.default;
    if (baseUrl === undefined) return undefined;
    apiKey ??= credentials.servers[serverKeyOf(baseUrl)]?.apiKey;
  }
  return remoteSettings(baseUrl, apiKey, entity);
}

/** Bounds of a whole number read from text; both inclusive. */
export interface WholeNumberBounds {
  /** The smallest value accepted (default 0). */
  min?: number;
  /** The largest value accepted (default and at most `Number.MAX_SAFE_INTEGER`). */
  max?: number;
}

function boundsOf(bounds: WholeNumberBounds): { min: number; max: number } {
  const min = bounds.min ?? 0;
  const max = Math.min(bounds.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return { min, max };
}

function describeBounds({ min, max }: { min: number; max: number }): string {
  return max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
}

/**
 * Parses a whole number written as text — an environment variable, a CLI option — or returns
 * undefined when the text is not one: only ASCII digits (surrounding spaces ignored), no sign,
 * decimals, exponent, hex, `NaN` or `Infinity`, and within `bounds` (never beyond
 * `Number.MAX_SAFE_INTEGER`, so a number is never silently rounded).
 */
export function parseWholeNumber(text: string, bounds: WholeNumberBounds = {}): number | undefined {
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  const { min, max } = boundsOf(bounds);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

/** A whole-number environment variable (unset or empty: undefined); anything else is `E_INVALID_ENV` naming it. */
export function envWholeNumber(
  env: Environment,
  variable: string,
  bounds: WholeNumberBounds = {},
): number | undefined {
  const raw = readEnv(env, variable);
  if (raw === undefined) return undefined;
  const value = parseWholeNumber(raw, bounds);
  return value ?? invalidEnv(variable, raw, `use ${describeBounds(boundsOf(bounds))}`);
}

/**
 * A whole-number option given as a number or as text (a CLI flag); anything else — NaN, a
 * fraction, a negative below `min`, a value beyond `max` or the safe integer range — is
 * `E_INVALID_OPTION` naming the option and the accepted range.
 */
export function wholeNumberOption(name: string, value: unknown, bounds: WholeNumberBounds = {}): number {
  const range = boundsOf(bounds);
  const parsed =
    typeof value === 'string'
      ? parseWholeNumber(value, range)
      : typeof value === 'number' && Number.isSafeInteger(value) && value >= range.min && value <= range.max
        ? value
        : undefined;
  if (parsed !== undefined) return parsed;
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
      : typeof value === 'number'
        ? String(value)
        : value === undefined
          ? '(no value)'
          : `(a ${value === null ? 'null' : typeof value})`;
  throw new QuiverError('E_INVALID_OPTION', `${name} ${shown} is not valid: use ${describeBounds(range)}.`, {
    details: { option: name, value },
  });
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'local'; // no user database entry (some containers)
  }
}

function defaultEntity(): string {
  const cleaned = userName()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return cleaned === '' || cleaned === 'registry' ? 'local' : cleaned.slice(0, 128);
}

/** The SQLite file of a store directory. */
export function sqliteFileOf(dir: string): string {
  return join(dir, 'quiver.db');
}
