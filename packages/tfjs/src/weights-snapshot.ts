import * as tf from '@tensorflow/tfjs';

/** A tensor with the name it is saved under. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** `LayersModel.getTrainingConfig` is what `save()` itself uses; TypeScript marks it protected. */
type WithTrainingConfig = { getTrainingConfig(): tf.io.TrainingConfig };

/**
 * The model's state at one instant, taken synchronously: topology JSON and a clone of every
 * weight tensor. A clone shares the weight's memory; training replaces (never overwrites) a
 * variable's data, so the clone keeps the values of this instant at no copying cost.
 */
export interface WeightsSnapshot {
  modelTopology: tf.io.ModelJSON['modelTopology'] | undefined;
  trainingConfig: tf.io.TrainingConfig | undefined;
  weights: NamedTensor[];
  optimizerWeights: NamedTensor[];
}

/** Takes a snapshot; `await`s only the optimizer's own accessor (no I/O). */
export async function takeSnapshot(
  model: tf.LayersModel,
  options: { includeOptimizer: boolean; weightsOnly: boolean },
): Promise<WeightsSnapshot> {
  const weights = model.weights.map((weight) => ({
    name: weight.originalName,
    tensor: tf.clone(weight.read()),
  }));
  const modelTopology = options.weightsOnly
    ? undefined
    : (model.toJSON(null, false) as tf.io.ModelJSON['modelTopology']);
  let trainingConfig: tf.io.TrainingConfig | undefined;
  let optimizerWeights: NamedTensor[] = [];
  if (options.includeOptimizer && model.optimizer) {
    trainingConfig = (model as unknown as WithTrainingConfig).getTrainingConfig();
    optimizerWeights = (await model.optimizer.getWeights()).map(({ name, tensor }) => ({
      name,
      tensor: tf.clone(tensor),
    }));
  }
  return { modelTopology, trainingConfig, weights, optimizerWeights };
}

/** Releases the snapshot's tensors. */
export function disposeSnapshot(snapshot: WeightsSnapshot): void {
  for (const { tensor } of [...snapshot.weights, ...snapshot.optimizerWeights]) tensor.dispose();
}

/** Serialises a snapshot into TF.js model artifacts (done on the queue, off the training loop). */
export async function toModelArtifacts(
  snapshot: WeightsSnapshot,
): Promise<tf.io.ModelArtifacts & { weightData: ArrayBuffer; weightSpecs: tf.io.WeightsManifestEntry[] }> {
  const encoded = await tf.io.encodeWeights(snapshot.weights);
  let weightData = encoded.data;
  const weightSpecs = [...encoded.specs];
  if (snapshot.optimizerWeights.length > 0) {
    const optimizer = await tf.io.encodeWeights(snapshot.optimizerWeights, 'optimizer');
    weightSpecs.push(...optimizer.specs);
    weightData = tf.io.concatenateArrayBuffers([weightData, optimizer.data]);
  }
  return {
    ...(snapshot.modelTopology ? { modelTopology: snapshot.modelTopology } : {}),
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    ...(snapshot.trainingConfig ? { trainingConfig: snapshot.trainingConfig } : {}),
    weightSpecs,
    weightData,
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
