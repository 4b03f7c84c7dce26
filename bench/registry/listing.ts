import { createHash } from 'node:crypto';
import { type EmbeddedBackend, openEmbeddedStore, QuiverClient, type Store } from '@quiver/core';
import type { Measurement } from '../support/figures.js';
import { newUid } from '../support/ids.js';
import { median, progress } from '../support/measure.js';

const MODELS = 1_000;
const VERSIONS_PER_MODEL = 100;
const TIMED_LISTINGS = 20;
const ROWS_PER_INSERT = 1_000;

type Executor = Parameters<Parameters<EmbeddedBackend['connection']['writeTransaction']>[0]>[0];

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );
}

async function insertMany<T extends object>(
  trx: Executor,
  table: 'registry_links' | 'registry_aliases' | 'registered_model_tags',
  rows: readonly T[],
): Promise<void> {
  for (const batch of chunks(rows, ROWS_PER_INSERT))
    await trx
      .insertInto(table)
      .values(batch as never)
      .execute();
}

/** 100 artifact versions that every model links, 1,000 models, 100 links each, 3 aliases and a tag each. */
async function seed(store: Store<EmbeddedBackend>): Promise<void> {
  const createdAt = new Date().toISOString();
  const entity = store.settings.entity;
  await store.backend.connection.writeTransaction(async (trx) => {
    const artifact = await trx
      .insertInto('artifacts')
      .values({
        entity,
        project: 'bench-registry',
        name: 'sources',
        type: 'model',
        next_version: VERSIONS_PER_MODEL,
        created_at: createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sources = await trx
      .insertInto('artifact_versions')
      .values(
        Array.from({ length: VERSIONS_PER_MODEL }, (_, version) => ({
          uid: newUid(),
          artifact_id: artifact.id,
          version,
          digest: createHash('sha256').update(String(version)).digest('hex'),
          description: null,
          metadata: '{}',
          size: 1,
          file_count: 1,
          produced_by_run: null,
          state: 'committed',
          created_at: createdAt,
          deleted_at: null,
        })),
      )
      .returning('id')
      .execute();
    const registry = await trx
      .insertInto('registries')
      .values({
        entity,
        name: 'model',
        description: '',
        accepted_types: '["model"]',
        protected_aliases: '["production"]',
        created_by: 'bench',
        created_at: createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const batch of chunks(
      Array.from({ length: MODELS }, (_, index) => index),
      250,
    )) {
      const models = await trx
        .insertInto('registered_models')
        .values(
          batch.map((index) => ({
            uid: newUid(),
            registry_id: registry.id,
            name: `model-${String(index).padStart(4, '0')}`,
            card: `# Model ${index}`,
            next_version: VERSIONS_PER_MODEL,
            created_by: 'bench',
            created_at: createdAt,
            updated_at: createdAt,
          })),
        )
        .returning('id')
        .execute();
      for (const model of models) {
        const links = await trx
          .insertInto('registry_links')
          .values(
            sources.map((source, version) => ({
              uid: newUid(),
              model_id: model.id,
              version,
              source_version_id: source.id,
              linked_by: 'bench',
              linked_at: createdAt,
            })),
          )
          .returning(['id', 'version'])
          .execute();
        const linkOf = (version: number): number => links.find((link) => link.version === version)!.id;
        await insertMany(trx, 'registry_aliases', [
          {
            model_id: model.id,
            alias: 'latest',
            link_id: linkOf(VERSIONS_PER_MODEL - 1),
            updated_by: 'bench',
            updated_at: createdAt,
          },
          {
            model_id: model.id,
            alias: 'staging',
            link_id: linkOf(VERSIONS_PER_MODEL - 2),
            updated_by: 'bench',
            updated_at: createdAt,
          },
          {
            model_id: model.id,
            alias: 'production',
            link_id: linkOf(VERSIONS_PER_MODEL - 3),
            updated_by: 'bench',
            updated_at: createdAt,
          },
        ]);
        await insertMany(trx, 'registered_model_tags', [{ model_id: model.id, tag: 'bench' }]);
      }
    }
  });
}

/**
 * Times `registry.models()` — every registered model with its aliases, tags and version count —
 * on a registry of 1,000 models × 100 versions seeded by SQL. Baseline: the plain
 * `select * from registered_models` through the same store.
 */
export async function measureListing(storeDir: string): Promise<Measurement> {
  const store = await openEmbeddedStore({ dir: storeDir });
  const client = new QuiverClient(store);
  try {
    progress(`seeding ${MODELS} registered models × ${VERSIONS_PER_MODEL} versions by SQL`);
    const seedStart = performance.now();
    await seed(store);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const listing: number[] = [];
    const plain: number[] = [];
    let listed = 0;
    for (let round = 0; round < TIMED_LISTINGS + 2; round++) {
      let start = performance.now();
      const models = await client.registry.models();
      const listingMs = performance.now() - start;
      start = performance.now();
      await store.backend.connection.db.selectFrom('registered_models').selectAll().execute();
      const plainMs = performance.now() - start;
      if (round < 2) continue; // warm-up
      listed = models.length;
      listing.push(listingMs);
      plain.push(plainMs);
      if (
        models[0]?.aliases.production !== VERSIONS_PER_MODEL - 3 ||
        models[0]?.versionCount !== VERSIONS_PER_MODEL
      ) {
        throw new Error('the listing does not show the seeded aliases and versions');
      }
    }
    return {
      id: '2',
      name: `list a registry of ${MODELS} models × ${VERSIONS_PER_MODEL} versions with aliases`,
      value: median(listing),
      unit: 'ms',
      baseline: { name: 'select * from registered_models', value: median(plain) },
      target: { kind: 'value', max: 50 },
      checks: [
        {
          name: `all ${MODELS} models listed with their aliases, tags and version counts`,
          ok: listed === MODELS,
        },
      ],
      notes: [
        `seeded by SQL in ${seedSeconds.toFixed(1)} s; ${TIMED_LISTINGS} timed listings after 2 warm-ups`,
      ],
      samples: { candidate: listing, baseline: plain },
    };
  } finally {
    await client.close();
  }
}
