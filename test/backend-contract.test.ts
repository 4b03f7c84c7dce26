import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { Artifact, type EmbeddedBackend, init, QuiverClient, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore, testBackends } from './support/backends.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe.each(testBackends())('the backend contract on %s', (backend) => {
  let testStore: TestStore;
  let store: Store<EmbeddedBackend>;
  let client: QuiverClient;

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = (await testStore.open()) as Store<EmbeddedBackend>;
    client = new QuiverClient(store);
  });
  afterAll(async () => {
    await testStore.cleanup();
  });

  it('gives versions, registry versions and models ids made without a server, not database serials', async () => {
    const run = await init({ project: 'ids', store });
    const v0 = await run.logArtifact(new Artifact('m', 'model').addBytes('w.bin', 'a'));
    const v1 = await run.logArtifact(new Artifact('m', 'model').addBytes('w.bin', 'b'));
    await run.finish();
    for (const id of [v0.id, v1.id]) expect(id).toMatch(ULID);
    expect(v0.id).not.toBe(v1.id);
    const rows = await store.backend.connection.db
      .selectFrom('artifact_versions')
      .select(['id', 'uid'])
      .orderBy('id')
      .execute();
    expect(rows.map((row) => row.uid)).toEqual([v0.id, v1.id]);
    expect(rows.map((row) => String(row.id))).not.toContain(v0.id);
    // A run id is random text made by the client, not a row number.
    expect(run.id).toMatch(/^[0-9a-z]{8}$/);
    const linked = await client.registry.link(v1.ref, { model: 'ids-model' }, { create: true });
    expect(linked.version.linkId).toMatch(ULID);
    expect((await client.registry.model('registry/ids-model')).id).toMatch(ULID);
    // The id survives a JSON round trip and finds the same version's entries.
    const again = JSON.parse(JSON.stringify(v1)) as { id: string };
    expect(await store.backend.artifacts.entries(again.id)).toEqual(await v1.entries());
  });

  it('records a version-created, an alias-moved and a run-finished event, in commit order', async () => {
    const before = (await client.events()).at(-1)?.position ?? 0;
    const run = await init({ project: 'walk', store });
    const first = await run.logArtifact(new Artifact('clf', 'model').addBytes('w.bin', '1'), {
      aliases: ['best'],
    });
    const second = await run.logArtifact(new Artifact('clf', 'model').addBytes('w.bin', '2'), {
      aliases: ['best'],
    });
    await run.finish();
    const events = await client.events({ after: before });
    expect(events.map((event) => [event.action, event.subject])).toEqual([
      ['version.create', first.ref],
      ['artifact.alias.set', first.ref],
      ['version.create', second.ref],
      ['artifact.alias.move', second.ref],
      ['run.finish', run.path],
    ]);
    expect(events.find((event) => event.action === 'artifact.alias.move')).toMatchObject({
      before: { alias: 'best', version: 0 },
      after: { alias: 'best', version: 1 },
      topic: 'artifacts',
      actor: store.settings.actor,
    });
    const positions = events.map((event) => event.position);
    expect(positions).toEqual(positions.map((_, index) => before + index + 1)); // gap-free, in order
    for (const event of events) expect(event.id).toMatch(ULID);
    // A consumer of every topic gets them once, in order.
    const seen: string[] = [];
    await client.consume('audit', async (batch) => {
      seen.push(...batch.map((event) => event.action));
    });
    expect(seen.slice(-5)).toEqual(events.map((event) => event.action));
    expect((await client.consume('audit', async () => {})).delivered).toBe(0);
  });

  it('records a crashed run once, with a run.crash event, when it is first seen crashed', async () => {
    const child = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    expect(child.status).toBe(0);
    const before = (await client.events()).at(-1)?.position ?? 0;
    const created = await store.backend.runs.create({
      id: 'deadbeef0001',
      project: 'crashes',
      jobType: null,
      group: null,
      tags: [],
      notes: null,
      config: {},
      host: hostname(),
      pid: child.pid!, // exited: the run's process is gone
    });
    expect(created.state).toBe('crashed');
    expect((await client.run(created.id)).state).toBe('crashed');
    expect((await client.runs({ project: 'crashes' })).map((run) => run.state)).toEqual(['crashed']);
    const events = await client.events({ after: before });
    expect(events.map((event) => [event.action, event.subject])).toEqual([
      ['run.crash', `${store.settings.entity}/crashes/${created.id}`],
    ]);
  });

  it('streams a 100,000-version listing page by page with bounded memory', async () => {
    const total = 100_000;
    const artifactId = await seedVersions(store, total);
    expect(artifactId).toBeGreaterThan(0);
    const listing = client.versions('big/many');
    let pages = 0;
    let seen = 0;
    let previous = Number.POSITIVE_INFINITY;
    // What the listing retains, measured after a collection (vitest runs with --expose-gc):
    // garbage not yet collected under a loaded machine is not memory the listing holds.
    const collect = (globalThis as { gc?: () => void }).gc!;
    expect(typeof collect).toBe('function');
    collect();
    const heapAtStart = process.memoryUsage().heapUsed;
    let peak = 0;
    for await (const page of listing.pages()) {
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(100);
      for (const version of page.items) {
        expect(version.version).toBeLessThan(previous); // newest first, none twice
        previous = version.version;
        seen++;
      }
      if (pages % 50 === 0) {
        collect();
        peak = Math.max(peak, process.memoryUsage().heapUsed - heapAtStart);
      }
    }
    expect(seen).toBe(total);
    expect(pages).toBe(total / 100);
    // One page of versions is a few hundred kB; the whole listing held at once is far more.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  }, 180_000);
});

/** Inserts `count` committed versions of `big/many` straight into the database (one transaction). */
async function seedVersions(store: Store<EmbeddedBackend>, count: number): Promise<number> {
  const { connection } = store.backend;
  return connection.writeTransaction(async (trx) => {
    const createdAt = new Date().toISOString();
    const artifact = await trx
      .insertInto('artifacts')
      .values({
        entity: store.settings.entity,
        project: 'big',
        name: 'many',
        type: 'model',
        next_version: count,
        created_at: createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (let start = 0; start < count; start += 1000) {
      await trx
        .insertInto('artifact_versions')
        .values(
          Array.from({ length: Math.min(1000, count - start) }, (_, offset) => {
            const version = start + offset;
            return {
              artifact_id: artifact.id,
              uid: `01J${String(version).padStart(23, '0')}`,
              version,
              digest: version.toString(16).padStart(64, '0'),
              description: null,
              metadata: '{}',
              size: 1,
              file_count: 1,
              produced_by_run: null,
              state: 'committed',
              created_at: createdAt,
              deleted_at: null,
            };
          }),
        )
        .execute();
    }
    return artifact.id;
  });
}
