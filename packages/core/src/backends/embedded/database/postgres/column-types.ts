import type { ColumnTypes } from '../parts.js';

/** PostgreSQL: `serial` keys and `bigint` for sizes, steps and sequence numbers. */
export const postgresColumnTypes: ColumnTypes = {
  serial: 'serial',
  big: 'bigint',
  serialPrimaryKey: (column) => column.primaryKey(),
};
