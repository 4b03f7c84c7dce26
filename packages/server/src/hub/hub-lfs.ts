/**
 * The Hub's LFS transfers over Quiver's blob store. The batch API answers `basic` (one PUT) or,
 * from {@link MULTIPART_THRESHOLD} up, HF's `multipart` (part URLs plus a completion URL); never
 * Xet, so the client falls back to these. The URLs it hands out carry a signed ticket instead of
 * a token (the client sends none to storage URLs): it names the blob, its size and who may upload
 * it, and expires. Bytes are hashed as they arrive and stored only when they hash to the oid.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { EmbeddedBackend } from '@quiver/core';
import { counted } from '../http-bodies.js';
import { badRequest, HubError } from './hub-http.js';

/** Objects at least this big are offered the multipart transfer (by default). */
export const MULTIPART_THRESHOLD = 1024 * 1024 * 1024;
/** The part size of multipart transfers (by default). */
export const PART_SIZE = 64 * 1024 * 1024;
/** How long an upload URL stays valid. */
const TICKET_SECONDS = 3600;
const SIGN_PURPOSE = 'hub-lfs-ticket';
const SHA256 = /^[0-9a-f]{64}$/;

/** What an upload URL lets its holder do: store the blob `oid` of `size` bytes, for `entity`. */
interface Ticket {
  oid: string;
  size: number;
  entity: string;
  actor: string;
  /** Set for multipart transfers. */
  partSize?: number;
  /** Seconds since the epoch. */
  expires: number;
}

/** A signed, expiring grant as a URL-safe token: `<base64url JSON>.<hmac>`. */
function seal(backend: EmbeddedBackend, purpose: string, grant: { expires: number }): string {
  const body = Buffer.from(JSON.stringify(grant)).toString('base64url');
  return `${body}.${backend.sign(purpose, body)}`;
}

