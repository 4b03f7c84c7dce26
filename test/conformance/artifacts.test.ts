import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Artifact, init, type QuiverClient, type Run, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceBackends, createTestStore, type TestStore } from '../support/backends.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'quiver-scratch-'));
}

function checkpoint(name: string, epoch: number, weights: string): Artifact {
  return new Artifact(name, 'model', { metadata: { epoch } })
    .addBytes('model.json', '{"layers":2}')
    .addBytes('weights.bin', weights);
}

describe.each(conformanceBackends())('artifacts on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;
  let run: Run;
  let server: Server;
  let serverUrl: string;
  const served = new Map<string, string>([['/data.csv', 'a,b\n1,2\n']]);

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
    run = await init({ project: 'vision', store });
    server = createServer((request, response) => {
      const body = served.get(request.url ?? '');
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await testStore.cleanup();
  });

  it('numbers versions v0, v1, … and keeps latest on the newest', async () => {
    const v0 = await run.logArtifact(checkpoint('mlp', 1, 'w1'));
    const v1 = await run.logArtifact(checkpoint('mlp', 2, 'w2'), { aliases: ['best'] });
    expect([v0.version, v1.version]).toEqual([0, 1]);
    expect(v1.ref).toBe('tester/vision/mlp:v1');
    expect(v1.aliases).toEqual(['best', 'latest']);
    expect((await client.artifact('vision/mlp')).version).toBe(1);
    expect((await client.artifact('vision/mlp:v0')).aliases).toEqual([]);
    expect((await client.artifact('tester/vision/mlp:best')).metadata).toEqual({ epoch: 2 });
    expect(v1.producedBy).toBe(run.id);
  });

  it('returns the existing version for equal content, marked deduplicated, and still applies aliases', async () => {
    const again = await run.logArtifact(checkpoint('mlp', 99, 'w1'), { aliases: ['keeper'] });
    expect(again.deduplicated).toBe(true);
    expect(again.version).toBe(0);
    expect(again.aliases).toEqual(['keeper']);
    const versions = await client.versions('vision', 'mlp');
    expect(versions.map((version) => version.version)).toEqual([1, 0]);
    expect((await client.artifact('vision/mlp:latest')).version).toBe(1);
  });

  it('moves an alias atomically so it is held by exactly one version; tags are separate', async () => {
    await client.setAlias('vision/mlp:v0', 'best');
    expect((await client.artifact('vision/mlp:v0')).aliases).toContain('best');
    expect((await client.artifact('vision/mlp:v1')).aliases).not.toContain('best');
    await client.tag('vision/mlp:v0', ['reviewed', 'small']);
    await client.tag('vision/mlp:v1', ['reviewed']);
    expect((await client.artifact('vision/mlp:v0')).tags).toEqual(['reviewed', 'small']);
    expect((await client.artifact('vision/mlp:v1')).tags).toEqual(['reviewed']);
    await client.tag('vision/mlp:v0', [], ['small']);
    expect((await client.artifact('vision/mlp:v0')).tags).toEqual(['reviewed']);
    await client.removeAlias('vision/mlp:v0', 'keeper');
    expect((await client.artifact('vision/mlp:v0')).aliases).toEqual(['best']);
    await expect(client.artifact('vision/mlp:keeper')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('adds files, folders, bytes and references; downloads and verifies them', async () => {
    const source = scratch();
    writeFileSync(join(source, 'config.json'), '{"units":8}');
    mkdirSync(join(source, 'shards', 'deep'), { recursive: true });
    writeFileSync(join(source, 'shards', 'a.bin'), Buffer.alloc(300_000, 7));
    writeFileSync(join(source, 'shards', 'deep', 'b.bin'), 'bbb');
    const referenced = join(source, 'external.txt');
    writeFileSync(referenced, 'not copied');
    const draft = new Artifact('bundle', 'dataset', {
      description: '# Bundle\nfiles of all kinds',
      metadata: { rows: 2 },
    })
      .addFile(join(source, 'config.json'))
      .addFile(join(source, 'config.json'), { name: 'renamed/config.json' })
      .addDir(join(source, 'shards'), { prefix: 'shards' })
      .addBytes('notes.txt', 'hello')
      .addReference(pathToFileURL(referenced).href)
      .addReference(`${serverUrl}/data.csv`);
    const version = await run.logArtifact(draft);
    const entries = await version.entries();
    expect(entries.map((entry) => entry.path)).toEqual([
      'config.json',
      'data.csv',
      'external.txt',
      'notes.txt',
      'renamed/config.json',
      'shards/a.bin',
      'shards/deep/b.bin',
    ]);
    expect(entries.find((entry) => entry.path === 'external.txt')).toMatchObject({
      size: 10,
      ref: pathToFileURL(referenced).href,
    });
    expect(entries.find((entry) => entry.path === 'data.csv')).toMatchObject({
      size: 8,
      ref: `${serverUrl}/data.csv`,
    });
    expect(version.description).toBe('# Bundle\nfiles of all kinds');

    const target = join(scratch(), 'out');
    await (await client.artifact('vision/bundle')).download(target);
    expect(readFileSync(join(target, 'shards', 'deep', 'b.bin'), 'utf8')).toBe('bbb');
    expect(readFileSync(join(target, 'data.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(readFileSync(join(target, 'external.txt'), 'utf8')).toBe('not copied');
    expect(await version.verify(target)).toMatchObject({ ok: true, checked: 7, problems: [] });

    writeFileSync(join(target, 'notes.txt'), 'HELLO');
    writeFileSync(join(target, 'stray.txt'), 'x');
    const report = await version.verify(target);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ path: 'notes.txt', problem: 'checksum' })]);
    expect(report.extra).toEqual(['stray.txt']);

    // Downloading again repairs the changed file and keeps the others.
    await version.download(target);
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('hello');

    // A referenced object that changed since it was logged fails verification on download.
    served.set('/data.csv', 'changed');
    await expect(version.download(join(scratch(), 'again'))).rejects.toMatchObject({
      code: 'E_CHECKSUM_MISMATCH',
    });
    served.set('/data.csv', 'a,b\n1,2\n');
  });

  it('stores each unique content once across artifacts and projects', async () => {
    const before = await countBlobs();
    const other = await init({ project: 'other-project', store });
    await other.logArtifact(checkpoint('copy-of-mlp', 1, 'w1'));
    await other.finish();
    expect(await countBlobs()).toBe(before);
  });

  it('starts a draft from a version and commits it as the next version with the changes', async () => {
    const base = await client.artifact('vision/mlp:v1');
    const draft = await base.newDraft();
    draft.removeEntry('weights.bin').addBytes('weights.bin', 'w3').addBytes('README.md', 'card');
    const next = await run.logArtifact(draft);
    expect(next.version).toBe(2);
    expect((await next.entries()).map((entry) => entry.path)).toEqual([
      'README.md',
      'model.json',
      'weights.bin',
    ]);
    expect(next.metadata).toEqual({ epoch: 2 });
    // An unchanged draft is the same content: no new version.
    expect((await run.logArtifact(await next.newDraft())).deduplicated).toBe(true);
  });

  it('records use, and walks lineage both ways for several hops', async () => {
    const consumer = await init({ project: 'vision', store, jobType: 'eval' });
    const used = await consumer.useArtifact('mlp:best');
    expect(used.version).toBe(0);
    const report = await consumer.logArtifact(
      new Artifact('eval-report', 'report').addBytes('report.json', '{"acc":0.9}'),
    );
    const third = await init({ project: 'vision', store, jobType: 'publish' });
    await third.useArtifact('vision/eval-report:latest');
    await consumer.finish();
    await third.finish();

    const graph = await client.lineage('vision/mlp:v0', 4);
    const edges = graph.edges.map((edge) => {
      const label = (id: string): string => {
        const node = graph.nodes.find((candidate) => candidate.id === id)!;
        if (node.kind === 'run') return `run:${node.run.jobType ?? 'none'}`;
        return node.kind === 'artifact' ? node.version.ref : node.registryVersion.ref;
      };
      return `${label(edge.from)} ${edge.relation} ${label(edge.to)}`;
    });
    expect(edges).toContain('run:none produced tester/vision/mlp:v0');
    expect(edges).toContain('tester/vision/mlp:v0 used run:eval');
    expect(edges).toContain(`run:eval produced ${report.ref}`);
    expect(edges).toContain(`${report.ref} used run:publish`);

    const backwards = await client.lineage(report.ref, 2);
    expect(
      backwards.nodes.map((node) =>
        node.kind === 'run'
          ? node.run.id
          : node.kind === 'artifact'
            ? node.version.ref
            : node.registryVersion.ref,
      ),
    ).toEqual(expect.arrayContaining([consumer.id, 'tester/vision/mlp:v0']));
    const details = await client.run(consumer.id);
    expect(details.inputs.map((version) => version.ref)).toEqual(['tester/vision/mlp:v0']);
    expect(details.outputs.map((version) => version.ref)).toEqual([report.ref]);
  });

  it('refuses to delete a version holding an alias unless forced, never reuses its number, and gc frees its blobs', async () => {
    const doomed = await run.logArtifact(checkpoint('scratchpad', 1, 'unique-weights-to-delete'), {
      aliases: ['candidate'],
    });
    await run.logArtifact(checkpoint('scratchpad', 2, 'second'));
    await expect(client.deleteVersion('vision/scratchpad:v0')).rejects.toMatchObject({
      code: 'E_ALIAS_HELD',
    });
    expect((await client.artifact('vision/scratchpad:v0')).version).toBe(0);
    await client.deleteVersion('vision/scratchpad:v0', { force: true });
    await expect(client.artifact('vision/scratchpad:v0')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await client.deleteVersion('vision/scratchpad:v1');
    await expect(client.artifact('vision/scratchpad')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const next = await run.logArtifact(checkpoint('scratchpad', 3, 'third'));
    expect(next.version).toBe(2);
    expect(next.aliases).toEqual(['latest']);

    const weights = (await doomed.entries()).length;
    expect(weights).toBe(0);
    const youngKept = await client.gc();
    expect(youngKept.blobs).toBe(0);
    const dry = await client.gc({ graceMs: 0, dryRun: true });
    expect(dry.blobs).toBe(2);
    const collected = await client.gc({ graceMs: 0 });
    expect(collected.blobs).toBe(2);
    expect((await client.verify()).ok).toBe(true);
  });

  async function countBlobs(): Promise<number> {
    let count = 0;
    for await (const _blob of store.backend.blobs.list()) count++;
    return count;
  }
});
