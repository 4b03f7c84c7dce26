import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type EmbeddedBackend, openEmbeddedStore, QuiverClient, type Store } from '@quiver/core';
import type BetterSqlite3 from 'better-sqlite3';
import type { Measurement } from '../support/figures.js';
import { newUid } from '../support/ids.js';
import { median, progress } from '../support/measure.js';
import { PROJECT } from './shared.js';

const ARTIFACT = 'many-versions';
const VERSION_COUNT = 100_000;
const ALIAS_COUNT = 1_000;
const WARM_UP_RESOLVES = 100;
const TIMED_RESOLVES = 1_000;
const ROWS_PER_INSERT = 1_000;

/** What `store.backend.connection.writeTransaction` hands its callback. */
type Executor = Parameters<Parameters<EmbeddedBackend['connection']['writeTransaction']>[0]>[0];

/** better-sqlite3 is a dependency of core, not of bench: load it from core's folder. */
const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url));
const Sqlite = requireFromCore('better-sqlite3') as typeof BetterSqlite3;

/** A small seeded generator (mulberry32), so every run picks the same versions and aliases. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const fakeDigest = (version: number): string =>
  createHash('sha256').update(`version ${version}`).digest('hex');

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );
}

async function insertArtifact(trx: Executor, entity: string, createdAt: string): Promise<number> {
  const row = await trx
    .insertInto('artifacts')
    .values({
      entity,
      project: PROJECT,
      name: ARTIFACT,
      type: 'model',
      next_version: VERSION_COUNT,
      created_at: createdAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts every version with one manifest entry; returns the row id of each version number. */
async function insertVersions(trx: Executor, artifactId: number, createdAt: string): Promise<number[]> {
  const idOfVersion = new Array<number>(VERSION_COUNT);
  const numbers = Array.from({ length: VERSION_COUNT }, (_, version) => version);
  for (const batch of chunks(numbers, ROWS_PER_INSERT)) {
    const inserted = await trx
      .insertInto('artifact_versions')
      .values(
        batch.map((version) => ({
          uid: newUid(),
          artifact_id: artifactId,
          version,
          digest: fakeDigest(version),
          description: null,
          metadata: '{}',
          size: 1024,
          file_count: 1,
          produced_by_run: null,
          state: 'committed',
          created_at: createdAt,
          deleted_at: null,
        })),
      )
      .returning(['id', 'version'])
      .execute();
    for (const row of inserted) idOfVersion[row.version] = row.id;
    await trx
      .insertInto('manifest_entries')
      .values(
        batch.map((version) => ({
          version_id: idOfVersion[version]!,
          path: 'model.bin',
          sha256: fakeDigest(version),
          size: 1024,
          ref_uri: null,
        })),
      )
      .execute();
  }
  return idOfVersion;
}

/** `latest` on the newest version and `alias-0` … `alias-999` on distinct random versions. */
async function insertAliases(
  trx: Executor,
  artifactId: number,
  idOfVersion: readonly number[],
  createdAt: string,
): Promise<string[]> {
  const random = seededRandom(42);
  const chosen = new Set<number>();
  while (chosen.size < ALIAS_COUNT) chosen.add(Math.floor(random() * (VERSION_COUNT - 1)));
  const aliases = [...chosen].map((version, index) => ({
    alias: `alias-${index}`,
    versionId: idOfVersion[version]!,
  }));
  const rows = [...aliases, { alias: 'latest', versionId: idOfVersion[VERSION_COUNT - 1]! }].map(
    ({ alias, versionId }) => ({
      artifact_id: artifactId,
      alias,
      version_id: versionId,
      updated_at: createdAt,
    }),
  );
  for (const batch of chunks(rows, ROWS_PER_INSERT)) await trx.insertInto('aliases').values(batch).execute();
  return aliases.map(({ alias }) => alias);
}

/**
 * Seeds `bench/many-versions` with 100,000 versions by direct SQL inserts in one transaction
 * (committing them one by one through the SDK would take far longer). Returns the aliases set.
 */
