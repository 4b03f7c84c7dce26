import { isQuiverError, QuiverError } from '@quiver/core';
import type * as tf from '@tensorflow/tfjs';

/** What reading a checkpoint needs of a version: the Node SDK's and the browser's both have it. */
export interface ReadableVersion {
  readonly ref: string;
  entries(): Promise<Array<{ path: string }>>;
  read(path: string): Promise<Uint8Array>;
}

async function readEntry(version: ReadableVersion, path: string): Promise<Uint8Array> {
  try {
    return await version.read(path);
  } catch (error) {
    if (!isQuiverError(error, 'E_NOT_FOUND')) throw error;
    throw new QuiverError(
      'E_NOT_FOUND',
      `${version.ref} has no '${path}': it is not a TF.js layers checkpoint (entries: ${(await version.entries()).map((item) => item.path).join(', ')}).`,
      { cause: error },
    );
  }
}

/** Reads the TF.js artifacts (topology, weights, training config) of a version, verified. */
export async function readCheckpoint(version: ReadableVersion): Promise<tf.io.ModelArtifacts> {
  const paths = new Set((await version.entries()).map((entry) => entry.path));
  const manifestPath = paths.has('model.json') ? 'model.json' : 'weights.json';
  const json = JSON.parse(
    new TextDecoder().decode(await readEntry(version, manifestPath)),
  ) as tf.io.ModelJSON;
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const buffers = await Promise.all(
    json.weightsManifest
      .flatMap((group) => group.paths)
      // tf.io.http saves name them `./model.weights.bin`: relative to model.json, as here.
      .map((path) => readEntry(version, path.replace(/^(\.\/)+/, ''))),
  );
  const weightData = new Uint8Array(buffers.reduce((sum, buffer) => sum + buffer.length, 0));
  let offset = 0;
  for (const buffer of buffers) {
    weightData.set(buffer, offset);
    offset += buffer.length;
  }
  return {
    ...(json.modelTopology ? { modelTopology: json.modelTopology } : {}),
    ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
    weightSpecs,
    weightData: weightData.buffer,
  };
}

/** The model of a checkpoint's artifacts; refused for a weights-only one. */
export function modelFrom(
  tfjs: typeof tf,
  ref: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.LayersModel> {
  if (!artifacts.modelTopology)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `${ref} holds weights only (saveWeightsOnly); build the model and use loadWeights(ref, model).`,
    );
  return tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts));
}

/** Loads a checkpoint's weights (optimizer state left out) into a model built by the caller. */
export function loadWeightsInto(
  tfjs: typeof tf,
  artifacts: tf.io.ModelArtifacts,
  model: tf.LayersModel,
): void {
  const decoded = tfjs.io.decodeWeights(
    artifacts.weightData!,
    (artifacts.weightSpecs ?? []).filter((spec) => spec.group !== 'optimizer'),
  );
  model.loadWeights(decoded, true);
  for (const tensor of Object.values(decoded)) tensor.dispose();
}
