// Trains the small classifier offline (QUIVER_MODE=offline, QUIVER_DIR from the environment) with
// the checkpoint callback for many epochs, printing `epoch <n> <run id>` after each one, until it
// is killed.
import { init } from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import { trainWithCallback } from '../offline/training.js';

const run = await init({ project: 'crashing', entity: 'vision' });
class Announce extends tf.CustomCallback {
  constructor() {
    super({
      onEpochEnd: async (epoch) => {
        await new Promise<void>((resolve) =>
          process.stdout.write(`epoch ${epoch + 1} ${run.id}\n`, () => resolve()),
        );
      },
    });
  }
}
await trainWithCallback(run, { model: 'crashing', epochs: 1000, extraCallbacks: [new Announce()] });
