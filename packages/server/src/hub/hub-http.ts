/**
 * The HTTP side of the Hub-compatible routes: the URL layout `@huggingface/hub` and transformers.js
 * build, the Hub's error shape (`{"error": …}` with `X-Error-Code`), and bounded body reads.
 */
import { DEFAULT_REGISTRY, httpStatusOf, isQuiverError } from '@quiver/core';

/** Where a Hub endpoint's repos live in Quiver: a registry's models, or one project's artifacts. */
export type HubScope = { kind: 'registry'; registry: string } | { kind: 'project'; project: string };

/** A repo named by a Hub URL: `<namespace>/<name>` in a scope; the namespace is a Quiver entity. */
export interface HubRepo {
  scope: HubScope;
  entity: string;
  name: string;
}

export type HubEndpoint =
  | 'whoami'
  | 'create-repo'
  | 'repo-info'
  | 'tree'
  | 'paths-info'
  | 'preupload'
  | 'commit'
  | 'lfs-batch'
  | 'resolve'
  | 'form-commit'
  | 'lfs-upload'
  | 'lfs-part'
  | 'lfs-complete'
  | 'read-url'
  | 'unknown';

export interface HubRoute {
  endpoint: HubEndpoint;
  /** The namespace and name the URL gives (not yet checked as Quiver names). */
  repo?: { namespace: string; name: string };
  revision?: string;
  /** A path inside the repo ('' for the root). */
  path?: string;
  ticket?: string;
  partNumber?: number;
}

/** The three URL prefixes, each the `hubUrl` / `HF_ENDPOINT` / `env.remoteHost` of one scope. */
export const HUB_PREFIX = '/hf';
export const HUB_REGISTRY_PREFIX = '/hf-registry';
export const HUB_PROJECT_PREFIX = '/hf-project';

/** Whether a request path is one of the Hub routes (which authenticate themselves). */
export function isHubPath(pathname: string): boolean {
  return (
    pathname.startsWith(`${HUB_PREFIX}/`) ||
    pathname.startsWith(`${HUB_REGISTRY_PREFIX}/`) ||
    pathname.startsWith(`${HUB_PROJECT_PREFIX}/`)
  );
}

/** An error as the Hub answers it: a status, an `X-Error-Code` and `{"error": message}`. */
export class HubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const repoNotFound = (repo: { namespace: string; name: string } | HubRepo): HubError =>
  new HubError(
    404,
    `Repository not found: '${'namespace' in repo ? repo.namespace : repo.entity}/${repo.name}' does not exist on this Quiver server, or this token cannot read it.`,
    'RepoNotFound',
  );
export const revisionNotFound = (revision: string): HubError =>
  new HubError(
    404,
    `Invalid rev id: ${revision} (a revision is main, vN, an alias or a commit sha).`,
    'RevisionNotFound',
  );
export const entryNotFound = (path: string): HubError =>
  new HubError(404, `Entry not found: ${path}`, 'EntryNotFound');
export const badRequest = (message: string): HubError => new HubError(400, message);

/** Any error as the Hub's shape: Quiver's codes keep their HTTP status and message. */
export function toHubError(error: unknown): HubError | undefined {
  if (error instanceof HubError) return error;
  if (isQuiverError(error)) return new HubError(httpStatusOf(error.code), error.message);
  return undefined;
}

/** The scope and the remainder of a Hub URL path, or undefined when it is not a Hub path. */
export function splitScope(pathname: string): { scope: HubScope; base: string; rest: string } | undefined {
  const within = (prefix: string) => pathname.slice(prefix.length);
  if (pathname.startsWith(`${HUB_PREFIX}/`))
    return {
      scope: { kind: 'registry', registry: DEFAULT_REGISTRY },
      base: HUB_PREFIX,
      rest: within(HUB_PREFIX),
    };
  for (const [prefix, kind] of [
    [HUB_REGISTRY_PREFIX, 'registry'],
    [HUB_PROJECT_PREFIX, 'project'],
  ] as const) {
    if (!pathname.startsWith(`${prefix}/`)) continue;
    const [, name, ...rest] = within(prefix).split('/');
    if (!name) return undefined;
    let decoded: string;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      return undefined;
    }
    const scope: HubScope = kind === 'registry' ? { kind, registry: decoded } : { kind, project: decoded };
    return { scope, base: `${prefix}/${name}`, rest: `/${rest.join('/')}` };
  }
  return undefined;
}

