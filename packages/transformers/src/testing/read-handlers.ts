/**
 * Read endpoints:
 * - `GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=&expand=`, paginated by `cursor`
 *   with a `Link: <…>; rel="next"` header;
 * - `POST /api/{type}s/{repo}/paths-info/{rev}` and `GET /api/{type}s/{repo}/commits/{rev}`
 *   (paginated by `p`, total in `X-Total-Count`);
 * - `GET|HEAD /{prefix}{repo}/resolve|raw/{rev}/{path}`: the file (raw: the LFS pointer), with
 *   `Range` support, `ETag`, `X-Repo-Commit`, and for LFS files `X-Linked-Etag` /
 *   `X-Linked-Size` (and a 302 to `/lfs-cdn/…` with `redirectLfs`).
 */
import type { IncomingMessage } from 'node:http';
import { lfsPointer } from './git-objects.js';
import type { Handler, HubContext } from './hub-context.js';
import { badRequest, entryNotFound, HubHttpError } from './hub-errors.js';
import { type HubResponse, json, parseRange, readJson } from './hub-http.js';
import type { Commit, Repo } from './repo-store.js';
import type { TreeItem } from './repo-tree.js';
import { StoredBytes } from './stored-bytes.js';

const tree: Handler = async (context, { route, url, caller }) => {
  const { store, access, settings, baseUrl } = context;
  const repo = access.requireRead(caller, store.get(route.repo?.key ?? ''));
  const commit = store.resolve(repo, route.revision as string);
  const directory = (route.path ?? '').replace(/^\/+|\/+$/g, '');
  const items = commit.tree.list(directory, isTrue(url.searchParams.get('recursive')));
  if (!items) throw entryNotFound(directory);
  const expand = isTrue(url.searchParams.get('expand'));
  const limit = Math.min(
    positiveInteger(url.searchParams.get('limit')) ?? settings.treePageSize,
    settings.treePageSize,
  );
  const cursor = url.searchParams.get('cursor');
  const offset = cursor === null ? 0 : Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw badRequest('Invalid cursor');
  const headers: Record<string, string> = {};
  if (offset + limit < items.length) {
    const next = new URL(`${url.pathname}${url.search}`, baseUrl);
    next.searchParams.set('cursor', Buffer.from(String(offset + limit)).toString('base64url'));
    headers.Link = `<${next.href}>; rel="next"`;
  }
  return json(
    items.slice(offset, offset + limit).map((item) => entryJson(context, repo, commit, item, expand)),
    200,
    headers,
  );
};

const pathsInfo: Handler = async (context, { route, request, caller }) => {
  const { store, access, settings } = context;
  const repo = access.requireRead(caller, store.get(route.repo?.key ?? ''));
  const commit = store.resolve(repo, route.revision as string);
  const body = await readJson(request, settings.maxJsonBodySize);
  if (!Array.isArray(body.paths) || body.paths.some((path) => typeof path !== 'string'))
    throw badRequest('paths must be strings');
  const items = (body.paths as string[]).flatMap(
    (path) => commit.tree.item(path.replace(/^\/+|\/+$/g, '')) ?? [],
  );
  return json(items.map((item) => entryJson(context, repo, commit, item, body.expand === true)));
};

const listCommits: Handler = async ({ store, access, baseUrl }, { route, url, caller }) => {
  const repo = access.requireRead(caller, store.get(route.repo?.key ?? ''));
  const history = store.history(repo, store.resolve(repo, route.revision as string));
  const limit = Math.min(positiveInteger(url.searchParams.get('limit')) ?? 50, 1000);
  const page = positiveInteger(url.searchParams.get('p'), 0) ?? 0;
  const headers: Record<string, string> = { 'X-Total-Count': String(history.length) };
  if ((page + 1) * limit < history.length) {
    const next = new URL(`${url.pathname}${url.search}`, baseUrl);
    next.searchParams.set('p', String(page + 1));
    headers.Link = `<${next.href}>; rel="next"`;
  }
  const commits = history.slice(page * limit, (page + 1) * limit).map((commit) => ({
    id: commit.oid,
    title: commit.summary,
    message: commit.description,
    authors: [{ user: commit.author, avatar: '' }],
    date: commit.date.toISOString(),
  }));
  return json(commits, 200, headers);
};

