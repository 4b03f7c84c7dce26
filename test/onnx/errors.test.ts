/**
 * What cannot be exported or logged is refused with a typed error that says what to do, and
 * nothing is written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, isQuiverError, type QuiverClient, type Store } from '@quiver/core';
import { logOnnx, supportedLayers, toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { errorOf } from './support.js';

class Scale extends tf.layers.Layer {
  static className = 'ScaleByTwo';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs, 2);
  }
}
tf.serialization.registerClass(Scale);

describe('export refusals', () => {
  it('a custom layer names the layer, its class and the supported list', () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [3], units: 2 }), new Scale({ name: 'doubler' })],
    });
    const error = errorOf(() => toOnnx(model));
    expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('"doubler" (ScaleByTwo)');
    expect(message).toContain('Supported layers: ');
    for (const layer of ['Dense', 'LayerNormalization', 'Concatenate']) expect(message).toContain(layer);
    expect((error as { details: { supported: string[] } }).details.supported).toEqual(supportedLayers());
  });

  it.each([
    ['Masking', () => tf.layers.masking({ inputShape: [4, 3] })],
    [
      'TimeDistributed',
      () => tf.layers.timeDistributed({ inputShape: [4, 3], layer: tf.layers.dense({ units: 2 }) }),
    ],
  ] as const)('an unsupported built-in layer (%s)', (className, make) => {
    const error = errorOf(() => toOnnx(tf.sequential({ layers: [make()] })));
    expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER')).toBe(true);
    expect((error as Error).message).toContain(`(${className})`);
  });

  it('a configuration without an exact ONNX form (BatchNormalization on axis 1)', () => {
    const model = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [4, 5], axis: 1 })] });
    const error = errorOf(() => toOnnx(model));
    expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER')).toBe(true);
    expect((error as Error).message).toContain('axis 1');
  });

  it('a merge of inputs of different ranks (TF.js and ONNX broadcast them differently)', () => {
    const a = tf.input({ shape: [4] });
    const b = tf.input({ shape: [3, 4] });
    const model = tf.model({ inputs: [a, b], outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor });
    const error = errorOf(() => toOnnx(model));
    expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER')).toBe(true);
    expect((error as Error).message).toContain('different ranks');
  });

  it('a nested model', () => {
    const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3 })] });
    const input = tf.input({ shape: [3] });
    const model = tf.model({ inputs: input, outputs: inner.apply(input) as tf.SymbolicTensor });
    expect(
      isQuiverError(
        errorOf(() => toOnnx(model)),
        'E_UNSUPPORTED_LAYER',
      ),
    ).toBe(true);
  });

  it.each([
    [{ opset: 12 }, 'opset'],
    [{ opset: 18 }, 'opset'],
    [{ dynamicBatch: false, batchSize: 0 }, 'batchSize'],
    [{ inputNames: ['a', 'b'] }, 'inputNames'],
    [{ outputNames: [''] }, 'outputNames'],
  ] as const)('invalid option %j', (options, option) => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    const error = errorOf(() => toOnnx(model, options));
    expect(isQuiverError(error, 'E_INVALID_OPTION')).toBe(true);
    expect((error as { details: { option: string } }).details.option).toBe(option);
  });
});

describe.each(sdkBackends())('logOnnx refusals leave the store untouched on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;
  let valid: Uint8Array;
  let dir: string;

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
    dir = mkdtempSync(join(tmpdir(), 'quiver-onnx-bad-'));
    valid = toOnnx(tf.sequential({ layers: [tf.layers.dense({ inputShape: [64], units: 64 })] })).bytes;
  });
  afterAll(async () => {
    await testStore?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const corrupt = (bytes: Uint8Array): Uint8Array => {
    const copy = Uint8Array.from(bytes);
    // Overwrite the graph's first node with garbage (the weights stay decodable protobuf).
    for (let index = 20; index < 60; index++) copy[index] = 0xff;
    return copy;
  };

  it.each([
    ['a truncated file', (bytes: Uint8Array) => bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['a corrupted file', corrupt],
    ['an empty file', () => new Uint8Array()],
    ['a text file', () => new TextEncoder().encode('{"not": "onnx"}')],
  ] as const)('%s', async (_label, damage) => {
    const run = await init({ project: 'onnx', store });
    const path = join(dir, 'damaged.onnx');
    writeFileSync(path, damage(valid));
    const error = await logOnnx(run, path, { name: 'external' }).catch((caught: unknown) => caught);
    expect(isQuiverError(error, 'E_INVALID_MODEL'), String(error)).toBe(true);
    expect((error as Error).message).toContain(path);
    await run.finish();
    expect(await client.artifacts({ project: 'onnx' })).toEqual([]);
    const blobs: unknown[] = [];
    for await (const blob of store.backend.blobs.list()) blobs.push(blob);
    expect(blobs).toEqual([]);
  });

  it('a missing file', async () => {
    const run = await init({ project: 'onnx', store });
    const error = await logOnnx(run, join(dir, 'nope.onnx'), { name: 'external' }).catch(
      (caught: unknown) => caught,
    );
    expect(isQuiverError(error, 'E_FILE_NOT_FOUND')).toBe(true);
    await run.finish();
    expect(await client.artifacts({ project: 'onnx' })).toEqual([]);
  });
});