/** `/api/models/{ns}/{name}/{action}/{revision}[/{path}]` endpoints, by method and action. */
const REVISION_ACTIONS: Record<string, HubEndpoint> = {
  'GET revision': 'repo-info',
  'GET tree': 'tree',
  'POST preupload': 'preupload',
  'POST commit': 'commit',
  'POST paths-info': 'paths-info',
};

/** The endpoint a method and a path within a scope name (the Hub's layout, models only). */
export function parseHubRoute(method: string, rest: string): HubRoute {
  let segments: string[];
  try {
    segments = rest.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { endpoint: 'unknown' };
  }
  const verb = method === 'HEAD' ? 'GET' : method;
  if (segments[0] === 'api') {
    const [, first, namespace, name, action, ...tail] = segments;
    if (first === 'whoami-v2' && verb === 'GET') return { endpoint: 'whoami' };
    if (first === 'repos' && namespace === 'create' && verb === 'POST') return { endpoint: 'create-repo' };
    if (first !== 'models' || !namespace || !name) return { endpoint: 'unknown' };
    const repo = { namespace, name };
    if (action === undefined && verb === 'GET') return { endpoint: 'repo-info', repo, revision: 'main' };
    if (action === 'read-url' && verb === 'POST' && tail.length === 0) return { endpoint: 'read-url', repo };
    const endpoint = REVISION_ACTIONS[`${verb} ${action}`];
    if (!endpoint || tail.length === 0 || !tail[0]) return { endpoint: 'unknown', repo };
    return { endpoint, repo, revision: tail[0], path: tail.slice(1).join('/') };
  }
  if (segments[0] === 'lfs' && segments[1]) {
    const [, ticket, part] = segments;
    if (part === undefined && verb === 'PUT') return { endpoint: 'lfs-upload', ticket };
    if (part === 'complete' && verb === 'POST' && segments.length === 3)
      return { endpoint: 'lfs-complete', ticket };
    if (part !== undefined && /^\d{1,5}$/.test(part) && verb === 'PUT' && segments.length === 3)
      return { endpoint: 'lfs-part', ticket, partNumber: Number(part) };
    return { endpoint: 'unknown' };
  }
  const [namespace, name, action, revision, ...path] = segments;
  if (!namespace || !name) return { endpoint: 'unknown' };
  if (name.endsWith('.git') && [action, revision, ...path].join('/') === 'info/lfs/objects/batch') {
    return verb === 'POST'
      ? { endpoint: 'lfs-batch', repo: { namespace, name: name.slice(0, -'.git'.length) } }
      : { endpoint: 'unknown' };
  }
  const repo = { namespace, name };
  if (action === undefined && verb === 'POST') return { endpoint: 'form-commit', repo, revision: 'main' };
  if (action === 'resolve' && verb === 'GET' && revision && path.length > 0 && path.every(Boolean))
    return { endpoint: 'resolve', repo, revision, path: path.join('/') };
  return { endpoint: 'unknown', repo };
}

/** A body read whole, refused past `limit` bytes (a 413, before it is all in memory). */
export async function readBody(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    if (length > limit)
      throw new HubError(413, `The request body is larger than the ${limit} bytes this route accepts.`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** A JSON object body (a 400 that says what is wrong otherwise). */
export async function readJsonObject(
  body: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<Record<string, unknown>> {
  const text = (await readBody(body, limit)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badRequest('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}
