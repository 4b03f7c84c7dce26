// Trains the small classifier online (the server named by QUIVER_BASE_URL) with the checkpoint
// callback for EPOCHS epochs, a little slowly, printing `epoch <n> <run id>` after each one and
// `done <run id>` at the end.
import { init } from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import { trainWithCallback } from '../offline/training.js';

const epochs = Number(process.env.EPOCHS ?? 20);
const run = await init({ project: 'spooled' });
class Announce extends tf.CustomCallback {
  constructor() {
    super({
      onEpochEnd: async (epoch) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await new Promise<void>((resolve) =>
          process.stdout.write(`epoch ${epoch + 1} ${run.id}\n`, () => resolve()),
        );
      },
    });
  }
}
const valLoss = process.env.VAL_LOSS?.split(',').map(Number);
await trainWithCallback(run, {
  model: 'spooled',
  epochs,
  ...(valLoss ? { valLoss } : {}),
  extraCallbacks: [new Announce()],
});
await run.finish();
process.stdout.write(`done ${run.id}\n`);
