import type { ColumnDefinitionBuilder } from 'kysely';
import type { DialectName } from '../connection.js';

/** Column types that differ between the dialects. */
export function columnTypes(dialect: DialectName): {
  serial: 'serial' | 'integer';
  big: 'bigint' | 'integer';
} {
  return dialect === 'postgres' ? { serial: 'serial', big: 'bigint' } : { serial: 'integer', big: 'integer' };
}

/** An auto-incrementing integer primary key on either dialect. */
export function serialPrimaryKey(
  dialect: DialectName,
): (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return (column) => (dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement());
}
