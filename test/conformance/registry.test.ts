import { Artifact, init, isQuiverError, type QuiverClient, type Run, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceBackends, createTestStore, type TestStore } from '../support/backends.js';

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isQuiverError(error)) throw new Error(`expected a QuiverError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

describe.each(conformanceBackends())('registry on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;
  let run: Run;
  const checkpoint = (epoch: number) =>
    new Artifact('mlp', 'model', { metadata: { epoch } })
      .addBytes('model.json', '{}')
      .addBytes('weights.bin', `weights-${epoch}`);

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
    run = await init({ project: 'vision', store });
    for (let epoch = 0; epoch < 4; epoch++) await run.logArtifact(checkpoint(epoch));
    await run.logArtifact(new Artifact('train-set', 'dataset').addBytes('data.csv', 'a,b'));
  });
  afterAll(async () => testStore.cleanup());

  it('always has a default model registry; more can be created with accepted types', async () => {
    expect((await client.registry.registries()).map((registry) => registry.name)).toEqual(['model']);
    const datasets = await client.registry.createRegistry({
      name: 'datasets',
      description: 'Curated data',
      acceptedTypes: ['dataset'],
      protectedAliases: ['gold'],
    });
    expect(datasets).toMatchObject({
      name: 'datasets',
      acceptedTypes: ['dataset'],
      protectedAliases: ['gold'],
      createdBy: expect.any(String),
    });
    const registries = await client.registry.registries();
    expect(
      registries.map((registry) => [registry.name, registry.acceptedTypes, registry.protectedAliases]),
    ).toEqual([
      ['datasets', ['dataset'], ['gold']],
      ['model', ['model'], ['production']],
    ]);
    expect((await rejection(client.registry.createRegistry({ name: 'datasets' }))).code).toBe(
      'E_ALREADY_EXISTS',
    );
  });

  it('links without copying, numbers registry versions per model, and is idempotent for the same source', async () => {
    const blobsBefore = await countBlobs();
    const first = await client.registry.link(
      'vision/mlp:v1',
      { model: 'digits' },
      { create: true, aliases: ['staging'] },
    );
    expect(first).toMatchObject({ linked: true, modelCreated: true });
    expect(first.version).toMatchObject({
      ref: 'tester/registry/digits:v0',
      version: 0,
      aliases: ['latest', 'staging'],
    });
    expect(first.version.source).toMatchObject({ ref: 'tester/vision/mlp:v1', producedBy: run.id });
    const again = await client.registry.link('vision/mlp:v1', { model: 'digits' }, { aliases: ['champion'] });
    expect(again).toMatchObject({ linked: false, modelCreated: false });
    expect(again.version).toMatchObject({ version: 0, aliases: ['champion', 'latest', 'staging'] });
    const second = await client.registry.link('vision/mlp:v3', { model: 'digits' });
    expect(second.version).toMatchObject({ version: 1, aliases: ['latest'] });
    expect((await client.registry.version('registry/digits:v0')).aliases).toEqual(['champion', 'staging']);
    expect(await countBlobs()).toBe(blobsBefore);
  });

  it('follows registry refs wherever an artifact ref is accepted', async () => {
    expect((await client.artifact('registry/digits:staging')).ref).toBe('tester/vision/mlp:v1');
    expect((await client.artifact('tester/registry/digits')).ref).toBe('tester/vision/mlp:v3');
    expect((await client.artifact('registry/model/digits:v0')).ref).toBe('tester/vision/mlp:v1');
    const consumer = await init({ project: 'serving', store });
    expect((await consumer.useArtifact('registry/digits:champion')).ref).toBe('tester/vision/mlp:v1');
    await consumer.finish();
  });

  it('moves aliases atomically and refuses protected aliases without force', async () => {
    await client.registry.setAlias('registry/digits:v1', 'staging');
    expect((await client.registry.version('registry/digits:staging')).version).toBe(1);
    expect((await client.registry.version('registry/digits:v0')).aliases).toEqual(['champion']);

    const refused = await rejection(client.registry.setAlias('registry/digits:v1', 'production'));
    expect(refused.code).toBe('E_ALIAS_PROTECTED');
    expect(refused.message).toContain('--force');
    await expect(client.registry.version('registry/digits:production')).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    await client.registry.setAlias('registry/digits:v1', 'production', { force: true });
    expect((await rejection(client.registry.setAlias('registry/digits:v0', 'production'))).code).toBe(
      'E_ALIAS_PROTECTED',
    );
    expect((await rejection(client.registry.removeAlias({ model: 'digits' }, 'production'))).code).toBe(
      'E_ALIAS_PROTECTED',
    );
    expect(
      (
        await rejection(
          client.registry.link('vision/mlp:v2', { model: 'digits' }, { aliases: ['production'] }),
        )
      ).code,
    ).toBe('E_ALIAS_PROTECTED');
    expect((await rejection(client.registry.unlink('registry/digits:v1'))).code).toBe('E_ALIAS_PROTECTED');
    expect((await client.registry.version('registry/digits:production')).version).toBe(1);
    // Re-linking a source whose link already holds production changes nothing: no force needed.
    const relinked = await client.registry.link(
      'vision/mlp:v3',
      { model: 'digits' },
      { aliases: ['production'] },
    );
    expect(relinked).toMatchObject({ linked: false, version: { version: 1 } });
    await client.registry.removeAlias({ model: 'digits' }, 'champion');
    expect((await client.registry.version('registry/digits:v0')).aliases).toEqual([]);
  });

  it('creates, renames, documents, tags, lists and searches registered models', async () => {
    await client.registry.createModel({ model: 'digits-small', card: '# Small', tags: ['mnist', 'tiny'] });
    await client.registry.createModel({ model: 'faces', tags: ['vision'] });
    await client.registry.updateCard({ model: 'digits' }, '# Digits\nRecognises handwritten digits.');
    await client.registry.tag({ model: 'digits' }, ['mnist', 'prod-ready']);
    await client.registry.tag({ model: 'digits' }, [], ['prod-ready']);
    expect((await client.registry.models()).map((model) => model.name)).toEqual([
      'digits',
      'digits-small',
      'faces',
    ]);
    expect((await client.registry.models({ prefix: 'digits' })).map((model) => model.name)).toEqual([
      'digits',
      'digits-small',
    ]);
    expect((await client.registry.models({ tags: ['mnist'] })).map((model) => model.name)).toEqual([
      'digits',
      'digits-small',
    ]);
    expect((await client.registry.models({ tags: ['mnist', 'tiny'] })).map((model) => model.name)).toEqual([
      'digits-small',
    ]);
    const [digits] = await client.registry.models({ prefix: 'digits', tags: ['mnist'] });
    expect(digits).toMatchObject({
      name: 'digits',
      ref: 'tester/registry/digits',
      card: '# Digits\nRecognises handwritten digits.',
      tags: ['mnist'],
      aliases: { latest: 1, production: 1, staging: 1 },
      versionCount: 2,
      latest: 1,
    });
    const details = await client.registry.model({ model: 'digits' });
    expect(
      details.versions.map((version) => [
        version.version,
        version.aliases,
        version.source.ref,
        version.source.producedBy,
      ]),
    ).toEqual([
      [1, ['latest', 'production', 'staging'], 'tester/vision/mlp:v3', run.id],
      [0, [], 'tester/vision/mlp:v1', run.id],
    ]);
    await client.registry.rename({ model: 'faces' }, 'portraits');
    expect((await client.registry.models()).map((model) => model.name)).toEqual([
      'digits',
      'digits-small',
      'portraits',
    ]);
    expect((await rejection(client.registry.rename({ model: 'portraits' }, 'digits'))).code).toBe(
      'E_ALREADY_EXISTS',
    );
  });

  it('unlinks without touching the source; registry version numbers are never reused', async () => {
    const extra = await client.registry.link('vision/mlp:v0', { model: 'digits' });
    expect(extra.version.version).toBe(2);
    await client.registry.unlink('registry/digits:v2');
    expect((await client.registry.version('registry/digits')).version).toBe(1); // latest moved back
    expect((await client.artifact('vision/mlp:v0')).version).toBe(0);
    expect((await client.registry.link('vision/mlp:v0', { model: 'digits' })).version.version).toBe(3);
  });

  it('refuses what must be refused, with typed errors and no change', async () => {
    const eventsBefore = (await client.registry.events()).length;
    expect((await rejection(client.registry.link('vision/train-set', { model: 'digits' }))).code).toBe(
      'E_TYPE_NOT_ACCEPTED',
    );
    expect((await rejection(client.registry.link('vision/mlp:v99', { model: 'digits' }))).code).toBe(
      'E_NOT_FOUND',
    );
    expect((await rejection(client.registry.link('vision/mlp:v1', { model: 'unknown-model' }))).code).toBe(
      'E_NOT_FOUND',
    );
    expect(
      (
        await rejection(
          client.registry.link('vision/mlp:v1', { registry: 'nope', model: 'x' }, { create: true }),
        )
      ).code,
    ).toBe('E_NOT_FOUND');
    expect((await rejection(client.registry.deleteModel({ model: 'digits' }))).code).toBe(
      'E_ALIAS_PROTECTED',
    );
    expect((await rejection(client.deleteVersion('vision/mlp:v3', { force: true }))).code).toBe(
      'E_VERSION_LINKED',
    );
    expect((await rejection(client.artifact('registry/digits:v01'))).code).toBe('E_INVALID_REF');
    expect((await rejection(client.artifact('registry/a/b/c'))).code).toBe('E_INVALID_REF');
    expect((await rejection(init({ project: 'registry', store }))).code).toBe('E_INVALID_NAME');
    expect(
      (await rejection(client.registry.link('vision/mlp:v1', { model: 'bad name' }, { create: true }))).code,
    ).toBe('E_INVALID_NAME');
    expect((await client.registry.models()).map((model) => model.name)).not.toContain('bad name');
    // a deleted source version cannot be linked
    await run.logArtifact(checkpoint(50));
    await client.deleteVersion('vision/mlp:v4');
    expect((await rejection(client.registry.link('vision/mlp:v4', { model: 'digits' }))).code).toBe(
      'E_NOT_FOUND',
    );
    expect((await client.registry.events()).length).toBe(eventsBefore);
    // dataset registry accepts datasets, protects its own alias
    const linked = await client.registry.link(
      'vision/train-set',
      { registry: 'datasets', model: 'mnist-train' },
      { create: true },
    );
    expect(linked.version.ref).toBe('tester/registry/datasets/mnist-train:v0');
    expect((await rejection(client.registry.setAlias('registry/datasets/mnist-train:v0', 'gold'))).code).toBe(
      'E_ALIAS_PROTECTED',
    );
    await client.registry.setAlias('registry/datasets/mnist-train:v0', 'production'); // not protected in this registry
  });

  it('records every mutation in the audit history with actor, time and before/after, in order', async () => {
    const history = await client.registry.history({ model: 'digits' });
    expect(history.map((event) => event.action)).toEqual([
      'model.create',
      'link',
      'alias.set', // latest
      'alias.set', // staging
      'alias.set', // champion
      'link',
      'alias.move', // latest → v1
      'alias.move', // staging → v1
      'alias.set', // production (forced)
      'alias.remove', // champion
      'model.card',
      'model.tag',
      'model.untag',
      'link', // v2
      'alias.move', // latest → v2
      'unlink', // removes v2 with its aliases (latest)
      'alias.set', // latest → v1
      'link', // v3
      'alias.move', // latest → v3
    ]);
    const production = history.find(
      (event) => event.action === 'alias.set' && (event.after as { alias: string }).alias === 'production',
    )!;
    expect(production).toMatchObject({
      actor: store.settings.actor,
      before: null,
      after: { alias: 'production', version: 1 },
      model: 'digits',
      registry: 'model',
    });
    const staging = history.find(
      (event) => event.action === 'alias.move' && (event.after as { alias: string }).alias === 'staging',
    )!;
    expect(staging).toMatchObject({
      before: { alias: 'staging', version: 0 },
      after: { alias: 'staging', version: 1 },
    });
    const sequences = history.map((event) => event.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    const renamed = await client.registry.history({ model: 'portraits' });
    expect(renamed.map((event) => event.action)).toEqual(['model.create', 'model.rename']);
  });

  it('lets automations consume the event log in order, once per consumer', async () => {
    const all = await client.registry.events();
    expect(all.map((event) => event.sequence)).toEqual(all.map((_, index) => index + 1)); // gap-free
    const seen: number[] = [];
    const first = await client.registry.consume(
      'webhooks',
      async (events) => {
        seen.push(...events.map((event) => event.sequence));
      },
      { limit: 5 },
    );
    expect(first).toEqual({ delivered: 5, cursor: 5 });
    await expect(
      client.registry.consume('webhooks', async () => {
        throw new Error('endpoint down');
      }),
    ).rejects.toThrow('endpoint down');
    await client.registry.consume('webhooks', async (events) => {
      seen.push(...events.map((event) => event.sequence));
    });
    expect(seen).toEqual(all.map((event) => event.sequence)); // each once, in order, nothing lost by the failure
    expect((await client.registry.consume('webhooks', async () => {})).delivered).toBe(0);
    expect((await client.registry.consume('audit-export', async () => {})).delivered).toBe(all.length); // another consumer starts at 0
  });

  it('deletes a model (forced while it holds a protected alias); sources stay', async () => {
    await client.registry.deleteModel({ model: 'digits' }, { force: true });
    await expect(client.registry.model({ model: 'digits' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect((await client.artifact('vision/mlp:v3')).version).toBe(3);
    const last = (await client.registry.events()).at(-1)!;
    expect(last).toMatchObject({ action: 'model.delete', model: 'digits', after: null });
    await client.deleteVersion('vision/mlp:v3'); // no longer linked
  });

  async function countBlobs(): Promise<number> {
    let count = 0;
    for await (const _blob of store.backend.blobs.list()) count++;
    return count;
  }
});
