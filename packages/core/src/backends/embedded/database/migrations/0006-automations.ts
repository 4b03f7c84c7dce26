import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/**
 * Automations and their webhook outbox. An event's deliveries are inserted in the transaction
 * that appends the event, so a crash can lose neither; a relay claims an automation under a lease
 * (`lease_token`, `lease_until`: one replica at a time, in order) and records every attempt.
 * Secrets and bearer tokens are stored encrypted (AES-256-GCM, `v1:` text), never in the clear.
 */
export function automationsSchema(types: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('automations')
        .addColumn('id', types.serial, (c) => types.serialPrimaryKey(c))
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('project', 'text')
        .addColumn('registry', 'text')
        .addColumn('model', 'text')
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('filter', 'text')
        .addColumn('threshold', 'text')
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('template', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', 'text')
        .addColumn('secret_hint', 'text', (c) => c.notNull())
        .addColumn('bearer_token', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_token', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('automations_entity_name', ['entity', 'name'])
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', types.serial, (c) => types.serialPrimaryKey(c))
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('automation_id', 'integer', (c) =>
          c.notNull().references('automations.id').onDelete('cascade'),
        )
        .addColumn('event_uid', 'text')
        .addColumn('event_position', types.big)
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('due_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_queue')
        .on('webhook_deliveries')
        .columns(['automation_id', 'state', 'id'])
        .execute();
      await db.schema
        .createTable('webhook_attempts')
        .addColumn('delivery_id', 'integer', (c) =>
          c.notNull().references('webhook_deliveries.id').onDelete('cascade'),
        )
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('error', 'text')
        .addColumn('response', 'text')
        .addColumn('next_attempt_at', 'text')
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  };
}
