import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore } from './blobs/fs/local-blob-store.js';
import { type DatabaseConnection, openDatabase } from './database/connection.js';
import { CLIENT_DATABASE, DigestCache } from './file-digest-cache.js';
import { ensureFolder } from './folders.js';
import { type QuiverMode, resolveStoreSettings, type StoreSettings, sqliteFileOf } from './settings.js';

/** An open store: the metadata database and the blob directory. */
export interface Store {
  readonly settings: StoreSettings;
  readonly connection: DatabaseConnection;
  readonly blobs: LocalBlobStore;
  readonly host: string;
  /** This machine's file-digest cache (`<dir>/client.db`), not part of the shared metadata. */
  readonly digests: DigestCache;
  /** True once `close()` was called; objects that outlive the store reopen one when needed. */
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * Opens the store described by `options` and the environment (`QUIVER_DIR`,
 * `QUIVER_DATABASE_URL`, `QUIVER_ENTITY`), creating it on first use.
 */
export async function openStore(
  options: Partial<StoreSettings> & { mode?: QuiverMode } = {},
): Promise<Store> {
  const settings = resolveStoreSettings(options);
  ensureFolder(settings.dir, { side: 'store' });
  const connection = await openDatabase(
    settings.databaseUrl ? { postgresUrl: settings.databaseUrl } : { sqliteFile: sqliteFileOf(settings.dir) },
  );
  const blobs = new LocalBlobStore(join(settings.dir, 'blobs'));
  const digests = new DigestCache(join(settings.dir, CLIENT_DATABASE));
  let closed = false;
  return {
    settings,
    connection,
    blobs,
    host: hostname(),
    digests,
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      digests.close();
      await connection.close();
    },
  };
}
