/**
 * The TF.js suite: the same model (≥ 5M parameters, epochs of a few seconds on the wasm backend)
 * fitted three ways in one run — no callback; a hand-written callback that saves each epoch to
 * disk with tf.io.withSaveHandler; the Quiver callback with logModel 'all' — alternating, so the
 * machine's drift touches all three alike. Reports Quiver ÷ hand-written, Quiver ÷ no callback, and
 * how long fit waited inside the Quiver callback per checkpoint.
 */
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { Measurement } from './support/figures.js';
import { removeTree } from './support/files.js';
import { median, progress } from './support/measure.js';
import { saveLayersFiles } from './support/tfjs-save.js';

const EPOCHS = 6;
const SAMPLES = 128;
const BATCH = 64;
const ROUNDS = 3;

function buildModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [1024], units: 2048, activation: 'relu' }),
      tf.layers.dense({ units: 2048, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy' });
  return model;
}

/** A callback someone would write by hand: save each epoch to disk and wait for it. */
function handWrittenSaver(model: tf.LayersModel, folder: string): tf.CustomCallback {
  return new tf.CustomCallback({
    onEpochEnd: async (epoch) => {
      await saveLayersFiles(model, join(folder, `epoch-${epoch + 1}`));
    },
  });
}

type Variant = 'none' | 'hand-written' | 'quiver';

async function fitOnce(
  variant: Variant,
  scratch: string,
  round: number,
  data: { xs: tf.Tensor; ys: tf.Tensor },
): Promise<{ seconds: number; blockedMs: number[] }> {
  const model = buildModel();
  const callbacks: tf.CustomCallback[] = [];
  let quiver: ReturnType<typeof checkpointCallback> | undefined;
  const run =
    variant === 'quiver' ? await init({ project: 'bench-tfjs', dir: join(scratch, 'store') }) : undefined;
  if (variant === 'hand-written') callbacks.push(handWrittenSaver(model, join(scratch, `hand-${round}`)));
  if (run) {
    quiver = checkpointCallback(run, model, { logModel: 'all' });
    callbacks.push(quiver);
  }
  const start = performance.now();
  await model.fit(data.xs, data.ys, { epochs: EPOCHS, batchSize: BATCH, verbose: 0, callbacks });
  const seconds = (performance.now() - start) / 1000;
  await run?.finish();
  model.dispose();
  return { seconds, blockedMs: quiver?.blockedMs ?? [] };
}

export async function run(): Promise<Measurement[]> {
  await tf.setBackend('wasm');
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-tfjs-'));
  const parameters = buildModel().countParams();
  progress(
    `model of ${parameters.toLocaleString()} parameters, ${EPOCHS} epochs × ${SAMPLES / BATCH} batches, wasm backend`,
  );
  const data = {
    xs: tf.randomNormal([SAMPLES, 1024]),
    ys: tf.oneHot(tf.randomUniform([SAMPLES], 0, 10, 'int32'), 10),
  };
  const times: Record<Variant, number[]> = { none: [], 'hand-written': [], quiver: [] };
  const blocked: number[] = [];
  try {
    await fitOnce('none', scratch, -1, data); // warm-up: wasm compilation, allocator
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['none', 'hand-written', 'quiver'] as const) {
        const { seconds, blockedMs } = await fitOnce(variant, scratch, round, data);
        progress(`round ${round + 1}: ${variant} ${seconds.toFixed(2)} s`);
        times[variant].push(seconds);
        blocked.push(...blockedMs);
      }
    }
  } finally {
    await removeTree(scratch);
  }
  const quiver = median(times.quiver);
  const note = `${parameters.toLocaleString()} parameters, ${EPOCHS} epochs, median of ${ROUNDS} fits each; epoch ≈ ${(median(times.none) / EPOCHS).toFixed(2)} s without callbacks`;
  return [
    {
      id: '1',
      name: "fit with the Quiver callback (logModel 'all') vs a hand-written save-each-epoch callback",
      value: quiver,
      unit: 's',
      baseline: { name: 'hand-written withSaveHandler callback', value: median(times['hand-written']) },
      target: { kind: 'ratio', max: 1.0 },
      notes: [note],
      samples: { candidate: times.quiver, baseline: times['hand-written'] },
    },
    {
      id: '2',
      name: "fit with the Quiver callback (logModel 'all') vs no callback",
      value: quiver,
      unit: 's',
      baseline: { name: 'no callback', value: median(times.none) },
      target: { kind: 'ratio', max: 1.05 },
      notes: [note],
      samples: { candidate: times.quiver, baseline: times.none },
    },
    {
      id: '3',
      name: 'time fit is blocked in the Quiver callback per checkpoint (median)',
      value: median(blocked),
      unit: 'ms',
      baseline: null,
      target: { kind: 'info' },
      notes: [`${blocked.length} checkpoints; max ${Math.max(...blocked).toFixed(1)} ms`],
    },
  ];
}
