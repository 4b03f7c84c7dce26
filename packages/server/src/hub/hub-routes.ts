/**
 * The Hugging Face Hub protocol on the team server, over Quiver's own data: what
 * `@huggingface/hub` and transformers.js call (whoami, repo creation and info, tree, paths-info,
 * resolve with the `Range` probe, preupload, the LFS batch API and its transfers, the NDJSON
 * commit), plus a multipart POST to a repo's URL, which is what TF.js's `tf.io.http` save sends.
 * `docs/hub-compatibility.md` has the mapping and what is not supported.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  assertName,
  type EmbeddedBackend,
  type Identity,
  isQuiverError,
  type ManifestEntry,
} from '@quiver/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { roleIn } from '../authorize.js';
import { parseRange } from '../http-bodies.js';
import {
  badRequest,
  entryNotFound,
  HUB_PREFIX,
  HUB_PROJECT_PREFIX,
  HUB_REGISTRY_PREFIX,
  HubError,
  type HubRepo,
  type HubRoute,
  type HubScope,
  parseHubRoute,
  readBody,
  readJsonObject,
  repoNotFound,
  splitScope,
  toHubError,
} from './hub-http.js';
import { lfsBatch, lfsComplete, lfsPart, lfsUpload, openReadGrant, sealReadGrant } from './hub-lfs.js';
import { commitToRepo, type HubChange, openRevision, type Revision, repoExists } from './hub-repos.js';

export interface HubRouteOptions {
  /** The largest blob one upload may hold. */
  maxBlobBytes: number;
  /** The largest JSON or NDJSON body (a commit with inline files). Default 64 MiB. */
  maxJsonBytes?: number;
  /** The largest multipart form (a TF.js save, held in memory while it is stored). Default 2 GiB. */
  maxFormBytes?: number;
  /** LFS objects at least this big are offered the multipart transfer. Default 1 GiB. */
  multipartThreshold?: number;
  /** The part size of multipart transfers. Default 64 MiB. */
  partSize?: number;
}

/** The longest a signed read URL stays valid (its default too). */
const READ_GRANT_SECONDS = 3600;

/** Entries per page of the tree listing (pages chain through the `Link` header). */
const TREE_PAGE = 1000;

/** The headers a browser may read, and may send, across origins. */
const EXPOSED = [
  'ETag',
  'Content-Range',
  'Content-Length',
  'Accept-Ranges',
  'Link',
  'X-Repo-Commit',
  'X-Linked-Size',
  'X-Linked-Etag',
  'X-Error-Code',
  'X-Error-Message',
  'X-Request-Id',
  'X-Total-Count',
].join(', ');

interface Call {
  /** Set when the URL carries a signed read grant (`<base>/~read/<token>/…`) instead of a token. */
  grant?: Identity;
  request: FastifyRequest;
  reply: FastifyReply;
  route: HubRoute;
  scope: HubScope;
  /** The scope's base URL: what a client gives as `hubUrl` / `HF_ENDPOINT`. */
  baseUrl: string;
  url: URL;
}

