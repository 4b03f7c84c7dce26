import { QuiverError } from '../contract/errors.js';

const encoder = new TextEncoder();

/** Where a page is not a secure context (plain http:// on another host than localhost). */
const INSECURE =
  'WebCrypto (crypto.subtle) is not available on this page: serve it over https:// or from localhost, where browsers offer it.';

/** Refuses a page that lacks what hashing and request ids need, in its own terms. */
export function assertWebCrypto(): void {
  const crypto = globalThis.crypto;
  if (crypto?.subtle === undefined || typeof crypto.randomUUID !== 'function')
    throw new QuiverError('E_INVALID_ENV', INSECURE);
}

/** The lowercase hex sha256 of bytes (or of a text's UTF-8), with WebCrypto. */
export async function sha256Hex(content: Uint8Array | string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) throw new QuiverError('E_INVALID_ENV', INSECURE);
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
