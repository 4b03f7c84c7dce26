/**
 * The storage side of LFS, standing in for the pre-signed S3 URLs the Hub's batch endpoint
 * hands out: a basic upload is one PUT of the object; a multipart upload is one PUT per part
 * (each answered with an `ETag`) and a completion POST listing `{ partNumber, etag }`.
 * Content is hashed while it arrives (multipart: over the contiguous prefix of received parts)
 * and an object whose sha256 or size differs from the announced oid is refused with a 400.
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { badRequest, forbidden } from './hub-errors.js';
import { StoredBytes } from './stored-bytes.js';

/** The secret behind one pre-signed upload URL. */
export interface UploadTicket {
  id: string;
  repoKey: string;
  oid: string;
  size: number;
  multipart?: MultipartState;
}

interface MultipartState {
  chunkSize: number;
  partCount: number;
  parts: ({ bytes: StoredBytes; etag: string } | undefined)[];
  /** sha256 over parts [0, hashedParts), updated as parts arrive in order. */
  hash: Hash;
  hashedParts: number;
  /** A part already hashed was uploaded again: the running hash is void. */
  stale: boolean;
  digest?: string;
}

/** The secret behind one signed download URL (`redirectLfs`). */
export interface DownloadTicket {
  repoKey: string;
  oid: string;
}

export class LfsStorage {
  readonly #uploads = new Map<string, UploadTicket>();
  readonly #downloads = new Map<string, DownloadTicket>();

  /** The repo a storage URL's ticket is for, if it is one. */
  repoOf(id: string): string | undefined {
    return (this.#uploads.get(id) ?? this.#downloads.get(id))?.repoKey;
  }

  /** A ticket for uploading `oid`; with `chunkSize`, a multipart one. */
  openUpload(repoKey: string, oid: string, size: number, chunkSize?: number): UploadTicket {
    const ticket: UploadTicket = { id: secret(), repoKey, oid, size };
    if (chunkSize !== undefined) {
      const partCount = Math.max(1, Math.ceil(size / chunkSize));
      ticket.multipart = {
        chunkSize,
        partCount,
        parts: new Array(partCount).fill(undefined),
        hash: createHash('sha256'),
        hashedParts: 0,
        stale: false,
      };
    }
    this.#uploads.set(ticket.id, ticket);
    return ticket;
  }

  /** The ticket of an upload URL; a 403 (as S3 answers a bad signature) when unknown. */
  upload(id: string | undefined, kind: 'basic' | 'multipart'): UploadTicket {
    const ticket = id === undefined ? undefined : this.#uploads.get(id);
    if (!ticket || (kind === 'multipart') !== (ticket.multipart !== undefined)) {
      throw forbidden('SignatureDoesNotMatch: unknown or expired upload URL');
    }
    return ticket;
  }

  /** Receives a basic upload, hashing as it streams; refuses a wrong size or sha256. */
  async receiveObject(ticket: UploadTicket, request: IncomingMessage): Promise<StoredBytes> {
    const hash = createHash('sha256');
    const bytes = await receive(request, hash);
    checkObject(ticket, bytes.size, hash.digest('hex'));
    return bytes;
  }

  /** Receives one part of a multipart upload and returns its ETag. */
  async receivePart(ticket: UploadTicket, partNumber: number, request: IncomingMessage): Promise<string> {
    const state = ticket.multipart as MultipartState;
    if (partNumber < 1 || partNumber > state.partCount) {
      throw badRequest(`InvalidArgument: part number must be between 1 and ${state.partCount}`);
    }
    const bytes = await receive(request);
    const etag = `"${randomBytes(16).toString('hex')}"`;
    if (partNumber - 1 < state.hashedParts) state.stale = true;
    state.parts[partNumber - 1] = { bytes, etag };
    while (!state.stale && state.hashedParts < state.partCount) {
      const next = state.parts[state.hashedParts];
      if (!next) break;
      for (const chunk of next.bytes.range()) state.hash.update(chunk);
      state.hashedParts += 1;
    }
    return etag;
  }

  /** Checks a completion request against the parts received and assembles the object (once). */
  complete(ticket: UploadTicket, body: Record<string, unknown>): StoredBytes {
    const state = ticket.multipart as MultipartState;
    if (body.oid !== ticket.oid) throw badRequest('Completion oid does not match the upload');
    const listed = Array.isArray(body.parts)
      ? (body.parts as { partNumber?: unknown; etag?: unknown }[])
      : [];
    if (listed.length !== state.partCount)
      throw badRequest(`InvalidPart: expected ${state.partCount} parts, got ${listed.length}`);
    for (const [index, part] of listed.entries()) {
      const stored = state.parts[index];
      if (part.partNumber !== index + 1 || !stored || part.etag !== stored.etag) {
        throw badRequest(`InvalidPart: part ${index + 1} was not uploaded or its ETag does not match`);
      }
    }
    const content = StoredBytes.concat(state.parts.map((part) => (part as { bytes: StoredBytes }).bytes));
    checkObject(ticket, content.size, digestOf(state));
    // As with S3, a completed upload is gone: its URLs stop working and its parts are freed.
    this.#uploads.delete(ticket.id);
    return content;
  }

  /** A secret for a signed download URL of an LFS object. */
  openDownload(repoKey: string, oid: string): string {
    const id = secret();
    this.#downloads.set(id, { repoKey, oid });
    return id;
  }

  download(id: string | undefined): DownloadTicket {
    const ticket = id === undefined ? undefined : this.#downloads.get(id);
    if (!ticket) throw forbidden('AccessDenied: unknown or expired download URL');
    return ticket;
  }
}

async function receive(request: IncomingMessage, hash?: Hash): Promise<StoredBytes> {
  const bytes = new StoredBytes();
  for await (const chunk of request as AsyncIterable<Buffer>) {
    hash?.update(chunk);
    bytes.append(chunk);
  }
  return bytes;
}

function digestOf(state: MultipartState): string {
  if (!state.stale && state.hashedParts === state.partCount) {
    state.digest ??= state.hash.digest('hex');
    return state.digest;
  }
  const hash = createHash('sha256');
  for (const part of state.parts) for (const chunk of part?.bytes.range() ?? []) hash.update(chunk);
  return hash.digest('hex');
}

function checkObject(ticket: UploadTicket, size: number, sha256: string): void {
  if (size !== ticket.size)
    throw badRequest(`Size mismatch: announced ${ticket.size} bytes, received ${size}`);
  if (sha256 !== ticket.oid)
    throw badRequest(`BadDigest: the content's sha256 is ${sha256}, not the oid ${ticket.oid}`);
}

function secret(): string {
  return randomBytes(24).toString('hex');
}
