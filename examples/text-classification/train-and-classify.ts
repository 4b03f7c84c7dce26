// Trains a small TF.js text classifier on the wasm backend with a tokenizer built from its own
// corpus. Every checkpoint carries tokenizer.json/tokenizer_config.json and the labels; the best is
// linked into the registry, and sentences are classified by a transformers.js pipeline loaded from
// the registry ref (exported to ONNX, local files only) next to TF.js's own softmax.
import '@tensorflow/tfjs-backend-wasm';
import { init } from '@quiver/core';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import { buildTokenizer, loadPipeline, tokenizerFiles, type WordPieceTokenizer } from '@quiver/transformers';
import * as tf from '@tensorflow/tfjs';
import { corpus, LABELS, REQUESTS } from './corpus.js';
import { enableEmbeddingGradientOnWasm } from './wasm-embedding-gradient.js';

await tf.setBackend('wasm');
enableEmbeddingGradientOnWasm();
const epochs = Number(process.env.DEMO_EPOCHS ?? 30);
const registeredModel = process.env.DEMO_REGISTERED_MODEL ?? 'topic-classifier';
const BATCH_SIZE = 8;

const rows = corpus();
const validation = rows.filter((_, index) => index % 5 === 4);
const training = rows.filter((_, index) => index % 5 !== 4);
const tokenizer = buildTokenizer(
  training.map((row) => row.text),
  { maxLength: 32 },
);

/**
 * Batches of similar length, each padded with [PAD] to its longest sentence: what the
 * transformers.js pipeline feeds the model for a batch, and close to the unpadded single sentence.
 */
function batches(
  examples: { text: string; label: number }[],
  tok: WordPieceTokenizer,
  shuffleSeed?: number,
): tf.data.Dataset<tf.TensorContainer> {
  const sorted = [...examples].sort((a, b) => tok.encode(a.text).length - tok.encode(b.text).length);
  const groups: (typeof examples)[] = [];
  for (let start = 0; start < sorted.length; start += BATCH_SIZE)
    groups.push(sorted.slice(start, start + BATCH_SIZE));
  let state = shuffleSeed ?? 0;
  return tf.data.generator(function* () {
    const order = groups.map((_, index) => index);
    if (shuffleSeed !== undefined) {
      for (let index = order.length - 1; index > 0; index--) {
        state = (state * 16807) % 2147483647;
        const other = state % (index + 1);
        [order[index], order[other]] = [order[other] as number, order[index] as number];
      }
    }
    for (const index of order) {
      const group = groups[index] as typeof examples;
      const ids = tok.encodeBatch(group.map((row) => row.text));
      yield {
        xs: tf.tensor2d(ids, [ids.length, ids[0]?.length ?? 0], 'int32'),
        ys: tf.oneHot(
          tf.tensor1d(
            group.map((row) => row.label),
            'int32',
          ),
          LABELS.length,
        ),
      };
    }
  });
}

// Embedding → mean over the sequence → one logit per label. No inputLength: transformers.js
// feeds sequences of any length.
const model = tf.sequential({
  layers: [
    tf.layers.embedding({
      inputDim: tokenizer.vocabularySize,
      outputDim: 16,
      inputShape: [null],
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 7 }),
    }),
    tf.layers.globalAveragePooling1d(),
    tf.layers.dense({ units: LABELS.length, kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) }),
  ],
});
model.compile({
  optimizer: tf.train.adam(0.05),
  loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits),
  metrics: ['accuracy'],
});

const run = await init({
  project: process.env.QUIVER_PROJECT ?? 'text-classification-demo',
  jobType: 'train',
  config: { epochs, vocabularySize: tokenizer.vocabularySize, labels: [...LABELS] },
});
console.log(
  `run ${run.id} (${run.name}) in ${run.entity}/${run.project}, TF.js ${tf.version.tfjs} on ${tf.getBackend()}`,
);
console.log(
  `tokenizer: ${tokenizer.vocabularySize} ids (${tokenizer.vocabularySize - 4} words + [PAD] [UNK] [CLS] [SEP]) from ${training.length} training sentences; ${validation.length} held out`,
);

