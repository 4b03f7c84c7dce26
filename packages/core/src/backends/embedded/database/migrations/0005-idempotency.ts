import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/**
 * Idempotency keys of the team server: the answer to a write sent with an `Idempotency-Key`, so
 * that a client retrying it after a lost answer gets that answer again instead of a second write.
 * Keyed by user and key; the fingerprint (a sha256 of the operation and its input) tells a replay
 * from a different request that reuses a key.
 */
export function idempotencySchema(_types: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_name', 'key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_created')
        .on('idempotency_keys')
        .column('created_at')
        .execute();
    },
  };
}
