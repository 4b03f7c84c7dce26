import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Artifact, init, QuiverClient } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { cliSync, serverView, syncServerFixture, trainWithCallback, VAL_LOSS } from './support.js';

const fixture = syncServerFixture('quiver-offline-');

async function serverEvents(): Promise<number> {
  const store = await fixture.srv.store(fixture.srv.adminKey, join(fixture.root, 'admin-client'));
  try {
    let count = 0;
    for (let after = 0; ; ) {
      const batch = await store.backend.events.read({ after, limit: 1000 });
      if (batch.length === 0) return count;
      count += batch.length;
      after = batch[batch.length - 1]!.position;
    }
  } finally {
    await store.close();
  }
}

describe('offline mode and quiver sync', () => {
  it('a TF.js run recorded offline (no server) and synced equals the same run made online, field by field; syncing twice more changes nothing', async () => {
    const laptop = join(fixture.root, 'laptop');
    const identity = {
      project: 'digits',
      entity: 'vision',
      jobType: 'train',
      config: { lr: 0.01 },
      tags: ['wasm'],
      name: 'digits-train',
    };
    // Offline: no server is named anywhere, and none is contacted.
    const run = await init({ mode: 'offline', dir: laptop, ...identity });
    await trainWithCallback(run, { model: 'digits-offline' });
    await run.finish();
    const bundles = readdirSync(join(laptop, 'offline')).filter((name) => name.startsWith('run-'));
    expect(bundles).toEqual([`run-${run.id}`]);

    const onlineStore = await fixture.srv.store(fixture.srv.memberKey, join(fixture.root, 'online-client'));
    const online = await init({ store: onlineStore, ...identity });
    await trainWithCallback(online, { model: 'digits-online' });
    await online.finish();

    const first = await cliSync(fixture.srv, laptop);
    expect(first.failures).toEqual([]);
    expect(first.reports).toHaveLength(1);
    const report = first.reports[0]!;
    expect(report.complete).toBe(true);
    expect(report.versions).toBe(VAL_LOSS.length);
    expect(report.conflicts + report.refused).toBe(0);
    expect(report.bytesUploaded).toBeGreaterThan(0);

    const client = new QuiverClient(onlineStore);
    const synced = await serverView(client, run.id, 'digits-offline');
    const made = await serverView(client, online.id, 'digits-online');
    expect(synced).toEqual(made);
    expect(synced.versions.find((v) => v.aliases.includes('best'))?.metadata).toMatchObject({
      epoch: 4,
      score: 0.5,
    });
    expect(synced.history.length).toBeGreaterThanOrEqual(VAL_LOSS.length);
    expect(synced.run.state).toBe('finished');

    // Twice more: the same server state, nothing uploaded, no new event.
    const events = await serverEvents();
    for (let round = 0; round < 2; round++) {
      const again = (await cliSync(fixture.srv, laptop)).reports[0]!;
      expect(again).toMatchObject({ versions: 0, bytesUploaded: 0, blobsUploaded: 0, complete: true });
      expect(await serverView(client, run.id, 'digits-offline')).toEqual(synced);
      expect(await serverEvents()).toBe(events);
    }
    await onlineStore.close();
  });

  it('a bundle copied to another machine (the original folder deleted) syncs completely', async () => {
    const node = join(fixture.root, 'cluster-node');
    const run = await init({ mode: 'offline', dir: node, project: 'digits', entity: 'vision' });
    await trainWithCallback(run, { model: 'digits-copied', epochs: 3 });
    await run.finish();
    const elsewhere = join(fixture.root, 'usb-stick', `run-${run.id}`);
    cpSync(join(node, 'offline', `run-${run.id}`), elsewhere, { recursive: true });
    rmSync(node, { recursive: true, force: true });
    expect(existsSync(node)).toBe(false);

    const result = await cliSync(fixture.srv, join(fixture.root, 'other-machine'), [elsewhere]);
    expect(result.failures).toEqual([]);
    expect(result.reports[0]).toMatchObject({ complete: true, versions: 3, conflicts: 0, refused: 0 });
    const store = await fixture.srv.store();
    try {
      const versions = (
        await store.backend.artifacts.versions({
          entity: 'vision',
          project: 'digits',
          name: `model-${run.id}`,
        })
      ).items;
      expect(versions.map((version) => version.version).sort()).toEqual([0, 1, 2]);
      for (const version of versions) {
        // Every file is there and verifies.
        const entries = await store.backend.artifacts.entries(version.id);
        for (const entry of entries)
          expect(await store.backend.blobs.has(entry.sha256, entry.size)).toBe(true);
      }
      expect((await store.backend.runs.get(run.id)).state).toBe('finished');
      const registered = await store.backend.registry.model({ entity: 'vision', model: 'digits-copied' });
      expect(registered.versions).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('reads offline', () => {
  it('a ref used online resolves offline from the cache, pinned to the version it was, with its files; a ref never fetched says so; the use syncs', async () => {
    const laptop = join(fixture.root, 'reader');
    const online = await fixture.srv.store(fixture.srv.memberKey, laptop);
    const client = new QuiverClient(online);
    try {
      const weights = new TextEncoder().encode('pretrained weights v0');
      const draft = new Artifact('encoder', 'model').addBytes('weights.bin', weights);
      await client.commit(draft, { project: 'pretrained', entity: 'vision', aliases: ['best'] });
      const fetching = await init({ store: online, project: 'reads', entity: 'vision' });
      const used = await fetching.useModel('pretrained/encoder:best');
      expect(used.version.ref).toBe('vision/pretrained/encoder:v0');
      await fetching.finish();
      // Meanwhile `best` moves on the server.
      await client.commit(
        new Artifact('encoder', 'model').addBytes('weights.bin', new TextEncoder().encode('v1')),
        {
          project: 'pretrained',
          entity: 'vision',
          aliases: ['best'],
        },
      );
    } finally {
      await client.close();
    }

    // Offline, on the same machine: no server is asked.
    const run = await init({ mode: 'offline', dir: laptop, project: 'reads', entity: 'vision' });
    const model = await run.useModel('pretrained/encoder:best');
    expect(model.version.ref).toBe('vision/pretrained/encoder:v0');
    expect(readFileSync(join(model.path, 'weights.bin'), 'utf8')).toBe('pretrained weights v0');
    const artifact = await run.useArtifact('vision/pretrained/encoder:best');
    expect(new TextDecoder().decode(await artifact.read('weights.bin'))).toBe('pretrained weights v0');
    await expect(run.useArtifact('pretrained/never-fetched:latest')).rejects.toMatchObject({
      code: 'E_NOT_CACHED',
      message: expect.stringContaining('has not fetched it'),
    });
    run.log({ loss: 1 });
    await run.finish();

    const report = (await cliSync(fixture.srv, laptop)).reports.find((entry) => entry.runId === run.id)!;
    expect(report.records).toContainEqual({
      kind: 'use',
      subject: 'vision/pretrained/encoder:v0',
      outcome: 'sent',
    });
    const store = await fixture.srv.store();
    try {
      const inputs = await store.backend.runs.inputs(run.id);
      expect(inputs.map((version) => version.ref)).toEqual(['vision/pretrained/encoder:v0']);
    } finally {
      await store.close();
    }
  });
});
