/**
 * Parity of the convolution, pooling, padding, cropping and upsampling layers at opset 17 and 13,
 * at batch 1 and 37, in channels-last and (where TF.js computes it correctly) channels-first
 * layout, plus the configurations that are refused.
 */
import { isQuiverError } from '@quiver/core';
import { toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { errorOf, expectParity, randomizeWeights, sequentialOf } from './support.js';

function check(inputShape: (number | null)[], layers: tf.layers.Layer[]): Promise<unknown> {
  const model = sequentialOf(inputShape as number[], layers);
  randomizeWeights(model);
  return expectParity(model);
}

/** Asserts that exporting `layer` after an input of `inputShape` is refused, naming `reason`. */
function expectRefused(inputShape: number[], layer: tf.layers.Layer, reason: string): void {
  const model = sequentialOf(inputShape, [layer]);
  const error = errorOf(() => toOnnx(model));
  expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER'), String(error)).toBe(true);
  expect((error as Error).message).toContain(reason);
}

describe('convolutions', () => {
  it('Conv2D: valid and same, strides, dilation, without bias, activations', async () => {
    await check([6, 7, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3 })]);
    await check(
      [6, 7, 3],
      [tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], padding: 'same', activation: 'relu' })],
    );
    await check(
      [9, 8, 2],
      [tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: [2, 3], activation: 'tanh' })],
    );
    await check(
      [9, 8, 2],
      [tf.layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: [2, 1], padding: 'same' })],
    );
    await check(
      [9, 8, 2],
      [tf.layers.conv2d({ filters: 3, kernelSize: 2, dilationRate: 3, useBias: false })],
    );
    // Softmax over the channels: the activation must run in NHWC, after the transpose back.
    await check([5, 5, 2], [tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: 'softmax' })]);
  });

  it('Conv2D: same padding that is asymmetric (odd pixel at the end) with odd sizes and strides', async () => {
    // H: out 4, total pad 3 → 1 + 2; W: out 3, total pad 1 → 0 + 1.
    await check(
      [7, 6, 3],
      [tf.layers.conv2d({ filters: 2, kernelSize: [4, 3], strides: 2, padding: 'same' })],
    );
    // An even kernel at stride 1 pads only at the end.
    await check(
      [5, 5, 2],
      [tf.layers.conv2d({ filters: 2, kernelSize: 2, padding: 'same', activation: 'sigmoid' })],
    );
    await check(
      [8, 7, 1],
      [tf.layers.conv2d({ filters: 2, kernelSize: 5, strides: [3, 2], padding: 'same' })],
    );
  });

  it('Conv2D: channelsFirst', async () => {
    await check([3, 6, 7], [tf.layers.conv2d({ filters: 4, kernelSize: 3, dataFormat: 'channelsFirst' })]);
    await check(
      [2, 7, 6],
      [
        tf.layers.conv2d({
          filters: 3,
          kernelSize: [4, 3],
          strides: 2,
          padding: 'same',
          dataFormat: 'channelsFirst',
          activation: 'elu',
        }),
      ],
    );
  });

  it('Conv2D: unknown spatial sizes (SAME_UPPER when strided; static pads at stride 1, also dilated)', async () => {
    await check(
      [null, null, 3],
      [tf.layers.conv2d({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' })],
    );
    await check(
      [null, null, 3],
      [tf.layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, padding: 'same' })],
    );
    await check([null, null, 3], [tf.layers.conv2d({ filters: 2, kernelSize: 3 })]);
  });

  it('Conv1D: valid and same, strides, dilation, without bias, activations', async () => {
    await check([9, 3], [tf.layers.conv1d({ filters: 4, kernelSize: 3 })]);
    await check(
      [9, 3],
      [tf.layers.conv1d({ filters: 4, kernelSize: 4, padding: 'same', activation: 'relu' })],
    );
    await check(
      [10, 2],
      [tf.layers.conv1d({ filters: 3, kernelSize: 3, strides: 3, padding: 'same', useBias: false })],
    );
    await check(
      [11, 2],
      [tf.layers.conv1d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh' })],
    );
    await check([null, 2], [tf.layers.conv1d({ filters: 3, kernelSize: 2, strides: 2, padding: 'same' })]);
  });

  it('DepthwiseConv2D: depth multipliers 1–3, strides, asymmetric same, without bias, activation', async () => {
    await check([6, 7, 3], [tf.layers.depthwiseConv2d({ kernelSize: 3 })]);
    await check(
      [6, 7, 3],
      [tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu6' })],
    );
    await check(
      [7, 8, 2],
      [tf.layers.depthwiseConv2d({ kernelSize: [2, 3], depthMultiplier: 3, strides: 2, padding: 'same' })],
    );
    await check([5, 6, 4], [tf.layers.depthwiseConv2d({ kernelSize: 2, padding: 'same', useBias: false })]);
    await check(
      [4, 6, 7],
      [tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, dataFormat: 'channelsFirst' })],
    );
  });

  it('SeparableConv2D: depth multiplier, strides, dilation, same, without bias, activations', async () => {
    await check([6, 7, 3], [tf.layers.separableConv2d({ filters: 4, kernelSize: 3 })]);
    await check(
      [7, 8, 3],
      [
        tf.layers.separableConv2d({
          filters: 5,
          kernelSize: [3, 2],
          depthMultiplier: 2,
          strides: 2,
          padding: 'same',
          activation: 'relu',
        }),
      ],
    );
    await check(
      [9, 9, 2],
      [tf.layers.separableConv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' })],
    );
    await check(
      [6, 6, 2],
      [tf.layers.separableConv2d({ filters: 3, kernelSize: 2, useBias: false, activation: 'softmax' })],
    );
  });

  it('SeparableConv2D: channelsFirst without bias (TF.js applies the activation in NHWC)', async () => {
    await check(
      [3, 6, 7],
      [tf.layers.separableConv2d({ filters: 4, kernelSize: 3, useBias: false, dataFormat: 'channelsFirst' })],
    );
    // A softmax before the transpose back normalises over the filters, not the width.
    await check(
      [3, 6, 7],
      [
        tf.layers.separableConv2d({
          filters: 4,
          kernelSize: 3,
          useBias: false,
          activation: 'softmax',
          dataFormat: 'channelsFirst',
        }),
      ],
    );
  });

  it('Conv2DTranspose: valid and same, strides, kernel smaller than stride, without bias, activation', async () => {
    await check([3, 4, 2], [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3 })]);
    await check(
      [3, 4, 2],
      [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, activation: 'relu' })],
    );
    await check(
      [3, 4, 2],
      [tf.layers.conv2dTranspose({ filters: 3, kernelSize: [3, 4], strides: 2, padding: 'same' })],
    );
    await check(
      [3, 4, 2],
      [tf.layers.conv2dTranspose({ filters: 2, kernelSize: 5, strides: [2, 3], padding: 'same' })],
    );
    // A kernel smaller than the stride leaves zero rows (output_padding).
    await check([3, 4, 2], [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 3 })]);
    await check(
      [3, 4, 2],
      [tf.layers.conv2dTranspose({ filters: 3, kernelSize: [2, 1], strides: [3, 2], padding: 'same' })],
    );
    await check(
      [4, 3, 2],
      [
        tf.layers.conv2dTranspose({
          filters: 2,
          kernelSize: 3,
          strides: 2,
          useBias: false,
          activation: 'tanh',
        }),
      ],
    );
    await check(
      [null, null, 2],
      [tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' })],
    );
  });

  it('Conv2DTranspose: channelsFirst, and dilationRate (which TF.js ignores for this layer)', async () => {
    await check(
      [2, 3, 4],
      [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, dataFormat: 'channelsFirst' })],
    );
    await check(
      [2, 3, 4],
      [
        tf.layers.conv2dTranspose({
          filters: 3,
          kernelSize: 4,
          strides: 2,
          padding: 'same',
          dataFormat: 'channelsFirst',
        }),
      ],
    );
    await check([3, 4, 2], [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, dilationRate: 2 })]);
  });
});

