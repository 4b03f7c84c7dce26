import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/**
 * Accounts for the team server: users, teams (entities that users share), memberships with a
 * role, and API keys stored as the sha256 of the key (the key itself is shown once, never kept);
 * and leases on event consumers, for consumers that acknowledge over HTTP.
 * An embedded store never reads them; they are here so the server's accounts live in the same
 * database as what they guard.
 */
export function accountsSchema(types: ColumnTypes): Migration {
  const { serial } = types;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', serial, (c) => types.serialPrimaryKey(c))
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('is_admin', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('teams')
        .addColumn('id', serial, (c) => types.serialPrimaryKey(c))
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('memberships')
        .addColumn('team_id', 'integer', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', serial, (c) => types.serialPrimaryKey(c))
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      // A consumer served over HTTP holds its batch under a lease until it acknowledges it.
      await db.schema.alterTable('event_consumers').addColumn('lease_token', 'text').execute();
      await db.schema.alterTable('event_consumers').addColumn('lease_until', 'text').execute();
      await db.schema.alterTable('event_consumers').addColumn('lease_end', types.big).execute();
    },
  };
}
