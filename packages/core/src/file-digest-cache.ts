import { statSync } from 'node:fs';
import type { FileIdentity } from './backends/embedded/index.js';
import type { Store } from './store.js';

export { DigestCache } from './backends/embedded/index.js';

/** Files at least this large are looked up in the digest cache; smaller ones are cheaper to re-hash. */
export const CACHED_DIGEST_MIN_BYTES = 1024 * 1024;

/** Reads a file's identity (nanosecond mtime). */
export function fileIdentity(path: string): FileIdentity {
  const stats = statSync(path, { bigint: true });
  return {
    device: String(stats.dev),
    inode: String(stats.ino),
    size: Number(stats.size),
    mtimeNs: String(stats.mtimeNs),
  };
}

/** The client's own state file inside `QUIVER_DIR`. */
export const CLIENT_DATABASE = 'client.db';

/** The digest recorded for an unchanged file (same path, device, inode, size and mtime), if any. */
export async function cachedDigest(
  store: Store,
  path: string,
  identity: FileIdentity,
): Promise<string | undefined> {
  const row = store.digests.lookup(store.host, path);
  if (!row) return undefined;
  const same =
    row.device === identity.device &&
    row.inode === identity.inode &&
    Number(row.size) === identity.size &&
    row.mtime_ns === identity.mtimeNs;
  // Read back from a file: only a well-formed digest is used (it names a blob path).
  return same && /^[0-9a-f]{64}$/.test(row.sha256) ? row.sha256 : undefined;
}

/** Records a file's digest for its current identity (skipped when the cache cannot be written). */
export async function rememberDigest(
  store: Store,
  path: string,
  identity: FileIdentity,
  sha256: string,
): Promise<void> {
  store.digests.remember(store.host, path, identity, sha256);
}
