import { join } from 'node:path';
import { Artifact, init, QuiverClient, type SyncRecord, type SyncReport } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/processes.js';
import { cliSync, syncServerFixture } from './support.js';

const fixture = syncServerFixture('quiver-offline-conflicts-');

function draft(text: string): Artifact {
  const artifact = new Artifact('model', 'model', { metadata: { text } });
  artifact.addBytes('weights.bin', new TextEncoder().encode(text));
  return artifact;
}

describe('sync conflicts', () => {
  it('an alias moved on the server meanwhile and a protected alias set by a member are each reported per record, with the policy applied; the rest syncs', async () => {
    const laptop = join(fixture.root, 'laptop');
    const server = new QuiverClient(await fixture.srv.store());
    const admin = new QuiverClient(
      await fixture.srv.store(fixture.srv.adminKey, join(fixture.root, 'admin-client')),
    );
    try {
      // A run offline, synced once while it is still going.
      const run = await init({ mode: 'offline', dir: laptop, project: 'shared', entity: 'vision' });
      run.log({ loss: 0.9 });
      await run.logArtifact(draft('offline v0'), { aliases: ['best'] });
      await run.flush();
      const live = (await cliSync(fixture.srv, laptop)).reports[0]!;
      expect(live).toMatchObject({ complete: false, versions: 1, conflicts: 0 });
      const synced = (await server.artifact('vision/shared/model:best')).ref;

      // Meanwhile, on the server, a teammate moves `best` to a version of their own.
      const teammate = await init({ store: server.store, project: 'shared', entity: 'vision' });
      await teammate.logArtifact(draft('online'), { aliases: ['best'] });
      await teammate.finish();
      const theirs = (await server.artifact('vision/shared/model:best')).ref;
      expect(theirs).not.toBe(synced);

      // The offline run goes on: it moves `best`, adds an alias nobody else touched, links its
      // best into the registry and sets the protected `production` there (it may: offline, the
      // bundle is its own).
      run.log({ loss: 0.4 });
      const v1 = await run.logArtifact(draft('offline v1'), { aliases: ['best', 'candidate'] });
      const client = run.client();
      await client.registry.link(v1.ref, { model: 'shared' }, { create: true, aliases: ['staging'] });
      await client.registry.setAlias('registry/shared:v0', 'production', { force: true });
      await run.finish();

      const result = await cliSync(fixture.srv, laptop);
      expect(result.failures).toEqual([]);
      const report = result.reports[0]!;
      expect(report).toMatchObject({ complete: true, versions: 1, conflicts: 1, refused: 1 });
      const notable = report.records.filter((record) => ['conflict', 'refused'].includes(record.outcome));
      const conflict = notable.find((record) => record.outcome === 'conflict') as SyncRecord;
      expect(conflict.kind).toBe('alias');
      expect(conflict.subject).toMatch(/vision\/shared\/model:v2@best$/);
      expect(conflict.detail).toContain('moved on the server meanwhile');
      expect(conflict.detail).toContain(theirs);
      const refused = notable.find((record) => record.outcome === 'refused') as SyncRecord;
      expect(refused).toMatchObject({ kind: 'alias' });
      expect(refused.subject).toMatch(/registry\/shared:v0@production$/);
      expect(refused.detail).toMatch(/admin/);

      // The policy: the server's `best` stays where the teammate put it; everything else arrived.
      expect((await server.artifact('vision/shared/model:best')).ref).toBe(theirs);
      const mine = await server.artifact('vision/shared/model:candidate');
      expect(mine.metadata).toEqual({ text: 'offline v1' });
      expect(mine.ref).toBe('vision/shared/model:v2');
      const model = await server.store.backend.registry.model({ entity: 'vision', model: 'shared' });
      expect(model.versions.map((version) => version.source.ref)).toEqual(['vision/shared/model:v2']);
      expect(model.aliases).toMatchObject({ staging: 0 });
      expect(model.aliases.production).toBeUndefined();
      const onServer = await server.store.backend.runs.get(run.id);
      expect(onServer.state).toBe('finished');
      expect((await server.store.backend.runs.history(run.id)).items.map((row) => row.loss)).toEqual([
        0.9, 0.4,
      ]);

      // The registry's audit log has the link and `staging`, and no `production` by the member.
      const history = await admin.store.backend.registry.history({ entity: 'vision', model: 'shared' });
      expect(history.filter((event) => event.action === 'alias.set').map((event) => event.after)).toEqual([
        { alias: 'latest', version: 0 },
        { alias: 'staging', version: 0 },
      ]);
      // An admin syncing the same bundle later finds it sent; `production` is theirs to set by hand.
      const again = (await cliSync(fixture.srv, laptop, [], fixture.srv.adminKey)).reports[0]!;
      expect(again).toMatchObject({ versions: 0, bytesUploaded: 0 });
    } finally {
      await server.close();
      await admin.close();
    }
  });

  it('a record the server refuses is reported alone and the rest syncs; a delete never removes a version the server had from another run', async () => {
    const laptop = join(fixture.root, 'refusals');
    const server = new QuiverClient(await fixture.srv.store());
    try {
      // On the server: `typed/model` is a dataset, and `typed/weights:v0` holds content "shared".
      const dataset = new Artifact('model', 'dataset').addBytes('rows.csv', new TextEncoder().encode('a,b'));
      await server.commit(dataset, { project: 'typed', entity: 'vision' });
      const theirs = new Artifact('weights', 'model').addBytes(
        'weights.bin',
        new TextEncoder().encode('shared'),
      );
      await server.commit(theirs, { project: 'typed', entity: 'vision' });

      const run = await init({ mode: 'offline', dir: laptop, project: 'typed', entity: 'vision' });
      await run.logArtifact(draft('a model where the server has a dataset'));
      const same = await run.logArtifact(
        new Artifact('weights', 'model').addBytes('weights.bin', new TextEncoder().encode('shared')),
      );
      await run.logArtifact(
        new Artifact('other', 'model').addBytes('w.bin', new TextEncoder().encode('mine')),
      );
      await run.client().deleteVersion(same.ref, { force: true });
      await run.finish();

      const report = (await cliSync(fixture.srv, laptop)).reports[0]!;
      expect(report).toMatchObject({ complete: true, refused: 1 });
      expect(report.records).toContainEqual(
        expect.objectContaining({
          kind: 'version',
          outcome: 'refused',
          detail: expect.stringContaining('E_TYPE_MISMATCH'),
        }),
      );
      // The bundle's `weights` equalled the server's v0 (deduplicated into it); its delete in the
      // bundle does not reach that version, which is another run's.
      expect(report.records).toContainEqual(
        expect.objectContaining({ kind: 'delete', outcome: 'skipped', subject: 'vision/typed/weights:v0' }),
      );
      expect((await server.artifact('vision/typed/weights:v0')).metadata).toEqual({});
      expect((await server.artifact('vision/typed/other')).ref).toBe('vision/typed/other:v0');
      expect((await server.store.backend.runs.get(run.id)).state).toBe('finished');
    } finally {
      await server.close();
    }
  });

  it('quiver sync --dry-run lists what would be sent and sends nothing; a damaged bundle is reported and the others still go', async () => {
    const laptop = join(fixture.root, 'dry');
    const run = await init({ mode: 'offline', dir: laptop, project: 'dry', entity: 'vision' });
    run.log({ loss: 1 });
    await run.logArtifact(draft('dry'), { aliases: ['best'] });
    await run.finish();
    const other = await init({ mode: 'offline', dir: laptop, project: 'dry', entity: 'vision' });
    await other.finish();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(laptop, 'offline', `run-${other.id}`, 'bundle.json'), '{"format": "something else"}');

    const dry = await runCli(['sync', '--dry-run', '--json'], {
      QUIVER_DIR: laptop,
      QUIVER_BASE_URL: fixture.srv.url,
      QUIVER_API_KEY: fixture.srv.memberKey,
    });
    expect(dry.code).toBe(1);
    const listed = JSON.parse(dry.stdout) as {
      reports: SyncReport[];
      failures: Array<{ code: string; bundle: string }>;
    };
    expect(listed.failures).toMatchObject([{ code: 'E_INVALID_BUNDLE' }]);
    expect(listed.failures[0]!.bundle).toContain(other.id);
    expect(listed.reports[0]!.dryRun).toBe(true);
    expect(listed.reports[0]!.records.map((record) => [record.kind, record.outcome])).toEqual([
      ['run', 'would-send'],
      ['history', 'would-send'],
      ['version', 'would-send'],
      ['alias', 'would-send'],
      ['state', 'would-send'],
    ]);
    const store = await fixture.srv.store();
    try {
      await expect(store.backend.runs.get(run.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    } finally {
      await store.close();
    }

    // Text for people: what was sent, and the damaged bundle with what to do.
    const sent = await runCli(['sync'], {
      QUIVER_DIR: laptop,
      QUIVER_BASE_URL: fixture.srv.url,
      QUIVER_API_KEY: fixture.srv.memberKey,
    });
    expect(sent.code).toBe(1);
    expect(sent.stdout).toContain(`run-${run.id} → vision/dry/${run.id}: sent 1 version(s)`);
    expect(sent.stdout).toContain('complete');
    expect(sent.stdout).toMatch(/failed .*bundle\.json is not a valid bundle description/);
    expect(sent.stdout + sent.stderr).not.toContain(fixture.srv.memberKey);
  });
});