const resolveFile: Handler = async (
  { store, access, lfs, settings, baseUrl },
  { route, request, caller },
) => {
  const repo = access.requireRead(caller, store.get(route.repo?.key ?? ''));
  const commit = store.resolve(repo, route.revision as string);
  const path = route.path as string;
  const file = commit.files.get(path);
  if (!file) throw entryNotFound(path);
  const common = { 'X-Repo-Commit': commit.oid, 'Accept-Ranges': 'bytes' };
  if (route.endpoint === 'raw' && file.lfs) {
    const pointer = StoredBytes.of(Buffer.from(lfsPointer(file.lfs.oid, file.lfs.size)));
    return serveContent(request, pointer, {
      ...common,
      ETag: `"${file.oid}"`,
      'Content-Type': 'text/plain; charset=utf-8',
    });
  }
  const content = store.content(repo, file);
  if (!content) throw new HubHttpError(500, `Content of ${path} is missing from storage`);
  if (!file.lfs)
    return serveContent(request, content, {
      ...common,
      ETag: `"${file.oid}"`,
      'Content-Type': 'text/plain; charset=utf-8',
    });
  const name = path.split('/').at(-1) as string;
  const linked = {
    ...common,
    ETag: `"${file.lfs.oid}"`,
    'X-Linked-Etag': `"${file.lfs.oid}"`,
    'X-Linked-Size': String(file.lfs.size),
    'Content-Disposition': `inline; filename*=UTF-8''${encodeURIComponent(name)}; filename="${name.replace(/"/g, '')}";`,
  };
  if (settings.redirectLfs) {
    const location = `${baseUrl}/lfs-cdn/${lfs.openDownload(repo.key, file.lfs.oid)}`;
    return { status: 302, headers: { ...linked, Location: location } };
  }
  return serveContent(request, content, { ...linked, 'Content-Type': 'application/octet-stream' });
};

/** The signed storage URL an LFS `resolve` redirects to (no token needed: the URL is the secret). */
const cdnDownload: Handler = async ({ store, lfs }, { route, request }) => {
  const ticket = lfs.download(route.ticket);
  const content = store.get(ticket.repoKey)?.lfsObjects.get(ticket.oid);
  if (!content) throw new HubHttpError(404, 'NoSuchKey');
  return serveContent(request, content, {
    ETag: `"${ticket.oid}"`,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
  });
};

/** 200 with everything, or 206 with `Content-Range` for a `Range` request (416 if outside). */
function serveContent(
  request: IncomingMessage,
  content: StoredBytes,
  headers: Record<string, string>,
): HubResponse {
  const range = parseRange(request.headers.range, content.size);
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${content.size}` } };
  }
  if (!range) return { status: 200, headers, body: { content, start: 0, end: content.size } };
  return {
    status: 206,
    headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end - 1}/${content.size}` },
    body: { content, ...range },
  };
}

/** A tree entry as the Hub's tree / paths-info APIs return it. */
function entryJson(
  { store }: HubContext,
  repo: Repo,
  commit: Commit,
  item: TreeItem,
  expand: boolean,
): object {
  const base =
    item.type === 'file'
      ? {
          type: 'file',
          oid: item.file.oid,
          size: item.file.size,
          path: item.path,
          ...(item.file.lfs && { lfs: item.file.lfs }),
        }
      : { type: 'directory', oid: item.oid, size: 0, path: item.path };
  if (!expand) return base;
  const last = store.lastChange(repo, commit, item.path);
  return {
    ...base,
    lastCommit: { id: last.oid, title: last.summary, date: last.date.toISOString() },
    ...(item.type === 'file' && { securityFileStatus: { status: 'safe' } }),
  };
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

/** A query parameter as an integer of at least `minimum`, or undefined. */
function positiveInteger(value: string | null, minimum = 1): number | undefined {
  const number = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(number) && number >= minimum ? number : undefined;
}

export const readHandlers = {
  tree,
  'paths-info': pathsInfo,
  'list-commits': listCommits,
  resolve: resolveFile,
  raw: resolveFile,
  'lfs-cdn': cdnDownload,
} satisfies Record<string, Handler>;
