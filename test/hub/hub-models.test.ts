/**
 * Programs with no Quiver package in them, pointed at the team server by a URL: TF.js saves with
 * `tf.io.http` and loads with `tf.loadLayersModel`, and transformers.js loads a pipeline of a
 * registry model at `production` through `env.remoteHost`. What they see equals what Quiver's
 * own SDK sees of the same versions.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createRepo, uploadFiles } from '@huggingface/hub';
import { env, pipeline } from '@huggingface/transformers';
import { type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { loadModel } from '@quiver/tfjs';
import { buildTokenizer, exportForTransformersJs } from '@quiver/transformers';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LABELS = ['sports', 'weather', 'food'];
const CORPUS: [string, number][] = [
  ['The team scored a late goal to win the match.', 0],
  ['The fans cheered when the team won the championship.', 0],
  ['Heavy rain and strong wind are forecast for tomorrow.', 1],
  ['Snow fell on the hills during a cold night.', 1],
  ['She baked a chocolate cake in the oven for dinner.', 2],
  ['We ate fresh bread with cheese for lunch.', 2],
];
const PROBES = ['The players scored a goal.', 'Cold wind and rain tonight.', 'Fresh bread and cheese.'];

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let base: string;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-hub-models-'));
  store = await openEmbeddedStore({ dir, entity: 'vision', actor: 'ada' });
  const { accounts } = store.backend;
  await accounts.createUser('ada');
  await accounts.createTeam('vision', 'ada');
  await accounts.setMember('vision', 'ada', 'admin');
  key = (await accounts.createKey('ada', 'hub')).key;
  app = await buildServer({ backend: store.backend, logger: false, webhooks: false });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const tokenizer = buildTokenizer(
  CORPUS.map(([text]) => text),
  { maxLength: 16 },
);

function classifier(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: tokenizer.vocabularySize,
        outputDim: 8,
        inputShape: [null],
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }),
      }),
      tf.layers.globalAveragePooling1d(),
      tf.layers.dense({
        units: LABELS.length,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(0.05),
    loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits),
  });
  return model;
}

async function train(model: tf.LayersModel, epochs: number): Promise<void> {
  const ids = tokenizer.encodeBatch(CORPUS.map(([text]) => text));
  const xs = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32');
  const ys = tf.oneHot(
    tf.tensor1d(
      CORPUS.map(([, label]) => label),
      'int32',
    ),
    LABELS.length,
  );
  await model.fit(xs, ys, { epochs, batchSize: 3, verbose: 0 });
  tf.dispose([xs, ys]);
}

const predict = (model: tf.LayersModel): number[][] =>
  tf.tidy(() => {
    const ids = tokenizer.encodeBatch(PROBES);
    return (model.predict(tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32')) as tf.Tensor).arraySync();
  }) as number[][];

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Every file under a folder, by relative path. */
function filesOf(folder: string): Array<{ path: string; content: Blob; bytes: Buffer }> {
  const out: Array<{ path: string; content: Blob; bytes: Buffer }> = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const full = join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const bytes = readFileSync(full);
        out.push({ path: relative(folder, full), content: new Blob([bytes]), bytes });
      }
    }
  };
  walk(folder);
  return out;
}