/** Registers the Hub routes under `/hf`, `/hf-registry/<registry>` and `/hf-project/<project>`. */
export async function registerHubRoutes(
  app: FastifyInstance,
  backend: EmbeddedBackend,
  options: HubRouteOptions,
): Promise<void> {
  const maxJson = options.maxJsonBytes ?? 64 * 1024 * 1024;
  const maxForm = options.maxFormBytes ?? 2 * 1024 * 1024 * 1024;

  /** The caller of a request: undefined without a token; a 401 for a token that is no Quiver key. */
  const identify = async (request: FastifyRequest): Promise<Identity | undefined> => {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header.trim() === '') return undefined;
    const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
    const key = token?.startsWith('hf_') ? token.slice('hf_'.length) : token;
    const identity = key ? await backend.accounts.authenticate(key) : undefined;
    if (!identity)
      throw new HubError(
        401,
        'Invalid credentials in Authorization header: a Hub token for Quiver is hf_ followed by a Quiver API key (or the key itself).',
      );
    return identity;
  };

  const requireIdentity = async (request: FastifyRequest): Promise<Identity> => {
    const identity = await identify(request);
    if (!identity)
      throw new HubError(
        401,
        'This Quiver server needs a token: send Authorization: Bearer hf_<your Quiver API key>.',
      );
    return identity;
  };

  /** The repo a route names, readable by the caller (RepoNotFound otherwise, so names do not leak). */
  const readableRepo = (identity: Identity, call: Call): HubRepo => {
    const named = call.route.repo!;
    try {
      assertName(named.namespace, 'entity');
      assertName(named.name, call.scope.kind === 'registry' ? 'model' : 'artifact');
      if (call.scope.kind === 'registry') assertName(call.scope.registry, 'registry');
      else assertName(call.scope.project, 'project');
    } catch (error) {
      if (isQuiverError(error)) throw repoNotFound(named);
      throw error;
    }
    if (roleIn(identity, named.namespace) === undefined) throw repoNotFound(named);
    return { scope: call.scope, entity: named.namespace, name: named.name };
  };

  const requireWrite = (identity: Identity, repo: HubRepo): void => {
    const role = roleIn(identity, repo.entity);
    if (role !== 'member' && role !== 'admin')
      throw new HubError(
        403,
        `This token cannot write to '${repo.entity}/${repo.name}': its user is a ${role} of '${repo.entity}', and writing needs the member role.`,
      );
  };

  const as = (identity: Identity, entity: string): EmbeddedBackend =>
    backend.withPrincipal({ actor: identity.actor, entity });

  const handle = async (call: Call): Promise<unknown> => {
    const { route, request, reply } = call;
    switch (route.endpoint) {
      case 'lfs-upload': {
        const { etag } = await lfsUpload(backend, route.ticket, request.body as IncomingMessage);
        return reply.status(200).header('etag', etag).send();
      }
      case 'lfs-part': {
        const { etag } = await lfsPart(
          backend,
          route.ticket,
          route.partNumber!,
          request.body as IncomingMessage,
        );
        return reply.status(200).header('etag', etag).send();
      }
      case 'lfs-complete': {
        const body = await readJsonObject(request.body as IncomingMessage, maxJson);
        await lfsComplete(backend, route.ticket, body);
        return reply.status(200).header('content-type', 'application/json').send('{}');
      }
      case 'unknown':
        throw new HubError(
          404,
          `${request.method} ${call.url.pathname} is not a route of the Hub that Quiver serves; docs/hub-compatibility.md lists them.`,
        );
      default:
        break;
    }
    if (call.grant && route.endpoint !== 'resolve')
      throw new HubError(403, 'A signed read URL reads files (resolve) of its one repo, nothing else.');
    const identity = call.grant ?? (await requireIdentity(request));
    if (route.endpoint === 'whoami') return whoami(identity);
    if (route.endpoint === 'create-repo') return createRepo(identity, call);
    const repo = readableRepo(identity, call);
    const acting = as(identity, repo.entity);
    switch (route.endpoint) {
      case 'read-url': {
        if (!(await repoExists(acting, repo))) throw repoNotFound(repo);
        const body = await readJsonObject(request.body as IncomingMessage, maxJson).catch(
          () => ({}) as Record<string, unknown>,
        );
        const asked = body.expiresIn === undefined ? READ_GRANT_SECONDS : Number(body.expiresIn);
        if (!Number.isSafeInteger(asked) || asked < 1 || asked > READ_GRANT_SECONDS)
          throw badRequest(`expiresIn is a whole number of seconds from 1 to ${READ_GRANT_SECONDS}.`);
        const expires = Math.floor(Date.now() / 1000) + asked;
        const base = new URL(call.baseUrl).pathname;
        const token = sealReadGrant(backend, {
          actor: identity.actor,
          entity: repo.entity,
          name: repo.name,
          base,
          expires,
        });
        const hubUrl = `${call.baseUrl}/~read/${token}`;
        return { remoteHost: `${hubUrl}/`, hubUrl, expiresAt: new Date(expires * 1000).toISOString() };
      }
      case 'repo-info':
        return repoInfo(acting, repo, route.revision!);
      case 'tree':
        return tree(acting, repo, call);
      case 'paths-info': {
        const body = await readJsonObject(request.body as IncomingMessage, maxJson);
        if (!Array.isArray(body.paths) || body.paths.some((path) => typeof path !== 'string'))
          throw badRequest('paths must be a list of strings.');
        const revision = await openRevision(acting, repo, route.revision!);
        const listing = await listingOf(acting, revision);
        const items = (body.paths as string[]).flatMap((path) => {
          const item = listing.item(path.replace(/^\/+|\/+$/g, ''));
          return item ? [entryJson(item, revision, body.expand === true)] : [];
        });
        return items;
      }
      case 'resolve':
        return resolveFile(acting, repo, call);
      case 'preupload': {
        requireWrite(identity, repo);
        onlyMain(route.revision!);
        const body = await readJsonObject(request.body as IncomingMessage, maxJson);
        if (!Array.isArray(body.files)) throw badRequest('files must be a list of {path, size, sample}.');
        // Every file goes through LFS: content-addressed blobs, so unchanged files upload nothing.
        return {
          files: (body.files as Array<{ path?: unknown }>).map((file) => ({
            path: String(file?.path),
            uploadMode: 'lfs',
            shouldIgnore: false,
          })),
        };
      }
      case 'lfs-batch': {
        const body = await readJsonObject(request.body as IncomingMessage, maxJson);
        const role = roleIn(identity, repo.entity);
        const answer = await lfsBatch(acting, body, {
          entity: repo.entity,
          baseUrl: call.baseUrl,
          maxBlobBytes: options.maxBlobBytes,
          canWrite: role === 'member' || role === 'admin',
          ...(options.multipartThreshold ? { multipartThreshold: options.multipartThreshold } : {}),
          ...(options.partSize ? { partSize: options.partSize } : {}),
        });
        return reply.header('content-type', 'application/vnd.git-lfs+json').send(JSON.stringify(answer));
      }
      case 'commit': {
        requireWrite(identity, repo);
        onlyMain(route.revision!);
        const text = (await readBody(request.body as IncomingMessage, maxJson)).toString('utf8');
        const { header, changes } = await parseNdjsonCommit(acting, text);
        const outcome = await commitToRepo(acting, repo, { ...header, changes });
        return {
          success: true,
          commitOid: outcome.commit,
          commitUrl: `${call.baseUrl}/${repo.entity}/${repo.name}/commit/${outcome.commit}`,
          hookOutput: '',
          quiver: { ref: outcome.version.ref, created: outcome.created },
        };
      }
      case 'form-commit': {
        requireWrite(identity, repo);
        const type = String(request.headers['content-type'] ?? '');
        if (!type.startsWith('multipart/form-data'))
          throw new HubError(
            415,
            'POST to a repo URL takes multipart/form-data (what tf.io.http sends): each field a file, named by its path.',
          );
        const body = await readBody(request.body as IncomingMessage, maxForm);
        let form: FormData;
        try {
          form = await new Response(body, { headers: { 'content-type': type } }).formData();
        } catch {
          throw badRequest('The multipart body could not be read.');
        }
        const changes: HubChange[] = [];
        for (const [field, value] of form.entries()) {
          if (typeof value === 'string') continue;
          const bytes = new Uint8Array(await value.arrayBuffer());
          changes.push({ kind: 'file', path: field, ...(await storeBytes(acting, bytes)) });
        }
        if (changes.length === 0) throw badRequest('The form holds no files.');
        const outcome = await commitToRepo(
          acting,
          repo,
          { changes, summary: `Save ${changes.map((change) => change.path).join(', ')}`, description: '' },
          { createModel: true },
        );
        return {
          success: true,
          commitOid: outcome.commit,
          ref: outcome.version.ref,
          created: outcome.created,
        };
      }
      default:
        throw new HubError(404, 'Not a Hub route.');
    }
  };

  const whoami = (identity: Identity) => ({
    type: 'user',
    id: identity.actor,
    name: identity.actor,
    fullname: identity.actor,
    email: null,
    emailVerified: false,
    isPro: false,
    canPay: false,
    orgs: identity.memberships
      .filter((membership) => membership.entity !== identity.entity)
      .map((membership) => ({
        type: 'org',
        name: membership.entity,
        fullname: membership.entity,
        roleInOrg: membership.role === 'viewer' ? 'read' : membership.role === 'member' ? 'write' : 'admin',
      })),
    auth: { type: 'access_token', accessToken: { displayName: 'quiver', role: 'write' } },
  });

  const createRepo = async (identity: Identity, call: Call) => {
    const body = await readJsonObject(call.request.body as IncomingMessage, maxJson);
    if (body.type !== undefined && body.type !== 'model')
      throw badRequest(`Quiver serves model repos only; '${String(body.type)}' repos are not supported.`);
    const namespace = typeof body.organization === 'string' ? body.organization : identity.entity;
    const name = String(body.name ?? '');
    const repo = readableRepo(identity, { ...call, route: { ...call.route, repo: { namespace, name } } });
    requireWrite(identity, repo);
    const acting = as(identity, repo.entity);
    if (await repoExists(acting, repo))
      throw new HubError(409, `You already created this model repo: ${repo.entity}/${repo.name}.`);
    if (repo.scope.kind === 'registry')
      await acting.registry.createModel({
        entity: repo.entity,
        registry: repo.scope.registry,
        model: repo.name,
      });
    return {
      url: `${call.baseUrl}/${repo.entity}/${repo.name}`,
      name: `${repo.entity}/${repo.name}`,
      id: `${repo.entity}/${repo.name}`,
    };
  };

  const repoInfo = async (acting: EmbeddedBackend, repo: HubRepo, revision: string) => {
    const at = await openRevision(acting, repo, revision);
    const entries = at ? await acting.artifacts.entries(at.version.id) : [];
    const id = `${repo.entity}/${repo.name}`;
    return {
      _id: at?.version.id ?? id,
      id,
      modelId: id,
      author: repo.entity,
      private: true,
      disabled: false,
      gated: false,
      downloads: 0,
      likes: 0,
      library_name: null,
      tags: at ? [...at.version.tags, ...at.version.aliases] : [],
      sha: at?.commit ?? null,
      lastModified: at?.version.createdAt ?? new Date(0).toISOString(),
      createdAt: at?.version.createdAt ?? new Date(0).toISOString(),
      siblings: entries.map((entry) => ({ rfilename: entry.path })),
      quiver: at ? { ref: at.registryVersion?.ref ?? at.version.ref, source: at.version.ref } : null,
    };
  };

  const tree = async (acting: EmbeddedBackend, repo: HubRepo, call: Call) => {
    const { url, route, reply } = call;
    const revision = await openRevision(acting, repo, route.revision!);
    const listing = await listingOf(acting, revision);
    const directory = (route.path ?? '').replace(/^\/+|\/+$/g, '');
    const recursive = ['1', 'true'].includes(url.searchParams.get('recursive') ?? '');
    const items = listing.list(directory, recursive);
    if (!items) throw entryNotFound(directory);
    const asked = Number(url.searchParams.get('limit') ?? TREE_PAGE);
    const limit = Number.isSafeInteger(asked) && asked > 0 ? Math.min(asked, TREE_PAGE) : TREE_PAGE;
    const cursor = url.searchParams.get('cursor');
    const offset = cursor === null ? 0 : Number(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Number.isSafeInteger(offset) || offset < 0) throw badRequest('Invalid cursor.');
    if (offset + limit < items.length) {
      const next = new URL(url.href);
      next.searchParams.set('cursor', Buffer.from(String(offset + limit)).toString('base64url'));
      reply.header('link', `<${next.href}>; rel="next"`);
    }
    const expand = ['1', 'true'].includes(url.searchParams.get('expand') ?? '');
    return items.slice(offset, offset + limit).map((item) => entryJson(item, revision, expand));
  };

  const resolveFile = async (acting: EmbeddedBackend, repo: HubRepo, call: Call) => {
    const { route, request, reply } = call;
    const revision = await openRevision(acting, repo, route.revision!);
    const path = route.path!;
    const entry = revision
      ? (await acting.artifacts.entries(revision.version.id)).find((item) => item.path === path)
      : undefined;
    if (!revision || !entry) throw entryNotFound(path);
    if (entry.ref !== undefined)
      throw new HubError(
        404,
        `${path} is a reference to ${entry.ref}, not stored in Quiver; fetch it from there.`,
        'EntryNotFound',
      );
    const range = parseRange(request.headers.range, entry.size);
    const name = path.split('/').at(-1)!;
    reply
      .header('accept-ranges', 'bytes')
      .header('content-type', 'application/octet-stream')
      .header('etag', `"${entry.sha256}"`)
      .header('x-linked-etag', `"${entry.sha256}"`)
      .header('x-linked-size', String(entry.size))
      .header('x-repo-commit', revision.commit)
      .header(
        'content-disposition',
        `inline; filename*=UTF-8''${encodeURIComponent(name)}; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}";`,
      );
    if (range === 'invalid') {
      reply.header('content-range', `bytes */${entry.size}`);
      throw new HubError(416, `The range asked for is outside the file's ${entry.size} bytes.`);
    }
    const { start, end } = range ?? { start: 0, end: entry.size };
    reply.header('content-length', String(end - start));
    if (range) reply.status(206).header('content-range', `bytes ${start}-${end - 1}/${entry.size}`);
    if (request.method === 'HEAD' || entry.size === 0) return reply.send();
    const stream = await acting.blobs.open(entry.sha256, range ?? undefined);
    return reply.send(stream instanceof Readable ? stream : Readable.from(stream));
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(request.url, `${request.protocol}://${request.host}`);
    const origin = request.headers.origin;
    reply
      .header('access-control-allow-origin', typeof origin === 'string' ? origin : '*')
      .header('access-control-expose-headers', EXPOSED)
      .header('vary', 'Origin');
    if (request.method === 'OPTIONS')
      return reply
        .status(204)
        .header('access-control-allow-methods', 'GET, HEAD, POST, PUT, OPTIONS')
        .header('access-control-allow-headers', 'Authorization, Range, Content-Type, X-Request-Id, Accept')
        .header('access-control-max-age', '86400')
        .send();
    const split = splitScope(url.pathname);
    if (!split) throw new HubError(404, 'Not a Hub route.');
    let rest = split.rest;
    let grant: Identity | undefined;
    const signed = /^\/~read\/([^/]+)(\/.*)$/.exec(rest);
    if (signed) {
      // A signed read URL: one repo, reads only, as the user who asked for it, until it expires.
      const read = openReadGrant(backend, signed[1]);
      rest = signed[2]!;
      const route = parseHubRoute(request.method, rest);
      if (read.base !== split.base || route.repo?.namespace !== read.entity || route.repo.name !== read.name)
        throw new HubError(403, 'This signed read URL is for another repo.');
      grant = {
        actor: read.actor,
        entity: read.entity,
        admin: false,
        memberships: [{ entity: read.entity, role: 'viewer' }],
      };
    }
    const call: Call = {
      request,
      reply,
      url,
      scope: split.scope,
      baseUrl: `${url.origin}${split.base}`,
      route: parseHubRoute(request.method, rest),
      ...(grant ? { grant } : {}),
    };
    return handle(call);
  };

  await app.register(async (hub) => {
    // Bodies are read by each route itself, bounded: JSON, NDJSON, LFS bytes and forms alike.
    hub.removeAllContentTypeParsers();
    hub.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    hub.setErrorHandler((error, request, reply) => {
      const hub = toHubError(error);
      if (!hub) request.log.error({ err: error }, 'hub request failed');
      const status = hub?.status ?? 500;
      const message = hub?.message ?? 'The server failed on this request; its log has the details.';
      if (hub?.code) reply.header('x-error-code', hub.code);
      // Header values are ASCII: the message in the header is the first line, made plain.
      reply.header(
        'x-error-message',
        message
          .split('\n')[0]!
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 500),
      );
      void reply.status(status).header('content-type', 'application/json').send({ error: message });
    });
    for (const prefix of [HUB_PREFIX, HUB_REGISTRY_PREFIX, HUB_PROJECT_PREFIX])
      hub.route({
        method: ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'],
        url: `${prefix}/*`,
        exposeHeadRoute: false,
        handler,
      });
  });
}

