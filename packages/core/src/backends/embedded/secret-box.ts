import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { QuiverError } from '../../contract/errors.js';

const VERSION = 'v1';
const KEY_BYTES = 32;

/**
 * Parses a secret key given as text: 64 hex digits or the base64 of 32 bytes. Anything else is
 * refused with what to set (the value itself never appears in the message).
 */
export function parseSecretKey(text: string, from: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES)
    throw new QuiverError(
      'E_INVALID_ENV',
      `${from} must be 32 bytes as 64 hex digits or base64 (make one with 'openssl rand -hex 32').`,
    );
  return key;
}

/**
 * Encrypts the secrets a store keeps (webhook signing secrets, bearer tokens) with AES-256-GCM
 * under one key: `v1:<iv>:<tag>:<ciphertext>` in base64, bound to the row it belongs to (the
 * additional data), so a value copied onto another row does not decrypt.
 */
export class SecretBox {
  private key: Buffer | undefined;

  /** `key`: the key itself, or a file that holds it (made, readable by its owner only, on first use). */
  constructor(private readonly source: { key: Buffer } | { file: string }) {
    if ('key' in source) this.key = source.key;
  }

  private keyOf(): Buffer {
    if (this.key) return this.key;
    const file = (this.source as { file: string }).file;
    try {
      this.key = parseSecretKey(readFileSync(file, 'utf8'), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dirname(file), { recursive: true });
      try {
        // `wx`: when two processes make it at once, one file wins and both read it.
        writeFileSync(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
        chmodSync(file, 0o600);
      } catch (made) {
        if ((made as NodeJS.ErrnoException).code !== 'EEXIST') throw made;
      }
      this.key = parseSecretKey(readFileSync(file, 'utf8'), file);
    }
    return this.key;
  }

  seal(plain: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyOf(), iv);
    cipher.setAAD(Buffer.from(boundTo));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      sealed.toString('base64'),
    ].join(':');
  }

  open(sealed: string, boundTo: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined)
      throw new QuiverError('E_INTERNAL', 'A stored secret is not in a form this server reads.');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keyOf(), Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new QuiverError(
        'E_INTERNAL',
        "A stored secret does not decrypt with this server's key: every replica needs the same QUIVER_SECRET_KEY (or secret.key file).",
      );
    }
  }

  /**
   * An HMAC-SHA256 of `text` under a key derived from this box's key for `purpose`, as hex: a
   * mark only holders of the key can make (the seal on verified blobs in object storage).
   */
  mac(purpose: string, text: string): string {
    const derived = createHmac('sha256', this.keyOf()).update(`quiver:${purpose}`).digest();
    return createHmac('sha256', derived).update(text).digest('hex');
  }
}
