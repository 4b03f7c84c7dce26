import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, type QuiverClient, type Store } from '@quiver/core';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { setWritesDenied } from '../support/s3.js';
import { dataset, ScriptedMetrics, smallClassifier, useWasm } from './support.js';

const labels = (versions: Array<{ aliases: string[] }>): string[][] =>
  versions.map((version) => version.aliases.filter((alias) => alias !== 'latest'));

describe.each(sdkBackends())('tfjs checkpoint callback on %s', (backend) => {
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

  /** Trains 3 epochs of 4 batches (64 samples, batch 16), with 25% validation when asked. */
  async function train(
    options: Parameters<typeof checkpointCallback>[2],
    extra: {
      validation?: boolean;
      epochs?: number;
      before?: Array<tf.CustomCallback | tf.Callback>;
      after?: Array<tf.CustomCallback | tf.Callback>;
      model?: tf.LayersModel;
    } = {},
  ) {
    const run = await init({ project: 'tfjs', store });
    const model = extra.model ?? smallClassifier();
    const { xs, ys } = dataset(extra.validation ? 80 : 64);
    const callback = checkpointCallback(run, model, options);
    const history = await model.fit(xs, ys, {
      epochs: extra.epochs ?? 3,
      batchSize: 16,
      ...(extra.validation ? { validationSplit: 0.2 } : {}),
      verbose: 0,
      callbacks: [...(extra.before ?? []), callback, ...(extra.after ?? [])],
    });
    await run.finish();
    const versions = (
      await client
        .versions('tfjs', `model-${run.id}`)
        .toArray()
        .catch(() => [])
    ).reverse();
    return { run, model, callback, history, versions, xs };
  }

  describe('logModel × saveFreq', () => {
    it.each([
      [false, 'epoch', []],
      ['end', 'epoch', [['best', 'epoch-3', 'final']]],
      ['all', 'epoch', [['epoch-1'], ['epoch-2'], ['epoch-3', 'final']]],
      [false, 3, []],
      // Steps are 0-based global batch indices, as the metrics rows' _step: every 3rd batch is 2, 5, …
      ['end', 3, [['best', 'final', 'step-11']]],
      ['all', 3, [['step-2'], ['step-5'], ['step-8'], ['final', 'step-11']]],
    ] as const)(
      'logModel %s, saveFreq %s → checkpoints %j (best aside)',
      async (logModel, saveFreq, expected) => {
        const { versions } = await train({ logModel, saveFreq, monitor: 'loss' });
        expect(
          labels(versions).map((aliases) =>
            aliases.filter((alias) => alias !== 'best' || logModel === 'end'),
          ),
        ).toEqual(expected);
        for (const version of versions) {
          expect(version.type).toBe('model');
          expect(version.metadata).toMatchObject({
            monitor: 'loss',
            mode: 'min',
            format: 'tfjs-layers',
            backend: 'wasm',
            parameterCount: 6 * 12 + 12 + 12 * 3 + 3,
          });
          expect(version.metadata.tfjsVersion).toBe(tf.version.tfjs);
          expect(version.metadata.inputs).toEqual([expect.objectContaining({ shape: [null, 6] })]);
          expect(version.metadata.metrics).toHaveProperty('loss');
        }
      },
    );

    it.each(['epoch', 2] as const)(
      'logModel best with saveFreq %s logs improvements (and the end state) and moves best only forward',
      async (saveFreq) => {
        const { versions } = await train({ logModel: 'best', saveFreq, monitor: 'loss' }, { epochs: 4 });
        const final = versions.at(-1)!;
        expect(final.aliases).toContain('final');
        // The end state is logged as `final` even when it is no improvement.
        const improvements = final.aliases.includes('best') ? versions : versions.slice(0, -1);
        const scores = improvements.map((version) => version.metadata.score as number);
        for (let index = 1; index < scores.length; index++)
          expect(scores[index]).toBeLessThan(scores[index - 1]!);
        expect(versions.filter((version) => version.aliases.includes('best'))).toHaveLength(1);
        expect(improvements.at(-1)!.aliases).toContain('best');
      },
    );
  });

  describe('best selection with noisy metrics', () => {
    it.each([
      // Improvements, then the end state (epoch 6) as `final`.
      ['val_loss', 'min', [1.0, 0.8, 0.85, 0.6, 0.65, 0.6], 0, [1, 2, 4, 6], 4],
      ['val_loss', 'auto', [1.0, 0.8, 0.85, 0.6, 0.65, 0.6], 0, [1, 2, 4, 6], 4],
      ['val_acc', 'max', [0.5, 0.7, 0.65, 0.9, 0.9, 0.85], 0, [1, 2, 4, 6], 4],
      ['val_acc', 'auto', [0.5, 0.7, 0.65, 0.9, 0.9, 0.85], 0, [1, 2, 4, 6], 4],
      ['val_loss', 'min', [1.0, 0.97, 0.9, 0.88, 0.7, 0.69], 0.05, [1, 3, 5, 6], 5],
    ] as const)(
      '%s mode %s over %j (minDelta %s) → checkpoints at epochs %j, best on %s',
      async (monitor, mode, values, minDelta, epochs, bestEpoch) => {
        const { versions } = await train(
          { logModel: 'best', monitor, mode, minDelta },
          { validation: true, epochs: 6, before: [new ScriptedMetrics({ [monitor]: values })] },
        );
        expect(versions.map((version) => version.metadata.epoch)).toEqual(epochs);
        const best = versions.find((version) => version.aliases.includes('best'))!;
        expect(best.metadata.epoch).toBe(bestEpoch);
        expect(best.metadata.score).toBe(values[bestEpoch - 1]);
        expect(versions.find((version) => version.aliases.includes('final'))!.metadata.epoch).toBe(6);
      },
    );

    it('defaults to val_loss when there is validation data, else loss', async () => {
      expect((await train({ logModel: 'all' }, { validation: true })).versions[0]!.metadata.monitor).toBe(
        'val_loss',
      );
      expect((await train({ logModel: 'all' })).versions[0]!.metadata.monitor).toBe('loss');
    });
  });

  describe('models, stopping, retention, failures', () => {
    it.each(['sequential', 'functional'] as const)(
      'a %s checkpoint loads back predicting exactly what the model predicted when it was saved, and resumes',
      async (kind) => {
        const predictions: number[][][] = [];
        let xsForRecord: tf.Tensor | undefined;
        const recorder = new tf.CustomCallback({
          onEpochEnd: async () => {
            predictions.push((model.predict(xsForRecord!) as tf.Tensor).arraySync() as number[][]);
          },
        });
        const model = smallClassifier(kind);
        xsForRecord = dataset().xs;
        const { versions } = await train(
          { logModel: 'all', includeOptimizer: true },
          { model, after: [recorder] },
        );
        expect(versions).toHaveLength(3);
        for (const [index, version] of versions.entries()) {
          const loaded = await loadModel(version.ref, { store });
          expect(loaded.getClassName()).toBe(kind === 'sequential' ? 'Sequential' : 'Model');
          expect((loaded.predict(xsForRecord) as tf.Tensor).arraySync()).toEqual(predictions[index]);
        }
        const resumed = await loadModel(versions.at(-1)!.ref, { store });
        expect(resumed.optimizer?.getClassName()).toBe('Adam');
        const before = resumed.getWeights()[0]!.arraySync();
        const { xs, ys } = dataset();
        const history = await resumed.fit(xs, ys, { epochs: 2, batchSize: 16, verbose: 0 });
        expect(history.history.loss).toHaveLength(2);
        expect(resumed.getWeights()[0]!.arraySync()).not.toEqual(before);
      },
    );

    it('early stopping and stopTraining end training early; the last checkpoint is final', async () => {
      const stopper = new tf.CustomCallback({
        onEpochEnd: async (epoch) => {
          if (epoch === 1) model.stopTraining = true;
        },
      });
      const model = smallClassifier();
      const stopped = await train({ logModel: 'all' }, { model, epochs: 10, after: [stopper] });
      expect(labels(stopped.versions).map((aliases) => aliases.filter((alias) => alias !== 'best'))).toEqual([
        ['epoch-1'],
        ['epoch-2', 'final'],
      ]);

      const early = await train(
        { logModel: 'all', monitor: 'val_loss' },
        {
          validation: true,
          epochs: 10,
          before: [new ScriptedMetrics({ val_loss: [1, 0.9, 0.95, 0.97, 0.99, 1, 1, 1, 1, 1] })],
          after: [tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 2 })],
        },
      );
      expect(early.versions.map((version) => version.metadata.epoch)).toEqual([1, 2, 3, 4]);
      expect(early.versions.at(-1)!.aliases).toContain('final');
      expect(early.versions.find((version) => version.aliases.includes('best'))!.metadata.epoch).toBe(2);
    });

    it('retention keeps the best N and last N, and never deletes aliased or linked versions', async () => {
      const scripted = new ScriptedMetrics({ val_loss: [0.9, 0.5, 0.8, 0.7, 0.95, 0.85] });
      const run = await init({ project: 'tfjs', store });
      const model = smallClassifier();
      const { xs, ys } = dataset(80);
      const keepOutsider = new tf.CustomCallback({
        onEpochEnd: async (epoch) => {
          if (epoch === 0) {
            await callback.drain();
            await client.setAlias(`tfjs/model-${run.id}:epoch-1`, 'reviewed');
          }
        },
      });
      const callback = checkpointCallback(run, model, { logModel: 'all', keep: { best: 1, last: 2 } });
      await model.fit(xs, ys, {
        epochs: 6,
        batchSize: 16,
        validationSplit: 0.2,
        verbose: 0,
        callbacks: [scripted, callback, keepOutsider],
      });
      await run.finish();
      const kept = (await client.versions('tfjs', `model-${run.id}`)).reverse();
      // epoch 1: a user alias; epoch 2: best; epochs 5–6: the last two. Epochs 3 and 4 are gone.
      expect(kept.map((version) => version.metadata.epoch)).toEqual([1, 2, 5, 6]);
      expect(kept.map((version) => version.version)).toEqual([0, 1, 4, 5]);
    });

    it('retention by best score alone still keeps the newest checkpoint, which ends as final', async () => {
      const { versions } = await train(
        { logModel: 'all', keep: { best: 1 } },
        {
          validation: true,
          epochs: 4,
          before: [new ScriptedMetrics({ val_loss: [0.5, 0.9, 0.8, 0.7] })],
        },
      );
      expect(versions.map((version) => version.metadata.epoch)).toEqual([1, 4]);
      expect(versions[0]!.aliases).toContain('best');
      expect(versions[1]!.aliases).toEqual(expect.arrayContaining(['final', 'latest']));
    });

    it("onError 'warn': a store failing mid-training warns and training completes; 'throw': fit rejects", async () => {
      const breakStore = async (broken: boolean): Promise<void> => {
        if (testStore.s3) {
          // The bucket refuses writes (a policy, as an admin might set by mistake).
          await setWritesDenied(testStore.s3.server, testStore.s3.bucket, broken);
          return;
        }
        const tmp = join(testStore.dataDir, 'blobs', 'tmp');
        if (broken) {
          renameSync(tmp, `${tmp}.away`);
          writeFileSync(tmp, 'not a folder');
        } else {
          rmSync(tmp);
          renameSync(`${tmp}.away`, tmp);
        }
      };
      const breaker = new tf.CustomCallback({
        onEpochEnd: async (epoch) => {
          if (epoch === 0) await breakStore(true);
        },
      });
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const warned = await train({ logModel: 'all' }, { epochs: 3, after: [breaker] });
        expect(warned.history.history.loss).toHaveLength(3);
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('a checkpoint could not be stored'));
        await breakStore(false);
        await expect(
          train({ logModel: 'all', onError: 'throw' }, { epochs: 3, after: [breaker] }),
        ).rejects.toThrow(
          // A server keeps its file system to itself: the client hears that the server failed.
          backend === 'remote'
            ? /The server failed on this request/
            : backend === 'remote+s3'
              ? /refused the credentials \(AccessDenied\)/
              : /ENOTDIR|not a directory|a file stands where a folder is needed/,
        );
      } finally {
        warn.mockRestore();
        try {
          await breakStore(false);
        } catch {
          // already restored
        }
      }
    });

    it('logs train and validation metrics per epoch, or per batch on the batch step axis', async () => {
      const perEpoch = await train({ logModel: false }, { validation: true });
      const epochHistory = (await client.run(perEpoch.run.id)).history;
      expect(epochHistory.map((row) => row._step)).toEqual([0, 1, 2]);
      expect(Object.keys(epochHistory[0]!).sort()).toEqual([
        '_step',
        'acc',
        'epoch',
        'loss',
        'val_acc',
        'val_loss',
      ]);

      const perBatch = await train({ logModel: false, logMetrics: 'batch' }, { validation: true });
      const batchHistory = (await client.run(perBatch.run.id)).history;
      expect(batchHistory).toHaveLength(12); // 3 epochs × 4 batches of 16 of the 64 training samples
      expect(batchHistory[3]).toMatchObject({ _step: 3, epoch: 1, val_loss: expect.any(Number) });

      const everyTwo = await train({ logModel: false, logMetrics: 2 });
      expect((await client.run(everyTwo.run.id)).history.map((row) => row._step)).toEqual([
        1, 3, 5, 7, 9, 11,
      ]);
    });

    it('creates its run from the environment and does nothing when Quiver is disabled', async () => {
      const saved = { ...process.env };
      try {
        Object.assign(process.env, testStore.env, { QUIVER_PROJECT: 'from-env', QUIVER_LOG_MODEL: 'all' });
        const model = smallClassifier();
        const { xs, ys } = dataset();
        const callback = checkpointCallback(null, model);
        await model.fit(xs, ys, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [callback] });
        expect(callback.last?.ref).toMatch(/^tester\/from-env\/model-\w+:v1$/);
        const runs = await client.runs({ project: 'from-env' });
        expect(runs.map((run) => run.state)).toEqual(['finished']);

        process.env.QUIVER_MODE = 'disabled';
        const disabled = checkpointCallback(null, model);
        await model.fit(xs, ys, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [disabled] });
        expect(disabled.last).toBeUndefined();
        expect(await client.runs({ project: 'from-env' })).toHaveLength(1);
      } finally {
        process.env = saved;
      }
    });
  });
});
