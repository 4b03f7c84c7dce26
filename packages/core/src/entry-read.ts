import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from './blobs/copy-and-hash.js';
import { QuiverError } from './contract/errors.js';
import type { ManifestEntry } from './contract/index.js';
import { referenceHandlerFor } from './references/index.js';
import type { Store } from './store.js';

/** Entries larger than this are not read into memory: download them instead. */
const MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * Reads one entry's bytes into memory, verified against its sha256 and size: stored content from
 * the blob store, a reference through its handler (into a scratch folder that is removed after).
 */
export async function readEntry(store: Store, entry: ManifestEntry): Promise<Uint8Array> {
  if (entry.size > MAX_READ_BYTES) {
    throw new QuiverError(
      'E_INVALID_OPTION',
      `'${entry.path}' has ${entry.size} bytes, too many to read into memory; download the version instead.`,
      { details: { path: entry.path, size: entry.size } },
    );
  }
  if (entry.ref === undefined)
    return store.backend.blobs.read(entry.sha256, entry.size, { entryPath: entry.path });
  const scratch = mkdtempSync(join(tmpdir(), 'quiver-read-'));
  try {
    const { url, handler } = referenceHandlerFor(entry.ref);
    const file = join(scratch, randomBytes(6).toString('hex'));
    await handler.download(url, file);
    const bytes = await readFile(file);
    const sha256 = sha256Hex(bytes);
    if (sha256 !== entry.sha256 || bytes.length !== entry.size) {
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `Checksum mismatch for '${entry.path}': the referenced object ${entry.ref} changed since it was logged (expected sha256 ${entry.sha256}, got ${sha256}).`,
        { details: { path: entry.path, expected: entry.sha256, actual: sha256 } },
      );
    }
    return bytes;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
