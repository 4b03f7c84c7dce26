import { Kysely } from 'kysely';
import { QuiverError } from '../../../contract/errors.js';
import { migrateToLatest } from './migrations.js';
import type { DialectParts, Executor, Transactions } from './parts.js';
import { postgresParts } from './postgres/index.js';
import type { Database } from './schema.js';
import { sqliteParts } from './sqlite/index.js';

export type { Executor } from './parts.js';

/** An open metadata database, whichever dialect backs it. */
export interface DatabaseConnection extends Omit<Transactions, 'write' | 'read' | 'migrate'> {
  readonly db: Kysely<Database>;
  /** The dialect's name, for messages and reports only: behaviour differs inside the parts. */
  readonly dialect: DialectParts['name'];
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
  close(): Promise<void>;
}

/** Where the metadata lives: a SQLite file, or a PostgreSQL URL. */
export type DatabaseLocation = { sqliteFile: string } | { postgresUrl: string };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens (and migrates) the metadata database. */
export async function openDatabase(location: DatabaseLocation): Promise<DatabaseConnection> {
  const parts =
    'sqliteFile' in location ? sqliteParts(location.sqliteFile) : postgresParts(location.postgresUrl);
  const db = new Kysely<Database>({ dialect: parts.createDialect() });
  const transactions = parts.transactions(db);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await transactions.migrate((connection) => migrateToLatest(connection, parts.columnTypes));
        break;
      } catch (error) {
        // A server that cannot be reached (or refuses the login) is reported as such, at once.
        const unreachable = parts.unreachable(error);
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
    dialect: parts.name,
    writeTransaction: transactions.write,
    readTransaction: transactions.read,
    lockArtifact: transactions.lockArtifact,
    lockBlobs: transactions.lockBlobs,
    forUpdate: transactions.forUpdate,
    forUpdateSkipLocked: transactions.forUpdateSkipLocked,
    close: () => db.destroy(),
  };
}
