import { type Kysely, sql } from 'kysely';
import type { Executor, Transactions } from '../parts.js';
import type { Database } from '../schema.js';

/**
 * SQLite's transactions on its single connection: `BEGIN IMMEDIATE` for writes (one writer at a
 * time across processes, so artifact and blob locks are already held), `BEGIN` for reads.
 */
export function sqliteTransactions(db: Kysely<Database>): Transactions {
  const transaction = <T>(
    begin: 'begin' | 'begin immediate',
    work: (trx: Executor) => Promise<T>,
  ): Promise<T> =>
    db.connection().execute(async (connection) => {
      await sql.raw(begin).execute(connection);
      try {
        const result = await work(connection);
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        await sql`rollback`.execute(connection).catch(() => undefined);
        throw error;
      }
    });
  return {
    write: (work) => transaction('begin immediate', work),
    read: (work) => transaction('begin', work),
    migrate: (run) => transaction('begin immediate', (connection) => run(connection as Kysely<unknown>)),
    lockArtifact: async () => {},
    lockBlobs: async () => {},
    forUpdate: (query) => query,
    forUpdateSkipLocked: (query) => query,
  };
}
