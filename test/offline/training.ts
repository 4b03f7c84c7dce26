// Training for the offline suites and their child processes (no vitest in this module's graph).
import type { Run } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { dataset, ScriptedMetrics, useWasm } from '../tfjs/support.js';

/** The small classifier with fixed layer names and seeds: two trainings give the same bytes. */
function namedClassifier(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        name: 'hidden',
        inputShape: [6],
        units: 12,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
      }),
      tf.layers.dense({
        name: 'classes',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Scripted validation losses: `best` lands on the fourth epoch (0.5). */
export const VAL_LOSS = [0.9, 0.7, 0.8, 0.5, 0.6];

/** Trains the small classifier with the callback (`logModel: 'all'`), linking the best into `model` when given. */
export async function trainWithCallback(
  run: Run,
  options: { model?: string; epochs?: number; valLoss?: number[]; extraCallbacks?: tf.CustomCallback[] },
): Promise<void> {
  await useWasm();
  const model = namedClassifier();
  const { xs, ys } = dataset(64);
  const callbacks = [
    new ScriptedMetrics({ val_loss: options.valLoss ?? VAL_LOSS }),
    checkpointCallback(run, model, {
      logModel: 'all',
      ...(options.model !== undefined ? { registryModel: options.model } : {}),
    }),
    ...(options.extraCallbacks ?? []),
  ];
  await model.fit(xs, ys, {
    epochs: options.epochs ?? VAL_LOSS.length,
    batchSize: 16,
    validationSplit: 0.25,
    shuffle: false,
    verbose: 0,
    callbacks,
  });
  xs.dispose();
  ys.dispose();
  model.dispose();
}
