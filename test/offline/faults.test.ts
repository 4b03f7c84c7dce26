import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Artifact, init, openEmbeddedStore, type QuiverEvent, type Store } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { spawnScript, startScript } from '../support/processes.js';
import { type SyncServer, syncServerFixture } from './support.js';

const main = syncServerFixture('quiver-offline-faults-');
// A second server: a clean sync of the same bundle there is the state to compare with.
const second = syncServerFixture('quiver-offline-reference-');

/** Starts `quiver sync --json <bundle>` against `server`, as its member. */
function startSync(server: SyncServer, dir: string, bundle: string) {
  return startScript('packages/cli/src/bin.ts', ['sync', '--json', bundle], {
    QUIVER_DIR: dir,
    QUIVER_BASE_URL: server.url,
    QUIVER_API_KEY: server.memberKey,
    QUIVER_MODE: '',
  });
}

/** What a server holds of one project, in the fields a user sees (ids and times aside). */
async function projectState(store: Store, runId: string) {
  const backend = store.backend;
  const versions = (
    await backend.artifacts.versions(
      { entity: 'vision', project: 'killed', name: 'weights' },
      { limit: 1000 },
    )
  ).items.map((version) => ({
    version: version.version,
    digest: version.digest,
    metadata: version.metadata,
    aliases: [...version.aliases].sort(),
    tags: [...version.tags].sort(),
  }));
  const history = (await backend.runs.history(runId, { limit: 1000 })).items;
  let cursor: string | null | undefined;
  const steps: typeof history = [];
  do {
    const page = await backend.runs.history(runId, { limit: 1000, ...(cursor ? { cursor } : {}) });
    steps.push(...page.items);
    cursor = page.next;
  } while (cursor);
  void history;
  const run = await backend.runs.get(runId);
  const model = await backend.registry.model({ entity: 'vision', model: 'killed' });
  return {
    versions,
    steps,
    run: { state: run.state, summary: run.summary, config: run.config },
    registry: model.versions.map((entry) => ({
      version: entry.version,
      aliases: entry.aliases,
      source: entry.source.version,
    })),
  };
}

/** The server's events about the project (as an admin reads the log), without ids and times. */
async function projectEvents(
  server: SyncServer,
): Promise<Array<Pick<QuiverEvent, 'action' | 'subject' | 'after'>>> {
  const store = await server.store(server.adminKey, join(main.root, 'admin-client'));
  try {
    const events: QuiverEvent[] = [];
    for (let after = 0; ; ) {
      const batch = await store.backend.events.read({ after, limit: 1000 });
      if (batch.length === 0) break;
      events.push(...batch);
      after = batch[batch.length - 1]!.position;
    }
    return events
      .filter((event) => event.subject.includes('/killed') || event.model === 'killed')
      .map(({ action, subject, after }) => ({ action, subject, after }));
  } finally {
    await store.close();
  }
}

const VERSIONS = 60;

