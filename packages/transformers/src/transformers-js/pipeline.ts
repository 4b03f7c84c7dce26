/** A transformers.js pipeline for a Quiver model version, loaded from local files only. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { env, pipeline, type TextClassificationPipeline } from '@huggingface/transformers';
import {
  type ArtifactVersion,
  openClient,
  QuiverClient,
  QuiverError,
  type Run,
  type Store,
} from '@quiver/core';
import {
  exportForTransformersJs,
  isTransformersJsExport,
  TRANSFORMERS_JS_TASKS,
  type TransformersJsExport,
  type TransformersJsExportOptions,
  type TransformersJsTask,
} from './export.js';
import { WordPieceTokenizer } from './tokenizer.js';

/** transformers.js's own `pipeline()` options (device, session options, …). */
export type TransformersJsPipelineOptions = NonNullable<Parameters<typeof pipeline>[2]>;

export interface LoadPipelineOptions
  extends Pick<TransformersJsExportOptions, 'labels' | 'tokenizer' | 'parity' | 'modelType' | 'opset'> {
  /**
   * Load `onnx/model_quantized.onnx` (int8 weights, `dtype: 'q8'`) instead of the fp32 model.
   * Scores then differ from TF.js by the quantization error. Default false.
   */
  quantized?: boolean;
  /** An open store (default: the run's, else the one `QUIVER_DIR` names). */
  store?: Store;
  /** Record the use of the version in this run's lineage (and resolve short refs in its project). */
  run?: Run;
  /**
   * The folder to export into and load from (default `<store dir>/cache/transformers/<version
   * digest>`, with a suffix when `labels` or `tokenizer` override the version's). An export made
   * there for the same version and overrides is reused.
   */
  cacheDir?: string;
  /** Passed on to transformers.js's `pipeline()`; `dtype` is `fp32` (`q8` when quantized) and `local_files_only` is true. */
  pipelineOptions?: Omit<TransformersJsPipelineOptions, 'local_files_only' | 'dtype'>;
}

/** The marker written last into an export folder: which version and overrides it holds. */
const MARKER = 'quiver-export.json';

interface Marker {
  ref: string;
  digest: string;
  key: string;
  format: TransformersJsExport['format'];
}

function readMarker(dir: string): Marker | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** A digest of the options that change the export's content (empty when there are none). */
function overridesKey(options: LoadPipelineOptions): string {
  const parts: Record<string, unknown> = {};
  if (options.labels !== undefined) parts.labels = options.labels;
  if (options.tokenizer !== undefined)
    parts.tokenizer =
      options.tokenizer instanceof WordPieceTokenizer ? options.tokenizer.fileContents() : options.tokenizer;
  if (options.modelType !== undefined) parts.modelType = options.modelType;
  if (options.opset !== undefined) parts.opset = options.opset;
  if (Object.keys(parts).length === 0) return '';
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** Exports `ref` into `dir` unless an export of the same version and overrides is there already. */
async function ensureExport(
  version: ArtifactVersion,
  dir: string,
  key: string,
  options: LoadPipelineOptions,
): Promise<void> {
  const marker = readMarker(dir);
  if (
    marker?.digest === version.digest &&
    marker.key === key &&
    isTransformersJsExport(dir, { quantized: options.quantized === true })
  )
    return;
  const { cacheDir: _cacheDir, pipelineOptions: _pipelineOptions, run: _run, ...exportOptions } = options;
  const store = options.store ?? options.run?.client().store;
  const write = async (target: string): Promise<void> => {
    const exported = await exportForTransformersJs(version.ref, target, {
      ...exportOptions,
      ...(store ? { store } : {}),
      task: 'text-classification',
    });
    const written: Marker = { ref: version.ref, digest: version.digest, key, format: exported.format };
    await writeFile(join(target, MARKER), `${JSON.stringify(written, null, 2)}\n`);
  };
  if (existsSync(dir) && marker === undefined) {
    // A folder the caller chose that holds something else: write the files into it.
    await write(dir);
    return;
  }
  // Export beside the target and move it into place, so a half-written export is never loaded.
  await mkdir(dirname(dir), { recursive: true });
  const staging = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await write(staging);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch (error) {
      // Another process put the same export there first.
      if (readMarker(dir)?.digest !== version.digest) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * A transformers.js `pipeline(task, …)` for an artifact or registry ref
 * (`registry/sentiment:production`, `nlp/classifier:best`), loaded from local files only: the
 * version is exported with {@link exportForTransformersJs} into the store's cache
 * (`<store dir>/cache/transformers/<version digest>`, reused afterwards) and loaded in fp32 with
 * `env.allowRemoteModels = false`.
 *
 * @example
 * const classify = await loadPipeline('text-classification', 'registry/sentiment:production');
 * await classify('what a lovely day', { top_k: null }); // [{ label: 'positive', score: 0.97 }, …]
 */
export async function loadPipeline(
  task: TransformersJsTask,
  ref: string,
  options: LoadPipelineOptions = {},
): Promise<TextClassificationPipeline> {
  if (!TRANSFORMERS_JS_TASKS.includes(task))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `task '${String(task)}' is not supported; use ${TRANSFORMERS_JS_TASKS.join(', ')}.`,
      { details: { option: 'task' } },
    );
  // One store for resolving, exporting and the cache folder: the given one, the run's, or QUIVER_DIR's.
  const owned = options.store || options.run ? undefined : await openClient();
  let dir: string;
  try {
    const store = (options.store ?? options.run?.client().store ?? owned?.store) as Store;
    const version = options.run
      ? await options.run.useArtifact(ref)
      : await new QuiverClient(store).artifact(ref);
    const key = overridesKey(options);
    dir = resolve(
      options.cacheDir ??
        join(store.cacheDir, 'transformers', key ? `${version.digest}-${key}` : version.digest),
    );
    await ensureExport(version, dir, key, { ...options, store });
  } finally {
    await owned?.close();
  }
  // Local files only: nothing is fetched from the Hugging Face hub or any other host.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  return (await pipeline(task, dir, {
    device: 'cpu',
    ...options.pipelineOptions,
    dtype: options.quantized ? 'q8' : 'fp32',
    local_files_only: true,
  })) as TextClassificationPipeline;
}