/** The grant a token carries, checked: signed by this store's key for `purpose`, and not expired. */
function unseal<T extends { expires: number }>(
  backend: EmbeddedBackend,
  purpose: string,
  token: string | undefined,
  what: string,
): T {
  const [body, mac, extra] = (token ?? '').split('.');
  const refused = new HubError(
    403,
    `This ${what} is not valid (forged, or from another server); ask for a new one.`,
  );
  if (!body || !mac || extra !== undefined) throw refused;
  const expected = Buffer.from(backend.sign(purpose, body), 'utf8');
  const given = Buffer.from(mac, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw refused;
  const grant = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  if (!Number.isFinite(grant.expires) || grant.expires * 1000 < Date.now())
    throw new HubError(403, `This ${what} has expired; ask for a new one.`);
  return grant;
}

const sealTicket = (backend: EmbeddedBackend, ticket: Ticket): string => seal(backend, SIGN_PURPOSE, ticket);
const openTicket = (backend: EmbeddedBackend, token: string | undefined): Ticket =>
  unseal<Ticket>(backend, SIGN_PURPOSE, token, 'upload URL');

/** What a signed read URL lets a browser do: read one repo as `actor` until `expires`. */
export interface ReadGrant {
  actor: string;
  entity: string;
  name: string;
  /** The scope's base path the grant is for (`/hf`, `/hf-project/<p>`, …). */
  base: string;
  expires: number;
}

const READ_PURPOSE = 'hub-read-grant';
export const sealReadGrant = (backend: EmbeddedBackend, grant: ReadGrant): string =>
  seal(backend, READ_PURPOSE, grant);
export const openReadGrant = (backend: EmbeddedBackend, token: string | undefined): ReadGrant =>
  unseal<ReadGrant>(backend, READ_PURPOSE, token, 'read URL');

interface BatchObject {
  oid: string;
  size: number;
  authenticated?: boolean;
  actions?: Record<string, { href: string; header?: Record<string, string>; expires_in?: number }>;
  error?: { code: number; message: string };
}

/** The answer to an LFS batch request: stored objects get no actions, others upload URLs. */
export async function lfsBatch(
  backend: EmbeddedBackend,
  body: Record<string, unknown>,
  options: {
    entity: string;
    baseUrl: string;
    maxBlobBytes: number;
    canWrite: boolean;
    multipartThreshold?: number;
    partSize?: number;
  },
): Promise<{ transfer: string; objects: BatchObject[]; hash_algo: 'sha256' }> {
  if (body.operation !== 'upload' && body.operation !== 'download')
    throw badRequest('operation must be "upload" or "download".');
  if (body.operation === 'download')
    throw badRequest('LFS downloads go through the resolve route (GET <repo>/resolve/<revision>/<path>).');
  if (!options.canWrite)
    throw new HubError(403, `This token cannot write to '${options.entity}': uploads need the member role.`);
  if (!Array.isArray(body.objects) || body.objects.length > 10_000)
    throw badRequest('objects must be a list of at most 10000 {oid, size}.');
  const transfers = Array.isArray(body.transfers) ? body.transfers : ['basic'];
  const multipart = transfers.includes('multipart');
  const threshold = options.multipartThreshold ?? MULTIPART_THRESHOLD;
  const partSize = options.partSize ?? PART_SIZE;
  const wanted = (body.objects as Array<{ oid?: unknown; size?: unknown }>).map((object) => ({
    oid: object?.oid,
    size: object?.size,
  }));
  const valid = wanted.filter(
    (object): object is { oid: string; size: number } =>
      typeof object.oid === 'string' &&
      SHA256.test(object.oid) &&
      Number.isSafeInteger(object.size) &&
      (object.size as number) >= 0 &&
      (object.size as number) <= options.maxBlobBytes,
  );
  const missing = new Set(await backend.blobs.missing(valid.map(({ oid, size }) => ({ sha256: oid, size }))));
  const expires = Math.floor(Date.now() / 1000) + TICKET_SECONDS;
  let anyMultipart = false;
  const objects = wanted.map((object): BatchObject => {
    const { oid, size } = object;
    if (!valid.includes(object as { oid: string; size: number }))
      return {
        oid: String(oid),
        size: Number(size),
        error: {
          code: 422,
          message: `Invalid object: oid is a sha256 (64 lowercase hex digits), size a byte count of at most ${options.maxBlobBytes}.`,
        },
      };
    const good = object as { oid: string; size: number };
    if (!missing.has(good.oid)) return { oid: good.oid, size: good.size };
    const parted = multipart && good.size >= threshold && good.size > 0;
    const ticket = sealTicket(backend, {
      oid: good.oid,
      size: good.size,
      entity: options.entity,
      actor: backend.principal.actor,
      ...(parted ? { partSize } : {}),
      expires,
    });
    const href = `${options.baseUrl}/lfs/${ticket}`;
    if (!parted)
      return {
        oid: good.oid,
        size: good.size,
        authenticated: true,
        actions: { upload: { href, expires_in: TICKET_SECONDS } },
      };
    anyMultipart = true;
    const header: Record<string, string> = { chunk_size: String(partSize) };
    const parts = Math.ceil(good.size / partSize);
    for (let part = 1; part <= parts; part++) header[String(part).padStart(5, '0')] = `${href}/${part}`;
    return {
      oid: good.oid,
      size: good.size,
      authenticated: true,
      actions: { upload: { href: `${href}/complete`, header, expires_in: TICKET_SECONDS } },
    };
  });
  return { transfer: anyMultipart ? 'multipart' : 'basic', objects, hash_algo: 'sha256' };
}

/** Streams a body of exactly `size` bytes into the store, kept only when it hashes to `sha256`. */
async function storeExactly(
  backend: EmbeddedBackend,
  body: AsyncIterable<Uint8Array>,
  size: number,
  sha256?: string,
): Promise<string> {
  const staged = await backend.blobs.stage({
    stream: counted(body, size),
    sizeHint: size,
    ...(sha256 ? { expectedSha256: sha256 } : {}),
  });
  if ((sha256 !== undefined && staged.sha256 !== sha256) || staged.size !== size) {
    await backend.blobs.discard([staged]);
    throw new HubError(
      400,
      `The uploaded bytes hash to ${staged.sha256} (${staged.size} bytes), not to ${sha256 ?? 'what was declared'}; nothing was stored.`,
    );
  }
  await backend.blobs.publish([staged]);
  return staged.sha256;
}

function declaredLength(request: IncomingMessage): number | undefined {
  const length = request.headers['content-length'];
  return length === undefined ? undefined : Number(length);
}

/** `PUT <base>/lfs/<ticket>`: the whole object. */
export async function lfsUpload(
  backend: EmbeddedBackend,
  token: string | undefined,
  request: IncomingMessage,
) {
  const ticket = openTicket(backend, token);
  if (ticket.partSize !== undefined) throw badRequest('This object is uploaded in parts: PUT each part URL.');
  const length = declaredLength(request);
  if (length !== undefined && length !== ticket.size)
    throw badRequest(`This upload is ${ticket.size} bytes; the request says ${length}.`);
  await storeExactly(backend, request, ticket.size, ticket.oid);
  return { etag: `"${ticket.oid}"` };
}

const partLength = (ticket: Ticket, part: number): number =>
  Math.min(ticket.partSize!, ticket.size - (part - 1) * ticket.partSize!);

/** `PUT <base>/lfs/<ticket>/<n>`: one part, stored as a blob of its own; its ETag is its sha256. */
export async function lfsPart(
  backend: EmbeddedBackend,
  token: string | undefined,
  part: number,
  request: IncomingMessage,
) {
  const ticket = openTicket(backend, token);
  if (ticket.partSize === undefined) throw badRequest('This object is uploaded whole: PUT the upload URL.');
  const parts = Math.ceil(ticket.size / ticket.partSize);
  if (!Number.isSafeInteger(part) || part < 1 || part > parts)
    throw badRequest(`This upload has parts 1 to ${parts}; there is no part ${part}.`);
  const sha256 = await storeExactly(backend, request, partLength(ticket, part));
  return { etag: `"${sha256}"` };
}

/** `POST <base>/lfs/<ticket>/complete`: the parts, joined in order, become the object. */
export async function lfsComplete(
  backend: EmbeddedBackend,
  token: string | undefined,
  body: Record<string, unknown>,
): Promise<void> {
  const ticket = openTicket(backend, token);
  if (ticket.partSize === undefined) throw badRequest('This object was not uploaded in parts.');
  if (body.oid !== ticket.oid)
    throw badRequest(`This completion URL is for ${ticket.oid}, not ${String(body.oid)}.`);
  if (await backend.blobs.has(ticket.oid, ticket.size)) return;
  const count = Math.ceil(ticket.size / ticket.partSize);
  const given = Array.isArray(body.parts)
    ? (body.parts as Array<{ partNumber?: unknown; etag?: unknown }>)
    : [];
  const etags: string[] = new Array(count);
  for (const part of given) {
    const number = Number(part?.partNumber);
    const etag = typeof part?.etag === 'string' ? part.etag.replace(/^W\//, '').replace(/"/g, '') : '';
    if (!Number.isSafeInteger(number) || number < 1 || number > count || !SHA256.test(etag))
      throw badRequest('parts are {partNumber, etag} with the ETag each part upload answered.');
    etags[number - 1] = etag;
  }
  for (let index = 0; index < count; index++) {
    const etag = etags[index];
    if (etag === undefined) throw badRequest(`Part ${index + 1} of ${count} is missing from the completion.`);
    const stored = await backend.blobs.info(etag);
    if (!stored || stored.size !== partLength(ticket, index + 1))
      throw badRequest(`Part ${index + 1} was not uploaded (or not whole); PUT it again, then complete.`);
  }
  async function* joined(): AsyncIterable<Uint8Array> {
    for (const etag of etags) yield* await backend.blobs.open(etag);
  }
  await storeExactly(backend, joined(), ticket.size, ticket.oid);
}