/** A seeded generator (mulberry32), so a failing schedule of kills can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('sync under SIGKILL', () => {
  it('a sync killed at 20 random moments, then run to completion, gives the same server state as one clean sync: no duplicate version, no missing step', async () => {
    const laptop = join(main.root, 'laptop');
    const run = await init({
      mode: 'offline',
      dir: laptop,
      project: 'killed',
      entity: 'vision',
      config: { seed: 3 },
    });
    // Many small records, so that a sync takes a while: 60 versions, moving `best`, tags, 3000 steps.
    for (let step = 0; step < 3000; step++) run.log({ loss: 1 / (step + 1), acc: step / 3000 });
    await run.flush();
    let best = Number.POSITIVE_INFINITY;
    for (let index = 0; index < VERSIONS; index++) {
      const loss = Math.abs(Math.sin(index * 1.3));
      const draft = new Artifact('weights', 'model', { metadata: { index, loss } });
      draft.addBytes('weights.bin', randomBytes(64 * 1024));
      draft.addBytes('config.json', new TextEncoder().encode(JSON.stringify({ index })));
      const aliases = loss < best ? ['best'] : [];
      best = Math.min(best, loss);
      await run.logArtifact(draft, { aliases, tags: index % 5 === 0 ? ['milestone'] : [] });
    }
    await run.client().registry.link('killed/weights:best', { model: 'killed' }, { create: true });
    await run.finish();
    const bundle = join(laptop, 'offline', `run-${run.id}`);

    // The reference: a copy of the bundle synced once, cleanly, to a server of its own.
    const copy = join(main.root, 'copy', `run-${run.id}`);
    cpSync(bundle, copy, { recursive: true });
    const clean = await startSync(second.srv, join(main.root, 'reference-client'), copy).ended;
    expect(clean.code, clean.stderr).toBe(0);

    const seed = Number(process.env.QUIVER_KILL_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const store = await main.srv.store();
    const seen: number[] = [];
    try {
      const count = async () =>
        (
          await store.backend.artifacts
            .versions({ entity: 'vision', project: 'killed', name: 'weights' }, { limit: 1000 })
            .catch(() => ({ items: [] }))
        ).items;
      for (let kill = 0; kill < 20; kill++) {
        // A random moment inside the sync: once it has sent a version more than the last one did,
        // after a random 0–60 ms more (mid-upload, mid-commit, between a commit and its aliases).
        const before = (await count()).length;
        const { child, ended } = startSync(main.srv, join(main.root, 'killed-client'), bundle);
        let done = false;
        void ended.then(() => {
          done = true;
        });
        while (!done && (await count()).length <= before)
          await new Promise((resolve) => setTimeout(resolve, 10));
        if (!done) {
          await new Promise((resolve) => setTimeout(resolve, 60 * next()));
          child.kill('SIGKILL');
        }
        const outcome = await ended;
        const versions = await count();
        // Never a duplicate: each bundle version at most once.
        expect(new Set(versions.map((version) => version.digest)).size, `seed ${seed}`).toBe(versions.length);
        expect(versions.length).toBeLessThanOrEqual(VERSIONS);
        seen.push(outcome.signal === 'SIGKILL' ? versions.length : -1);
      }
      const last = await startSync(main.srv, join(main.root, 'killed-client'), bundle).ended;
      expect(last.code, last.stderr).toBe(0);
      expect(JSON.parse(last.stdout).reports[0]).toMatchObject({ complete: true });

      const checker = await second.srv.store();
      try {
        expect(await projectState(store, run.id), `seed ${seed}`).toEqual(
          await projectState(checker, run.id),
        );
      } finally {
        await checker.close();
      }
      expect(await projectEvents(main.srv)).toEqual(await projectEvents(second.srv));
      console.info(`sync killed after ${seen.join(', ')} of ${VERSIONS} versions sent (seed ${seed})`);
      // Every kill landed mid-sync, after it had sent something and before it ended.
      expect(seen.filter((sent) => sent > 0 && sent < VERSIONS).length, `seed ${seed}: ${seen}`).toBe(20);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('a training run killed with SIGKILL offline: its bundle syncs every checkpoint committed before the kill, and the run shows as crashed', async () => {
    const node = join(main.root, 'node');
    const child = spawnScript('test/children/offline-train.ts', [], {
      QUIVER_DIR: node,
      QUIVER_MODE: 'offline',
      QUIVER_BASE_URL: '',
      QUIVER_API_KEY: '',
    });
    let output = '';
    const runId = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /epoch (\d+) ([0-9a-z]+)\n/.exec(output.split('\n').slice(-2).join('\n'));
        if (match && Number(match[1]) >= 10) {
          child.kill('SIGKILL');
          resolve(match[2]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`the training exited (${code}) before it was killed`)));
    });
    await new Promise((resolve) => child.once('close', resolve));
    const bundle = join(node, 'offline', `run-${runId}`);

    // What the bundle holds: every version committed before the kill.
    const local = await openEmbeddedStore({ dir: bundle, entity: 'vision' });
    const committed = (
      await local.backend.artifacts.versions({
        entity: 'vision',
        project: 'crashing',
        name: `model-${runId}`,
      })
    ).items.map((version) => version.digest);
    const recorded = (await local.backend.runs.history(runId, { limit: 1000 })).items;
    await local.close();
    expect(committed.length).toBeGreaterThanOrEqual(3);

    const sync = await startSync(main.srv, join(main.root, 'node-client'), bundle).ended;
    expect(sync.code, sync.stderr).toBe(0);
    const report = JSON.parse(sync.stdout).reports[0];
    expect(report).toMatchObject({ complete: true, versions: committed.length });
    const store = await main.srv.store();
    try {
      const onServer = (
        await store.backend.artifacts.versions({
          entity: 'vision',
          project: 'crashing',
          name: `model-${runId}`,
        })
      ).items.map((version) => version.digest);
      expect(onServer.sort()).toEqual([...committed].sort());
      const runInfo = await store.backend.runs.get(runId);
      expect(runInfo.state).toBe('crashed');
      expect((await store.backend.runs.history(runId, { limit: 1000 })).items).toEqual(recorded);
    } finally {
      await store.close();
    }
  }, 180_000);
});
