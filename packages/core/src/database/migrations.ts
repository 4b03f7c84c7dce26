import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { QuiverError } from '../errors.js';
import type { DialectName } from './connection.js';
import { initialSchema } from './migrations/0001-initial.js';
import { registrySchema } from './migrations/0002-registry.js';

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return { '0001_initial': initialSchema(this.dialect), '0002_registry': registrySchema(this.dialect) };
  }
}

/** Brings the schema up to date. Safe to call from several processes at once. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    throw new QuiverError(
      'E_DATABASE',
      `Could not prepare the Quiver database${failed ? ` (migration ${failed.migrationName})` : ''}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
