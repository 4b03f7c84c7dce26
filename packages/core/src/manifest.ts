import { sha256Hex } from './blobs/copy-and-hash.js';
import type { ManifestEntry } from './contract/index.js';

/** The digest of a manifest: sha256 over its entries sorted by path. Equal content, equal digest. */
export function manifestDigest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((entry) =>
    JSON.stringify([entry.path, entry.sha256, entry.size, entry.ref ?? null]),
  );
  return sha256Hex(lines.join('\n'));
}
