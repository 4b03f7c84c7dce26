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
      return withStatementCache(database);
    },
  });
}

/** How many prepared statements one connection keeps (the least recently used go first). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The connection as Kysely sees it, but preparing each distinct SQL text once: Kysely prepares
 * every query it runs, and preparing was a fifth of a server's time answering alias lookups. A
 * statement still iterating (a streamed query) is never handed out twice; SQLite re-prepares a
 * cached statement itself when the schema changes.
 */
function withStatementCache(database: Sqlite.Database): {
  prepare(sql: string): Sqlite.Statement;
  close(): void;
} {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached !== undefined && !cached.busy) {
        // Most recently used last, so the first key is the one to evict.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = database.prepare(sql);
      if (cached === undefined) {
        cache.set(sql, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
    close() {
      cache.clear();
      database.close();
    },
  };
}
