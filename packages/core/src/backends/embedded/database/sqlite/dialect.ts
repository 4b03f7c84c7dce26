import Sqlite from 'better-sqlite3';
import { SqliteDialect } from 'kysely';

/** How long a writer waits for another process's write lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 60_000;

/**
 * The embedded store's dialect: one better-sqlite3 connection in WAL mode, so readers never block
 * the single writer and several processes can share the file.
 */
export function createSqliteDialect(file: string): SqliteDialect {
  return new SqliteDialect({
    database: async () => {
      const database = new Sqlite(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma('foreign_keys = ON');
      return database;
    },
  });
}
