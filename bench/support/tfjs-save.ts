import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Saves a model in the TF.js layers format (`model.json` + `weights.bin`) into `folder`, the way
 * a program without Quiver would: `model.save` with `tf.io.withSaveHandler` writing the files.
 */
export async function saveLayersFiles(model: tf.LayersModel, folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeFile(join(folder, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      await writeFile(
        join(folder, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}
