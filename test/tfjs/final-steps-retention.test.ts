/**
 * What `final` holds (the weights training ended with), how checkpoints' steps line up with the
 * metrics rows, and which versions retention keeps.
 */
import { type ArtifactVersion, init, type QuiverClient, type Store } from '@quiver/core';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { dataset, ScriptedMetrics, smallClassifier, useWasm } from './support.js';

/** 80 samples, 20% validation: 64 training samples, 4 batches of 16 per epoch. */
const BATCHES_PER_EPOCH = 4;

afterEach(() => vi.unstubAllEnvs());

describe.each(sdkBackends())('tfjs final steps and retention on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;

  beforeAll(async () => {
    await useWasm();
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
  });
  afterAll(async () => testStore?.cleanup());

  async function train(
    options: Parameters<typeof checkpointCallback>[2],
    { epochs, valLoss, model }: { epochs: number; valLoss?: number[]; model?: tf.LayersModel },
  ) {
    const run = await init({ project: 'tfjs-final', store });
    const trained = model ?? smallClassifier();
    const { xs, ys } = dataset(80);
    const callback = checkpointCallback(run, trained, options);
    await trained.fit(xs, ys, {
      epochs,
      batchSize: 16,
      validationSplit: 0.2,
      verbose: 0,
      callbacks: [...(valLoss ? [new ScriptedMetrics({ val_loss: valLoss })] : []), callback],
    });
    await run.finish();
    // Oldest first.
    const versions = (await client.versions('tfjs-final', `model-${run.id}`)).reverse();
    const endPredictions = (trained.predict(xs) as tf.Tensor).arraySync();
    return { run, callback, versions, xs, endPredictions };
  }

  const withAlias = (versions: ArtifactVersion[], alias: string) =>
    versions.filter((version) => version.aliases.includes(alias));

  async function predictionsOf(ref: string, xs: tf.Tensor): Promise<unknown> {
    const loaded = await loadModel(ref, { store });
    return (loaded.predict(xs) as tf.Tensor).arraySync();
  }

  describe("logModel 'best': final is the end of training", () => {
    it('logs the end state as final when the last epoch did not improve; best stays on the improvement', async () => {
      const { run, callback, versions, xs, endPredictions } = await train(
        { logModel: 'best' },
        { epochs: 4, valLoss: [0.9, 0.5, 0.8, 0.7] },
      );
      expect(versions.map((version) => version.metadata.epoch)).toEqual([1, 2, 4]);
      const [best] = withAlias(versions, 'best');
      const [final] = withAlias(versions, 'final');
      expect(best!.metadata.epoch).toBe(2);
      expect(final!.metadata.epoch).toBe(4);
      expect(final!.aliases).toEqual(expect.arrayContaining(['epoch-4', 'final', 'latest']));
      expect(callback.last?.ref).toBe(final!.ref);
      // `:final` loads the weights the model had when fit returned; `:best` the epoch-2 weights.
      const ref = (alias: string) => `tfjs-final/model-${run.id}:${alias}`;
      expect(await predictionsOf(ref('final'), xs)).toEqual(endPredictions);
      expect(await predictionsOf(ref('best'), xs)).not.toEqual(endPredictions);
    });

    it('an end state equal to the best checkpoint is deduplicated into it, which then holds final', async () => {
      // A learning rate of 0: the weights never change, so every epoch's content is the same.
      const frozen = smallClassifier();
      frozen.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' });
      const { callback, versions } = await train(
        { logModel: 'best' },
        { epochs: 3, valLoss: [0.5, 0.9, 0.8], model: frozen },
      );
      expect(versions).toHaveLength(1);
      expect(versions[0]!.aliases).toEqual(expect.arrayContaining(['best', 'final', 'epoch-1']));
      expect(callback.last?.deduplicated).toBe(true);
      expect(callback.last?.ref).toBe(callback.best?.ref);
    });

    it.each([{ last: 1 }, { best: 1 }])(
      'the final version survives retention %j, next to best',
      async (keep) => {
        const { run, versions, xs, endPredictions } = await train(
          { logModel: 'best', keep },
          { epochs: 6, valLoss: [0.9, 0.5, 0.8, 0.45, 0.6, 0.7] },
        );
        // Improvements at epochs 1, 2 and 4; epochs 1 and 2 were pruned; 6 is the end state.
        expect(versions.map((version) => version.metadata.epoch)).toEqual([4, 6]);
        expect(versions[0]!.aliases).toContain('best');
        expect(versions[1]!.aliases).toContain('final');
        expect(await predictionsOf(`tfjs-final/model-${run.id}:final`, xs)).toEqual(endPredictions);
      },
    );
  });

  describe('QUIVER_KEEP_LAST=2', () => {
    it('keeps the last two and, in addition, the best (three versions)', async () => {
      vi.stubEnv('QUIVER_KEEP_LAST', '2');
      const { versions } = await train(
        { logModel: 'all' },
        { epochs: 5, valLoss: [0.9, 0.5, 0.8, 0.7, 0.95] },
      );
      expect(versions.map((version) => version.metadata.epoch)).toEqual([2, 4, 5]);
      expect(versions.map((version) => version.version)).toEqual([1, 3, 4]);
      expect(withAlias(versions, 'best').map((version) => version.metadata.epoch)).toEqual([2]);
      expect(withAlias(versions, 'final').map((version) => version.metadata.epoch)).toEqual([5]);
    });

    it("with the default logModel 'best', keeps the best and the end state", async () => {
      vi.stubEnv('QUIVER_KEEP_LAST', '2');
      const { versions } = await train({}, { epochs: 6, valLoss: [0.9, 0.5, 0.8, 0.45, 0.6, 0.7] });
      expect(versions.map((version) => version.metadata.epoch)).toEqual([4, 6]);
      expect(versions[0]!.aliases).toContain('best');
      expect(versions[1]!.aliases).toContain('final');
    });
  });

  describe('one step numbering', () => {
    it.each([
      ['epoch', 'epoch'],
      ['batch', 'epoch'],
      [2, 'epoch'],
      ['epoch', 4],
      [false, 'epoch'],
      ['batch', 3],
    ] as const)(
      "logMetrics %s, saveFreq %s: a checkpoint's step is the _step of the metrics row of the same point",
      async (logMetrics, saveFreq) => {
        const { run, versions } = await train({ logModel: 'all', logMetrics, saveFreq }, { epochs: 3 });
        const history = (await client.run(run.id)).history;
        const batchAxis =
          logMetrics === 'batch' || typeof logMetrics === 'number' || typeof saveFreq === 'number';
        expect(versions.map((version) => version.metadata.step)).toEqual(
          typeof saveFreq === 'number'
            ? Array.from(
                { length: (3 * BATCHES_PER_EPOCH) / saveFreq },
                (_, index) => (index + 1) * saveFreq - 1,
              )
            : batchAxis
              ? [3, 7, 11]
              : [0, 1, 2],
        );
        for (const version of versions) {
          const step = version.metadata.step as number;
          const epoch = version.metadata.epoch as number;
          const metrics = version.metadata.metrics as Record<string, number>;
          if (typeof saveFreq === 'number') expect(version.aliases).toContain(`step-${step}`);
          if (logMetrics === false) continue;
          const row = history.find((candidate) => candidate._step === step);
          expect(row, `a metrics row at step ${step}`).toBeDefined();
          const atEpochEnd = !batchAxis || (step + 1) % BATCHES_PER_EPOCH === 0;
          if (atEpochEnd) {
            expect(row!.epoch).toBe(epoch);
            if (saveFreq === 'epoch') {
              expect(row!.loss).toBe(metrics.loss);
              expect(row!.val_loss).toBe(metrics.val_loss);
            }
          } else {
            expect(row!.loss).toBe(metrics.loss);
          }
        }
      },
    );

    it('the end-of-training checkpoint of logModel end has the step of the last metrics row', async () => {
      const { run, versions } = await train({ logModel: 'end' }, { epochs: 3 });
      const history = (await client.run(run.id)).history;
      expect(versions).toHaveLength(1);
      expect(versions[0]!.metadata.step).toBe(history.at(-1)!._step);
      expect(versions[0]!.metadata.epoch).toBe(history.at(-1)!.epoch);
    });
  });
});
