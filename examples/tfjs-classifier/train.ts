// Trains a small classifier on the wasm backend with the Quiver checkpoint callback: metrics per
// epoch, a checkpoint whenever val_loss improves (`best` moves with it), and at the end the best
// checkpoint is linked into the model registry. Run with `pnpm demo`.
import '@tensorflow/tfjs-backend-wasm';
import { init } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { spirals } from './data.js';

await tf.setBackend('wasm');
const epochs = Number(process.env.DEMO_EPOCHS ?? 12);
const registeredModel = process.env.DEMO_REGISTERED_MODEL ?? 'spiral-classifier';

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [2], units: 64, activation: 'relu' }),
    tf.layers.dense({ units: 64, activation: 'relu' }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

const run = await init({
  project: process.env.QUIVER_PROJECT ?? 'quiver-demo',
  jobType: 'train',
  config: { epochs, units: 64, learningRate: 0.01 },
});
console.log(
  `run ${run.id} (${run.name}) in ${run.entity}/${run.project}, TF.js ${tf.version.tfjs} on ${tf.getBackend()}`,
);

const { xs, ys } = spirals(300);
const callback = checkpointCallback(run, model, {
  logModel: 'best',
  monitor: 'val_loss',
  includeOptimizer: true,
  registryModel: { model: registeredModel, aliases: ['staging'] },
});
await model.fit(xs, ys, {
  epochs,
  batchSize: 32,
  validationSplit: 0.2,
  verbose: 0,
  callbacks: [
    callback,
    new tf.CustomCallback({
      onEpochEnd: async (epoch, logs) =>
        console.log(
          `epoch ${epoch + 1}: loss ${logs?.loss?.toFixed(4)} val_loss ${logs?.val_loss?.toFixed(4)} val_acc ${logs?.val_acc?.toFixed(3)}`,
        ),
    }),
  ],
});
const summary = await run.finish();
const artifact = `${run.project}/model-${run.id}`;
if (process.env.QUIVER_MODE === 'offline') {
  // Recorded into a bundle, not into a store: it goes to the team server with quiver sync.
  console.log(`
finished offline: ${summary.state}; best ${callback.best?.ref} (val_loss ${(callback.best?.metadata.score as number | undefined)?.toFixed(4)})
recorded in the bundle offline/run-${run.id} of QUIVER_DIR, with its registry link

Next, with QUIVER_BASE_URL and QUIVER_API_KEY set (or after quiver login):
  pnpm quiver sync --dry-run
  pnpm quiver sync`);
  process.exit(0);
}
console.log(`
finished: ${summary.state}; best ${callback.best?.ref} (val_loss ${(callback.best?.metadata.score as number | undefined)?.toFixed(4)})
linked into the registry as registry/${registeredModel} with alias staging

Next:
  pnpm quiver artifact ls ${artifact}
  pnpm quiver artifact show ${artifact}:best
  pnpm quiver registry model show ${registeredModel}
  pnpm quiver registry alias set ${registeredModel} production --force
  pnpm quiver get registry/${registeredModel}:staging ./model
  pnpm quiver lineage registry/${registeredModel}:staging
  pnpm quiver run show ${run.id}

Look at it in the browser: ${
  process.env.QUIVER_BASE_URL
    ? `${process.env.QUIVER_BASE_URL.replace(/\/+$/, '')}/projects/${run.entity}/${run.project}/runs/${run.id}`
    : `pnpm quiver ui, then open http://127.0.0.1:5959/projects/${run.entity}/${run.project}/runs/${run.id}`
}`);
