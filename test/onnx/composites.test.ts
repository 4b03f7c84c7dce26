/** Composite models across layer families: several inputs/outputs, residual blocks, shared layers. */
import { inspectOnnx, toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { expectParity, randomizeWeights } from './support.js';

describe('composite models', () => {
  it('a functional model with two inputs and two outputs', async () => {
    const features = tf.input({ shape: [8], name: 'features' });
    const context = tf.input({ shape: [4], name: 'context' });
    const left = tf.layers.dense({ units: 16, activation: 'relu' }).apply(features) as tf.SymbolicTensor;
    const right = tf.layers.dense({ units: 16, activation: 'tanh' }).apply(context) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate().apply([left, right]) as tf.SymbolicTensor;
    const hidden = tf.layers
      .layerNormalization()
      .apply(
        tf.layers.dense({ units: 12, activation: 'gelu' }).apply(joined) as tf.SymbolicTensor,
      ) as tf.SymbolicTensor;
    const label = tf.layers
      .dense({ units: 3, activation: 'softmax', name: 'label' })
      .apply(hidden) as tf.SymbolicTensor;
    const score = tf.layers.dense({ units: 1, name: 'score' }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [features, context], outputs: [label, score] });
    randomizeWeights(model);

    const reports = await expectParity(model);
    expect(reports[0]?.outputs.map((output) => output.name)).toEqual(['label', 'score']);
    const signature = inspectOnnx(toOnnx(model).bytes).signature;
    expect(signature.inputs).toEqual([
      { name: 'features', dtype: 'float32', shape: ['batch', 8] },
      { name: 'context', dtype: 'float32', shape: ['batch', 4] },
    ]);
    expect(signature.outputs).toEqual([
      { name: 'label', dtype: 'float32', shape: ['batch', 3] },
      { name: 'score', dtype: 'float32', shape: ['batch', 1] },
    ]);
  });

  it('a residual block with Add (and a shared layer applied twice)', async () => {
    const input = tf.input({ shape: [10] });
    const shared = tf.layers.dense({ units: 10, activation: 'relu' });
    const first = shared.apply(input) as tf.SymbolicTensor;
    const branch = tf.layers
      .batchNormalization()
      .apply(tf.layers.dense({ units: 10 }).apply(first) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const residual = tf.layers.add().apply([input, branch]) as tf.SymbolicTensor;
    const again = shared.apply(
      tf.layers.activation({ activation: 'relu' }).apply(residual) as tf.SymbolicTensor,
    ) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(again) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomizeWeights(model);
    await expectParity(model);
  });

  it('declares integer inputs when asked and casts them for the layers', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    randomizeWeights(model);
    const exported = toOnnx(model, { inputDtypes: ['int64'], inputNames: ['ids'] });
    expect(exported.signature.inputs).toEqual([{ name: 'ids', dtype: 'int64', shape: ['batch', 3] }]);
    const session = await ort.InferenceSession.create(exported.bytes);
    const result = await session.run({
      ids: new ort.Tensor('int64', BigInt64Array.from([1n, -2n, 3n]), [1, 3]),
    });
    const expected = (model.predict(tf.tensor2d([[1, -2, 3]])) as tf.Tensor).dataSync();
    for (const [index, value] of expected.entries())
      expect(result[exported.signature.outputs[0]!.name]?.data[index]).toBeCloseTo(value, 5);
    await session.release();
  });

  it('leaves a final softmax out when asked for logits', async () => {
    for (const last of [
      () => tf.layers.dense({ units: 3, activation: 'softmax' }),
      () => tf.layers.softmax(),
      () => tf.layers.activation({ activation: 'softmax' }),
    ]) {
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), last()] });
      randomizeWeights(model);
      const exported = toOnnx(model, { logits: true, outputNames: ['logits'] });
      const session = await ort.InferenceSession.create(exported.bytes);
      const x = tf.tensor2d([[0.5, -1, 2, 0.1]]);
      const logits = (
        await session.run({
          [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [1, 4]),
        })
      ).logits!;
      const probabilities = tf
        .softmax(tf.tensor2d(Array.from(logits.data as Float32Array), [1, 3]))
        .dataSync();
      const expected = (model.predict(x) as tf.Tensor).dataSync();
      expect(
        Math.abs((logits.data as Float32Array).reduce((sum, value) => sum + value, 0) - 1),
      ).toBeGreaterThan(1e-3);
      for (const [index, value] of expected.entries()) expect(probabilities[index]).toBeCloseTo(value, 5);
      await session.release();
      // The parity check compares the logits through the softmax the graph left out.
      const { exportOnnx } = await import('@quiver/onnx');
      const checked = await exportOnnx(model, { logits: true, outputNames: ['logits'] });
      expect(checked.softmaxOmitted).toEqual(['logits']);
      expect(checked.parity?.passed).toBe(true);
    }
  });

  it('checks parity on a fixed batch (dynamicBatch: false) with that many samples', async () => {
    const { exportOnnx } = await import('@quiver/onnx');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    randomizeWeights(model);
    const checked = await exportOnnx(model, {
      dynamicBatch: false,
      batchSize: 3,
      parity: { sampleCount: 8 },
    });
    expect(checked.parity).toMatchObject({ passed: true, samples: 3 });
  });

  it('names several outputs of one layer apart (LSTM returnState)', async () => {
    const input = tf.input({ shape: [5, 3] });
    const outputs = tf.layers
      .lstm({ units: 4, returnSequences: true, returnState: true })
      .apply(input) as tf.SymbolicTensor[];
    const model = tf.model({ inputs: input, outputs });
    randomizeWeights(model);
    const names = toOnnx(model).signature.outputs.map((output) => output.name);
    expect(new Set(names).size).toBe(3);
    await expectParity(model);
  });

  it('exportOnnx writes the file only when parity passes', async () => {
    const { exportOnnx } = await import('@quiver/onnx');
    const { existsSync, mkdtempSync, readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'quiver-export-'));
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    randomizeWeights(model);
    const exported = await exportOnnx(model, { path: join(dir, 'model.onnx') });
    expect(readFileSync(join(dir, 'model.onnx')).equals(Buffer.from(exported.bytes))).toBe(true);
    const failing = exportOnnx(model, {
      path: join(dir, 'strict.onnx'),
      parity: { tolerance: { absolute: -1, relative: 0 } },
    });
    await expect(failing).rejects.toMatchObject({ code: 'E_PARITY_MISMATCH' });
    expect(existsSync(join(dir, 'strict.onnx'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it('names inputs and outputs as asked, and fixes the batch when dynamicBatch is false', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    const exported = toOnnx(model, {
      inputNames: ['x'],
      outputNames: ['y'],
      dynamicBatch: false,
      batchSize: 4,
      opset: 13,
    });
    expect(exported.signature).toEqual({
      inputs: [{ name: 'x', dtype: 'float32', shape: [4, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [4, 2] }],
    });
    const info = inspectOnnx(exported.bytes);
    expect(info).toMatchObject({
      irVersion: 7,
      opsets: { 'ai.onnx': 13 },
      producer: { name: 'quiver-onnx' },
      parameterCount: 8,
    });
    expect(info.metadataProps.tfjs_version).toBe(tf.version.tfjs);
    const session = await ort.InferenceSession.create(exported.bytes);
    await expect(
      session.run({ x: new ort.Tensor('float32', new Float32Array(3), [1, 3]) }),
    ).rejects.toThrow();
    const result = await session.run({ x: new ort.Tensor('float32', new Float32Array(12), [4, 3]) });
    expect(result.y?.dims).toEqual([4, 2]);
    await session.release();
  });
});
