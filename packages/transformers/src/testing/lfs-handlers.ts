/**
 * The LFS endpoints:
 * - `POST /{prefix}{repo}.git/info/lfs/objects/batch` (git-lfs batch API): objects already
 *   stored get no `actions` (the client skips them); others get `basic` (one pre-signed PUT
 *   URL) or, from the multipart threshold up, HF's `multipart` (`header.chunk_size` plus one
 *   URL per part under keys `00001`…, `href` being the completion URL);
 * - the storage URLs it hands out: PUT object, PUT part (answers an `ETag`), POST completion.
 */
import type { Handler, HubContext } from './hub-context.js';
import { badRequest, HubHttpError, revisionNotFound } from './hub-errors.js';
import { readJson } from './hub-http.js';
import type { Repo } from './repo-store.js';

const GIT_LFS_JSON = 'application/vnd.git-lfs+json';

interface BatchObject {
  oid: string;
  size: number;
  authenticated?: boolean;
  actions?: Record<string, { href: string; header?: Record<string, string>; expires_in?: number }>;
  error?: { code: number; message: string };
}

const batch: Handler = async (context, { route, request, caller }) => {
  const { store, access, settings } = context;
  const body = await readJson(request, settings.maxJsonBodySize);
  const operation = body.operation;
  if (operation !== 'upload' && operation !== 'download')
    throw badRequest('operation must be "upload" or "download"');
  const stored = store.get(route.repo?.key ?? '');
  const repo =
    operation === 'upload' ? access.requireWrite(caller, stored) : access.requireRead(caller, stored);
  const ref = (body.ref as { name?: unknown } | null | undefined)?.name;
  if (typeof ref === 'string' && !repo.refs.has(ref.replace(/^refs\/heads\//, '')))
    throw revisionNotFound(ref);
  if (!Array.isArray(body.objects)) throw badRequest('Missing objects');
  const transfers = Array.isArray(body.transfers) ? body.transfers : ['basic'];
  const objects = (body.objects as { oid?: unknown; size?: unknown }[]).map((object): BatchObject => {
    const { oid, size } = object;
    if (
      typeof oid !== 'string' ||
      !/^[0-9a-f]{64}$/.test(oid) ||
      !Number.isSafeInteger(size) ||
      (size as number) < 0
    ) {
      return {
        oid: String(oid),
        size: Number(size),
        error: { code: 422, message: 'Invalid object: oid must be a sha256, size a byte count' },
      };
    }
    return operation === 'upload'
      ? uploadObject(context, repo, oid, size as number, transfers.includes('multipart'))
      : downloadObject(context, repo, oid, size as number);
  });
  const multipart = objects.some((object) => object.actions?.upload?.header?.chunk_size !== undefined);
  return {
    status: 200,
    headers: { 'Content-Type': GIT_LFS_JSON },
    body: JSON.stringify({ transfer: multipart ? 'multipart' : 'basic', objects, hash_algo: 'sha256' }),
  };
};

function uploadObject(
  context: HubContext,
  repo: Repo,
  oid: string,
  size: number,
  multipartAccepted: boolean,
): BatchObject {
  if (repo.lfsObjects.has(oid)) return { oid, size };
  const { lfs, settings, baseUrl } = context;
  const threshold = repo.multipartThreshold ?? settings.multipartThreshold;
  const chunkSize = multipartAccepted && size >= threshold ? settings.multipartChunkSize : undefined;
  const ticket = lfs.openUpload(repo.key, oid, size, chunkSize);
  const storageUrl = `${baseUrl}/lfs-storage/${ticket.id}`;
  if (!ticket.multipart) {
    return { oid, size, authenticated: true, actions: { upload: { href: storageUrl, expires_in: 86_400 } } };
  }
  const header: Record<string, string> = { chunk_size: String(ticket.multipart.chunkSize) };
  for (let part = 1; part <= ticket.multipart.partCount; part++) {
    header[String(part).padStart(5, '0')] = `${storageUrl}/${part}`;
  }
  return {
    oid,
    size,
    authenticated: true,
    actions: { upload: { href: `${storageUrl}/complete`, header, expires_in: 86_400 } },
  };
}

function downloadObject({ lfs, baseUrl }: HubContext, repo: Repo, oid: string, size: number): BatchObject {
  if (!repo.lfsObjects.has(oid)) return { oid, size, error: { code: 404, message: 'Object does not exist' } };
  const href = `${baseUrl}/lfs-cdn/${lfs.openDownload(repo.key, oid)}`;
  return { oid, size, authenticated: true, actions: { download: { href, expires_in: 86_400 } } };
}

/** The repo an upload ticket is for (it may have been deleted since). */
function ticketRepo({ store }: HubContext, repoKey: string): Repo {
  const repo = store.get(repoKey);
  if (!repo) throw new HubHttpError(404, 'NoSuchBucket: the repo of this upload no longer exists');
  return repo;
}

const uploadObjectContent: Handler = async (context, { route, request }) => {
  const ticket = context.lfs.upload(route.ticket, 'basic');
  const content = await context.lfs.receiveObject(ticket, request);
  context.store.storeLfsObject(ticketRepo(context, ticket.repoKey), content, ticket.oid);
  return { status: 200, headers: { ETag: `"${ticket.oid.slice(0, 32)}"` } };
};

const uploadPart: Handler = async (context, { route, request }) => {
  const ticket = context.lfs.upload(route.ticket, 'multipart');
  const etag = await context.lfs.receivePart(ticket, route.partNumber as number, request);
  return { status: 200, headers: { ETag: etag } };
};

const completeMultipart: Handler = async (context, { route, request }) => {
  const ticket = context.lfs.upload(route.ticket, 'multipart');
  const body = await readJson(request, context.settings.maxJsonBodySize);
  const content = context.lfs.complete(ticket, body);
  context.store.storeLfsObject(ticketRepo(context, ticket.repoKey), content, ticket.oid);
  return { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{}' };
};

export const lfsHandlers = {
  'lfs-batch': batch,
  'lfs-upload': uploadObjectContent,
  'lfs-part': uploadPart,
  'lfs-complete': completeMultipart,
} satisfies Record<string, Handler>;