describe('pooling', () => {
  it.each([
    ['MaxPooling2D', tf.layers.maxPooling2d],
    ['AveragePooling2D', tf.layers.averagePooling2d],
  ] as const)(
    '%s: valid and same, strides, asymmetric padding, channelsFirst, unknown sizes',
    async (_name, make) => {
      await check([6, 7, 3], [make({ poolSize: 2 })]);
      await check([7, 7, 3], [make({ poolSize: [3, 2], strides: [2, 1] })]);
      // Same with odd sizes: the padding is at the end, and averages exclude it.
      await check([7, 5, 2], [make({ poolSize: 2, padding: 'same' })]);
      await check([8, 7, 2], [make({ poolSize: [3, 4], strides: [2, 3], padding: 'same' })]);
      await check(
        [2, 7, 5],
        [make({ poolSize: 2, strides: 2, padding: 'same', dataFormat: 'channelsFirst' })],
      );
      await check([2, 6, 6], [make({ poolSize: 3, strides: 1, dataFormat: 'channelsFirst' })]);
      await check([null, null, 2], [make({ poolSize: 3, strides: 2, padding: 'same' })]);
    },
  );

  it.each([
    ['MaxPooling1D', tf.layers.maxPooling1d],
    ['AveragePooling1D', tf.layers.averagePooling1d],
  ] as const)('%s: valid and same, strides, and causal (TF.js pools it as valid)', async (_name, make) => {
    await check([8, 3], [make({ poolSize: 2 })]);
    await check([9, 3], [make({ poolSize: 3, strides: 2 })]);
    await check([7, 2], [make({ poolSize: 2, padding: 'same' })]);
    await check([10, 2], [make({ poolSize: 4, strides: 3, padding: 'same' })]);
    await check([null, 2], [make({ poolSize: 3, strides: 2, padding: 'same' })]);
    await check([7, 3], [make({ poolSize: 2, strides: 1, padding: 'causal' as 'valid' })]);
  });

  it('GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D, channelsLast and channelsFirst', async () => {
    await check([6, 3], [tf.layers.globalAveragePooling1d()]);
    await check([6, 3], [tf.layers.globalMaxPooling1d()]);
    await check([5, 6, 3], [tf.layers.globalAveragePooling2d({})]);
    await check([5, 6, 3], [tf.layers.globalMaxPooling2d({})]);
    await check([3, 5, 6], [tf.layers.globalAveragePooling2d({ dataFormat: 'channelsFirst' })]);
    await check([3, 5, 6], [tf.layers.globalMaxPooling2d({ dataFormat: 'channelsFirst' })]);
    await check([null, null, 3], [tf.layers.globalAveragePooling2d({})]);
  });
});

