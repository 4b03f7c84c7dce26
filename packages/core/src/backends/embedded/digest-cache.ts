import Sqlite from 'better-sqlite3';

/** The identity of a file's content as far as `stat` can tell: device, inode, size, mtime. */
export interface FileIdentity {
  device: string;
  inode: string;
  size: number;
  mtimeNs: string;
}

/** What the cache holds for one file. */
export interface DigestRow {
  device: string;
  inode: string;
  size: number;
  mtime_ns: string;
  sha256: string;
}

/**
 * The digest cache lives with the client, not in the store's metadata database: it describes
 * files of one machine (keyed by host, path, device and inode), which a team's shared database
 * or server has no business holding. It is a small SQLite file, `<QUIVER_DIR>/client.db`, shared
 * by the processes of this machine (WAL), opened on first use and closed with the store. It is
 * only an optimisation: when it cannot be opened or written, files are hashed again.
 */
/*
 * Kept in this folder because it is SQL (core speaks SQL here only); it is the client's state,
 * used with every backend.
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

  /** The row recorded for a file, or undefined (also when the cache cannot be read). */
  lookup(host: string, path: string): DigestRow | undefined {
    try {
      return this.database()
        ?.prepare(
          'select device, inode, size, mtime_ns, sha256 from file_digests where host = ? and path = ?',
        )
        .get(host, path) as DigestRow | undefined;
    } catch {
      return undefined;
    }
  }

  /** Records a file's digest for its identity (skipped when the cache cannot be written). */
  remember(host: string, path: string, identity: FileIdentity, sha256: string): void {
    try {
      this.database()
        ?.prepare(
          `insert into file_digests (host, path, device, inode, size, mtime_ns, sha256)
           values (?, ?, ?, ?, ?, ?, ?)
           on conflict (host, path) do update set device = excluded.device, inode = excluded.inode,
             size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256`,
        )
        .run(host, path, identity.device, identity.inode, identity.size, identity.mtimeNs, sha256);
    } catch {
      // A cache that cannot be written costs a re-hash next time, nothing else.
    }
  }

  close(): void {
    this.#database?.close();
    this.#database = undefined;
  }
}
