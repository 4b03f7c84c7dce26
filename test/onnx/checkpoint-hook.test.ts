/**
 * The ONNX hook in the TF.js callback: every checkpoint version carries `model.onnx`, whose
 * outputs agree with the TF.js checkpoint of the same version, loaded by registry ref.
 */
import { init, type QuiverClient, type Store } from '@quiver/core';
import { loadOnnxSession, onnxCheckpoints } from '@quiver/onnx';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { runCli } from '../support/processes.js';
import { dataset, smallClassifier, useWasm } from '../tfjs/support.js';

/** A custom layer: TF.js trains it, ONNX has no translation for it. */
class Doubler extends tf.layers.Layer {
  static className = 'Doubler';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs, 2);
  }
}
tf.serialization.registerClass(Doubler);

async function onnxPredict(session: ort.InferenceSession, xs: tf.Tensor): Promise<Float32Array> {
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  const result = await session.run({
    [input as string]: new ort.Tensor('float32', xs.dataSync() as Float32Array, xs.shape),
  });
  return result[output as string]?.data as Float32Array;
}

describe.each(sdkBackends())('onnxCheckpoints hook on %s', (backend) => {
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

  it('adds model.onnx to every checkpoint; the registry ref serves what the TF.js checkpoint computes', async () => {
    const run = await init({ project: 'onnx-hook', store });
    const model = smallClassifier('functional');
    const { xs, ys } = dataset(64);
    const exportedAt: number[] = [];
    const callback = checkpointCallback(run, model, {
      logModel: 'all',
      hooks: [
        onnxCheckpoints({
          parity: { samples: xs, sampleCount: 32 },
          afterExport: ({ draft, onnx, epoch }) => {
            exportedAt.push(epoch);
            draft.addBytes('signature.json', JSON.stringify(onnx.signature));
          },
        }),
      ],
    });
    await model.fit(xs, ys, { epochs: 3, batchSize: 16, verbose: 0, callbacks: [callback] });
    await run.finish();

    const versions = (await client.versions('onnx-hook', `model-${run.id}`)).reverse();
    expect(versions.map((version) => version.aliases.filter((alias) => alias.startsWith('epoch')))).toEqual([
      ['epoch-1'],
      ['epoch-2'],
      ['epoch-3'],
    ]);
    expect(exportedAt).toEqual([1, 2, 3]);
    for (const version of versions) {
      expect((await version.entries()).map((entry) => entry.path)).toEqual([
        'model.json',
        'model.onnx',
        'signature.json',
        'weights.bin',
      ]);
      expect(version.metadata.formats).toEqual(['tfjs', 'onnx']);
      expect(version.metadata.onnx).toMatchObject({
        file: 'model.onnx',
        opset: 17,
        parity: { passed: true, samples: 32, inputSource: 'given' },
        signature: {
          inputs: [{ dtype: 'float32', shape: ['batch', 6] }],
          outputs: [{ shape: ['batch', 3] }],
        },
      });
      // Each version's ONNX file computes what the TF.js files of the same version compute.
      const session = await loadOnnxSession(version.ref, {}, { store });
      const tfjsModel = await loadModel(version.ref, { store });
      const expected = (tfjsModel.predict(xs) as tf.Tensor).dataSync();
      const actual = await onnxPredict(session, xs);
      let maxDiff = 0;
      for (let index = 0; index < expected.length; index++)
        maxDiff = Math.max(maxDiff, Math.abs((actual[index] as number) - (expected[index] as number)));
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      await session.release();
    }

    const best = versions.find((version) => version.aliases.includes('best'));
    expect(best).toBeDefined();
    await client.registry.link(
      best!.ref,
      { model: 'onnx-hook-classifier' },
      { create: true, aliases: ['production'], force: true },
    );
    const served = await loadOnnxSession('registry/onnx-hook-classifier:production', {}, { store });
    const fromTfjs = (await loadModel('registry/onnx-hook-classifier:production', { store })).predict(
      xs,
    ) as tf.Tensor;
    const fromOnnx = await onnxPredict(served, xs);
    const reference = fromTfjs.dataSync();
    for (let index = 0; index < reference.length; index++)
      expect(Math.abs((fromOnnx[index] as number) - (reference[index] as number))).toBeLessThanOrEqual(1e-4);
    await served.release();

    // `quiver artifact show` prints the signature, opset and parity figures.
    const shown = await runCli(['artifact', 'show', best!.ref], testStore.env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/onnx: +model\.onnx, opset 17, IR 8, .* 207 parameters, by quiver-onnx/);
    expect(shown.stdout).toMatch(/input +input1 {2}float32 \[batch, 6\]/);
    expect(shown.stdout).toMatch(
      /parity passed: max \|onnx − tfjs\| [0-9.e-]+ on 32 given samples \(onnxruntime-node/,
    );
  });

  it('an export that fails warns (onError warn) and training completes; with throw, fit rejects', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { xs, ys } = dataset(32);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [6], units: 4 }),
          new Doubler({}),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const run = await init({ project: 'onnx-hook', store });
      const history = await model.fit(xs, ys, {
        epochs: 2,
        verbose: 0,
        callbacks: [checkpointCallback(run, model, { logModel: 'all', hooks: [onnxCheckpoints()] })],
      });
      await run.finish();
      expect(history.history.loss).toHaveLength(2);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('(Doubler) cannot be exported to ONNX'));
      expect(
        await client
          .versions('onnx-hook', `model-${run.id}`)
          .toArray()
          .catch(() => []),
      ).toEqual([]);

      const throwing = await init({ project: 'onnx-hook', store });
      await expect(
        model.fit(xs, ys, {
          epochs: 2,
          verbose: 0,
          callbacks: [
            checkpointCallback(throwing, model, {
              logModel: 'all',
              onError: 'throw',
              hooks: [onnxCheckpoints()],
            }),
          ],
        }),
      ).rejects.toMatchObject({ code: 'E_UNSUPPORTED_LAYER' });
    } finally {
      warn.mockRestore();
    }
  });
});
