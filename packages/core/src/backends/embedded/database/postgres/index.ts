import type { DialectParts } from '../parts.js';
import { postgresColumnTypes } from './column-types.js';
import { connectionErrorIn } from './connection-errors.js';
import { createPostgresDialect } from './dialect.js';
import { postgresTransactions } from './transactions.js';

/** The team store's dialect: a PostgreSQL database. */
export function postgresParts(url: string): DialectParts {
  return {
    name: 'postgres',
    columnTypes: postgresColumnTypes,
    createDialect: () => createPostgresDialect(url),
    unreachable: connectionErrorIn,
    transactions: (db) => postgresTransactions(db, url),
  };
}
