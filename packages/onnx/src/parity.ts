/**
 * The parity check: runs the exported model in onnxruntime-node and the TF.js model on the same
 * inputs and compares every output element-wise.
 */
import { QuiverError } from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { ownsBuffer, runOnWorker, type WorkerTensor } from './onnx-worker.js';
import type { OnnxSignature } from './signature.js';
import type { OnnxExport } from './to-onnx.js';

export interface ParityTolerance {
  /** Allowed |onnx − tfjs| (default 1e-4). */
  absolute?: number;
  /** Allowed extra difference relative to |tfjs| (default 1e-4); like numpy's allclose. */
  relative?: number;
}

export interface ParityOptions {
  /** Inputs to compare on (e.g. validation data), one tensor per model input. */
  samples?: tf.Tensor | tf.Tensor[];
  /** How many samples to use: a prefix of `samples`, or how many to generate (default 8). */
  sampleCount?: number;
  tolerance?: ParityTolerance;
  /** What a mismatch does: throw `E_PARITY_MISMATCH` (default) or warn and carry on. */
  onMismatch?: 'error' | 'warn';
  /** A seed for generated inputs (default 1). */
  seed?: number;
}

export interface OutputParity {
  name: string;
  maxAbsoluteDifference: number;
  /** max |onnx − tfjs| / |tfjs| over elements where |tfjs| ≥ 1e-6. */
  maxRelativeDifference: number;
  withinTolerance: boolean;
}

export interface ParityReport {
  passed: boolean;
  samples: number;
  inputSource: 'given' | 'generated';
  tolerance: Required<ParityTolerance>;
  outputs: OutputParity[];
  runtime: string;
}

const DEFAULT_TOLERANCE: Required<ParityTolerance> = { absolute: 1e-4, relative: 1e-4 };

/** mulberry32: a small deterministic generator, so parity inputs repeat run to run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type LayerWithNodes = tf.layers.Layer & { inboundNodes: { inputTensors: tf.SymbolicTensor[] }[] };

/** Vocabulary size of an Embedding fed directly by model input `inputId`, if there is one. */
function embeddingVocabulary(model: tf.LayersModel, inputId: number): number | undefined {
  for (const layer of model.layers as LayerWithNodes[]) {
    if (layer.getClassName() !== 'Embedding') continue;
    const fed = layer.inboundNodes.some((node) => node.inputTensors.some((tensor) => tensor.id === inputId));
    if (fed) return (layer.getConfig() as { inputDim: number }).inputDim;
  }
  return undefined;
}

/**
 * Inputs generated from the model's signature: uniform in [-1, 1), or valid token ids in
 * [0, vocabulary) for inputs that feed an Embedding. Unknown non-batch dimensions become 5.
 */
export function generateInputs(model: tf.LayersModel, count: number, seed = 1): tf.Tensor[] {
  const random = generator(seed);
  return model.inputs.map((input) => {
    const shape = input.shape.map((dim, index) => (index === 0 ? count : (dim ?? 5)));
    const size = shape.reduce((product, dim) => product * dim, 1);
    const vocabulary = embeddingVocabulary(model, input.id);
    const values = new Float32Array(size);
    for (let index = 0; index < size; index++)
      values[index] = vocabulary === undefined ? random() * 2 - 1 : Math.floor(random() * vocabulary);
    return tf.tensor(values, shape, input.dtype === 'int32' ? 'int32' : 'float32');
  });
}

function compare(
  name: string,
  actual: Float32Array,
  expected: Float32Array,
  tolerance: Required<ParityTolerance>,
): OutputParity {
  if (actual.length !== expected.length)
    return {
      name,
      maxAbsoluteDifference: Number.POSITIVE_INFINITY,
      maxRelativeDifference: Number.POSITIVE_INFINITY,
      withinTolerance: false,
    };
  let maxAbsolute = 0;
  let maxRelative = 0;
  let within = true;
  for (let index = 0; index < expected.length; index++) {
    const reference = expected[index] as number;
    const difference = Math.abs((actual[index] as number) - reference);
    if (!(difference <= tolerance.absolute + tolerance.relative * Math.abs(reference))) within = false;
    if (!(difference <= maxAbsolute))
      maxAbsolute = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
    if (Math.abs(reference) >= 1e-6) maxRelative = Math.max(maxRelative, difference / Math.abs(reference));
  }
  return {
    name,
    maxAbsoluteDifference: maxAbsolute,
    maxRelativeDifference: maxRelative,
    withinTolerance: within,
  };
}

function sliceSamples(list: tf.Tensor[], count: number | undefined): tf.Tensor[] {
  if (count === undefined) return list;
  return list.map((tensor) => tensor.slice(0, Math.min(count, tensor.shape[0] ?? count)));
}

/**
 * Session options of a parity run. Graph optimisations run as in serving; weight prepacking (a
 * copy into GEMM-friendly layouts that pays off only over many runs) is off.
 */
const SESSION_OPTIONS = {
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  extra: { session: { disable_prepacking: '1' } },
} as const;

/** The inputs as onnxruntime takes them, by graph input name. */
function feedsOf(signature: OnnxSignature, inputs: tf.Tensor[]): Record<string, WorkerTensor> {
  const feeds: Record<string, WorkerTensor> = {};
  signature.inputs.forEach((input, index) => {
    const tensor = inputs[index] as tf.Tensor;
    const values = tensor.dataSync();
    const dims = tensor.shape;
    feeds[input.name] =
      input.dtype === 'int64'
        ? { type: 'int64', data: BigInt64Array.from(values, (value) => BigInt(Math.round(value))), dims }
        : input.dtype === 'int32'
          ? { type: 'int32', data: Int32Array.from(values), dims }
          : { type: 'float32', data: Float32Array.from(values), dims };
  });
  return feeds;
}