describe('padding, cropping and upsampling', () => {
  it('ZeroPadding2D: symmetric, per axis, asymmetric, channelsFirst', async () => {
    await check([4, 5, 2], [tf.layers.zeroPadding2d()]);
    await check([4, 5, 2], [tf.layers.zeroPadding2d({ padding: [1, 2] })]);
    await check(
      [4, 5, 2],
      [
        tf.layers.zeroPadding2d({
          padding: [
            [0, 2],
            [3, 1],
          ],
        }),
      ],
    );
    await check(
      [2, 4, 5],
      [
        tf.layers.zeroPadding2d({
          padding: [
            [1, 0],
            [0, 2],
          ],
          dataFormat: 'channelsFirst',
        }),
      ],
    );
  });

  it('Cropping2D: symmetric, per axis, asymmetric (including an uncropped edge), channelsFirst', async () => {
    await check([6, 7, 2], [tf.layers.cropping2D({ cropping: 1 })]);
    await check([6, 7, 2], [tf.layers.cropping2D({ cropping: [2, 1] })]);
    await check(
      [6, 7, 2],
      [
        tf.layers.cropping2D({
          cropping: [
            [0, 2],
            [3, 0],
          ],
        }),
      ],
    );
    await check(
      [2, 6, 7],
      [
        tf.layers.cropping2D({
          cropping: [
            [1, 2],
            [0, 1],
          ],
          dataFormat: 'channelsFirst',
        }),
      ],
    );
  });

  it('UpSampling2D: nearest and bilinear, non-square factors, channelsFirst, unknown sizes', async () => {
    await check([3, 4, 2], [tf.layers.upSampling2d({})]);
    await check([3, 4, 2], [tf.layers.upSampling2d({ size: [2, 3] })]);
    await check([3, 4, 2], [tf.layers.upSampling2d({ size: [3, 2], interpolation: 'bilinear' })]);
    await check([5, 3, 2], [tf.layers.upSampling2d({ size: [4, 5], interpolation: 'bilinear' })]);
    await check([2, 3, 4], [tf.layers.upSampling2d({ size: [2, 3], dataFormat: 'channelsFirst' })]);
    await check(
      [2, 3, 4],
      [tf.layers.upSampling2d({ size: [3, 2], interpolation: 'bilinear', dataFormat: 'channelsFirst' })],
    );
    await check([null, null, 2], [tf.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' })]);
  });
});

describe('refused configurations', () => {
  it('Conv2D with causal padding (TF.js cannot run it; Keras has no causal Conv2D)', () => {
    expectRefused(
      [5, 5, 2],
      tf.layers.conv2d({ filters: 2, kernelSize: 2, padding: 'causal' }),
      'padding "causal"',
    );
  });

  it('Conv1D with causal padding (TF.js cannot run it, and declares the valid output length)', () => {
    const model = sequentialOf(
      [10, 2],
      [tf.layers.conv1d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'causal' })],
    );
    // Keras's causal output would keep all 10 steps; TF.js declares 10 − 4 and cannot compute it.
    expect(model.outputs[0]?.shape).toEqual([null, 6, 3]);
    expect(() => model.predict(tf.ones([1, 10, 2]))).toThrow(/CAUSAL/);
    expectRefused(
      [10, 2],
      tf.layers.conv1d({ filters: 3, kernelSize: 3, padding: 'causal' }),
      'padding "causal"',
    );
  });

  it('a strided dilated convolution (TF.js cannot run it)', () => {
    const conv = (): tf.layers.Layer =>
      tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 });
    expect(() => sequentialOf([9, 9, 2], [conv()]).predict(tf.ones([1, 9, 9, 2]))).toThrow(
      /strides or dilations/,
    );
    expectRefused([9, 9, 2], conv(), 'strided dilated');
    expectRefused(
      [9, 9, 2],
      tf.layers.separableConv2d({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 }),
      'strided dilated',
    );
  });

  it('Conv1D with channelsFirst (TF.js returns NWC values under an NCW shape)', () => {
    expectRefused(
      [3, 7],
      tf.layers.conv1d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' }),
      'channelsFirst',
    );
  });

  it('DepthwiseConv2D with dilation (TF.js ignores it)', () => {
    expectRefused(
      [7, 7, 2],
      tf.layers.depthwiseConv2d({ kernelSize: 3, dilationRate: 2 }),
      'dilationRate [2, 2]',
    );
  });

  it('UpSampling2D with a single-number size (TF.js computes NaN output sizes)', () => {
    expectRefused([3, 4, 2], tf.layers.upSampling2d({ size: 2 as unknown as number[] }), 'size 2');
  });

  it('SeparableConv2D with channelsFirst and a bias (TF.js adds it on the wrong axis)', () => {
    expectRefused(
      [4, 5, 6],
      tf.layers.separableConv2d({ filters: 3, kernelSize: 3, dataFormat: 'channelsFirst' }),
      'useBias',
    );
  });
});

describe('a small CNN', () => {
  it('a classifier: Conv2D → BatchNormalization → MaxPooling2D → depthwise/separable/transposed convs, resampling, padding → GlobalAveragePooling2D → Dense softmax', async () => {
    const model = sequentialOf(
      [12, 11, 3],
      [
        tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
        tf.layers.depthwiseConv2d({
          kernelSize: 3,
          depthMultiplier: 2,
          strides: 2,
          padding: 'same',
          activation: 'relu',
        }),
        tf.layers.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }),
        tf.layers.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.zeroPadding2d({
          padding: [
            [1, 0],
            [0, 1],
          ],
        }),
        tf.layers.cropping2D({
          cropping: [
            [0, 1],
            [1, 0],
          ],
        }),
        tf.layers.averagePooling2d({ poolSize: 3, strides: 2 }),
        tf.layers.conv2d({ filters: 10, kernelSize: 1 }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 4, activation: 'softmax' }),
      ],
    );
    randomizeWeights(model);
    const reports = await expectParity(model);
    expect(reports.every((report) => report.passed)).toBe(true);
  });
});
