import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { Artifact, type ArtifactVersion, init, type QuiverClient, type Store } from '@quiver/core';
import { inspectOnnx, toOnnx } from '@quiver/onnx';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import {
  buildTokenizer,
  exportForTransformersJs,
  loadPipeline,
  tokenizerFiles,
  WordPieceTokenizer,
} from '@quiver/transformers';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { runScript } from '../support/processes.js';

const LABELS = ['sports', 'weather', 'food'];
const CORPUS: [string, number][] = [
  ['The team scored a late goal to win the match.', 0],
  ['Our coach wants the players to pass the ball faster.', 0],
  ['The fans cheered when the team won the championship.', 0],
  ['The referee stopped the game after a foul.', 0],
  ['Every player trained hard before the new season.', 0],
  ['Heavy rain and strong wind are forecast for tomorrow.', 1],
  ['The sky is cloudy and the air is cold this morning.', 1],
  ['Snow fell on the hills during a cold night.', 1],
  ['The forecast says the weekend will be sunny and warm.', 1],
  ['A storm brought rain and wind to the coast.', 1],
  ['The soup tastes better with fresh bread and butter.', 2],
  ['She baked a chocolate cake in the oven for dinner.', 2],
  ['The chef cooked pasta with a rich tomato sauce.', 2],
  ['Add salt and pepper to the sauce before serving.', 2],
  ['We ate fresh bread with cheese for lunch.', 2],
];
const SENTENCES = [
  'The players scored a goal in the match.',
  'Cold wind and rain tonight.',
  'Fresh bread with cheese and tomato sauce.',
  'The quarterback threw a touchdown pass!', // mostly unknown words
  'Zyzzyva qwerty florp.', // only unknown words
  '',
];

/** The TF.js model's softmax for each row of ids. */
function tfjsSoftmax(model: tf.LayersModel, ids: number[][]): number[][] {
  return tf.tidy(() =>
    (model.predict(tf.tensor2d(ids, [ids.length, ids[0]?.length ?? 0], 'int32')) as tf.Tensor)
      .softmax()
      .arraySync(),
  ) as number[][];
}

type Scored = { label: string; score: number };

/** max |pipeline score − TF.js softmax| over every label of every row. */
function maxDifference(results: Scored[][], expected: number[][]): number {
  let max = 0;
  results.forEach((scored, row) => {
    expect(scored).toHaveLength(LABELS.length);
    for (const { label, score } of scored) {
      const reference = expected[row]?.[LABELS.indexOf(label)];
      expect(reference).toBeDefined();
      max = Math.max(max, Math.abs(score - (reference as number)));
    }
  });
  return max;
}

function classifier(vocabularySize: number, options: { outputs?: number; inputLength?: number } = {}) {
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: vocabularySize,
        outputDim: 8,
        ...(options.inputLength ? { inputLength: options.inputLength } : { inputShape: [null] }),
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }),
      }),
      tf.layers.globalAveragePooling1d(),
      tf.layers.dense({
        units: options.outputs ?? LABELS.length,
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

/** The TF.js files of a model (model.json + weights.bin), as a checkpoint holds them. */
async function tfjsFiles(model: tf.LayersModel): Promise<Record<string, Uint8Array | string>> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return {
    'model.json': JSON.stringify({
      modelTopology: saved!.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: saved!.weightSpecs }],
    }),
    'weights.bin': new Uint8Array(saved!.weightData as ArrayBuffer),
  };
}

