/**
 * Shared checks for the ONNX exporter: every model is exported at each opset and compared with
 * TF.js (cpu backend) at batch 1 and 37 through the dynamic batch dimension.
 */
import { checkParity, type ParityReport, toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** The float32 tolerance of the issue: max |onnx − tfjs| ≤ 1e-4. */
export const MAX_ABS_DIFF = 1e-4;

export const OPSETS = [17, 13] as const;
export const BATCHES = [1, 37] as const;

export interface ParityExpectation {
  opsets?: readonly number[];
  batches?: readonly number[];
  /** Inputs to use instead of generated ones (already batched). */
  samples?: tf.Tensor | tf.Tensor[];
}

/**
 * Exports `model` at every opset and asserts that onnxruntime matches TF.js within 1e-4 on every
 * output at every batch size. Returns the reports for extra assertions.
 */
export async function expectParity(
  model: tf.LayersModel,
  expectation: ParityExpectation = {},
): Promise<ParityReport[]> {
  const reports: ParityReport[] = [];
  for (const opset of expectation.opsets ?? OPSETS) {
    const exported = toOnnx(model, { opset });
    expect(exported.opset).toBe(opset);
    const runs = expectation.samples
      ? [{ samples: expectation.samples }]
      : (expectation.batches ?? BATCHES).map((batch) => ({ sampleCount: batch, seed: batch }));
    for (const run of runs) {
      const report = await checkParity(model, exported, {
        ...run,
        onMismatch: 'warn',
        tolerance: { absolute: MAX_ABS_DIFF, relative: 0 },
      });
      for (const output of report.outputs) {
        expect(
          output.maxAbsoluteDifference,
          `opset ${opset}, batch ${report.samples}, output ${output.name}`,
        ).toBeLessThanOrEqual(MAX_ABS_DIFF);
      }
      reports.push(report);
    }
  }
  return reports;
}

/** A Sequential model of `layers` after an input of `inputShape`. */
export function sequentialOf(inputShape: number[], layers: tf.layers.Layer[]): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape }));
  for (const layer of layers) model.add(layer);
  return model;
}

/**
 * Gives every weight deterministic non-trivial values (biases, BN statistics and all), so parity
 * is not checked against zeros or ones.
 */
export function randomizeWeights(model: tf.LayersModel, seed = 7): void {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((weight, index) => {
        const name = layer.weights[index]?.originalName ?? '';
        const values = Float32Array.from({ length: weight.size }, () =>
          // Variances must stay positive.
          /moving_variance|variance/.test(name) ? 0.5 + next() : next() * 1.2 - 0.6,
        );
        return tf.tensor(values, weight.shape);
      }),
    );
  }
}

/** The error `work` throws (and a failure when it throws none). */
export function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
