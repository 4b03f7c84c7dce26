// The callback configured only by environment variables, as a script someone else wrote would be:
//   QUIVER_PROJECT=env-demo QUIVER_LOG_MODEL=all QUIVER_KEEP_LAST=2 node train.js
// No run is created in code: the callback starts one from QUIVER_* and finishes it at the end.
import '@tensorflow/tfjs-backend-wasm';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';

await tf.setBackend('wasm');
const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [4], units: 16, activation: 'relu' }),
    tf.layers.dense({ units: 1 }),
  ],
});
model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });

// y = sum of the inputs, plus noise.
const xs = tf.randomNormal([512, 4], 0, 1, 'float32', 3);
const ys = xs.sum(1, true).add(tf.randomNormal([512, 1], 0, 0.1, 'float32', 4));
const callback = checkpointCallback(null, model);
await model.fit(xs, ys, {
  epochs: Number(process.env.DEMO_EPOCHS ?? 5),
  batchSize: 64,
  verbose: 0,
  callbacks: [callback],
});
console.log(
  `policy ${JSON.stringify({ logModel: callback.options.logModel, keep: callback.options.keep, saveFreq: callback.options.saveFreq })}`,
);
console.log(`last checkpoint ${callback.last?.ref} [${callback.last?.aliases.join(', ')}]`);