/** The tokenizer is compared with transformers.js's: no store, so it runs once, not per backend. */
describe('transformers.js export', () => {
  describe('buildTokenizer', () => {
    let scratch: string;
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'quiver-tokenizers-'));
    });
    afterAll(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    const TEXTS = [
      'Hello, world! This is GREAT.',
      'Café naïve résumé — Ünïcödé',
      "don't stop-believing #hash (brackets) [x] a.b,c",
      'tabs\tand\nnewlines\r\n  and   spaces',
      '中文字 and 日本語 mixed',
      'control\u0000chars\u200b\ufffdhere',
      'literal [SEP] and [UNK] and [CLS][PAD] tokens, [sep] lowercased',
      `${'verylongword'.repeat(10)} short`,
      'emoji 🙂 and symbols $100 €5 ±3 ^_^',
    ];
    const tokenizerOf = async (built: WordPieceTokenizer, name: string) => {
      const dir = join(scratch, 'tokenizers', name);
      await built.save(dir);
      env.allowRemoteModels = false;
      return AutoTokenizer.from_pretrained(dir);
    };

    it('encode gives the ids transformers.js gives, one text and a padded batch', async () => {
      const built = buildTokenizer([...TEXTS.slice(0, 6), ...CORPUS.map(([text]) => text)], {
        maxLength: 16,
      });
      const reference = await tokenizerOf(built, 'lowercase');
      const probes = [...TEXTS, ...SENTENCES, 'word '.repeat(40)];
      for (const text of probes) {
        const encoded = reference(text, { padding: true, truncation: true });
        const ids = Array.from(encoded.input_ids.data, Number);
        expect(built.encode(text), JSON.stringify(text)).toEqual(ids);
        expect(built.decode(ids)).toBe(reference.decode(ids, { skip_special_tokens: true }));
      }
      expect(built.encode('word '.repeat(40))).toHaveLength(16); // truncated to model_max_length
      const batch = reference(probes, { padding: true, truncation: true });
      expect(built.encodeBatch(probes).flat()).toEqual(Array.from(batch.input_ids.data, Number));
      expect(built.encode('zzz unknownword')).toEqual([built.clsId, built.unkId, built.unkId, built.sepId]);
    });

    it('cased tokenizers, a vocabulary limit, and the files read back', async () => {
      const built = buildTokenizer(TEXTS, { lowercase: false, maxVocabulary: 20, maxLength: 64 });
      expect(built.vocabularySize).toBe(20);
      expect(built.vocabulary.slice(0, 4)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]']);
      const reference = await tokenizerOf(built, 'cased');
      for (const text of [...TEXTS, 'HELLO hello Hello']) {
        const encoded = reference(text, { padding: true, truncation: true });
        expect(built.encode(text), JSON.stringify(text)).toEqual(Array.from(encoded.input_ids.data, Number));
      }
      const contents = built.fileContents();
      const reread = WordPieceTokenizer.fromFiles(
        contents['tokenizer.json'],
        contents['tokenizer_config.json'],
      );
      for (const text of TEXTS) expect(reread.encode(text)).toEqual(built.encode(text));
      const json = built.toJSON()['tokenizer.json'];
      for (const key of ['model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder'])
        expect(json).toHaveProperty(key);
      expect(built.toJSON()['tokenizer_config.json']).toMatchObject({
        pad_token: '[PAD]',
        model_max_length: 64,
      });
      const bpe = { ...json, model: { ...json.model, type: 'BPE' } } as unknown as typeof json;
      expect(() => WordPieceTokenizer.fromFiles(bpe, built.toJSON()['tokenizer_config.json'])).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringContaining('BPE') }),
      );
      expect(() => buildTokenizer(TEXTS, { maxLength: 1 })).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION' }),
      );
    });
  });
});

