import { Artifact, init, type QuiverClient, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore } from './support/backends.js';

// client.versions() takes the artifact as a ref like every other QuiverClient method, and keeps
// its (project, name[, entity]) form working.
describe('client.versions accepts refs', () => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;

  beforeAll(async () => {
    testStore = await createTestStore('sqlite');
    store = await testStore.open();
    client = await testStore.client();
    const run = await init({ project: 'mnist', store });
    for (const weights of ['a', 'b', 'c'])
      await run.logArtifact(new Artifact('mlp', 'model').addBytes('weights.bin', weights));
    await run.finish();
    await client.registry.link('mnist/mlp:v1', { model: 'digits' }, { create: true });
  });
  afterAll(() => testStore.cleanup());

  const refs = (versions: Array<{ ref: string }>) => versions.map((version) => version.ref);
  const expected = ['tester/mnist/mlp:v2', 'tester/mnist/mlp:v1', 'tester/mnist/mlp:v0'];

  it('project/name and entity/project/name list the same versions as (project, name)', async () => {
    expect(refs(await client.versions('mnist', 'mlp'))).toEqual(expected);
    expect(refs(await client.versions('mnist', 'mlp', 'tester'))).toEqual(expected);
    expect(refs(await client.versions('mnist/mlp'))).toEqual(expected);
    expect(refs(await client.versions('tester/mnist/mlp'))).toEqual(expected);
  });

  it('an entity in the ref is honoured', async () => {
    expect(await client.versions('someone-else/mnist/mlp')).toEqual([]);
    expect(await client.versions('mnist', 'mlp', 'someone-else')).toEqual([]);
  });

  it.each([
    ['mnist/mlp:v1', /names one version.*client\.artifact\('mnist\/mlp:v1'\)/],
    ['mnist/mlp:best', /names one version/],
    ['registry/digits', /names a registered model.*client\.registry\.model/],
    ['mnist', /at least a project and a name/],
    ['a/b/c/d', /too many/],
    ['', /empty/],
  ])('%j is refused with E_INVALID_REF and says what to give', async (ref, message) => {
    await expect(client.versions(ref)).rejects.toMatchObject({ code: 'E_INVALID_REF', message });
  });

  it('bad names in the two-argument form are still E_INVALID_NAME', async () => {
    await expect(client.versions('mnist', 'ml/p')).rejects.toMatchObject({ code: 'E_INVALID_NAME' });
  });
});

// The registry's model methods take the model as a ref text too, like the version methods do.
describe('client.registry accepts model refs', () => {
  it('model, tag, card, history, link and removeAlias by ref text, as by locator', async () => {
    await using testStore = await createTestStore('sqlite');
    const client = await testStore.client();
    const run = await init({ project: 'mnist', store: client.store });
    await run.logArtifact(new Artifact('mlp', 'model').addBytes('weights.bin', 'a'));
    await run.finish();
    await client.registry.link('mnist/mlp:v0', 'registry/digits', { create: true, aliases: ['staging'] });
    expect((await client.registry.model('registry/digits')).name).toBe('digits');
    expect((await client.registry.model('digits')).name).toBe('digits');
    await client.registry.tag('registry/digits', ['vision']);
    await client.registry.updateCard('registry/digits', '# Digits');
    expect((await client.registry.model({ model: 'digits' })).tags).toEqual(['vision']);
    expect((await client.registry.version('registry/digits:staging')).version).toBe(0);
    await client.registry.removeAlias('registry/digits:staging');
    await expect(client.registry.version('registry/digits:staging')).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    await client.registry.setAlias('registry/digits:v0', 'staging');
    await client.registry.removeAlias('registry/digits', 'staging');
    expect((await client.registry.history('registry/digits')).map((event) => event.action)).toContain(
      'alias.remove',
    );
    await expect(client.registry.model('registry/digits:v0')).rejects.toMatchObject({
      code: 'E_INVALID_REF',
    });
    await expect(client.registry.removeAlias('registry/digits')).rejects.toMatchObject({
      code: 'E_INVALID_REF',
    });
  });
});
