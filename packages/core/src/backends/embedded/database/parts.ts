import type { ColumnDefinitionBuilder, Dialect, Kysely, Transaction } from 'kysely';
import type { QuiverError } from '../../../contract/errors.js';
import type { Database } from './schema.js';

/** Column types that differ between the dialects, for migrations. */
export interface ColumnTypes {
  /** An auto-incrementing integer key. */
  serial: 'serial' | 'integer';
  /** A 64-bit integer (sizes, steps, sequence numbers). */
  big: 'bigint' | 'integer';
  /** Makes a `serial` column the primary key. */
  serialPrimaryKey(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
}

/** An executor usable inside and outside a transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Transactions and locks as one dialect does them. */
export interface Transactions {
  /** Runs `work` in a write transaction (see `DatabaseConnection.writeTransaction`). */
  write<T>(work: (trx: Executor) => Promise<T>): Promise<T>;
  /** Runs `work` on one consistent read snapshot. */
  read<T>(work: (trx: Executor) => Promise<T>): Promise<T>;
  /** Runs the migrations (inside a write transaction where the dialect needs one to be safe). */
  migrate(run: (db: Kysely<unknown>) => Promise<void>): Promise<void>;
  /** Locks one artifact row until the transaction ends. */
  lockArtifact(trx: Executor, artifactId: number): Promise<void>;
  /** Takes the blob lock (shared for commits, exclusive for gc) until the transaction ends. */
  lockBlobs(trx: Executor, mode: 'shared' | 'exclusive'): Promise<void>;
  /** Locks the rows a query selects until the transaction ends (`FOR UPDATE` where it exists). */
  forUpdate<Q extends { forUpdate(): Q }>(query: Q): Q;
  /**
   * Locks the rows a query selects that no other transaction holds, skipping those (`FOR UPDATE
   * SKIP LOCKED`): work queues claimed by several processes. SQLite's writers are serial already.
   */
  forUpdateSkipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q;
}

/**
 * One SQL dialect as parts: each of `sqlite/` and `postgres/` has the same files (dialect,
 * transactions, column types, index) and exports one of these. Nothing outside those folders
 * branches on the dialect.
 */
export interface DialectParts {
  readonly name: 'sqlite' | 'postgres';
  readonly columnTypes: ColumnTypes;
  createDialect(): Dialect;
  transactions(db: Kysely<Database>): Transactions;
  /** The typed error for a server that cannot be reached or refuses the login, if `error` is one. */
  unreachable(error: unknown): QuiverError | undefined;
}
