// Trains a small TF.js classifier on the wasm backend; every epoch's checkpoint carries an ONNX
// export checked against TF.js. The best checkpoint is linked into the registry, promoted to
// production, and served from `registry/<model>:production` with onnxruntime-node.
import '@tensorflow/tfjs-backend-wasm';
import { init, openClient } from '@quiver/core';
import { loadOnnxSession, onnxCheckpoints } from '@quiver/onnx';
import { checkpointCallback, loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';

await tf.setBackend('wasm');
const epochs = Number(process.env.DEMO_EPOCHS ?? 8);
const registeredModel = process.env.DEMO_REGISTERED_MODEL ?? 'blob-classifier';
const CLASSES = ['north', 'east', 'south', 'west'];

/** Four noisy clusters in 4-D (deterministic), one-hot labels. */
function clusters(count: number, seed: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  let state = seed;
  const noise = (): number => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647 - 0.5;
  };
  const features: number[][] = [];
  const labels: number[] = [];
  for (let index = 0; index < count; index++) {
    const label = index % CLASSES.length;
    const angle = (label * Math.PI) / 2;
    features.push([Math.cos(angle) + noise(), Math.sin(angle) + noise(), noise(), label / 3 + noise() * 2]);
    labels.push(label);
  }
  return {
    xs: tf.tensor2d(features),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES.length) as tf.Tensor2D,
  };
}

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [4], units: 32, activation: 'relu' }),
    tf.layers.batchNormalization(),
    tf.layers.dense({ units: 32, activation: 'gelu' }),
    tf.layers.dropout({ rate: 0.1 }),
    tf.layers.dense({ units: CLASSES.length, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

const run = await init({
  project: process.env.QUIVER_PROJECT ?? 'onnx-demo',
  jobType: 'train',
  config: { epochs },
});
console.log(
  `run ${run.id} (${run.name}) in ${run.entity}/${run.project}, TF.js ${tf.version.tfjs} on ${tf.getBackend()}`,
);

const train = clusters(400, 7);
const validation = clusters(80, 11);
const callback = checkpointCallback(run, model, {
  logModel: 'all',
  monitor: 'val_loss',
  registryModel: { model: registeredModel, aliases: ['staging'] },
  // Each checkpoint gets model.onnx, compared with TF.js on the validation inputs.
  hooks: [
    onnxCheckpoints({ outputNames: ['probabilities'], parity: { samples: validation.xs, sampleCount: 32 } }),
  ],
});
await model.fit(train.xs, train.ys, {
  epochs,
  batchSize: 32,
  validationData: [validation.xs, validation.ys],
  verbose: 0,
  callbacks: [callback],
});
await run.finish();
const best = callback.best;
if (!best) throw new Error('No checkpoint was logged.');
const parity = (best.metadata.onnx as { parity: { maxAbsoluteDifference: number } }).parity;
console.log(
  `best ${best.ref}: val_loss ${(best.metadata.score as number).toFixed(4)}, ONNX parity max |diff| ${parity.maxAbsoluteDifference.toExponential(2)}`,
);

// Promote the registered best to production (a protected alias: forced, and audited).
const client = await openClient();
await client.registry.setAlias(`registry/${registeredModel}:staging`, 'production', { force: true });
await client.close();

// Serve production with onnxruntime-node, in a run of its own so lineage records the use.
const serving = await init({ project: run.project, jobType: 'serve' });
const session = await loadOnnxSession(
  `registry/${registeredModel}:production`,
  { logSeverityLevel: 3 },
  { run: serving },
);
const requests = clusters(6, 99).xs;
const { probabilities } = await session.run({
  [session.inputNames[0] as string]: new ort.Tensor(
    'float32',
    requests.dataSync() as Float32Array,
    requests.shape,
  ),
});
const scores = probabilities?.data as Float32Array;
const reference = (await loadModel(`registry/${registeredModel}:production`)).predict(requests) as tf.Tensor;
let maxDifference = 0;
reference.dataSync().forEach((value, index) => {
  maxDifference = Math.max(maxDifference, Math.abs(value - (scores[index] as number)));
});
for (let row = 0; row < requests.shape[0]; row++) {
  const rowScores = Array.from(scores.subarray(row * CLASSES.length, (row + 1) * CLASSES.length));
  const top = rowScores.indexOf(Math.max(...rowScores));
  console.log(`request ${row}: ${CLASSES[top]} (${(rowScores[top] as number).toFixed(3)})`);
}
console.log(
  `served registry/${registeredModel}:production with onnxruntime-node; max |onnx − tfjs| ${maxDifference.toExponential(2)}`,
);
await session.release();
await serving.finish();
console.log(`
Next:
  pnpm quiver artifact show registry/${registeredModel}:production
  pnpm quiver registry history ${registeredModel}
  pnpm quiver lineage registry/${registeredModel}:production
  pnpm quiver get registry/${registeredModel}:production ./served-model`);
