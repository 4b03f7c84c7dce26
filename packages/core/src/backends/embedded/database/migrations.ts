import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { QuiverError } from '../../../contract/errors.js';
import { initialSchema } from './migrations/0001-initial.js';
import { registrySchema } from './migrations/0002-registry.js';
import { stableIdsAndEvents } from './migrations/0003-stable-ids-and-events.js';
import { accountsSchema } from './migrations/0004-accounts.js';
import { idempotencySchema } from './migrations/0005-idempotency.js';
import { automationsSchema } from './migrations/0006-automations.js';
import { sessionsSchema } from './migrations/0007-sessions.js';
import type { ColumnTypes } from './parts.js';

class StaticProvider implements MigrationProvider {
  constructor(private readonly types: ColumnTypes) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001_initial': initialSchema(this.types),
      '0002_registry': registrySchema(this.types),
      '0003_stable_ids_and_events': stableIdsAndEvents(this.types),
      '0004_accounts': accountsSchema(this.types),
      '0005_idempotency': idempotencySchema(this.types),
      '0006_automations': automationsSchema(this.types),
      '0007_sessions': sessionsSchema(this.types),
    };
  }
}

/** Brings the schema up to date. Safe to call from several processes at once. */
export async function migrateToLatest(db: Kysely<unknown>, types: ColumnTypes): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticProvider(types) });
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
