import { type Kysely, type Migration, sql } from 'kysely';
import { ulid } from 'ulidx';
import type { ColumnTypes } from '../parts.js';

/** Rows given a ULID per statement while backfilling. */
const BACKFILL_BATCH = 500;

/** Gives every existing row of `table` a ULID made from its creation time (so ids sort by age). */
async function backfillUids(db: Kysely<unknown>, table: string, timeColumn: string): Promise<void> {
  const typed = db as unknown as Kysely<Record<string, { id: number; uid: string | null; at: string }>>;
  for (;;) {
    const rows = (await typed
      .selectFrom(table)
      .select(['id', sql<string>`${sql.ref(timeColumn)}`.as('at')])
      .where('uid', 'is', null)
      .limit(BACKFILL_BATCH)
      .execute()) as Array<{ id: number; at: string }>;
    if (rows.length === 0) return;
    for (const row of rows) {
      const time = Date.parse(row.at);
      await typed
        .updateTable(table)
        .set({ uid: ulid(Number.isFinite(time) ? time : Date.now()) })
        .where('id', '=', row.id)
        .execute();
    }
  }
}

/**
 * Public ids that are unique without a server (ULIDs beside the internal serial keys), and one
 * event log for registry, artifact and run events (the registry's log moves into it as topic
 * `registry`, keeping its sequence numbers, and its consumers keep their cursors). The file-digest
 * cache leaves the shared database: it is state of one client machine (`client.db`).
 */
export function stableIdsAndEvents(types: ColumnTypes): Migration {
  const { big } = types;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const [table, time] of [
        ['artifact_versions', 'created_at'],
        ['registered_models', 'created_at'],
        ['registry_links', 'linked_at'],
      ] as const) {
        await db.schema.alterTable(table).addColumn('uid', 'text').execute();
        await backfillUids(db, table, time);
        await db.schema.createIndex(`${table}_uid`).on(table).column('uid').unique().execute();
      }

      await db.schema
        .createTable('events')
        .addColumn('position', big, (c) => c.primaryKey())
        .addColumn('uid', 'text', (c) => c.notNull().unique())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('sequence', big, (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('registry', 'text')
        .addColumn('model_id', 'integer')
        .addColumn('model_uid', 'text')
        .addColumn('model', 'text')
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addUniqueConstraint('events_topic_sequence', ['topic', 'sequence'])
        .execute();
      await db.schema.createIndex('events_model').on('events').columns(['model_id', 'position']).execute();

      type Old = {
        sequence: number;
        entity: string;
        registry: string;
        model_id: number | null;
        model: string | null;
        action: string;
        actor: string;
        at: string;
        before: string | null;
        after: string | null;
      };
      const typed = db as unknown as Kysely<{
        registry_events: Old;
        registered_models: { id: number; uid: string };
        events: Record<string, unknown>;
      }>;
      const modelUids = new Map(
        (await typed.selectFrom('registered_models').select(['id', 'uid']).execute()).map((row) => [
          row.id,
          row.uid,
        ]),
      );
      let last = 0;
      for (;;) {
        const rows = await typed
          .selectFrom('registry_events')
          .selectAll()
          .where('sequence', '>', last)
          .orderBy('sequence')
          .limit(BACKFILL_BATCH)
          .execute();
        if (rows.length === 0) break;
        await typed
          .insertInto('events')
          .values(
            rows.map((row) => {
              const sequence = Number(row.sequence);
              const time = Date.parse(row.at);
              return {
                position: sequence,
                uid: ulid(Number.isFinite(time) ? time : Date.now()),
                topic: 'registry',
                sequence,
                action: row.action,
                entity: row.entity,
                actor: row.actor,
                at: row.at,
                subject: `${row.entity}/registry/${row.registry === 'model' ? '' : `${row.registry}/`}${row.model ?? ''}`,
                registry: row.registry,
                model_id: row.model_id,
                model_uid: row.model_id === null ? null : (modelUids.get(row.model_id) ?? null),
                model: row.model,
                before: row.before,
                after: row.after,
              };
            }),
          )
          .execute();
        last = Number(rows[rows.length - 1]!.sequence);
      }

      await db.schema
        .createTable('event_heads')
        .addColumn('topic', 'text', (c) => c.primaryKey())
        .addColumn('last_sequence', big, (c) => c.notNull())
        .execute();
      await db
        .insertInto('event_heads' as never)
        .values([
          { topic: '*', last_sequence: last },
          { topic: 'registry', last_sequence: last },
          { topic: 'artifacts', last_sequence: 0 },
          { topic: 'runs', last_sequence: 0 },
        ] as never)
        .execute();

      await db.schema
        .createTable('event_consumers')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('cursor', big, (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('event_consumers_pk', ['name', 'topic'])
        .execute();
      await sql`insert into event_consumers (name, topic, cursor, updated_at) select name, 'registry', cursor, updated_at from registry_consumers`.execute(
        db,
      );

      await db.schema.dropTable('registry_consumers').execute();
      await db.schema.dropTable('registry_events').execute();
      await db.schema.dropTable('registry_event_head').execute();
      await db.schema.dropTable('file_digests').execute();
    },
  };
}
