import { type Driver, PostgresDialect } from 'kysely';
import pg from 'pg';
import { connectTimeoutOf } from './connection-errors.js';
import { ResilientPostgresDriver } from './resilient-driver.js';

// Counts and sizes are bigint columns; they fit in a JS number for any realistic store.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** The PostgreSQL dialect over {@link ResilientPostgresDriver}, which survives server restarts. */
class ResilientPostgresDialect extends PostgresDialect {
  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly connectTimeoutMs: number,
  ) {
    super({ pool });
  }

  override createDriver(): Driver {
    return new ResilientPostgresDriver(this.pool, this.url, this.connectTimeoutMs);
  }
}

/**
 * The team store's dialect: a small pg pool whose connections time out after 10 s (or the URL's
 * `connect_timeout`, in seconds) instead of hanging on an unreachable host, with TCP keep-alive.
 */
export function createPostgresDialect(connectionString: string): PostgresDialect {
  const connectTimeoutMs = connectTimeoutOf(connectionString);
  // The timeout bounds opening a connection only: on the pool it would also bound the wait for a
  // free connection, which a busy process may legitimately need.
  class TimedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super({
        ...(typeof config === 'string' ? { connectionString: config } : config),
        connectionTimeoutMillis: connectTimeoutMs,
      });
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: 4,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    Client: TimedClient,
  });
  return new ResilientPostgresDialect(pool, connectionString, connectTimeoutMs);
}
