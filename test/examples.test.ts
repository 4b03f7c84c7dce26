import { describe, expect, it } from 'vitest';
import { createTestStore, sdkBackends } from './support/backends.js';
import { runScript } from './support/processes.js';

describe.each(sdkBackends())('examples on %s', (backend) => {
  it('the simulated-training example logs a checkpoint per epoch and keeps best on the lowest val_loss', {
    timeout: 60_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
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

  it('the TF.js classifier (pnpm demo) trains on wasm, keeps best on the lowest val_loss and links it into the registry', {
    timeout: 120_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const result = await runScript('examples/tfjs-classifier/train.ts', [], {
      ...testStore.env,
      QUIVER_PROJECT: 'demo-tfjs',
      DEMO_EPOCHS: '6',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('on wasm');
    const runId = /run (\w+) /.exec(result.stdout)?.[1];
    const client = await testStore.client();
    const versions = await client.versions('demo-tfjs', `model-${runId}`);
    const scores = versions.map((version) => version.metadata.score as number);
    const best = await client.artifact(`demo-tfjs/model-${runId}:best`);
    expect(best.metadata.score).toBe(Math.min(...scores));
    const registered = await client.registry.version('registry/spiral-classifier:staging');
    expect(registered.source.ref).toBe(best.ref);
    expect(result.stdout).toContain('pnpm quiver registry model show spiral-classifier');
  });

  it('the env-only example takes every policy from QUIVER_* variables', { timeout: 120_000 }, async () => {
    await using testStore = await createTestStore(backend);
    const result = await runScript('examples/tfjs-env-only/train.ts', [], {
      ...testStore.env,
      QUIVER_PROJECT: 'env-demo',
      QUIVER_LOG_MODEL: 'all',
      QUIVER_KEEP_LAST: '2',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"logModel":"all"');
    const client = await testStore.client();
    const [run] = await client.runs({ project: 'env-demo' });
    expect(run?.state).toBe('finished');
    const versions = await client.versions('env-demo', `model-${run!.id}`);
    // 5 epochs logged, the last 2 kept (plus best, which an alias protects, if it is older)
    expect(versions[0]!.aliases).toEqual(expect.arrayContaining(['epoch-5', 'final', 'latest']));
    expect(versions.length).toBeLessThanOrEqual(3);
    expect(versions.map((version) => version.version)).toContain(4);
  });
  it('the ONNX example exports every epoch, promotes the best to production and serves it with onnxruntime-node', {
    timeout: 120_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const result = await runScript('examples/onnx-serving/train-and-serve.ts', [], {
      ...testStore.env,
      QUIVER_PROJECT: 'onnx-demo',
      DEMO_EPOCHS: '4',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const runId = /run (\w+) /.exec(result.stdout)?.[1];
    const client = await testStore.client();
    const versions = await client.versions('onnx-demo', `model-${runId}`);
    expect(versions).toHaveLength(4);
    for (const version of versions) expect(version.metadata.formats).toEqual(['tfjs', 'onnx']);
    const production = await client.registry.version('registry/blob-classifier:production');
    expect(production.source.ref).toBe((await client.artifact(`onnx-demo/model-${runId}:best`)).ref);
    const served = /max \|onnx − tfjs\| ([0-9.e+-]+)$/m.exec(result.stdout)?.[1];
    expect(Number(served)).toBeLessThanOrEqual(1e-4);
    const [serving] = (await client.runs({ project: 'onnx-demo' })).filter((run) => run.jobType === 'serve');
    expect((await client.run(serving!.id)).inputs.map((input) => input.ref)).toEqual([production.source.ref]);
  });
});
