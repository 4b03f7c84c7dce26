/**
 * The web UI's client of the server's public HTTP API (the same routes the SDK's remote mode
 * uses, under /api/v1). Same origin: the session cookie rides along; every write carries the
 * session's CSRF token in `x-quiver-csrf`. Records are the contract's, imported as types only.
 */
import type {
  ArtifactSummary,
  ArtifactVersionInfo,
  Identity,
  JsonValue,
  LineageGraph,
  LinkResult,
  ManifestEntry,
  Page,
  ProjectInfo,
  RegisteredModelDetails,
  RegisteredModelInfo,
  RegistryEvent,
  RegistryInfo,
  RegistryVersionInfo,
  ResolvedRef,
  Role,
  RunInfo,
  RunSeries,
} from '@quiver/core';

export type {
  ArtifactSummary,
  ArtifactVersionInfo,
  Identity,
  JsonValue,
  LineageGraph,
  LinkResult,
  ManifestEntry,
  Page,
  ProjectInfo,
  RegisteredModelDetails,
  RegisteredModelInfo,
  RegistryEvent,
  RegistryInfo,
  RegistryVersionInfo,
  ResolvedRef,
  Role,
  RunInfo,
  RunSeries,
};

export const API = '/api/v1';
export const CSRF_HEADER = 'x-quiver-csrf';
/** Dispatched on `window` when the API answers 401 to a signed-in request. */
export const UNAUTHORIZED_EVENT = 'quiver:unauthorized';

/** Who is signed in: the identity, the CSRF token for writes, and whether this is `quiver ui` (local) or a team server. */
export interface Session extends Identity {
  csrfToken: string;
  mode: 'local' | 'team';
}

/** An error the API answered with: its contract code (`E_FORBIDDEN`, …), message and HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let csrfToken = '';

/** Remembers the session's CSRF token (from {@link getSession} or {@link signIn}). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** The former name of {@link setCsrfToken} (not a React hook). */
export const useCsrfToken = setCsrfToken;

type Query = Record<string, string | number | boolean | string[] | null | undefined>;

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** One request to the API; throws {@link ApiError} for any answer but 2xx. */
export async function request<T>(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers[CSRF_HEADER] = csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${API}${path}${queryString(options.query)}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(
      'E_INTERNAL',
      `The server answered ${response.status} with a body that is not JSON.`,
      response.status,
    );
  }
  if (!response.ok) {
    // The session ended (expired, revoked, signed out elsewhere): the shell goes back to sign-in.
    if (response.status === 401 && path !== '/session') window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    const error = (parsed ?? {}) as { code?: string; message?: string };
    throw new ApiError(
      error.code ?? 'E_INTERNAL',
      error.message ?? `HTTP ${response.status}`,
      response.status,
    );
  }
  return parsed as T;
}

// ---- session ------------------------------------------------------------------------------

