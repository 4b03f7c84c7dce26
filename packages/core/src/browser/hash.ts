import { QuiverError } from '../contract/errors.js';

const encoder = new TextEncoder();

/** The lowercase hex sha256 of bytes (or of a text's UTF-8), with WebCrypto. */
export async function sha256Hex(content: Uint8Array | string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined)
    throw new QuiverError(
      'E_INVALID_ENV',
      'WebCrypto (crypto.subtle) is not available on this page: serve it over https:// or from localhost, where browsers offer it.',
    );
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
