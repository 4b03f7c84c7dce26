import type { DialectParts } from '../parts.js';
import { sqliteColumnTypes } from './column-types.js';
import { createSqliteDialect } from './dialect.js';
import { sqliteTransactions } from './transactions.js';

/** The embedded store's dialect: a SQLite file. */
export function sqliteParts(file: string): DialectParts {
  return {
    name: 'sqlite',
    columnTypes: sqliteColumnTypes,
    createDialect: () => createSqliteDialect(file),
    unreachable: () => undefined,
    transactions: sqliteTransactions,
  };
}
