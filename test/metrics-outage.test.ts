// Metrics logged while the database cannot be written are kept and written by the next flush.
import { init, QuiverClient, storeOver } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore } from './support/backends.js';

describe('metrics across a database outage', () => {
  it('rows whose flush failed are written by the next one (run.finish), none lost or doubled', async () => {
    await using testStore = await createTestStore('sqlite');
    const store = await testStore.open();
    let down = false;
    // The backend with its runs API failing while `down`, as its writes do when the database is gone.
    const real = store.backend;
    const runs = new Proxy(real.runs, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          down ? Promise.reject(new Error('Connection terminated unexpectedly')) : value.apply(target, args);
      },
    });
    const flaky = storeOver(
      new Proxy(real, { get: (target, key) => (key === 'runs' ? runs : Reflect.get(target, key)) }),
      store.settings,
    );
    const run = await init({ project: 'outage', store: flaky });
    for (let step = 0; step < 5; step++) run.log({ loss: 1 / (step + 1) });
    down = true;
    await expect(run.flush()).rejects.toThrow('Connection terminated');
    for (let step = 5; step < 8; step++) run.log({ loss: 1 / (step + 1) });
    down = false;
    const finished = await run.finish();
    expect(finished.state).toBe('finished');
    const { history } = await new QuiverClient(store).run(run.id);
    expect(history.map((row) => row._step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(history.map((row) => row.loss)).toEqual([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7, 1 / 8]);
  });
});
