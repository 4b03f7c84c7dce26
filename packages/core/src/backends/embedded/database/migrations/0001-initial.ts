import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../parts.js';

/** Runs, metric history, artifacts, versions, manifests, aliases, tags, usage, digest cache. */
export function initialSchema(types: ColumnTypes): Migration {
  const { serial, big, serialPrimaryKey } = types;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('job_type', 'text')
        .addColumn('group_name', 'text')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('notes', 'text')
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('heartbeat_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('runs_project')
        .on('runs')
        .columns(['entity', 'project', 'created_at'])
        .execute();

      await db.schema
        .createTable('run_history')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('step', big, (c) => c.notNull())
        .addColumn('metrics', 'text', (c) => c.notNull())
        .addColumn('logged_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_history_pk', ['run_id', 'step'])
        .execute();

      await db.schema
        .createTable('artifacts')
        .addColumn('id', serial, serialPrimaryKey)
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('next_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('artifacts_name', ['entity', 'project', 'name'])
        .execute();

      await db.schema
        .createTable('artifact_versions')
        .addColumn('id', serial, serialPrimaryKey)
        .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('produced_by_run', 'text', (c) => c.references('runs.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addUniqueConstraint('artifact_versions_number', ['artifact_id', 'version'])
        .execute();
      await db.schema
        .createIndex('artifact_versions_digest')
        .on('artifact_versions')
        .columns(['artifact_id', 'digest'])
        .execute();
      await db.schema
        .createIndex('artifact_versions_run')
        .on('artifact_versions')
        .column('produced_by_run')
        .execute();

      await db.schema
        .createTable('manifest_entries')
        .addColumn('version_id', 'integer', (c) =>
          c.notNull().references('artifact_versions.id').onDelete('cascade'),
        )
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('ref_uri', 'text')
        .addPrimaryKeyConstraint('manifest_entries_pk', ['version_id', 'path'])
        .execute();
      await db.schema
        .createIndex('manifest_entries_sha256')
        .on('manifest_entries')
        .column('sha256')
        .execute();

      await db.schema
        .createTable('aliases')
        .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id'))
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version_id', 'integer', (c) => c.notNull().references('artifact_versions.id'))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['artifact_id', 'alias'])
        .execute();
      await db.schema.createIndex('aliases_version').on('aliases').column('version_id').execute();

      await db.schema
        .createTable('version_tags')
        .addColumn('version_id', 'integer', (c) =>
          c.notNull().references('artifact_versions.id').onDelete('cascade'),
        )
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('version_tags_pk', ['version_id', 'tag'])
        .execute();

      await db.schema
        .createTable('artifact_usage')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('version_id', 'integer', (c) => c.notNull().references('artifact_versions.id'))
        .addColumn('used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('artifact_usage_pk', ['run_id', 'version_id'])
        .execute();
      await db.schema
        .createIndex('artifact_usage_version')
        .on('artifact_usage')
        .column('version_id')
        .execute();

      await db.schema
        .createTable('file_digests')
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('inode', 'text', (c) => c.notNull())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('mtime_ns', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('file_digests_pk', ['host', 'path'])
        .execute();
    },
  };
}
