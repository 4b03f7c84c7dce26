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

function packWeights(
  named: readonly NamedTensor[],
  group?: tf.io.WeightGroup,
): { specs: tf.io.WeightsManifestEntry[]; data: Uint8Array } {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const values = named.map(({ name, tensor }) => {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
      throw new TypeError(`Cannot checkpoint weight '${name}' of dtype ${tensor.dtype}.`);
    }
    specs.push({ name, shape: [...tensor.shape], dtype: tensor.dtype, ...(group ? { group } : {}) });
    const view = valuesOf(tensor);
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  });
  const data = new Uint8Array(values.reduce((sum, bytes) => sum + bytes.byteLength, 0));
  let offset = 0;
  for (const bytes of values) {
    data.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return { specs, data };
}

/** Takes a snapshot; `await`s only the optimizer's own accessor (no I/O). */
export async function takeSnapshot(
  model: tf.LayersModel,
  options: { includeOptimizer: boolean; weightsOnly: boolean },
): Promise<WeightsSnapshot> {
  const modelTopology = options.weightsOnly
    ? undefined
    : (model.toJSON(null, false) as tf.io.ModelJSON['modelTopology']);
  const weights = packWeights(
    model.weights.map((weight) => ({ name: weight.originalName, tensor: weight.read() })),
  );
  if (!options.includeOptimizer || !model.optimizer) {
    return {
      modelTopology,
      trainingConfig: undefined,
      weightSpecs: weights.specs,
      weightData: weights.data.buffer as ArrayBuffer,
    };
  }
  const trainingConfig = (model as unknown as WithTrainingConfig).getTrainingConfig();
  const optimizerWeights = await model.optimizer.getWeights();
  const optimizer = packWeights(optimizerWeights, 'optimizer');
  // getWeights() makes a fresh scalar for the iteration count; the variables themselves stay.
  for (const { tensor } of optimizerWeights) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  const weightData = new Uint8Array(weights.data.byteLength + optimizer.data.byteLength);
  weightData.set(weights.data, 0);
  weightData.set(optimizer.data, weights.data.byteLength);
  return {
    modelTopology,
    trainingConfig,
    weightSpecs: [...weights.specs, ...optimizer.specs],
    weightData: weightData.buffer,
  };
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
      { path: 'weights.json', bytes: Buffer.from(JSON.stringify({ weightsManifest: manifest })) },
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
    { path: 'model.json', bytes: Buffer.from(JSON.stringify(modelJson)) },
    { path: 'weights.bin', bytes: weights },
  ];
}
