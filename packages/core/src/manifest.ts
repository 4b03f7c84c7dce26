import { sha256Hex } from './blobs/copy-and-hash.js';
import type { ManifestEntry } from './contract/index.js';
import { manifestLines } from './stored-manifest.js';

/** The digest of a manifest: sha256 over its entries sorted by path. Equal content, equal digest. */
export function manifestDigest(entries: readonly ManifestEntry[]): string {
  return sha256Hex(manifestLines(entries));
}
