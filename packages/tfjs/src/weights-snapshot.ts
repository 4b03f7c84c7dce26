import * as tf from '@tensorflow/tfjs';

/** A tensor with the name it is saved under. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** `LayersModel.getTrainingConfig` is what `save()` itself uses; TypeScript marks it protected. */
type WithTrainingConfig = { getTrainingConfig(): tf.io.TrainingConfig };

/**
 * The model's state at one instant, taken synchronously: topology JSON, weight specs and every
 * weight's bytes copied once, in order, into one buffer (the `weights.bin` layout). A single
 * memcpy per weight is all the training loop pays; hashing and writing happen on the queue.
 */
export interface WeightsSnapshot {
  modelTopology: tf.io.ModelJSON['modelTopology'] | undefined;
  trainingConfig: tf.io.TrainingConfig | undefined;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The wasm backend exposes a view of a tensor in its heap: read it without an intermediate copy. */
type HeapBackend = { typedArrayFromHeap?(tensor: tf.Tensor): TypedArray };

function valuesOf(tensor: tf.Tensor): TypedArray {
  const backend = tf.backend() as unknown as HeapBackend;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function')
    return backend.typedArrayFromHeap(tensor);
  return tensor.dataSync() as TypedArray;
}

/**
 * Reuses the weight buffers of checkpoints already stored, so a checkpoint does not allocate (and
 * later garbage-collect) a model-sized buffer in the training loop every time.
 */
export class WeightBufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly capacity = 4) {}

  /** A buffer of exactly `size` bytes, reused when one is free (its old bytes are overwritten). */
  take(size: number): ArrayBuffer {
    const index = this.free.findIndex((buffer) => buffer.byteLength === size);
    if (index !== -1) return this.free.splice(index, 1)[0]!;
    return new ArrayBuffer(size);
  }

  /** Gives a buffer back once nothing reads it any more. */
  release(buffer: ArrayBuffer): void {
    if (this.free.length < this.capacity) this.free.push(buffer);
  }
}

function viewsOf(
  named: readonly NamedTensor[],
  group?: tf.io.WeightGroup,
): { specs: tf.io.WeightsManifestEntry[]; views: Uint8Array[] } {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const views = named.map(({ name, tensor }) => {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
      throw new TypeError(`Cannot checkpoint weight '${name}' of dtype ${tensor.dtype}.`);
    }
    specs.push({ name, shape: [...tensor.shape], dtype: tensor.dtype, ...(group ? { group } : {}) });
    const values = valuesOf(tensor);
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  });
  return { specs, views };
}

/** Takes a snapshot; `await`s only the optimizer's own accessor (no I/O). */
export async function takeSnapshot(
  model: tf.LayersModel,
  options: { includeOptimizer: boolean; weightsOnly: boolean },
  pool: WeightBufferPool = new WeightBufferPool(0),
): Promise<WeightsSnapshot> {
  const modelTopology = options.weightsOnly
    ? undefined
    : (model.toJSON(null, false) as tf.io.ModelJSON['modelTopology']);
  const withOptimizer = options.includeOptimizer && model.optimizer != null;
  const trainingConfig = withOptimizer
    ? (model as unknown as WithTrainingConfig).getTrainingConfig()
    : undefined;
  const optimizerWeights = withOptimizer ? await model.optimizer.getWeights() : [];
  const parts = [
    viewsOf(model.weights.map((weight) => ({ name: weight.originalName, tensor: weight.read() }))),
    viewsOf(optimizerWeights, 'optimizer'),
  ];
  const views = parts.flatMap((part) => part.views);
  const weightData = pool.take(views.reduce((sum, view) => sum + view.byteLength, 0));
  const target = new Uint8Array(weightData);
  let offset = 0;
  for (const view of views) {
    target.set(view, offset);
    offset += view.byteLength;
  }
  // getWeights() makes a fresh scalar for the iteration count; the variables themselves stay.
  for (const { tensor } of optimizerWeights) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  return { modelTopology, trainingConfig, weightSpecs: parts.flatMap((part) => part.specs), weightData };
}

/** The snapshot as TF.js model artifacts. */
export function toModelArtifacts(
  snapshot: WeightsSnapshot,
): tf.io.ModelArtifacts & { weightData: ArrayBuffer; weightSpecs: tf.io.WeightsManifestEntry[] } {
  return {
    ...(snapshot.modelTopology ? { modelTopology: snapshot.modelTopology } : {}),
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    ...(snapshot.trainingConfig ? { trainingConfig: snapshot.trainingConfig } : {}),
    weightSpecs: snapshot.weightSpecs,
    weightData: snapshot.weightData,
  };
}

/** The files of the TF.js layers format: `model.json` (topology + manifest) and `weights.bin`. */
export function toLayersFiles(
  artifacts: tf.io.ModelArtifacts & { weightData: ArrayBuffer; weightSpecs: tf.io.WeightsManifestEntry[] },
): Array<{ path: string; bytes: Uint8Array }> {
  const weights = new Uint8Array(artifacts.weightData);
  const manifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }];
  if (!artifacts.modelTopology) {
    return [
      {
        path: 'weights.json',
        bytes: new TextEncoder().encode(JSON.stringify({ weightsManifest: manifest })),
      },
      { path: 'weights.bin', bytes: weights },
    ];
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: manifest,
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
  };
  return [
    { path: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(modelJson)) },
    { path: 'weights.bin', bytes: weights },
  ];
}
