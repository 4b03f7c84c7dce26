import { describe, expect, it } from 'vitest';
import { createTestStore } from './support/backends.js';
import { runScript } from './support/processes.js';

describe('examples', () => {
  it('the demo (pnpm demo) logs a checkpoint per epoch and keeps best on the lowest val_loss', {
    timeout: 60_000,
  }, async () => {
    await using testStore = await createTestStore('sqlite');
    const result = await runScript('examples/simulated-training/train.ts', [], {
      ...testStore.env,
      QUIVER_PROJECT: 'demo-test',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const runId = /run (\w+) /.exec(result.stdout)?.[1];
    expect(runId).toBeDefined();
    expect(result.stdout).toContain(`pnpm quiver artifact show demo-test/model-${runId}:best`);

    const client = await testStore.client();
    const versions = await client.versions('demo-test', `model-${runId}`);
    expect(versions.map((version) => version.version)).toEqual([4, 3, 2, 1, 0]);
    const best = await client.artifact(`demo-test/model-${runId}:best`);
    const valLosses = versions.map((version) => version.metadata.val_loss as number);
    expect(best.metadata.val_loss).toBe(Math.min(...valLosses));
    expect(best.version).toBe(3); // the last epoch got worse: best did not move to it
    const run = await client.run(runId!);
    expect(run.state).toBe('finished');
    expect(run.history).toHaveLength(250);
    expect(run.outputs).toHaveLength(5);
  });
});
