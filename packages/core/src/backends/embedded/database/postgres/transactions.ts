import { type Kysely, sql } from 'kysely';
import { QuiverError } from '../../../../contract/errors.js';
import type { Executor, Transactions } from '../parts.js';
import { backoffMs, TRANSACTION_ATTEMPTS } from '../retry.js';
import type { Database } from '../schema.js';
import { transactionLost } from './connection-errors.js';
import { isRetryableTransactionFailure } from './resilient-driver.js';

/** The PostgreSQL advisory lock key of the blob lock ('quiver-blobs' folded into a bigint). */
const BLOB_LOCK_KEY = 0x71756976657262n.toString();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * PostgreSQL's transactions: plain ones in which callers lock rows, `repeatable read` read-only
 * snapshots for reads, an advisory lock for blobs. A transaction whose connection dropped before
 * COMMIT was acknowledged (a server restart) runs again on a new connection: PostgreSQL rolled it
 * back, so nothing of the failed attempt remains. When the reply to COMMIT itself is lost, the
 * driver looks the outcome up instead.
 */
export function postgresTransactions(db: Kysely<Database>, url: string): Transactions {
  const retried = async <T>(transaction: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction();
      } catch (error) {
        if (!isRetryableTransactionFailure(error)) throw error;
        if (attempt >= TRANSACTION_ATTEMPTS) throw transactionLost(error, url, attempt);
        await sleep(backoffMs(attempt));
      }
    }
  };
  return {
    write: (work) => retried(() => db.transaction().execute(work)),
    read: (work) =>
      retried(() =>
        db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work),
      ),
    // Kysely's migrator takes its own lock on PostgreSQL.
    migrate: (run) => run(db as unknown as Kysely<unknown>),
    async lockArtifact(trx: Executor, artifactId: number) {
      await trx.selectFrom('artifacts').select('id').where('id', '=', artifactId).forUpdate().execute();
    },
    async lockBlobs(trx: Executor, mode) {
      if (mode === 'shared') {
        await sql`select pg_advisory_xact_lock_shared(${BLOB_LOCK_KEY}::bigint)`.execute(trx);
        return;
      }
      // gc does not wait forever behind a commit that hangs with the lock held shared.
      await sql`set local lock_timeout = '60s'`.execute(trx);
      try {
        await sql`select pg_advisory_xact_lock(${BLOB_LOCK_KEY}::bigint)`.execute(trx);
      } catch (error) {
        if ((error as { code?: string }).code !== '55P03') throw error;
        throw new QuiverError(
          'E_DATABASE',
          "gc waited 60 s for commits in flight to finish and gave up; nothing was removed. Run 'quiver gc' again later.",
          { cause: error },
        );
      }
    },
    forUpdate: (query) => query.forUpdate(),
    forUpdateSkipLocked: (query) => query.forUpdate().skipLocked(),
  };
}
