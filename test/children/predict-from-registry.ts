// A consumer's script: loads a model from a registry ref on the team server (QUIVER_BASE_URL,
// QUIVER_API_KEY, QUIVER_ENTITY) and prints its predictions for a fixed input as JSON.
// Usage: predict-from-registry.ts <ref>
import { loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { useWasm } from '../tfjs/support.js';

const ref = process.argv[2];
if (!ref) throw new Error('usage: predict-from-registry.ts <ref>');
await useWasm();
const model = await loadModel(ref);
const input = tf.tensor2d([
  [0.1, -0.2, 0.3, 0.4, -0.5, 0.6],
  [1, 0, -1, 0.5, 0.25, -0.75],
]);
const output = model.predict(input) as tf.Tensor;
process.stdout.write(`${JSON.stringify({ ref, predictions: await output.array() })}\n`);