async function seedVersions(store: Store<EmbeddedBackend>): Promise<{ aliases: string[]; seconds: number }> {
  const start = performance.now();
  const createdAt = new Date().toISOString();
  const aliases = await store.backend.connection.writeTransaction(async (trx) => {
    const artifactId = await insertArtifact(trx, store.settings.entity, createdAt);
    const idOfVersion = await insertVersions(trx, artifactId, createdAt);
    return insertAliases(trx, artifactId, idOfVersion, createdAt);
  });
  return { aliases, seconds: (performance.now() - start) / 1000 };
}

/** Times `resolve` once per alias drawn, after a few untimed warm-up calls; returns milliseconds. */
async function timeResolves(
  aliases: readonly string[],
  resolve: (alias: string) => Promise<void>,
): Promise<number[]> {
  const random = seededRandom(7);
  const pick = (): string => aliases[Math.floor(random() * aliases.length)]!;
  for (let index = 0; index < WARM_UP_RESOLVES; index++) await resolve(pick());
  const milliseconds: number[] = [];
  for (let index = 0; index < TIMED_RESOLVES; index++) {
    const alias = pick();
    const start = performance.now();
    await resolve(alias);
    milliseconds.push(performance.now() - start);
  }
  return milliseconds;
}

/** The baseline: one prepared, indexed better-sqlite3 query from alias to version row. */
function rawAliasQuery(
  databaseFile: string,
  entity: string,
): { resolve: (alias: string) => Promise<void>; close: () => void } {
  const database = new Sqlite(databaseFile, { readonly: true });
  const statement = database.prepare(`
    select v.* from artifacts a
    join aliases al on al.artifact_id = a.id and al.alias = ?
    join artifact_versions v on v.id = al.version_id
    where a.entity = ? and a.project = ? and a.name = ? and v.state = 'committed'`);
  return {
    resolve: async (alias) => {
      if (statement.get(alias, entity, PROJECT, ARTIFACT) === undefined)
        throw new Error(`raw query found no ${alias}`);
    },
    close: () => database.close(),
  };
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function seedingNote(seeded: { aliases: readonly string[]; seconds: number }): string {
  return (
    `Seeded ${VERSION_COUNT} versions, ${seeded.aliases.length} aliases and 'latest' by direct SQL ` +
    `inserts through store.backend.connection.db in one transaction (${seeded.seconds.toFixed(1)} s), ` +
    'not through the commit API.'
  );
}

function latencyNote(quiver: readonly number[], raw: readonly number[]): string {
  const ms = (value: number): string => `${value.toFixed(3)} ms`;
  return (
    `${TIMED_RESOLVES} timed resolves of random aliases after ${WARM_UP_RESOLVES} warm-up ones; ` +
    `p95 ${ms(percentile(quiver, 0.95))}, max ${ms(Math.max(...quiver))} ` +
    `(raw query p95 ${ms(percentile(raw, 0.95))}).`
  );
}

/** Figure 6: `client.artifact('project/name:alias')` in an artifact of 100,000 versions. */
export async function measureAliasResolve(storeDir: string): Promise<Measurement> {
  const store = await openEmbeddedStore({ dir: storeDir });
  const client = new QuiverClient(store);
  try {
    progress(`seeding ${VERSION_COUNT} versions by direct SQL`);
    const seeded = await seedVersions(store);
    let wrongAnswers = 0;
    const quiver = await timeResolves(seeded.aliases, async (alias) => {
      const version = await client.artifact(`${PROJECT}/${ARTIFACT}:${alias}`);
      if (!version.aliases.includes(alias)) wrongAnswers++;
    });
    const raw = rawAliasQuery(join(storeDir, 'quiver.db'), store.settings.entity);
    const baseline = await timeResolves(seeded.aliases, raw.resolve).finally(raw.close);
    return {
      id: '6',
      name: `resolve name:alias (${VERSION_COUNT} versions)`,
      value: median(quiver),
      unit: 'ms',
      baseline: { name: 'raw better-sqlite3 query', value: median(baseline) },
      target: { kind: 'value', max: 1 },
      checks: [{ name: 'every resolve returned the version holding the alias', ok: wrongAnswers === 0 }],
      notes: [seedingNote(seeded), latencyNote(quiver, baseline)],
    };
  } finally {
    await client.close();
  }
}
