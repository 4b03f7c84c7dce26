/**
 * ONNX models from anywhere: logged with their signature, loaded back into onnxruntime-node by
 * artifact or registry ref, external data files included.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, isQuiverError, type QuiverClient, type Store } from '@quiver/core';
import { loadOnnxSession, logOnnx, toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../packages/onnx/src/proto/onnx-schema.js';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { randomizeWeights } from './support.js';

let model: tf.LayersModel;
let bytes: Uint8Array;
const sample = tf.tensor2d([[0.1, -0.4, 0.9, 0.3, -0.7, 0.2]]);

/** The model and its ONNX bytes are built once; each backend logs and loads them in its own store. */
beforeAll(() => {
  model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 16, activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  randomizeWeights(model);
  bytes = toOnnx(model, {
    inputNames: ['features'],
    outputNames: ['probabilities'],
    metadataProps: { trained_on: 'spirals' },
  }).bytes;
});

async function predictOnnx(session: ort.InferenceSession): Promise<number[]> {
  const result = await session.run({
    features: new ort.Tensor('float32', sample.dataSync() as Float32Array, [1, 6]),
  });
  return Array.from(result.probabilities?.data as Float32Array);
}

const expected = (): number[] => Array.from((model.predict(sample) as tf.Tensor).dataSync());

function expectClose(values: number[]): void {
  const reference = expected();
  expect(values).toHaveLength(reference.length);
  for (const [index, value] of reference.entries()) expect(values[index]).toBeCloseTo(value, 5);
}

/** Moves every initializer's data into `weights.bin` beside the model, as large models do. */
function withExternalData(source: Uint8Array, location: string): { model: Uint8Array; data: Buffer } {
  const proto = decodeModel(source);
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of proto.graph?.initializer ?? []) {
    const raw = Buffer.from(tensor.raw_data ?? new Uint8Array());
    tensor.raw_data = undefined;
    tensor.data_location = 1;
    tensor.external_data = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    chunks.push(raw);
    offset += raw.length;
  }
  return { model: encodeModel(proto), data: Buffer.concat(chunks) };
}

describe.each(sdkBackends())('logOnnx on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;
  /** Scratch files (model folders, a cache) of this backend's tests, outside the store. */
  let dir: string;

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
    dir = mkdtempSync(join(tmpdir(), 'quiver-onnx-files-'));
  });
  afterAll(async () => {
    await testStore?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs a model with its decoded signature and loads it by artifact and registry ref', async () => {
    const run = await init({ project: 'onnx', store });
    const version = await logOnnx(run, bytes, {
      name: 'classifier',
      aliases: ['candidate'],
      description: 'From elsewhere',
    });
    await run.finish();
    expect(version.type).toBe('model');
    expect((await version.entries()).map((entry) => entry.path)).toEqual(['model.onnx']);
    expect(version.metadata).toMatchObject({
      format: 'onnx',
      formats: ['onnx'],
      onnx: {
        file: 'model.onnx',
        fileSize: bytes.byteLength,
        irVersion: 8,
        opset: 17,
        producer: { name: 'quiver-onnx' },
        parameterCount: 6 * 16 + 16 + 16 * 3 + 3,
        metadataProps: { trained_on: 'spirals' },
        signature: {
          inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 6] }],
          outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 3] }],
        },
      },
    });

    const byAlias = await loadOnnxSession('onnx/classifier:candidate', {}, { store });
    const values = await predictOnnx(byAlias);
    expectClose(values);
    await byAlias.release();

    await client.registry.link(
      version.ref,
      { model: 'onnx-classifier' },
      { create: true, aliases: ['production'], force: true },
    );
    const consumer = await init({ project: 'serving', store });
    const byRegistry = await loadOnnxSession(
      'registry/onnx-classifier:production',
      {},
      { store, run: consumer },
    );
    expect(await predictOnnx(byRegistry)).toEqual(values);
    await byRegistry.release();
    await consumer.finish();
    const details = await client.run(consumer.id);
    expect(details.inputs.map((input) => input.ref)).toEqual([version.ref]);
  });

  it('repairs a damaged cached copy before loading it', async () => {
    const run = await init({ project: 'onnx', store });
    const version = await logOnnx(run, bytes, { name: 'cached' });
    await run.finish();
    const cacheDir = join(dir, 'cache');
    (await loadOnnxSession(version.ref, {}, { store, cacheDir })).release();
    writeFileSync(join(cacheDir, 'model.onnx'), 'tampered');
    const session = await loadOnnxSession(version.ref, {}, { store, cacheDir });
    const values = await predictOnnx(session);
    expectClose(values);
    await session.release();
  });

  it('logs a model whose weights live in an external data file, and loads it', async () => {
    const folder = mkdtempSync(join(dir, 'external-'));
    const split = withExternalData(bytes, 'weights.bin');
    writeFileSync(join(folder, 'model.onnx'), split.model);
    writeFileSync(join(folder, 'weights.bin'), split.data);
    const run = await init({ project: 'onnx', store });
    const version = await logOnnx(run, join(folder, 'model.onnx'), { name: 'large' });
    await run.finish();
    expect((await version.entries()).map((entry) => [entry.path, entry.size])).toEqual([
      ['model.onnx', split.model.byteLength],
      ['weights.bin', split.data.byteLength],
    ]);
    expect(version.metadata.onnx).toMatchObject({ externalData: ['weights.bin'] });
    // The same model given as bytes, with the folder of its external data.
    const asBytes = await init({ project: 'onnx', store });
    const fromBytes = await logOnnx(asBytes, split.model, { name: 'large-bytes', externalDataDir: folder });
    await asBytes.finish();
    expect((await fromBytes.entries()).map((entry) => entry.path)).toEqual(['model.onnx', 'weights.bin']);
    expect(readdirSync(folder).sort()).toEqual(['model.onnx', 'weights.bin']);
    const session = await loadOnnxSession('onnx/large', {}, { store });
    const values = await predictOnnx(session);
    expectClose(values);
    await session.release();
  });

  it.each([
    ['missing', 'weights.bin', false],
    ['outside the folder', '../weights.bin', true],
  ] as const)('refuses external data that is %s, logging nothing', async (_label, location, write) => {
    const folder = mkdtempSync(join(dir, 'bad-external-'));
    const split = withExternalData(bytes, location);
    writeFileSync(join(folder, 'model.onnx'), split.model);
    if (write) writeFileSync(join(folder, location), split.data);
    const run = await init({ project: 'onnx-refused', store });
    const error = await logOnnx(run, join(folder, 'model.onnx'), { name: 'large' }).catch(
      (caught: unknown) => caught,
    );
    await run.finish();
    expect(isQuiverError(error, 'E_INVALID_MODEL')).toBe(true);
    expect((error as Error).message).toContain(location);
    expect(await client.artifacts({ project: 'onnx-refused' })).toEqual([]);
  });

  it('refuses a version without an ONNX file when loading', async () => {
    const run = await init({ project: 'onnx', store });
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'not a model');
    const { Artifact } = await import('@quiver/core');
    await run.logArtifact(new Artifact('notes', 'model').addFile(path));
    await run.finish();
    const error = await loadOnnxSession('onnx/notes', {}, { store }).catch((caught: unknown) => caught);
    expect(isQuiverError(error, 'E_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain('holds no ONNX file');
    expect(readdirSync(dir)).toContain('notes.txt');
  });
});
