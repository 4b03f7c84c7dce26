import { statSync } from 'node:fs';
// biome-ignore lint/style/noRestrictedImports: client-side state, not the store's metadata: this machine's own digest cache file (<dir>/client.db), the same for every backend.
import Sqlite from 'better-sqlite3';
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

/**
 * The digest cache lives with the client, not in the store's metadata database: it describes
 * files of one machine (keyed by host, path, device and inode), which a team's shared database
 * or server has no business holding. It is a small SQLite file, `<QUIVER_DIR>/client.db`, shared
 * by the processes of this machine (WAL), opened on first use and closed with the store. It is
 * only an optimisation: when it cannot be opened or written, files are hashed again.
 */
export class DigestCache {
  #database: Sqlite.Database | undefined;
  #failed = false;

  constructor(readonly file: string) {}

  /** The open database, or undefined when it cannot be had (a read-only folder). */
  database(): Sqlite.Database | undefined {
    if (this.#database || this.#failed) return this.#database;
    let database: Sqlite.Database | undefined;
    try {
      database = new Sqlite(this.file);
      database.pragma('journal_mode = WAL');
      database.pragma('busy_timeout = 5000');
      database.exec(
        `create table if not exists file_digests (
           host text not null, path text not null, device text not null, inode text not null,
           size integer not null, mtime_ns text not null, sha256 text not null,
           primary key (host, path))`,
      );
      this.#database = database;
    } catch {
      database?.close();
      this.#failed = true;
    }
    return this.#database;
  }

  close(): void {
    this.#database?.close();
    this.#database = undefined;
  }
}

/** The client's own state file inside `QUIVER_DIR`. */
export const CLIENT_DATABASE = 'client.db';

interface DigestRow {
  device: string;
  inode: string;
  size: number;
  mtime_ns: string;
  sha256: string;
}

/** The digest recorded for an unchanged file (same path, device, inode, size and mtime), if any. */
export async function cachedDigest(
  store: Store,
  path: string,
  identity: FileIdentity,
): Promise<string | undefined> {
  let row: DigestRow | undefined;
  try {
    row = store.digests
      .database()
      ?.prepare('select device, inode, size, mtime_ns, sha256 from file_digests where host = ? and path = ?')
      .get(store.host, path) as DigestRow | undefined;
  } catch {
    return undefined;
  }
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
  try {
    store.digests
      .database()
      ?.prepare(
        `insert into file_digests (host, path, device, inode, size, mtime_ns, sha256)
         values (?, ?, ?, ?, ?, ?, ?)
         on conflict (host, path) do update set device = excluded.device, inode = excluded.inode,
           size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256`,
      )
      .run(store.host, path, identity.device, identity.inode, identity.size, identity.mtimeNs, sha256);
  } catch {
    // A cache that cannot be written costs a re-hash next time, nothing else.
  }
}
