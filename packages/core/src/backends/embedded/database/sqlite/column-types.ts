import type { ColumnTypes } from '../parts.js';

/** SQLite's integers are 64-bit; a key column autoincrements so ids are never reused. */
export const sqliteColumnTypes: ColumnTypes = {
  serial: 'integer',
  big: 'integer',
  serialPrimaryKey: (column) => column.primaryKey().autoIncrement(),
};
