// Trains a small TF.js model with the checkpoint callback (logModel 'all') against the store of
// QUIVER_DIR / QUIVER_DATABASE_URL, printing `epoch <n> <ms since start>` at the end of every
// epoch so the test can restart PostgreSQL mid-run, then a JSON line with the run id.
// Usage: train-through-restart.ts <epochs> <ms per epoch>
import { init } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { dataset, smallClassifier, useWasm } from '../tfjs/support.js';

const epochs = Number(process.argv[2] ?? 20);
const pace = Number(process.argv[3] ?? 200);
const startedAt = Date.now();

await useWasm();
const run = await init({ project: 'restart' });
const model = smallClassifier();
const { xs, ys } = dataset();
// Stands for a longer epoch, so the restart lands in the middle of training.
const pacing = new tf.CustomCallback({
  onEpochEnd: async (epoch) => {
    process.stdout.write(`epoch ${epoch + 1} ${Date.now() - startedAt}\n`);
    await new Promise((resolve) => setTimeout(resolve, pace));
  },
});
await model.fit(xs, ys, {
  epochs,
  batchSize: 16,
  verbose: 0,
  callbacks: [checkpointCallback(run, model, { logModel: 'all', onError: 'throw' }), pacing],
});
const info = await run.finish();
process.stdout.write(`${JSON.stringify({ runId: run.id, state: info.state, ms: Date.now() - startedAt })}\n`);
