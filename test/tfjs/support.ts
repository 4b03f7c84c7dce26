import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';

/** Switches TF.js to the wasm backend (SIMD, no threads) once. */
export async function useWasm(): Promise<void> {
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  await tf.ready();
}

/** A small compiled classifier: Sequential or functional. */
export function smallClassifier(kind: 'sequential' | 'functional' = 'sequential', seed = 1): tf.LayersModel {
  const initializer = tf.initializers.glorotUniform({ seed });
  if (kind === 'sequential') {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [6], units: 12, activation: 'relu', kernelInitializer: initializer }),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: initializer }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return model;
  }
  // Named: an automatic name counts the inputs the process made before (one suite runs per backend).
  const input = tf.input({ shape: [6], name: 'input1' });
  const hidden = tf.layers
    .dense({ units: 12, activation: 'relu', kernelInitializer: initializer })
    .apply(input) as tf.SymbolicTensor;
  const skip = tf.layers
    .dense({ units: 12, kernelInitializer: initializer })
    .apply(input) as tf.SymbolicTensor;
  const merged = tf.layers.add().apply([hidden, skip]) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: 3, activation: 'softmax', kernelInitializer: initializer })
    .apply(merged) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** 64 deterministic samples of 6 features and 3 classes. */
export function dataset(samples = 64): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const features: number[][] = [];
  const labels: number[] = [];
  for (let index = 0; index < samples; index++) {
    const label = index % 3;
    labels.push(label);
    features.push(
      Array.from(
        { length: 6 },
        (_, feature) => Math.sin(index * 0.7 + feature) + (feature === label ? 1.5 : 0),
      ),
    );
  }
  return { xs: tf.tensor2d(features), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D };
}

/** A callback that replaces epoch metrics with scripted values (placed before Quiver's). */
export class ScriptedMetrics extends tf.CustomCallback {
  constructor(values: Record<string, readonly number[]>) {
    super({
      onEpochEnd: async (epoch, logs) => {
        if (!logs) return;
        for (const [key, sequence] of Object.entries(values)) {
          const value = sequence[epoch];
          if (value !== undefined) logs[key] = value;
        }
      },
    });
  }
}
