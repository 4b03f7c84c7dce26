/**
 * The ONNX suite: exporting a model of ≥ 10M parameters to ONNX — conversion, the parity check
 * against TF.js in onnxruntime-node, and writing `model.onnx` — against saving the same model in
 * the TF.js layers format (`model.json` + `weights.bin` through tf.io.withSaveHandler), in the
 * same run, alternating.
 */
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import type { Measurement } from './support/figures.js';
import { removeTree } from './support/files.js';
import { alternate, median, progress } from './support/measure.js';
import { saveLayersFiles } from './support/tfjs-save.js';

const ROUNDS = 7;
const PARITY_SAMPLES = 8;

function buildModel(): tf.LayersModel {
  const input = tf.input({ shape: [1024] });
  let hidden = tf.layers.dense({ units: 2048, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  hidden = tf.layers.batchNormalization().apply(hidden) as tf.SymbolicTensor;
  const block = tf.layers.dense({ units: 2048, activation: 'gelu' }).apply(hidden) as tf.SymbolicTensor;
  hidden = tf.layers.add().apply([hidden, block]) as tf.SymbolicTensor;
  hidden = tf.layers.layerNormalization().apply(hidden) as tf.SymbolicTensor;
  hidden = tf.layers.dense({ units: 2048, activation: 'relu' }).apply(hidden) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/** Saving in the TF.js layers format, as `model.save` does with a file handler. */
async function saveTfjs(model: tf.LayersModel, folder: string): Promise<number> {
  const start = performance.now();
  await saveLayersFiles(model, folder);
  return (performance.now() - start) / 1000;
}

/** Conversion, parity check in onnxruntime-node, and writing model.onnx. */
async function exportWithParity(model: tf.LayersModel, folder: string, maxDiffs: number[]): Promise<number> {
  const start = performance.now();
  const exported = await exportOnnx(model, {
    parity: { sampleCount: PARITY_SAMPLES },
    path: join(folder, 'model.onnx'),
  });
  const seconds = (performance.now() - start) / 1000;
  maxDiffs.push(Math.max(...(exported.parity?.outputs ?? []).map((output) => output.maxAbsoluteDifference)));
  return seconds;
}

export async function run(): Promise<Measurement[]> {
  await tf.setBackend('wasm');
  const model = buildModel();
  const parameters = model.countParams();
  progress(`model of ${parameters.toLocaleString()} parameters on the wasm backend`);
  const folder = await mkdtemp(join(tmpdir(), 'quiver-bench-onnx-'));
  const maxDiffs: number[] = [];
  try {
    await saveTfjs(model, folder); // warm-up: wasm kernels, allocator, onnxruntime load
    await exportWithParity(model, folder, []);
    const samples = await alternate(ROUNDS, {
      tfjs: () => saveTfjs(model, folder),
      onnx: () => exportWithParity(model, folder, maxDiffs),
    });
    const exportSeconds = median(samples.onnx);
    return [
      {
        id: '1',
        name: 'export to ONNX with the parity check (and write model.onnx) vs save in the TF.js format',
        value: exportSeconds,
        unit: 's',
        baseline: {
          name: 'model.save(withSaveHandler) writing model.json + weights.bin',
          value: median(samples.tfjs),
        },
        target: { kind: 'ratio', max: 2 },
        checks: [
          {
            name: `parity within 1e-4 (max ${Math.max(...maxDiffs).toExponential(2)})`,
            ok: maxDiffs.every((diff) => diff <= 1e-4),
          },
        ],
        notes: [
          `${parameters.toLocaleString()} parameters; parity on ${PARITY_SAMPLES} generated samples; median of ${ROUNDS} alternating rounds`,
        ],
        samples: { candidate: samples.onnx, baseline: samples.tfjs },
      },
    ];
  } finally {
    model.dispose();
    await removeTree(folder);
  }
}