/** onnxruntime on this thread: create, run, release. */
async function runInline(
  bytes: Uint8Array,
  feeds: Record<string, WorkerTensor>,
): Promise<Record<string, WorkerTensor>> {
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  try {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([name, feed]) => [
        name,
        new ort.Tensor(feed.type as 'float32', feed.data as Float32Array, feed.dims),
      ]),
    );
    const results = await session.run(inputs);
    return Object.fromEntries(
      Object.entries(results).map(([name, tensor]) => [
        name,
        { type: tensor.type, data: tensor.data as Float32Array, dims: tensor.dims },
      ]),
    );
  } finally {
    await session.release();
  }
}

/**
 * Compares the ONNX export with the TF.js model. Throws `E_PARITY_MISMATCH` naming the output
 * (unless `onMismatch: 'warn'`) and returns the figures either way.
 */
export async function checkParity(
  model: tf.LayersModel,
  exported: Pick<OnnxExport, 'bytes' | 'signature'> & Partial<Pick<OnnxExport, 'softmaxOmitted'>>,
  options: ParityOptions = {},
): Promise<ParityReport> {
  return (await runParity(model, exported, options, false)).report;
}

/**
 * The parity check. With `transfer`, onnxruntime runs on a worker while TF.js predicts here, and
 * `exported.bytes` is moved there and back: use the returned `bytes` afterwards (exportOnnx does).
 * The worker also writes the bytes to `writePath` meanwhile (`written` says it did).
 */
export async function runParity(
  model: tf.LayersModel,
  exported: Pick<OnnxExport, 'bytes' | 'signature'> & Partial<Pick<OnnxExport, 'softmaxOmitted'>>,
  options: ParityOptions,
  transfer: boolean,
  writePath?: string,
): Promise<{ report: ParityReport; bytes: Uint8Array; written: boolean }> {
  const tolerance = { ...DEFAULT_TOLERANCE, ...options.tolerance };
  const inputSource = options.samples === undefined ? 'generated' : 'given';
  // A graph with a fixed batch (dynamicBatch: false) takes exactly that many samples.
  const fixedBatch = exported.signature.inputs[0]?.shape[0];
  const count = typeof fixedBatch === 'number' ? fixedBatch : options.sampleCount;
  const given =
    options.samples === undefined
      ? undefined
      : Array.isArray(options.samples)
        ? options.samples
        : [options.samples];
  if (given && given.length !== exported.signature.inputs.length)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `parity.samples has ${given.length} tensors but the model has ${exported.signature.inputs.length} inputs; pass one per input, in order.`,
      { details: { option: 'parity.samples' } },
    );
  const inputs =
    given === undefined ? generateInputs(model, count ?? 8, options.seed) : sliceSamples(given, count);
  const predict = (): Float32Array[] =>
    tf.tidy(() => {
      const output = model.predict(inputs.length === 1 ? (inputs[0] as tf.Tensor) : inputs);
      return (Array.isArray(output) ? output : [output]).map((tensor) => tensor.dataSync() as Float32Array);
    });
  let bytes = exported.bytes;
  let written = false;
  let results: Record<string, WorkerTensor>;
  let predicted: Float32Array[];
  try {
    const feeds = feedsOf(exported.signature, inputs);
    if (transfer && ownsBuffer(bytes)) {
      const job = runOnWorker(bytes, SESSION_OPTIONS, feeds, writePath);
      job.catch(() => undefined);
      predicted = predict();
      const done = await job;
      bytes = done.bytes;
      results = done.outputs;
      if (done.writeError !== undefined) throw new Error(`Writing ${writePath} failed: ${done.writeError}`);
      written = writePath !== undefined;
    } else {
      results = await runInline(bytes, feeds);
      predicted = predict();
    }
  } finally {
    if (given === undefined || count !== undefined) for (const tensor of inputs) tensor.dispose();
  }
  const omitted = new Set(exported.softmaxOmitted ?? []);
  const outputs = exported.signature.outputs.map((signature, index) => {
    const result = results[signature.name];
    const logits = result?.data as Float32Array | undefined;
    // Logits are compared as TF.js computes them: through the softmax the graph left out.
    const actual =
      logits && result && omitted.has(signature.name)
        ? tf.tidy(() => tf.softmax(tf.tensor(logits, [...result.dims])).dataSync() as Float32Array)
        : logits;
    return compare(
      signature.name,
      actual ?? new Float32Array(),
      predicted[index] ?? new Float32Array(),
      tolerance,
    );
  });
  const report: ParityReport = {
    passed: outputs.every((output) => output.withinTolerance),
    samples: inputs[0]?.shape[0] ?? 0,
    inputSource,
    tolerance,
    outputs,
    runtime: `onnxruntime-node ${ort.env.versions.common}`,
  };
  if (!report.passed) {
    const failing = outputs.filter((output) => !output.withinTolerance);
    const message =
      `The ONNX export does not compute what the TF.js model computes: ${failing
        .map(
          (output) =>
            `output "${output.name}" differs by up to ${output.maxAbsoluteDifference.toExponential(3)}`,
        )
        .join('; ')} (tolerance ${tolerance.absolute} absolute + ${tolerance.relative} relative). ` +
      'Report the model to Quiver, or pass parity: { onMismatch: "warn" } to export anyway.';
    if ((options.onMismatch ?? 'error') === 'error')
      throw new QuiverError('E_PARITY_MISMATCH', message, { details: { outputs: failing } });
    process.emitWarning(message, { code: 'QUIVER_ONNX_PARITY' });
  }
  return { report, bytes, written };
}
