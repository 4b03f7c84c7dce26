import { statSync } from 'node:fs';
import type { Store } from './store.js';

/** Files at least this large are looked up in the digest cache; smaller ones are cheaper to re-hash. */
export const CACHED_DIGEST_MIN_BYTES = 1024 * 1024;

/** The identity of a file's content as far as `stat` can tell: device, inode, size, mtime. */
export interface FileIdentity {
  device: string;
  inode: string;
  size: number;
  mtimeNs: string;
}

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

/** The digest recorded for an unchanged file (same path, device, inode, size and mtime), if any. */
export async function cachedDigest(
  store: Store,
  path: string,
  identity: FileIdentity,
): Promise<string | undefined> {
  const row = await store.connection.db
    .selectFrom('file_digests')
    .selectAll()
    .where('host', '=', store.host)
    .where('path', '=', path)
    .executeTakeFirst();
  if (!row) return undefined;
  const same =
    row.device === identity.device &&
    row.inode === identity.inode &&
    Number(row.size) === identity.size &&
    row.mtime_ns === identity.mtimeNs;
  return same ? row.sha256 : undefined;
}

/** Records a file's digest for its current identity. */
export async function rememberDigest(
  store: Store,
  path: string,
  identity: FileIdentity,
  sha256: string,
): Promise<void> {
  const row = {
    host: store.host,
    path,
    device: identity.device,
    inode: identity.inode,
    size: identity.size,
    mtime_ns: identity.mtimeNs,
    sha256,
  };
  await store.connection.db
    .insertInto('file_digests')
    .values(row)
    .onConflict((conflict) =>
      conflict.columns(['host', 'path']).doUpdateSet({
        device: row.device,
        inode: row.inode,
        size: row.size,
        mtime_ns: row.mtime_ns,
        sha256,
      }),
    )
    .execute();
}