const callback = checkpointCallback(run, model, {
  monitor: 'val_loss',
  registryModel: { model: registeredModel, aliases: ['staging'] },
  // tokenizer.json, tokenizer_config.json and metadata.labels in every checkpoint.
  hooks: [tokenizerFiles(tokenizer, LABELS)],
});
await model.fitDataset(batches(training, tokenizer, 42), {
  epochs,
  validationData: batches(validation, tokenizer),
  verbose: 0,
  callbacks: [callback],
});
await run.finish();
const best = callback.best;
if (!best) throw new Error('No checkpoint was logged.');
console.log(
  `best ${best.ref}: val_loss ${(best.metadata.score as number).toFixed(4)}, linked as registry/${registeredModel}:staging`,
);

// Serve the registered model with transformers.js, in a run of its own so lineage records the use.
const ref = `registry/${registeredModel}:staging`;
const serving = await init({ project: run.project, jobType: 'serve' });
const classify = await loadPipeline('text-classification', ref, { run: serving });
const reference = await loadModel(ref);

const tfjsScores = (ids: number[][]): number[][] =>
  tf.tidy(() =>
    (reference.predict(tf.tensor2d(ids, undefined, 'int32')) as tf.Tensor).softmax().arraySync(),
  ) as number[][];
type Scored = { label: string; score: number };
let maxDifference = 0;
const compare = (scored: Scored[], expected: number[]): void => {
  for (const { label, score } of scored)
    maxDifference = Math.max(
      maxDifference,
      Math.abs(score - (expected[LABELS.indexOf(label as (typeof LABELS)[number])] ?? Number.NaN)),
    );
};

console.log(`\ntransformers.js text-classification pipeline from ${ref}:`);
let correct = 0;
for (const { text, expected } of REQUESTS) {
  const scored = (await classify(text, { top_k: null })) as Scored[];
  const [tfjs] = tfjsScores([tokenizer.encode(text)]);
  compare(scored, tfjs as number[]);
  const top = scored[0] as Scored;
  const tfjsTop = (tfjs as number[]).indexOf(Math.max(...(tfjs as number[])));
  const unknown = tokenizer.tokenize(text).filter((token) => token === '[UNK]').length;
  if (top.label === expected) correct++;
  console.log(
    `  ${JSON.stringify(text)}${unknown > 0 ? ` (${unknown} unknown words)` : ''}\n` +
      `    transformers.js ${scored.map((entry) => `${entry.label} ${entry.score.toFixed(4)}`).join(', ')}\n` +
      `    tfjs            ${LABELS[tfjsTop]} ${(tfjs as number[])[tfjsTop]?.toFixed(4)}; expected ${expected}`,
  );
}
// A batch is padded with [PAD] to its longest sentence, by the pipeline and by encodeBatch alike.
const texts = REQUESTS.map((request) => request.text);
const batched = (await classify(texts, { top_k: null })) as Scored[][];
tfjsScores(tokenizer.encodeBatch(texts)).forEach((expected, index) => {
  compare(batched[index] as Scored[], expected);
});
console.log(
  `${correct}/${REQUESTS.length} unseen sentences on the expected topic; batch of ${texts.length} compared too`,
);
console.log(`max |transformers.js − tfjs| ${maxDifference.toExponential(2)}`);
await classify.dispose();

// The same model with int8 weights (onnx/model_quantized.onnx, dtype q8): close, not equal.
const quantized = await loadPipeline('text-classification', ref, { run: serving, quantized: true });
const approximate = (await quantized(texts, { top_k: null })) as Scored[][];
let quantizedDifference = 0;
let sameTop = 0;
tfjsScores(tokenizer.encodeBatch(texts)).forEach((expected, index) => {
  const scored = approximate[index] as Scored[];
  for (const { label, score } of scored)
    quantizedDifference = Math.max(
      quantizedDifference,
      Math.abs(score - (expected[LABELS.indexOf(label as (typeof LABELS)[number])] ?? Number.NaN)),
    );
  if (scored[0]?.label === LABELS[expected.indexOf(Math.max(...expected))]) sameTop++;
});
console.log(
  `q8 pipeline (int8 weights): same top label for ${sameTop}/${texts.length}, max |q8 − tfjs| ${quantizedDifference.toExponential(2)}`,
);
await quantized.dispose();
await serving.finish();
console.log(`
Next:
  pnpm quiver artifact show ${ref}
  pnpm quiver lineage ${ref}`);
