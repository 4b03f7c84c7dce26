/** Loads ONNX models from Quiver into onnxruntime-node by artifact or registry ref. */
import { join } from 'node:path';
import { type ArtifactVersion, QuiverError, type Run, type Store, withClient } from '@quiver/core';
import * as ort from 'onnxruntime-node';

export interface LoadOnnxOptions {
  /** Record the use in this run's lineage (and resolve refs in its project). */
  run?: Run;
  /** An open store (default: the one `QUIVER_DIR` names). */
  store?: Store;
  /** Where to keep the downloaded files (default `<QUIVER_DIR>/cache/models/<digest>`). */
  cacheDir?: string;
}

/** The ONNX file of a version: `metadata.onnx.file`, else `model.onnx`, else its only `.onnx`. */
async function onnxEntry(version: ArtifactVersion): Promise<string> {
  const paths = (await version.entries()).map((entry) => entry.path);
  const declared = (version.metadata.onnx as { file?: unknown } | undefined)?.file;
  if (typeof declared === 'string' && paths.includes(declared)) return declared;
  if (paths.includes('model.onnx')) return 'model.onnx';
  const candidates = paths.filter((path) => path.endsWith('.onnx'));
  if (candidates.length === 1) return candidates[0] as string;
  throw new QuiverError(
    'E_NOT_FOUND',
    candidates.length === 0
      ? `${version.ref} holds no ONNX file (entries: ${paths.join(', ')}); log one with logOnnx or the onnx checkpoint hook.`
      : `${version.ref} holds several ONNX files (${candidates.join(', ')}); none is model.onnx or metadata.onnx.file.`,
  );
}

/**
 * An onnxruntime `InferenceSession` for an artifact or registry ref
 * (`vision/cnn:best`, `registry/digits:production`). The version is downloaded once into the
 * store's cache, every file verified against its sha256, and reused while it stays intact.
 */
export async function loadOnnxSession(
  ref: string,
  sessionOptions: ort.InferenceSession.SessionOptions = {},
  options: LoadOnnxOptions = {},
): Promise<ort.InferenceSession> {
  if (options.run) {
    const used = await options.run.useModel(ref, options.cacheDir ? { dir: options.cacheDir } : {});
    return ort.InferenceSession.create(join(used.path, await onnxEntry(used.version)), sessionOptions);
  }
  return withClient(options.store, async (client) => {
    const version = await client.artifact(ref);
    const file = await onnxEntry(version);
    const dir = await version.download(options.cacheDir ?? join(client.cacheDir, 'models', version.digest));
    return ort.InferenceSession.create(join(dir, file), sessionOptions);
  });
}