/** Quiver repos have one branch. */
function onlyMain(revision: string): void {
  if (revision !== 'main')
    throw badRequest(
      `Quiver repos have one branch, main; '${revision}' cannot be written to (aliases are moved with Quiver's own API).`,
    );
}

/** Stores bytes sent inline, content-addressed. */
async function storeBytes(
  backend: EmbeddedBackend,
  bytes: Uint8Array,
): Promise<{ sha256: string; size: number }> {
  const staged = await backend.blobs.stage({ bytes });
  await backend.blobs.publish([staged]);
  return { sha256: staged.sha256, size: staged.size };
}

/** The NDJSON commit: a header line, then files (inline or LFS) and deletions. */
async function parseNdjsonCommit(
  backend: EmbeddedBackend,
  text: string,
): Promise<{
  header: { summary: string; description: string; parentCommit?: string };
  changes: HubChange[];
}> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as { key?: unknown; value?: Record<string, unknown> };
    } catch {
      throw badRequest('Every line of a commit is a JSON object {key, value}.');
    }
  });
  const first = parsed[0];
  if (first?.key !== 'header' || typeof first.value !== 'object' || first.value === null)
    throw badRequest('A commit starts with its header line {"key":"header","value":{summary,…}}.');
  const header = {
    summary: typeof first.value.summary === 'string' ? first.value.summary : '',
    description: typeof first.value.description === 'string' ? first.value.description : '',
    ...(typeof first.value.parentCommit === 'string' ? { parentCommit: first.value.parentCommit } : {}),
  };
  const changes: HubChange[] = [];
  for (const { key, value } of parsed.slice(1)) {
    const path = typeof value?.path === 'string' ? value.path : undefined;
    if (path === undefined) throw badRequest(`A ${String(key)} line needs a path.`);
    if (key === 'file') {
      if (value!.encoding !== 'base64' || typeof value!.content !== 'string')
        throw badRequest('A file line holds its content base64-encoded ("encoding":"base64").');
      changes.push({
        kind: 'file',
        path,
        ...(await storeBytes(backend, Buffer.from(value!.content, 'base64'))),
      });
    } else if (key === 'lfsFile') {
      const oid = value!.oid;
      if (typeof oid !== 'string' || !/^[0-9a-f]{64}$/.test(oid) || (value!.algo ?? 'sha256') !== 'sha256')
        throw badRequest('An lfsFile line names its object by sha256 (oid, "algo":"sha256").');
      const stored = await backend.blobs.info(oid);
      if (!stored)
        throw new HubError(
          422,
          `Your push was rejected because the LFS object of ${path} (${oid}) was not uploaded.`,
        );
      if (value!.size !== undefined && value!.size !== stored.size)
        throw badRequest(
          `${path}: the commit says ${String(value!.size)} bytes; its object holds ${stored.size}.`,
        );
      changes.push({ kind: 'file', path, sha256: oid, size: stored.size });
    } else if (key === 'deletedFile') changes.push({ kind: 'delete-file', path });
    else if (key === 'deletedFolder') changes.push({ kind: 'delete-folder', path: path.replace(/\/+$/, '') });
    else
      throw badRequest(
        `Quiver does not take '${String(key)}' commit lines (files, lfsFiles and deletions only).`,
      );
  }
  return { header, changes };
}

