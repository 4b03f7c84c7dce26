/**
 * Account and repo endpoints: `whoami-v2`, repo create / delete, repo info
 * (`/api/{type}s/{repo}[/revision/{rev}]`), branch create / delete.
 */
import { createHash } from 'node:crypto';
import type { Handler } from './hub-context.js';
import { authenticationRequired, badRequest } from './hub-errors.js';
import { json, readJson } from './hub-http.js';
import type { RepoType } from './hub-types.js';
import { repoKey } from './repo-store.js';

const REPO_TYPES: readonly RepoType[] = ['model', 'dataset', 'space'];

/** A stable 24-hex id for a user or org name (the Hub's ids are Mongo ObjectIds). */
function entityId(name: string): string {
  return createHash('sha1').update(name).digest('hex').slice(0, 24);
}

const whoami: Handler = async ({ access }, { caller }) => {
  if (caller.anonymous) throw authenticationRequired();
  return json({
    type: 'user',
    id: entityId(caller.user),
    name: caller.user,
    fullname: caller.user,
    email: `${caller.user}@users.noreply.huggingface.co`,
    emailVerified: true,
    isPro: false,
    canPay: false,
    avatarUrl: '',
    periodEnd: null,
    billingMode: 'prepaid',
    orgs: access.orgsOf(caller.user).map((org) => ({
      type: 'org',
      id: entityId(org),
      name: org,
      fullname: org,
      email: null,
      canPay: false,
      avatarUrl: '',
      periodEnd: null,
    })),
    auth: {
      type: 'access_token',
      accessToken: {
        displayName: caller.tokenName,
        role: caller.role,
        createdAt: caller.createdAt.toISOString(),
      },
    },
  });
};

/** `POST /api/repos/create` `{ name, organization?, type?, visibility? | private?, sdk?, files?, lfsmultipartthresh? }`. */
const createRepo: Handler = async ({ store, access, settings, baseUrl }, { request, caller }) => {
  const body = await readJson(request, settings.maxJsonBodySize);
  const type = (body.type ?? 'model') as RepoType;
  if (!REPO_TYPES.includes(type)) throw badRequest(`Invalid repo type: ${String(body.type)}`);
  if (typeof body.name !== 'string') throw badRequest('Missing repo name');
  const namespace =
    typeof body.organization === 'string' ? body.organization : caller.anonymous ? undefined : caller.user;
  const author = access.requireNamespaceWrite(caller, namespace, type);
  if (type === 'space' && typeof body.sdk !== 'string') throw badRequest('A space needs an sdk');
  const files = Array.isArray(body.files) ? body.files.map(decodeInlineFile) : [];
  const repo = store.create({
    type,
    name: `${namespace}/${body.name}`,
    private: body.visibility === 'private' || body.visibility === 'protected' || body.private === true,
    author,
    ...(type === 'space' && { sdk: body.sdk as string }),
    ...(typeof body.lfsmultipartthresh === 'number' && { multipartThreshold: body.lfsmultipartthresh }),
    files: files.map((file) => ({ ...file, lfs: false })),
  });
  return json({ url: `${baseUrl}/${repo.key}`, name: repo.name, id: repo.id });
};

/** `DELETE /api/repos/delete` `{ name, organization?, type? }`. */
const deleteRepo: Handler = async ({ store, access, settings }, { request, caller }) => {
  const body = await readJson(request, settings.maxJsonBodySize);
  const type = (body.type ?? 'model') as RepoType;
  const namespace =
    typeof body.organization === 'string' ? body.organization : caller.anonymous ? undefined : caller.user;
  access.requireNamespaceWrite(caller, namespace, type);
  const key = repoKey(type, `${namespace}/${String(body.name)}`);
  access.requireRead(caller, store.get(key));
  store.delete(key);
  return { status: 200 };
};

/** Repo info at a revision, with the fields `modelInfo` / `datasetInfo` / `spaceInfo` read. */
const repoInfo: Handler = async ({ store, access }, { route, caller }) => {
  const repo = access.requireRead(caller, store.get(route.repo?.key ?? ''));
  const commit = store.resolve(repo, route.revision ?? 'main');
  const files = [...commit.files.values()];
  return json({
    _id: repo.id,
    id: repo.name,
    author: repo.name.split('/')[0],
    sha: commit.oid,
    lastModified: commit.date.toISOString(),
    createdAt: repo.createdAt.toISOString(),
    private: repo.private,
    gated: false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    ...(repo.sdk !== undefined && { sdk: repo.sdk }),
    siblings: files.map((file) => ({ rfilename: file.path })),
    usedStorage: files.reduce((total, file) => total + file.size, 0),
  });
};

/** `POST /api/{type}s/{repo}/branch/{branch}` `{ startingPoint?, emptyBranch?, overwrite? }`. */
const createBranch: Handler = async ({ store, access, settings }, { route, request, caller }) => {
  const repo = access.requireWrite(caller, store.get(route.repo?.key ?? ''));
  const body = await readJson(request, settings.maxJsonBodySize);
  store.createBranch(repo, route.branch as string, {
    ...(typeof body.startingPoint === 'string' && { from: body.startingPoint }),
    empty: body.emptyBranch === true,
    overwrite: body.overwrite === true,
    author: caller.anonymous ? '' : caller.user,
  });
  return { status: 200 };
};

const deleteBranch: Handler = async ({ store, access }, { route, caller }) => {
  const repo = access.requireWrite(caller, store.get(route.repo?.key ?? ''));
  store.deleteBranch(repo, route.branch as string);
  return { status: 200 };
};

/** `{ path, content, encoding }` of the create-repo payload, decoded. */
function decodeInlineFile(value: unknown): { path: string; content: Buffer } {
  const file = (value ?? {}) as { path?: unknown; content?: unknown; encoding?: unknown };
  if (typeof file.path !== 'string' || typeof file.content !== 'string')
    throw badRequest('Invalid file in payload');
  return {
    path: file.path,
    content: Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8'),
  };
}

export const repoHandlers = {
  whoami,
  'create-repo': createRepo,
  'delete-repo': deleteRepo,
  'repo-info': repoInfo,
  'create-branch': createBranch,
  'delete-branch': deleteBranch,
} satisfies Record<string, Handler>;
