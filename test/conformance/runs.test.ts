import { init, isQuiverError, QuiverError, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceBackends, createTestStore, type TestStore } from '../support/backends.js';
import { runScript } from '../support/processes.js';

describe.each(conformanceBackends())('runs on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
  });
  afterAll(async () => testStore.cleanup());

  it('starts a run with a short unique id, a readable name and the given identity', async () => {
    const run = await init({
      project: 'runs',
      store,
      jobType: 'train',
      config: { lr: 0.001, layers: [64, 32] },
      tags: ['baseline'],
      group: 'sweep-1',
      notes: 'first try',
    });
    const other = await init({ project: 'runs', store });
    expect(run.id).toMatch(/^[0-9a-z]{8}$/);
    expect(other.id).not.toBe(run.id);
    expect(run.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    const client = await testStore.client();
    const details = await client.run(run.id);
    expect(details).toMatchObject({
      project: 'runs',
      entity: 'tester',
      jobType: 'train',
      group: 'sweep-1',
      tags: ['baseline'],
      notes: 'first try',
      state: 'running',
    });
    expect(details.config).toEqual({ lr: 0.001, layers: [64, 32] });
    await run.finish();
    await other.finish({ exitCode: 3 });
    expect((await client.run(run.id)).state).toBe('finished');
    expect((await client.run(other.id)).state).toBe('failed');
    expect((await client.run(other.id)).exitCode).toBe(3);
  });

  it('logs metrics by step, merges an explicit repeated step, keeps a summary with min and max', async () => {
    const run = await init({ project: 'metrics', store });
    run.log({ loss: 1.0 });
    run.log({ loss: 0.5 });
    run.log({ loss: 0.8, acc: 0.6 }, { step: 5 });
    run.log({ val_loss: 0.9 }, { step: 5 });
    run.log({ loss: 0.25 });
    expect(() => run.log({ loss: 1 }, { step: 2 })).toThrow(QuiverError);
    await run.finish();
    const client = await testStore.client();
    const details = await client.run(run.id);
    expect(details.history).toEqual([
      { _step: 0, loss: 1.0 },
      { _step: 1, loss: 0.5 },
      { _step: 5, loss: 0.8, acc: 0.6, val_loss: 0.9 },
      { _step: 6, loss: 0.25 },
    ]);
    expect(details.summary.loss).toEqual({ last: 0.25, min: 0.25, max: 1.0, step: 6 });
    expect(details.summary.acc).toEqual({ last: 0.6, min: 0.6, max: 0.6, step: 5 });
  });

  it('refuses to log after finish', async () => {
    const run = await init({ project: 'metrics', store });
    await run.finish();
    expect(() => run.log({ loss: 1 })).toThrow(expect.objectContaining({ code: 'E_RUN_FINISHED' }));
  });

  it('shows a run whose process was killed as crashed, not running', async () => {
    const child = await runScript('test/children/run-then-die.ts', [], testStore.env);
    expect(child.signal).toBe('SIGKILL');
    const runId = child.stdout.trim();
    const client = await testStore.client();
    const details = await client.run(runId);
    expect(details.state).toBe('crashed');
    expect((await client.runs({ project: 'crashy' })).map((run) => run.state)).toEqual(['crashed']);
  });

  it('takes every init option from the environment, with explicit options winning', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        QUIVER_PROJECT: 'from-env',
        QUIVER_RUN_NAME: 'env-run',
        QUIVER_JOB_TYPE: 'eval',
        QUIVER_TAGS: 'a, b',
        QUIVER_RUN_GROUP: 'g1',
      });
      const fromEnv = await init({ store });
      expect(fromEnv).toMatchObject({
        project: 'from-env',
        name: 'env-run',
        jobType: 'eval',
        tags: ['a', 'b'],
        group: 'g1',
      });
      await fromEnv.finish();
      const explicit = await init({
        store,
        project: 'explicit',
        name: 'mine',
        jobType: 'train',
        tags: ['c'],
        group: 'g2',
      });
      expect(explicit).toMatchObject({
        project: 'explicit',
        name: 'mine',
        jobType: 'train',
        tags: ['c'],
        group: 'g2',
      });
      await explicit.finish();
      process.env.QUIVER_MODE = 'disabled';
      const disabled = await init({ store });
      expect(disabled.disabled).toBe(true);
      disabled.log({ loss: 1 });
      process.env.QUIVER_MODE = 'turbo';
      const error = await init({ store }).catch((caught: unknown) => caught);
      expect(isQuiverError(error, 'E_INVALID_ENV')).toBe(true);
      expect((error as Error).message).toContain('QUIVER_MODE');
      expect((error as Error).message).toContain('local, offline, disabled');
    } finally {
      process.env = saved;
    }
  });
});