/** One item of a tree listing. */
type TreeItem = { type: 'file'; path: string; entry: ManifestEntry } | { type: 'directory'; path: string };

/** A version's files as the Hub's folder tree. */
interface Listing {
  list(directory: string, recursive: boolean): TreeItem[] | undefined;
  item(path: string): TreeItem | undefined;
}

async function listingOf(backend: EmbeddedBackend, revision: Revision | undefined): Promise<Listing> {
  const entries = revision ? await backend.artifacts.entries(revision.version.id) : [];
  return {
    list(directory, recursive) {
      const prefix = directory === '' ? '' : `${directory}/`;
      const items: TreeItem[] = [];
      const folders = new Set<string>();
      for (const entry of entries) {
        if (!entry.path.startsWith(prefix)) continue;
        const parts = entry.path.slice(prefix.length).split('/');
        if (!recursive && parts.length > 1) {
          const folder = `${prefix}${parts[0]}`;
          if (!folders.has(folder)) {
            folders.add(folder);
            items.push({ type: 'directory', path: folder });
          }
          continue;
        }
        for (let depth = 1; depth < parts.length; depth++) {
          const folder = `${prefix}${parts.slice(0, depth).join('/')}`;
          if (!folders.has(folder)) {
            folders.add(folder);
            items.push({ type: 'directory', path: folder });
          }
        }
        items.push({ type: 'file', path: entry.path, entry });
      }
      if (directory !== '' && items.length === 0) return undefined;
      return items;
    },
    item(path) {
      const entry = entries.find((candidate) => candidate.path === path);
      if (entry) return { type: 'file', path, entry };
      return path !== '' && entries.some((candidate) => candidate.path.startsWith(`${path}/`))
        ? { type: 'directory', path }
        : undefined;
    },
  };
}

