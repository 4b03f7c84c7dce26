import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Artifact, init, QuiverClient } from '@quiver/core';
import type BetterSqlite3 from 'better-sqlite3';
import type { Measurement } from '../support/figures.js';
import { median, progress } from '../support/measure.js';

const LINKS = 300;

/** better-sqlite3 is a dependency of core, not of bench: load it from core's folder. */
const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url));
const Sqlite = requireFromCore('better-sqlite3') as typeof BetterSqlite3;

/**
 * Times `registry.link(version)` followed by `registry.setAlias(…, 'staging')` for 300 fresh
 * versions (each link is new, each alias moves), on the embedded store. Baseline: the same number
 * of statements done with raw better-sqlite3 in one `BEGIN IMMEDIATE` transaction each, without
 * Quiver's checks, event log or read-back.
 */
export async function measureLinkAndAlias(storeDir: string): Promise<Measurement> {
  const run = await init({ project: 'bench-registry', dir: storeDir });
  const refs: string[] = [];
  for (let index = 0; index < LINKS; index++) {
    refs.push(
      (
        await run.logArtifact(
          new Artifact('checkpoints', 'model').addBytes('weights.bin', `weights ${index}`),
        )
      ).ref,
    );
  }
  const client = new QuiverClient(run.store);
  await client.registry.link(refs[0]!, { model: 'bench-model' }, { create: true });
  progress(`timing link + alias for ${LINKS} versions`);
  const samples: number[] = [];
  for (const ref of refs.slice(1)) {
    const start = performance.now();
    const { version } = await client.registry.link(ref, { model: 'bench-model' });
    await client.registry.setAlias(version.ref, 'staging');
    samples.push(performance.now() - start);
  }
  await run.finish();
  return {
    id: '1',
    name: 'link + alias (registry.link then registry.setAlias), embedded store',
    value: median(samples),
    unit: 'ms',
    baseline: {
      name: 'raw better-sqlite3 link + alias transactions',
      value: rawLinkAndAlias(join(storeDir, 'raw.db')),
    },
    target: { kind: 'value', max: 5 },
    notes: [
      `${samples.length} link + alias pairs; p90 ${percentile(samples, 0.9).toFixed(2)} ms; each link new, each alias move real`,
    ],
  };
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function rawLinkAndAlias(file: string): number {
  const database = new Sqlite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.exec(
    'create table links (id integer primary key, model integer, version integer, source integer, unique (model, version))',
  );
  database.exec('create table aliases (model integer, alias text, link integer, primary key (model, alias))');
  const link = database.prepare('insert into links (model, version, source) values (1, ?, ?)');
  const alias = database.prepare(
    'insert into aliases values (1, ?, ?) on conflict (model, alias) do update set link = excluded.link',
  );
  const samples: number[] = [];
  for (let index = 0; index < LINKS; index++) {
    const start = performance.now();
    database.exec('begin immediate');
    const { lastInsertRowid } = link.run(index, index);
    alias.run('latest', lastInsertRowid);
    alias.run('staging', lastInsertRowid);
    database.exec('commit');
    samples.push(performance.now() - start);
  }
  database.close();
  return median(samples);
}