describe('TF.js and transformers.js against the Hub routes', () => {
  const auth = () => ({ requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  const model = classifier();
  let firstPrediction: number[][];

  it('model.save(tf.io.http(…)) logs a version; tf.loadLayersModel(url) of a registry ref loads it', async () => {
    await train(model, 6);
    firstPrediction = predict(model);
    const saved = await model.save(tf.io.http(`${base}/hf/vision/topics`, auth()));
    expect(saved.responses?.[0]?.status).toBe(200);
    const resolved = await store.backend.artifacts.resolve('vision/registry/topics:latest');
    expect(resolved.version.ref).toBe('vision/hub/topics:v0');
    const entries = await store.backend.artifacts.entries(resolved.version.id);
    expect(entries.map((entry) => entry.path)).toEqual(['model.json', 'model.weights.bin']);
    // The weights Quiver holds are the model's own bytes.
    const weights = await store.backend.blobs.read(entries[1]!.sha256, entries[1]!.size);
    const expected = Buffer.concat(model.getWeights().map((tensor) => Buffer.from(tensor.dataSync().buffer)));
    expect(sha256(weights)).toBe(sha256(expected));

    await train(model, 4);
    await model.save(tf.io.http(`${base}/hf/vision/topics`, auth()));
    expect((await store.backend.artifacts.resolve('vision/registry/topics:latest')).version.ref).toBe(
      'vision/hub/topics:v1',
    );
    await store.backend.registry.setAlias(
      { entity: 'vision', registry: 'model', model: 'topics', version: 0 },
      'production',
      { force: true },
    );
    const loaded = await tf.loadLayersModel(`${base}/hf/vision/topics/resolve/production/model.json`, auth());
    expect(predict(loaded)).toEqual(firstPrediction);
    // Quiver's own SDK loads the same model from the same version.
    expect(predict(await loadModel('vision/registry/topics:production', { store }))).toEqual(firstPrediction);
    const latest = await tf.loadLayersModel(`${base}/hf/vision/topics/resolve/main/model.json`, auth());
    expect(predict(latest)).toEqual(predict(model));
    expect(predict(latest)).not.toEqual(firstPrediction);
    // Without the key, nothing loads.
    await expect(tf.loadLayersModel(`${base}/hf/vision/topics/resolve/main/model.json`)).rejects.toThrow(
      /401/,
    );
  });

  it('pipeline(…) of a registry model at production, with env.remoteHost on the server, scores as the local folder', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'quiver-hub-tjs-'));
    const saved = { ...env };
    try {
      const exports: string[] = [];
      for (const version of ['v0', 'v1']) {
        const out = join(scratch, `export-${version}`);
        await exportForTransformersJs(`vision/hub/topics:${version}`, out, {
          store,
          tokenizer,
          labels: LABELS,
        });
        exports.push(out);
      }
      const hubUrl = `${base}/hf`;
      await createRepo({
        accessToken: `hf_${key}`,
        hubUrl,
        repo: { type: 'model', name: 'vision/topics-text' },
      });
      for (const [index, out] of exports.entries())
        await uploadFiles({
          accessToken: `hf_${key}`,
          hubUrl,
          repo: { type: 'model', name: 'vision/topics-text' },
          files: filesOf(out),
          commitTitle: `export v${index}`,
        });
      await store.backend.registry.setAlias(
        { entity: 'vision', registry: 'model', model: 'topics-text', version: 0 },
        'production',
        { force: true },
      );

      env.allowLocalModels = true;
      const local = await pipeline('text-classification', exports[0]!);
      const expected = await local(PROBES, { top_k: null });
      // main (v1) scores otherwise, so equal scores below mean production was loaded.
      const other = await (await pipeline('text-classification', exports[1]!))(PROBES, { top_k: null });
      expect(other).not.toEqual(expected);

      env.allowLocalModels = false;
      env.allowRemoteModels = true;
      env.remoteHost = `${base}/hf/`;
      env.cacheDir = join(scratch, 'cache');
      const requested: string[] = [];
      const plainFetch = saved.fetch;
      env.fetch = (input: string | URL, init?: { headers?: Record<string, string> }) => {
        requested.push(String(input));
        return plainFetch(input, {
          ...init,
          headers: { ...init?.headers, Authorization: `Bearer hf_${key}` },
        });
      };
      const remote = await pipeline('text-classification', 'vision/topics-text', { revision: 'production' });
      const scored = await remote(PROBES, { top_k: null });
      expect(scored).toEqual(expected);
      expect(requested.some((url) => url.includes('/resolve/production/onnx/model.onnx'))).toBe(true);
      // And the weights came from v0 (production), not from main.
      const onnx = readFileSync(join(exports[0]!, 'onnx/model.onnx'));
      const v0 = await store.backend.artifacts.resolve('vision/registry/topics-text:production');
      const entry = (await store.backend.artifacts.entries(v0.version.id)).find(
        (e) => e.path === 'onnx/model.onnx',
      );
      expect(entry?.sha256).toBe(sha256(onnx));
    } finally {
      Object.assign(env, saved);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
