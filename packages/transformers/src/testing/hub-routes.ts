/**
 * The URL layout of the Hub, as `@huggingface/hub` builds it: `/api/{type}s/{ns}/{name}/…`
 * for the API, `/{prefix}{ns}/{name}/resolve|raw/{rev}/{path}` and
 * `/{prefix}{ns}/{name}.git/info/lfs/objects/batch` (prefix `datasets/`, `spaces/` or none).
 * Storage URLs (`/lfs-storage/…`, `/lfs-cdn/…`) stand for the Hub's pre-signed S3/CDN URLs.
 */
import type { HubEndpoint, RepoType } from './hub-types.js';
import { repoKey } from './repo-store.js';

export interface Route {
  endpoint: HubEndpoint;
  /** The repo the URL names (`type`, `ns/name`, and the client-style designation). */
  repo?: { type: RepoType; name: string; key: string };
  revision?: string;
  /** A path inside the repo ('' for the root). */
  path?: string;
  branch?: string;
  /** A storage ticket (the secret part of a pre-signed URL). */
  ticket?: string;
  partNumber?: number;
}

const API_TYPES: Record<string, RepoType> = { models: 'model', datasets: 'dataset', spaces: 'space' };

/** `/api/{type}s/{ns}/{name}/{action}/{revision}[/{path}]` endpoints, by method and action. */
const REVISION_ACTIONS: Record<string, HubEndpoint> = {
  'GET revision': 'repo-info',
  'GET tree': 'tree',
  'GET commits': 'list-commits',
  'POST preupload': 'preupload',
  'POST commit': 'commit',
  'POST paths-info': 'paths-info',
};

export function parseRoute(method: string, pathname: string): Route {
  let segments: string[];
  try {
    segments = pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { endpoint: 'unknown' };
  }
  if (segments[0] === 'api') return parseApiRoute(method, segments.slice(1));
  if (segments[0] === 'lfs-storage' && segments[1])
    return parseStorageRoute(method, segments[1], segments.slice(2));
  if (segments[0] === 'lfs-cdn' && segments[1] && (method === 'GET' || method === 'HEAD')) {
    return { endpoint: 'lfs-cdn', ticket: segments[1] };
  }
  return parseRepoRoute(method, segments);
}

function parseApiRoute(method: string, segments: string[]): Route {
  const [first, second, third, action, ...rest] = segments;
  if (first === 'whoami-v2' && method === 'GET') return { endpoint: 'whoami' };
  if (first === 'repos' && second === 'create' && method === 'POST') return { endpoint: 'create-repo' };
  if (first === 'repos' && second === 'delete' && method === 'DELETE') return { endpoint: 'delete-repo' };
  const type = first === undefined ? undefined : API_TYPES[first];
  if (!type || !second || !third) return { endpoint: 'unknown' };
  const repo = { type, name: `${second}/${third}`, key: repoKey(type, `${second}/${third}`) };
  if (action === undefined && method === 'GET') return { endpoint: 'repo-info', repo, revision: 'main' };
  if (action === 'branch' && rest.length > 0 && (method === 'POST' || method === 'DELETE')) {
    return { endpoint: method === 'POST' ? 'create-branch' : 'delete-branch', repo, branch: rest.join('/') };
  }
  const endpoint = REVISION_ACTIONS[`${method} ${action}`];
  const target = splitRevision(rest);
  if (!endpoint || !target) return { endpoint: 'unknown', repo };
  return { endpoint, repo, revision: target.revision, path: target.path };
}

function parseStorageRoute(method: string, ticket: string, rest: string[]): Route {
  if (rest.length === 0 && method === 'PUT') return { endpoint: 'lfs-upload', ticket };
  if (rest.length === 1 && rest[0] === 'complete' && method === 'POST')
    return { endpoint: 'lfs-complete', ticket };
  if (rest.length === 1 && /^\d+$/.test(rest[0] as string) && method === 'PUT') {
    return { endpoint: 'lfs-part', ticket, partNumber: Number(rest[0]) };
  }
  return { endpoint: 'unknown' };
}

function parseRepoRoute(method: string, segments: string[]): Route {
  const prefixed = segments[0] === 'datasets' || segments[0] === 'spaces';
  const type: RepoType = prefixed ? (API_TYPES[segments[0] as string] as RepoType) : 'model';
  const [namespace, name, action, ...rest] = prefixed ? segments.slice(1) : segments;
  if (!namespace || !name) return { endpoint: 'unknown' };
  if (
    name.endsWith('.git') &&
    [action, ...rest].join('/') === 'info/lfs/objects/batch' &&
    method === 'POST'
  ) {
    const repoName = `${namespace}/${name.slice(0, -'.git'.length)}`;
    return { endpoint: 'lfs-batch', repo: { type, name: repoName, key: repoKey(type, repoName) } };
  }
  const repo = { type, name: `${namespace}/${name}`, key: repoKey(type, `${namespace}/${name}`) };
  const target = splitRevision(rest);
  if ((action === 'resolve' || action === 'raw') && (method === 'GET' || method === 'HEAD') && target?.path) {
    return { endpoint: action, repo, revision: target.revision, path: target.path };
  }
  return { endpoint: 'unknown' };
}

/**
 * The revision at the start of decoded path segments, and the path after it. Clients encode the
 * revision (`refs%2Fpr%2F1`) except in tree URLs, where `refs/pr/N` arrives as three segments.
 */
function splitRevision(segments: string[]): { revision: string; path: string } | undefined {
  const [first, second] = segments;
  if (!first) return undefined;
  const length =
    first === 'refs' && (second === 'pr' || second === 'convert') && segments.length >= 3 ? 3 : 1;
  return { revision: segments.slice(0, length).join('/'), path: segments.slice(length).join('/') };
}
