import { Kysely, sql, type Transaction } from 'kysely';
import { QuiverError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import { connectionErrorIn, transactionLost } from './postgres/connection-errors.js';
import { createPostgresDialect } from './postgres/dialect.js';
import { isRetryableTransactionFailure } from './postgres/resilient-driver.js';
import { backoffMs, TRANSACTION_ATTEMPTS } from './retry.js';
import type { Database } from './schema.js';
import { createSqliteDialect } from './sqlite/dialect.js';

export type DialectName = 'sqlite' | 'postgres';

/** An executor usable inside and outside a transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** An open metadata database, whichever dialect backs it. */
export interface DatabaseConnection {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /**
   * Runs `work` in a write transaction. On SQLite it is `BEGIN IMMEDIATE` (one writer at a time
   * across processes); on PostgreSQL a plain transaction in which callers lock rows with
   * {@link DatabaseConnection.lockArtifact}.
   *
   * On PostgreSQL, when the connection drops before COMMIT is acknowledged (a server restart),
   * the transaction is rolled back and `work` runs again on a new connection; so `work` must do
   * nothing outside the transaction that cannot be repeated. A commit whose reply was lost is
   * looked up, not repeated. Connection trouble that outlasts the retries is `E_DATABASE`.
   */
  writeTransaction<T>(work: (trx: Executor) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on one consistent snapshot (several queries that must agree, such as a version
   * and its aliases). Everything inside must use the given executor. Like a write transaction, it
   * runs again on PostgreSQL when its connection drops.
   */
  readTransaction<T>(work: (trx: Executor) => Promise<T>): Promise<T>;
  /** Locks one artifact row until the transaction ends (no-op on SQLite, already exclusive). */
  lockArtifact(trx: Executor, artifactId: number): Promise<void>;
  /**
   * Takes the blob lock until the transaction ends: `shared` for a commit (which checks that its
   * blobs exist and records them), `exclusive` for `gc` removing blobs, so no commit can record a
   * blob between gc's last look and its unlink. On SQLite a write transaction is already
   * exclusive across processes, so this is a no-op there.
   */
  lockBlobs(trx: Executor, mode: 'shared' | 'exclusive'): Promise<void>;
  close(): Promise<void>;
}

/** Where the metadata lives: a SQLite file, or a PostgreSQL URL. */
export type DatabaseLocation = { sqliteFile: string } | { postgresUrl: string };

/** The PostgreSQL advisory lock key of the blob lock ('quiver-blobs' folded into a bigint). */
const BLOB_LOCK_KEY = 0x71756976657262n.toString();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens (and migrates) the metadata database. */
export async function openDatabase(location: DatabaseLocation): Promise<DatabaseConnection> {
  const dialect: DialectName = 'sqliteFile' in location ? 'sqlite' : 'postgres';
  const db = new Kysely<Database>({
    dialect:
      'sqliteFile' in location
        ? createSqliteDialect(location.sqliteFile)
        : createPostgresDialect(location.postgresUrl),
  });

  /** On SQLite's single connection: `begin` (or `begin immediate`), work, commit — or rollback. */
  const sqliteTransaction = <T>(
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

  /**
   * On PostgreSQL, runs a whole transaction again when its connection dropped before COMMIT was
   * acknowledged (a server restart): PostgreSQL rolled it back, so nothing of the failed attempt
   * remains. When the reply to COMMIT itself is lost, the driver looks the outcome up instead.
   */
  const retried = async <T>(transaction: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction();
      } catch (error) {
        if (!isRetryableTransactionFailure(error)) throw error;
        if (attempt >= TRANSACTION_ATTEMPTS) {
          throw transactionLost(error, (location as { postgresUrl: string }).postgresUrl, attempt);
        }
        await sleep(backoffMs(attempt));
      }
    }
  };

  const writeTransaction = async <T>(work: (trx: Executor) => Promise<T>): Promise<T> =>
    dialect === 'postgres'
      ? retried(() => db.transaction().execute(work))
      : sqliteTransaction('begin immediate', work);

  const readTransaction = async <T>(work: (trx: Executor) => Promise<T>): Promise<T> =>
    dialect === 'postgres'
      ? retried(() =>
          db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work),
        )
      : sqliteTransaction('begin', work);

  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if (dialect === 'sqlite') {
          await writeTransaction((connection) => migrateToLatest(connection as Kysely<unknown>, dialect));
        } else {
          await migrateToLatest(db as Kysely<unknown>, dialect);
        }
        break;
      } catch (error) {
        // A server that cannot be reached (or refuses the login) is reported as such, at once.
        const unreachable = connectionErrorIn(error);
        if (unreachable) throw unreachable;
        // Several processes may create a fresh store at once; the loser of a race retries.
        if (attempt >= 5) throw error;
        await sleep(50 * (attempt + 1));
      }
    }
  } catch (error) {
    await db.destroy();
    if (error instanceof QuiverError) throw error;
    throw new QuiverError('E_DATABASE', `Could not open the Quiver database: ${(error as Error).message}`, {
      cause: error,
    });
  }

  return {
    db,
    dialect,
    writeTransaction,
    readTransaction,
    async lockArtifact(trx, artifactId) {
      if (dialect === 'postgres') {
        await trx.selectFrom('artifacts').select('id').where('id', '=', artifactId).forUpdate().execute();
      }
    },
    async lockBlobs(trx, mode) {
      if (dialect !== 'postgres') return;
      if (mode === 'shared')
        await sql`select pg_advisory_xact_lock_shared(${BLOB_LOCK_KEY}::bigint)`.execute(trx);
      else {
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
      }
    },
    close: () => db.destroy(),
  };
}
