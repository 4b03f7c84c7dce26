import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/** Registries, registered models, links, registry aliases, tags, usage and the event log. */
export function registrySchema(types: ColumnTypes): Migration {
  const { serial, big, serialPrimaryKey } = types;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('registries')
        .addColumn('id', serial, serialPrimaryKey)
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('accepted_types', 'text', (c) => c.notNull())
        .addColumn('protected_aliases', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('registries_name', ['entity', 'name'])
        .execute();

      await db.schema
        .createTable('registered_models')
        .addColumn('id', serial, serialPrimaryKey)
        .addColumn('registry_id', 'integer', (c) => c.notNull().references('registries.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('card', 'text', (c) => c.notNull())
        .addColumn('next_version', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('registered_models_name', ['registry_id', 'name'])
        .execute();

      await db.schema
        .createTable('registered_model_tags')
        .addColumn('model_id', 'integer', (c) =>
          c.notNull().references('registered_models.id').onDelete('cascade'),
        )
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registered_model_tags_pk', ['model_id', 'tag'])
        .execute();

      await db.schema
        .createTable('registry_links')
        .addColumn('id', serial, serialPrimaryKey)
        .addColumn('model_id', 'integer', (c) =>
          c.notNull().references('registered_models.id').onDelete('cascade'),
        )
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source_version_id', 'integer', (c) => c.notNull().references('artifact_versions.id'))
        .addColumn('linked_by', 'text', (c) => c.notNull())
        .addColumn('linked_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('registry_links_version', ['model_id', 'version'])
        .addUniqueConstraint('registry_links_source', ['model_id', 'source_version_id'])
        .execute();
      await db.schema
        .createIndex('registry_links_source_version')
        .on('registry_links')
        .column('source_version_id')
        .execute();

      await db.schema
        .createTable('registry_aliases')
        .addColumn('model_id', 'integer', (c) =>
          c.notNull().references('registered_models.id').onDelete('cascade'),
        )
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('link_id', 'integer', (c) =>
          c.notNull().references('registry_links.id').onDelete('cascade'),
        )
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_aliases_pk', ['model_id', 'alias'])
        .execute();
      await db.schema.createIndex('registry_aliases_link').on('registry_aliases').column('link_id').execute();

      await db.schema
        .createTable('registry_usage')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('link_id', 'integer', (c) =>
          c.notNull().references('registry_links.id').onDelete('cascade'),
        )
        .addColumn('used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_usage_pk', ['run_id', 'link_id'])
        .execute();

      // One row: the sequence of the last event. Every registry mutation bumps it inside its
      // transaction, which serialises mutations and gives gap-free, commit-ordered event numbers.
      await db.schema
        .createTable('registry_event_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('last_sequence', big, (c) => c.notNull())
        .execute();
      await db
        .insertInto('registry_event_head' as never)
        .values({ id: 1, last_sequence: 0 } as never)
        .execute();

      await db.schema
        .createTable('registry_events')
        .addColumn('sequence', big, (c) => c.primaryKey())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('registry', 'text', (c) => c.notNull())
        .addColumn('model_id', 'integer')
        .addColumn('model', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .execute();
      await db.schema
        .createIndex('registry_events_model')
        .on('registry_events')
        .columns(['model_id', 'sequence'])
        .execute();

      await db.schema
        .createTable('registry_consumers')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('cursor', big, (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
