import {
  Artifact,
  type ArtifactVersion,
  type JsonObject,
  type QuiverClient,
  QuiverError,
  type Store,
  withClient,
} from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import { loadWeightsInto, modelFrom, readCheckpoint } from './model-artifacts.js';

/** Where to read from or write to: an open store, or (default) the one `QUIVER_DIR` names. */
export interface StoreOption {
  store?: Store;
}

/**
 * Reads the TF.js artifacts (topology, weights, training config) of a version, verified. The
 * client argument is kept for compatibility; the version reads through its own store.
 */
export function readModelArtifacts(
  _client: QuiverClient,
  version: ArtifactVersion,
): Promise<tf.io.ModelArtifacts> {
  return readCheckpoint(version);
}

/**
 * Loads a `tf.LayersModel` from an artifact or registry ref (`vision/mlp:best`,
 * `registry/digits:production`). With optimizer state in the checkpoint, the model comes back
 * compiled and `fit` resumes where it stopped.
 */
export async function loadModel(ref: string, options: StoreOption = {}): Promise<tf.LayersModel> {
  return withClient(options.store, async (client) => {
    const version = await client.artifact(ref);
    return modelFrom(tf, version.ref, await readCheckpoint(version));
  });
}

/** Loads the weights of a checkpoint into a model you built (e.g. one saved with `saveWeightsOnly`). */
export async function loadWeights(
  ref: string,
  model: tf.LayersModel,
  options: StoreOption = {},
): Promise<void> {
  await withClient(options.store, async (client) => {
    loadWeightsInto(tf, await readCheckpoint(await client.artifact(ref)), model);
  });
}

/** Where `model.save(quiverIO(…))` logs the model. */
export interface QuiverSaveTarget extends StoreOption {
  /** `project/name` or `entity/project/name`. */
  artifact: string;
  aliases?: string[];
  metadata?: JsonObject;
  description?: string;
}

function parseTarget(target: string): { entity?: string; project: string; name: string } {
  const parts = target.split(':')[0]!.split('/');
  if (parts.length === 2) return { project: parts[0]!, name: parts[1]! };
  if (parts.length === 3) return { entity: parts[0]!, project: parts[1]!, name: parts[2]! };
  throw new QuiverError('E_INVALID_REF', `'${target}' is not project/name or entity/project/name.`);
}

/**
 * An `io` handler pair for Quiver: `model.save(quiverIO({ artifact: 'vision/mlp' }))` logs a
 * version; `tf.loadLayersModel(quiverIO('vision/mlp:best'))` loads one. With `registerQuiverRouters()`
 * the URL forms `quiver://vision/mlp` work too.
 */
export function quiverIO(target: string | QuiverSaveTarget, options: StoreOption = {}): tf.io.IOHandler {
  const saveTarget: QuiverSaveTarget =
    typeof target === 'string' ? { artifact: target, ...options } : { ...options, ...target };
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { entity, project, name } = parseTarget(saveTarget.artifact);
      const weightData = artifacts.weightData;
      if (weightData === undefined || Array.isArray(weightData)) {
        throw new QuiverError(
          'E_INVALID_OPTION',
          'quiverIO.save expects the weights as one ArrayBuffer (TF.js ≥ 4 save()).',
        );
      }
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      const draft = new Artifact(name, 'model', {
        metadata: {
          format: 'tfjs-layers',
          formats: ['tfjs'],
          tfjsVersion: tf.version.tfjs,
          ...(saveTarget.metadata ?? {}),
        },
        ...(saveTarget.description ? { description: saveTarget.description } : {}),
      })
        .addBytes('model.json', JSON.stringify(modelJson))
        .addBytes('weights.bin', new Uint8Array(weightData));
      const version = await withClient(saveTarget.store, (client) =>
        client.commit(draft, { project, ...(entity ? { entity } : {}), aliases: saveTarget.aliases ?? [] }),
      );
      return {
        modelArtifactsInfo: {
          ...tf.io.getModelArtifactsInfoForJSON(artifacts),
          dateSaved: new Date(version.createdAt),
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const ref = saveTarget.artifact;
      return withClient(saveTarget.store, async (client) => readCheckpoint(await client.artifact(ref)));
    },
  };
}

const SCHEME = 'quiver://';

/** Lets `model.save('quiver://project/name')` and `tf.loadLayersModel('quiver://project/name:best')` work. */
export function registerQuiverRouters(options: StoreOption = {}): void {
  // TF.js routers return null for URLs they do not handle; its type says IOHandler.
  const route = ((url: string | string[]) => {
    if (typeof url !== 'string' || !url.startsWith(SCHEME)) return null;
    return quiverIO({ artifact: url.slice(SCHEME.length), ...options });
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
}
