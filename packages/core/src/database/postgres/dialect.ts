import { PostgresDialect } from 'kysely';
import pg from 'pg';

// Counts and sizes are bigint columns; they fit in a JS number for any realistic store.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** The team store's dialect: a small pg pool. */
export function createPostgresDialect(connectionString: string): PostgresDialect {
  return new PostgresDialect({ pool: new pg.Pool({ connectionString, max: 4 }) });
}