describe.each(sdkBackends())('transformers.js export on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;
  let tokenizer: WordPieceTokenizer;
  let model: tf.LayersModel;
  let best: ArtifactVersion;
  let trainingRunId: string;

  async function commit(
    name: string,
    files: Record<string, Uint8Array | string>,
    metadata: Record<string, unknown> = {},
  ): Promise<ArtifactVersion> {
    const draft = new Artifact(name, 'model', { metadata: metadata as never });
    for (const [path, content] of Object.entries(files)) draft.addBytes(path, content);
    return client.commit(draft, { project: 'nlp' });
  }

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
    tokenizer = buildTokenizer(
      CORPUS.map(([text]) => text),
      { maxLength: 24 },
    );
    model = classifier(tokenizer.vocabularySize);
    const run = await init({ store, project: 'nlp', jobType: 'train' });
    trainingRunId = run.id;
    const ids = tokenizer.encodeBatch(CORPUS.map(([text]) => text));
    const xs = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32');
    const ys = tf.oneHot(
      tf.tensor1d(
        CORPUS.map(([, label]) => label),
        'int32',
      ),
      LABELS.length,
    );
    const callback = checkpointCallback(run, model, {
      logModel: 'all',
      registryModel: { model: 'topics', aliases: ['staging'] },
      hooks: [tokenizerFiles(tokenizer, LABELS)],
    });
    await model.fit(xs, ys, { epochs: 8, batchSize: 5, verbose: 0, callbacks: [callback] });
    await run.finish();
    best = callback.best!;
    // The reference predictions come from the checkpoint that is exported.
    model = await loadModel(best.ref, { store });
  });

  afterAll(async () => {
    await testStore?.cleanup();
  });

  describe('the tokenizerFiles hook', () => {
    it('puts the tokenizer files and the labels in every checkpoint', async () => {
      const versions = await client.versions('nlp', `model-${trainingRunId}`);
      expect(versions.length).toBe(8);
      for (const version of versions) {
        const paths = (await version.entries()).map((entry) => entry.path);
        expect(paths).toEqual(
          expect.arrayContaining(['model.json', 'tokenizer.json', 'tokenizer_config.json']),
        );
        expect(version.metadata.labels).toEqual(LABELS);
        expect(version.metadata.tokenizer).toMatchObject({
          type: 'WordPiece',
          vocabularySize: tokenizer.vocabularySize,
        });
      }
    });
  });

  describe('exportForTransformersJs', () => {
    it('writes config.json, the tokenizer files and onnx/model.onnx (input_ids int64 → logits)', async () => {
      const dir = join(testStore.dir, 'export-layout');
      const exported = await exportForTransformersJs(best.ref, dir, { store, task: 'text-classification' });
      expect(exported.format).toBe('tfjs');
      expect(exported.tokenizer).toBe('version');
      expect(exported.labels).toEqual(LABELS);
      expect(exported.parity?.passed).toBe(true);
      expect(exported.files.sort()).toEqual(
        ['config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort(),
      );
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config).toMatchObject({
        model_type: 'bert',
        architectures: ['BertForSequenceClassification'],
        id2label: { 0: 'sports', 1: 'weather', 2: 'food' },
        label2id: { sports: 0, weather: 1, food: 2 },
        pad_token_id: 0,
        vocab_size: tokenizer.vocabularySize,
      });
      expect(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).toBe(
        tokenizer.fileContents()['tokenizer.json'],
      );
      const info = inspectOnnx(readFileSync(join(dir, 'onnx/model.onnx')));
      expect(info.signature.inputs).toEqual([
        { name: 'input_ids', dtype: 'int64', shape: ['batch', expect.any(String)] },
      ]);
      expect(info.signature.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 3] }]);
    });

    it('takes the tokenizer and labels from the options, and copies a suitable model.onnx', async () => {
      const onnx = toOnnx(model, {
        inputNames: ['input_ids'],
        inputDtypes: ['int64'],
        outputNames: ['logits'],
        logits: true,
      });
      const version = await commit('onnx-only', { 'model.onnx': onnx.bytes });
      const dir = join(testStore.dir, 'export-onnx');
      const exported = await exportForTransformersJs(version.ref, dir, {
        store,
        labels: ['a', 'b', 'c'],
        tokenizer: tokenizer.toJSON(),
      });
      expect(exported).toMatchObject({ format: 'onnx', tokenizer: 'option', labels: ['a', 'b', 'c'] });
      expect(new Uint8Array(readFileSync(join(dir, 'onnx/model.onnx')))).toEqual(onnx.bytes);
      const classify = await loadPipeline('text-classification', version.ref, {
        store,
        labels: ['a', 'b', 'c'],
        tokenizer,
      });
      const results = (await classify(SENTENCES, { top_k: null })) as Scored[][];
      const expected = tfjsSoftmax(model, tokenizer.encodeBatch(SENTENCES));
      const renamed = results.map((row) =>
        row.map(({ label, score }) => ({ label: LABELS[['a', 'b', 'c'].indexOf(label)]!, score })),
      );
      expect(maxDifference(renamed, expected)).toBeLessThanOrEqual(1e-4);
      await classify.dispose();
    });
  });

  describe('quantized (onnx/model_quantized.onnx)', () => {
    it('stores the large weights as int8 and loads them with dtype q8', async () => {
      const wide = tf.sequential({
        layers: [
          tf.layers.embedding({
            inputDim: tokenizer.vocabularySize,
            outputDim: 64,
            inputShape: [null],
            embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 9 }),
          }),
          tf.layers.globalAveragePooling1d(),
          tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
      const version = await commit(
        'wide',
        { ...(await tfjsFiles(wide)), ...tokenizer.fileContents() },
        { labels: LABELS },
      );
      const dir = join(testStore.dir, 'export-quantized');
      const exported = await exportForTransformersJs(version.ref, dir, { store, quantized: true });
      expect(exported.files).toContain('onnx/model_quantized.onnx');
      expect(exported.quantized?.initializers).toEqual([expect.stringContaining('embeddings')]);
      const fp32 = statSync(join(dir, 'onnx/model.onnx')).size;
      const q8 = statSync(join(dir, 'onnx/model_quantized.onnx')).size;
      expect(q8).toBeLessThan(fp32 / 2);
      expect(inspectOnnx(readFileSync(join(dir, 'onnx/model_quantized.onnx'))).signature).toEqual(
        exported.signature,
      );

      const expected = tfjsSoftmax(wide, tokenizer.encodeBatch(SENTENCES));
      const quantized = await loadPipeline('text-classification', version.ref, { store, quantized: true });
      const approximate = (await quantized(SENTENCES, { top_k: null })) as Scored[][];
      const difference = maxDifference(approximate, expected);
      expect(difference).toBeGreaterThan(0);
      expect(difference).toBeLessThan(2e-2);
      await quantized.dispose();
      const exact = await loadPipeline('text-classification', version.ref, { store });
      expect(
        maxDifference((await exact(SENTENCES, { top_k: null })) as Scored[][], expected),
      ).toBeLessThanOrEqual(1e-4);
      await exact.dispose();
    });
  });

  describe('loadPipeline', () => {
    it('classifies like TF.js (softmax within 1e-4), one sentence at a time and as a padded batch', async () => {
      const classify = await loadPipeline('text-classification', best.ref, { store });
      const single: Scored[][] = [];
      const expected: number[][] = [];
      for (const text of SENTENCES) {
        single.push((await classify(text, { top_k: null })) as Scored[]);
        expected.push(tfjsSoftmax(model, [tokenizer.encode(text)])[0]!);
      }
      expect(maxDifference(single, expected)).toBeLessThanOrEqual(1e-4);
      // Unknown words are [UNK], as in TF.js's ids.
      expect(tokenizer.encode('Zyzzyva qwerty florp.').slice(1, 4)).toEqual([1, 1, 1]);
      // top_k 1: the argmax label of TF.js.
      const [top] = (await classify(SENTENCES[0]!)) as Scored[];
      const row = expected[0]!;
      expect(top?.label).toBe(LABELS[row.indexOf(Math.max(...row))]);

      const batched = (await classify(SENTENCES, { top_k: null })) as Scored[][];
      expect(
        maxDifference(batched, tfjsSoftmax(model, tokenizer.encodeBatch(SENTENCES))),
      ).toBeLessThanOrEqual(1e-4);
      await classify.dispose();

      // Exported once into the store's cache, then reused.
      const cache = join(testStore.cacheDir, 'transformers', best.digest);
      expect(existsSync(join(cache, 'onnx', 'model.onnx'))).toBe(true);
      const written = statSync(join(cache, 'onnx', 'model.onnx')).mtimeMs;
      const again = await loadPipeline('text-classification', best.ref, { store });
      expect(statSync(join(cache, 'onnx', 'model.onnx')).mtimeMs).toBe(written);
      await again.dispose();
    });

    it('loads a registry ref and records the use in the run', async () => {
      const serving = await init({ store, project: 'nlp', jobType: 'serve' });
      const classify = await loadPipeline('text-classification', 'registry/topics:staging', { run: serving });
      const registered = await client.registry.version('registry/topics:staging');
      expect(registered.source.ref).toBe(best.ref);
      const results = (await classify(SENTENCES.slice(0, 3), { top_k: null })) as Scored[][];
      expect(
        maxDifference(results, tfjsSoftmax(model, tokenizer.encodeBatch(SENTENCES.slice(0, 3)))),
      ).toBeLessThanOrEqual(1e-4);
      await classify.dispose();
      await serving.finish();
      expect((await client.run(serving.id)).inputs.map((input) => input.ref)).toEqual([best.ref]);
    });

    it('honours cacheDir', async () => {
      const cacheDir = join(testStore.dir, 'my-cache');
      const classify = await loadPipeline('text-classification', best.ref, { store, cacheDir });
      expect(existsSync(join(cacheDir, 'config.json'))).toBe(true);
      await classify.dispose();
    });
  });

  describe('errors', () => {
    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (error: { code?: string; details?: Record<string, unknown> }) => error.code ?? String(error),
      );
    const out = () => join(testStore.dir, 'errors', String(Math.random()).slice(2));

    it('a version with neither a TF.js model nor an ONNX file', async () => {
      const version = await commit('readme-only', { 'README.md': '# nothing' });
      await expect(
        exportForTransformersJs(version.ref, out(), { store, labels: LABELS, tokenizer }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_MODEL',
        message: expect.stringContaining('neither a TF.js'),
      });
      // Weights only (no topology) is not a model either.
      const weightsOnly = await commit('weights-only', {
        'weights.json': '{}',
        'weights.bin': new Uint8Array(4),
      });
      expect(
        await code(exportForTransformersJs(weightsOnly.ref, out(), { store, labels: LABELS, tokenizer })),
      ).toBe('E_INVALID_MODEL');
    });

    it('missing labels, missing tokenizer', async () => {
      const bare = await commit('bare', await tfjsFiles(model));
      await expect(exportForTransformersJs(bare.ref, out(), { store, tokenizer })).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        details: expect.objectContaining({ option: 'labels' }),
      });
      await expect(exportForTransformersJs(bare.ref, out(), { store, labels: LABELS })).rejects.toMatchObject(
        {
          code: 'E_INVALID_OPTION',
          details: expect.objectContaining({ option: 'tokenizer' }),
        },
      );
      const halfTokenizer = await commit('half-tokenizer', {
        ...(await tfjsFiles(model)),
        'tokenizer.json': tokenizer.fileContents()['tokenizer.json'],
      });
      await expect(
        exportForTransformersJs(halfTokenizer.ref, out(), { store, labels: LABELS }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringContaining('tokenizer_config.json'),
      });
      const { normalizer: _normalizer, ...incomplete } = tokenizer.toJSON()['tokenizer.json'];
      await expect(
        exportForTransformersJs(bare.ref, out(), {
          store,
          labels: LABELS,
          tokenizer: { 'tokenizer.json': JSON.stringify(incomplete), 'tokenizer_config.json': '{}' },
        }),
      ).rejects.toMatchObject({ code: 'E_INVALID_OPTION', message: expect.stringContaining('normalizer') });
    });

    it('labels that do not match the outputs', async () => {
      await expect(
        exportForTransformersJs(best.ref, out(), { store, labels: ['only', 'two'] }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        details: expect.objectContaining({ outputs: 3, labels: 2 }),
      });
      const wrongMetadata = await commit('wrong-metadata', await tfjsFiles(model), {
        labels: ['x', 'y', 'z', 'w'],
      });
      await expect(
        exportForTransformersJs(wrongMetadata.ref, out(), { store, tokenizer }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_METADATA',
      });
      await expect(
        exportForTransformersJs(best.ref, out(), { store, labels: ['same', 'same', 'x'] }),
      ).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
      // An ONNX-only version is checked against its logits dimension.
      const onnx = toOnnx(model, {
        inputNames: ['input_ids'],
        inputDtypes: ['int64'],
        outputNames: ['logits'],
      });
      const onnxOnly = await commit('onnx-labels', { 'model.onnx': onnx.bytes });
      expect(
        await code(exportForTransformersJs(onnxOnly.ref, out(), { store, tokenizer, labels: ['a'] })),
      ).toBe('E_INVALID_OPTION');
    });

    it('models transformers.js cannot run', async () => {
      // ONNX with the exporter's default names.
      const onnx = toOnnx(model);
      const wrongNames = await commit('wrong-names', { 'model.onnx': onnx.bytes });
      await expect(
        exportForTransformersJs(wrongNames.ref, out(), { store, tokenizer, labels: LABELS }),
      ).rejects.toMatchObject({ code: 'E_INVALID_MODEL', message: expect.stringContaining('input_ids') });
      // A fixed sequence length.
      const fixed = await commit(
        'fixed-length',
        await tfjsFiles(classifier(tokenizer.vocabularySize, { inputLength: 24 })),
      );
      await expect(
        exportForTransformersJs(fixed.ref, out(), { store, tokenizer, labels: LABELS }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_MODEL',
        details: expect.objectContaining({ sequenceLength: 24 }),
      });
      // A final activation the pipeline's softmax would not reproduce.
      const sigmoid = classifier(tokenizer.vocabularySize);
      const sigmoidModel = tf.sequential({
        layers: [...sigmoid.layers.slice(0, 2), tf.layers.dense({ units: 3, activation: 'sigmoid' })],
      });
      const sigmoidVersion = await commit('sigmoid', await tfjsFiles(sigmoidModel));
      await expect(
        exportForTransformersJs(sigmoidVersion.ref, out(), { store, tokenizer, labels: LABELS }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_MODEL',
        details: expect.objectContaining({ activation: 'sigmoid' }),
      });
      // A tokenizer with more ids than the Embedding has rows.
      const small = await commit('small-embedding', await tfjsFiles(classifier(10)));
      await expect(
        exportForTransformersJs(small.ref, out(), { store, tokenizer, labels: LABELS }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_MODEL',
        details: expect.objectContaining({ inputDim: 10 }),
      });
    });

    it('unsupported options and a missing ref', async () => {
      expect(
        await code(
          exportForTransformersJs(best.ref, out(), { store, task: 'fill-mask' as 'text-classification' }),
        ),
      ).toBe('E_INVALID_OPTION');
      expect(await code(loadPipeline('summarization' as 'text-classification', best.ref, { store }))).toBe(
        'E_INVALID_OPTION',
      );
      expect(await code(exportForTransformersJs('nlp/no-such-model:v0', out(), { store }))).toBe(
        'E_NOT_FOUND',
      );
    });
  });
});

describe.each(sdkBackends())('examples/text-classification on %s', (backend) => {
  it('trains on wasm, links the best into the registry and classifies with transformers.js like TF.js', {
    timeout: 120_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const result = await runScript('examples/text-classification/train-and-classify.ts', [], {
      ...testStore.env,
      QUIVER_PROJECT: 'text-demo',
      DEMO_EPOCHS: '12',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('on wasm');
    const difference = /max \|transformers\.js − tfjs\| ([0-9.e+-]+)$/m.exec(result.stdout)?.[1];
    expect(difference).toBeDefined();
    expect(Number(difference)).toBeLessThanOrEqual(1e-4);
    const runId = /run (\w+) /.exec(result.stdout)?.[1];
    const client = await testStore.client();
    const best = await client.artifact(`text-demo/model-${runId}:best`);
    expect(best.metadata.labels).toEqual(['sports', 'weather', 'food']);
    const registered = await client.registry.version('registry/topic-classifier:staging');
    expect(registered.source.ref).toBe(best.ref);
    const [serving] = (await client.runs({ project: 'text-demo' })).filter((run) => run.jobType === 'serve');
    expect((await client.run(serving!.id)).inputs.map((input) => input.ref)).toEqual([best.ref]);
  });
});
