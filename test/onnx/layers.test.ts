/**
 * Parity of the core, activation, normalisation and merge layers at opset 17 and 13, at batch 1
 * and 37 through the dynamic batch dimension.
 */
import { SUPPORTED_ACTIVATIONS } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'vitest';
import { expectParity, randomizeWeights, sequentialOf } from './support.js';

function check(inputShape: number[], layers: tf.layers.Layer[]): Promise<unknown> {
  const model = sequentialOf(inputShape, layers);
  randomizeWeights(model);
  return expectParity(model);
}

describe('core layers', () => {
  it('Dense on rank 2 (Gemm) and rank 3 (MatMul + Add), with and without bias', async () => {
    await check([6], [tf.layers.dense({ units: 5 }), tf.layers.dense({ units: 3, useBias: false })]);
    await check([4, 6], [tf.layers.dense({ units: 5, activation: 'tanh' })]);
  });

  it.each(SUPPORTED_ACTIVATIONS)('Activation %s (as a layer and as a Dense activation)', async (name) => {
    const activation = name as Parameters<typeof tf.layers.activation>[0]['activation'];
    await check([7], [tf.layers.dense({ units: 6, activation }), tf.layers.activation({ activation })]);
  });

  it('ReLU (with and without maxValue), LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax layers', async () => {
    await check([8], [tf.layers.dense({ units: 8 }), tf.layers.reLU()]);
    await check([8], [tf.layers.dense({ units: 8 }), tf.layers.reLU({ maxValue: 0.3 })]);
    await check([8], [tf.layers.leakyReLU({ alpha: 0.2 })]);
    await check([3, 4], [tf.layers.prelu({ sharedAxes: [1] })]);
    await check([8], [tf.layers.prelu()]);
    // TF.js's ELU layer accepts only alpha 1.
    await check([8], [tf.layers.elu()]);
    await check([8], [tf.layers.thresholdedReLU({ theta: 0.25 })]);
    await check([4], [tf.layers.softmax()]);
    await check([3, 4], [tf.layers.softmax({ axis: -1 })]);
  });

  it('Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout and AlphaDropout are identities', async () => {
    await check(
      [5, 4],
      [
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.spatialDropout1d({ rate: 0.5 }),
        tf.layers.gaussianNoise({ stddev: 1 }),
        tf.layers.gaussianDropout({ rate: 0.4 }),
        tf.layers.alphaDropout({ rate: 0.3 }),
        tf.layers.dense({ units: 2 }),
      ],
    );
  });

  it('Flatten, Reshape, Permute and RepeatVector', async () => {
    await check([2, 3, 4], [tf.layers.flatten(), tf.layers.dense({ units: 3 })]);
    await check([12], [tf.layers.reshape({ targetShape: [3, 4] }), tf.layers.dense({ units: 2 })]);
    await check([12], [tf.layers.reshape({ targetShape: [2, -1] })]);
    await check([2, 3, 4], [tf.layers.permute({ dims: [3, 1, 2] })]);
    await check([5], [tf.layers.repeatVector({ n: 3 }), tf.layers.dense({ units: 2 })]);
  });
});

describe('normalisation layers', () => {
  it('BatchNormalization on the last axis, with and without scale/center', async () => {
    await check([6], [tf.layers.batchNormalization()]);
    await check([4, 5], [tf.layers.batchNormalization({ epsilon: 0.01 })]);
    await check([4, 5], [tf.layers.batchNormalization({ center: false, scale: false })]);
  });

  it('LayerNormalization (ONNX op at 17, decomposed at 13), with and without scale/center', async () => {
    await check([6], [tf.layers.layerNormalization()]);
    await check([3, 6], [tf.layers.layerNormalization({ epsilon: 1e-5 })]);
    await check([3, 6], [tf.layers.layerNormalization({ axis: [1, 2] })]);
    await check([6], [tf.layers.layerNormalization({ center: false, scale: false })]);
  });
});

describe('merge layers', () => {
  function twoInputs(merge: (inputs: tf.SymbolicTensor[]) => tf.SymbolicTensor, width = 5): tf.LayersModel {
    const a = tf.input({ shape: [width], name: 'left' });
    const b = tf.input({ shape: [width], name: 'right' });
    const left = tf.layers.dense({ units: width }).apply(a) as tf.SymbolicTensor;
    const right = tf.layers.dense({ units: width }).apply(b) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: merge([left, right]) });
    randomizeWeights(model);
    return model;
  }

  it.each([
    ['Add', () => tf.layers.add()],
    ['Multiply', () => tf.layers.multiply()],
    ['Average', () => tf.layers.average()],
    ['Maximum', () => tf.layers.maximum()],
    ['Minimum', () => tf.layers.minimum()],
    ['Concatenate', () => tf.layers.concatenate()],
  ] as const)('%s', async (_name, make) => {
    await expectParity(twoInputs((inputs) => make().apply(inputs) as tf.SymbolicTensor));
  });

  it('Add of three inputs and Concatenate on a middle axis', async () => {
    const input = tf.input({ shape: [3, 4] });
    const branches = [0, 1, 2].map(() => tf.layers.dense({ units: 4 }).apply(input) as tf.SymbolicTensor);
    const sum = tf.layers.add().apply(branches) as tf.SymbolicTensor;
    const joined = tf.layers
      .concatenate({ axis: 1 })
      .apply([sum, branches[0] as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: joined });
    randomizeWeights(model);
    await expectParity(model);
  });

  it('Dot of vectors (plain and normalised) and of sequences', async () => {
    await expectParity(twoInputs((inputs) => tf.layers.dot({ axes: 1 }).apply(inputs) as tf.SymbolicTensor));
    await expectParity(
      twoInputs((inputs) => tf.layers.dot({ axes: -1, normalize: true }).apply(inputs) as tf.SymbolicTensor),
    );
    const a = tf.input({ shape: [3, 4] });
    const b = tf.input({ shape: [5, 4] });
    const model = tf.model({
      inputs: [a, b],
      outputs: tf.layers.dot({ axes: [2, 2] }).apply([a, b]) as tf.SymbolicTensor,
    });
    await expectParity(model);
  });
});