const LFS_SPEC = 'version https://git-lfs.github.com/spec/v1';

/** A tree entry as the Hub's tree and paths-info return it; every file is an LFS file. */
function entryJson(item: TreeItem, revision: Revision | undefined, expand: boolean): object {
  const commit = revision?.commit ?? '0'.repeat(40);
  const base =
    item.type === 'file'
      ? (() => {
          const pointer = `${LFS_SPEC}\noid sha256:${item.entry.sha256}\nsize ${item.entry.size}\n`;
          return {
            type: 'file',
            oid: gitBlobOid(pointer),
            size: item.entry.size,
            path: item.path,
            lfs: { oid: item.entry.sha256, size: item.entry.size, pointerSize: Buffer.byteLength(pointer) },
          };
        })()
      : {
          type: 'directory',
          oid: createHash('sha1').update(`quiver-tree:${commit}:${item.path}`).digest('hex'),
          size: 0,
          path: item.path,
        };
  if (!expand || !revision) return base;
  return {
    ...base,
    // The commit of the revision listed (Quiver does not track which version last changed a file).
    lastCommit: {
      id: commit,
      title: (revision.version.description ?? '').split('\n')[0],
      date: revision.version.createdAt,
    },
    ...(item.type === 'file' && { securityFileStatus: { status: 'safe' } }),
  };
}

/** git's object id of a blob holding `text`. */
function gitBlobOid(text: string): string {
  const bytes = Buffer.from(text);
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