/** The signed-in session, or undefined when nobody is signed in (401). */
export async function getSession(): Promise<Session | undefined> {
  try {
    const session = await request<Session>('GET', '/session');
    setCsrfToken(session.csrfToken);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

/** Signs in with an API key or a username and password; the server sets an HttpOnly cookie. */
export async function signIn(
  credentials: { apiKey: string } | { username: string; password: string },
): Promise<Session> {
  const session = await request<Session>('POST', '/session', { body: credentials });
  setCsrfToken(session.csrfToken);
  return session;
}

export async function signOut(): Promise<void> {
  await request<void>('POST', '/session/end', { body: {} });
  setCsrfToken('');
}

// ---- projects, runs -------------------------------------------------------------------------

export const projects = (entity: string) => request<ProjectInfo[]>('GET', '/projects', { query: { entity } });

export const runs = (entity: string, project: string, cursor?: string | null, limit = 50) =>
  request<Page<RunInfo>>('GET', '/runs', { query: { entity, project, cursor, limit } });

export const run = (runId: string) => request<RunInfo>('GET', `/runs/${encodeURIComponent(runId)}`);

/** A run's metrics for charts, downsampled by the server to at most `points` per key. */
export const runSeries = (runId: string, options: { keys?: string[]; points?: number } = {}) =>
  request<RunSeries>('GET', `/runs/${encodeURIComponent(runId)}/series`, {
    query: { keys: options.keys, points: options.points },
  });

export const runInputs = (runId: string) =>
  request<ArtifactVersionInfo[]>('GET', `/runs/${encodeURIComponent(runId)}/inputs`);

export const runOutputs = (runId: string) =>
  request<ArtifactVersionInfo[]>('GET', `/runs/${encodeURIComponent(runId)}/outputs`);

// ---- artifacts ----------------------------------------------------------------------------

export const artifacts = (entity: string, project: string, cursor?: string | null, limit = 100) =>
  request<Page<ArtifactSummary>>('GET', '/artifacts', { query: { entity, project, cursor, limit } });

/** Versions of one artifact, newest first, a page at a time. */
export const versions = (
  artifact: { entity: string; project: string; name: string },
  cursor?: string | null,
  limit = 50,
) =>
  request<Page<ArtifactVersionInfo>>('GET', '/artifacts/versions', { query: { ...artifact, cursor, limit } });

/** Resolves any ref (`entity/project/name:v3`, `…:best`, `entity/registry/model:production`). */
export const resolve = (ref: string) => request<ResolvedRef>('GET', '/refs/resolve', { query: { ref } });

/** A version's files in path order, a page at a time. */
export const files = (versionId: string, cursor?: string | null, limit = 200, prefix?: string) =>
  request<Page<ManifestEntry>>('GET', `/versions/${encodeURIComponent(versionId)}/files`, {
    query: { cursor, limit, prefix },
  });

/** The URL that downloads one file of a version (the session cookie authenticates it). */
export const downloadUrl = (entry: ManifestEntry) =>
  `${API}/blobs/${entry.sha256}?download=${encodeURIComponent(entry.path.split('/').pop() ?? 'file')}`;

export const setAlias = (ref: string, alias: string) =>
  request<ArtifactVersionInfo>('POST', '/refs/aliases', { body: { ref, alias } });

export const removeAlias = (ref: string, alias: string) =>
  request<ArtifactVersionInfo>('POST', '/refs/aliases/remove', { body: { ref, alias } });

export const tagVersion = (ref: string, add: string[], remove: string[]) =>
  request<ArtifactVersionInfo>('POST', '/refs/tags', { body: { ref, add, remove } });

/** Runs and versions around `ref`, both directions, up to `depth` hops. */
export const lineage = (ref: string, depth: number) =>
  request<LineageGraph>('GET', '/refs/lineage', { query: { ref, depth } });

// ---- registry -----------------------------------------------------------------------------

export const registries = (entity: string) =>
  request<RegistryInfo[]>('GET', '/registries', { query: { entity } });

export const models = (
  options: { entity: string; registry?: string; prefix?: string; tags?: string[] },
  cursor?: string | null,
  limit = 50,
) => request<Page<RegisteredModelInfo>>('GET', '/registry/models', { query: { ...options, cursor, limit } });

export interface ModelLocator {
  entity: string;
  registry: string;
  model: string;
}

/** Only the locator's fields (the API's schemas are strict: an unknown field is refused). */
const locatorOf = (locator: ModelLocator): ModelLocator => ({
  entity: locator.entity,
  registry: locator.registry,
  model: locator.model,
});

export const model = (locator: ModelLocator) =>
  request<RegisteredModelDetails>('GET', '/registry/model', { query: { ...locatorOf(locator) } });

export const modelHistory = (locator: ModelLocator) =>
  request<RegistryEvent[]>('GET', '/registry/history', { query: { ...locatorOf(locator) } });

export const createModel = (locator: ModelLocator & { card?: string; tags?: string[] }) =>
  request<RegisteredModelInfo>('POST', '/registry/models', {
    body: {
      ...locatorOf(locator),
      ...(locator.card !== undefined ? { card: locator.card } : {}),
      ...(locator.tags !== undefined ? { tags: locator.tags } : {}),
    },
  });

export const updateCard = (locator: ModelLocator, card: string) =>
  request<RegisteredModelInfo>('PUT', '/registry/model/card', {
    body: { locator: locatorOf(locator), card },
  });

export const tagModel = (locator: ModelLocator, add: string[], remove: string[]) =>
  request<RegisteredModelInfo>('POST', '/registry/model/tags', {
    body: { locator: locatorOf(locator), add, remove },
  });

/** Links an artifact version into a registered model: what `quiver registry link` does. */
export const link = (
  sourceRef: string,
  target: ModelLocator,
  options: { aliases?: string[]; create?: boolean; force?: boolean } = {},
) =>
  request<LinkResult>('POST', '/registry/links', {
    body: {
      source: sourceRef,
      target: locatorOf(target),
      options: {
        aliases: options.aliases ?? [],
        create: options.create === true,
        force: options.force === true,
      },
    },
  });

export interface RegistryVersionRef extends ModelLocator {
  version?: number;
  alias?: string;
}

/** Sets (or moves) an alias of a registered model; protected ones need `force` and an admin. */
export const setModelAlias = (ref: RegistryVersionRef, alias: string, force = false) =>
  request<RegistryVersionInfo>('POST', '/registry/aliases', {
    body: {
      ref: {
        ...locatorOf(ref),
        ...(ref.version !== undefined ? { version: ref.version } : {}),
        ...(ref.alias !== undefined ? { alias: ref.alias } : {}),
      },
      alias,
      force,
    },
  });

export const removeModelAlias = (locator: ModelLocator, alias: string, force = false) =>
  request<RegistryVersionInfo>('POST', '/registry/aliases/remove', {
    body: { locator: locatorOf(locator), alias, force },
  });

/** The role the signed-in user holds in an entity (undefined: none). */
export function roleIn(session: Session, entity: string): Role | undefined {
  if (session.admin) return 'admin';
  return session.memberships.find((membership) => membership.entity === entity)?.role;
}

/** True when the user may write in the entity (member or admin). */
export const canWrite = (session: Session, entity: string): boolean => {
  const role = roleIn(session, entity);
  return role === 'member' || role === 'admin';
};

/** Every entity the session knows of: its own first, then its memberships, without repeats. */
export function knownEntities(session: Session): string[] {
  return [...new Set([session.entity, ...session.memberships.map((membership) => membership.entity)])];
}

/** The entities the user may write in (member or admin), own entity first. */
export const writableEntities = (session: Session): string[] =>
  knownEntities(session).filter((entity) => canWrite(session, entity));

/** True when the user is an admin of the entity (may set, move and remove protected aliases). */
export const isAdminOf = (session: Session, entity: string): boolean => roleIn(session, entity) === 'admin';

/** The canonical ref of an artifact version: `entity/project/name:vN`. */
export const artifactRef = (v: { entity: string; project: string; name: string; version: number }) =>
  `${v.entity}/${v.project}/${v.name}:v${v.version}`;

/** A registry ref: `entity/registry/model[:selector]`, with the registry named unless it is the default `model`. */
export function registryRef(locator: ModelLocator, selector?: string): string {
  const path =
    locator.registry === 'model'
      ? `${locator.entity}/registry/${locator.model}`
      : `${locator.entity}/registry/${locator.registry}/${locator.model}`;
  return selector ? `${path}:${selector}` : path;
}

/** The `:version` route parameter (`v3`) as a number; undefined when it is not `vN`. */
export function parseVersionParam(param: string | undefined): number | undefined {
  const match = /^v(0|[1-9][0-9]*)$/.exec(param ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The protected aliases of a registry (the server's default, `production`, when unknown). */
export function protectedAliasesOf(list: RegistryInfo[] | undefined, registry: string): string[] {
  return list?.find((item) => item.name === registry)?.protectedAliases ?? ['production'];
}

/** The teams of the server (server admins only): how an admin finds entities it is no member of. */
export const adminTeams = () => request<Array<{ name: string }>>('GET', '/admin/teams');

/** The entity a team-scoped page opens by default: the first team (an entity that is not the user's own), else the user's own. */
export function defaultTeam(session: Session, entities: string[] = knownEntities(session)): string {
  if (session.entity !== session.actor) return session.entity;
  return entities.find((entity) => entity !== session.actor) ?? session.entity;
}
