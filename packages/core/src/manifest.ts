import { sha256Hex } from './blobs/copy-and-hash.js';

/** One committed entry: a path, the sha256 and size of its content, and the URI of a reference. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  /** Set for references: the object is recorded, not copied into the store. */
  ref?: string;
}

/** The digest of a manifest: sha256 over its entries sorted by path. Equal content, equal digest. */
export function manifestDigest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((entry) =>
    JSON.stringify([entry.path, entry.sha256, entry.size, entry.ref ?? null]),
  );
  return sha256Hex(lines.join('\n'));
}
