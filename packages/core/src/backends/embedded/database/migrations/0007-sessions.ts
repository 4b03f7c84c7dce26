import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/**
 * Sign-in for the web UI: a user's password (scrypt, salted; null when the user signs in with
 * keys only) and browser sessions, stored as the sha256 of the session token (the token itself
 * lives only in the browser's HttpOnly cookie).
 */
export function sessionsSchema(_types: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();
      await db.schema
        .createTable('sessions')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('api_key_id', 'integer', (c) => c.references('api_keys.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
    },
  };
}
