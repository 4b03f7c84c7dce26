/**
 * A Quiver model version → the folder transformers.js loads for text classification:
 * `config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ArtifactVersion,
  type JsonObject,
  type QuiverClient,
  QuiverError,
  type Run,
  type Store,
  withClient,
} from '@quiver/core';
import {
  type CheckedOnnxExport,
  exportOnnx,
  inspectOnnx,
  type OnnxModelInfo,
  type ParityOptions,
  type ParityReport,
} from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { quantizeOnnxWeights } from './quantize.js';
import {
  type TokenizerConfigJson,
  type TokenizerFiles,
  type TokenizerJson,
  WordPieceTokenizer,
} from './tokenizer.js';

/** Tasks the export writes a layout for. */
export type TransformersJsTask = 'text-classification';

export const TRANSFORMERS_JS_TASKS: readonly TransformersJsTask[] = ['text-classification'];

/** A tokenizer: one built here, or the two files as JSON values or text. */
export type TokenizerSource =
  | WordPieceTokenizer
  | TokenizerFiles
  | { 'tokenizer.json': string; 'tokenizer_config.json': string };

export interface TransformersJsExportOptions {
  /** Default `'text-classification'` (the only task so far). */
  task?: TransformersJsTask;
  /** Class names by output index. Default: the version's `metadata.labels` (or `metadata.id2label`). */
  labels?: readonly string[];
  /** Default: the version's own `tokenizer.json` and `tokenizer_config.json`. */
  tokenizer?: TokenizerSource;
  /**
   * Also write `onnx/model_quantized.onnx` (transformers.js's `dtype: 'q8'`): large weights
   * (Embedding tables, Dense kernels of ≥ 1024 values) stored as int8 with a scale per row,
   * activations in float32. Default false.
   */
  quantized?: boolean;
  /** An open store (default: the run's, else the one `QUIVER_DIR` names). */
  store?: Store;
  /** Record the use of the version in this run's lineage (and resolve short refs in its project). */
  run?: Run;
  /**
   * The parity check of a TF.js → ONNX re-export (default: 16 generated id sequences, a mismatch
   * beyond 1e-4 is `E_PARITY_MISMATCH`); `false` skips it.
   */
  parity?: ParityOptions | false;
  /** `model_type` in config.json (default `bert`: BertForSequenceClassification + BertTokenizer). */
  modelType?: string;
  /** ONNX opset of a re-export (default: @quiver/onnx's default). */
  opset?: number;
}

/** What {@link exportForTransformersJs} wrote. */
export interface TransformersJsExport {
  /** The folder (absolute): pass it to `pipeline(task, dir)` with remote models off. */
  dir: string;
  /** Files written, relative to `dir`. */
  files: string[];
  task: TransformersJsTask;
  labels: string[];
  /** The version exported. */
  source: { ref: string; digest: string };
  /** `tfjs`: re-exported from the TF.js checkpoint; `onnx`: the version's own ONNX file copied. */
  format: 'tfjs' | 'onnx';
  /** Where the tokenizer came from. */
  tokenizer: 'option' | 'version';
  /** The parity report of a re-export (unless skipped). */
  parity?: ParityReport;
  /** The ONNX signature written. */
  signature: OnnxModelInfo['signature'];
  /** With `quantized`: the initializers stored as int8 in `onnx/model_quantized.onnx`. */
  quantized?: { file: string; initializers: string[] };
}

const CONFIG_FILE = 'config.json';
const TOKENIZER_FILE = 'tokenizer.json';
const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
const MODEL_FILE = 'onnx/model.onnx';
const QUANTIZED_FILE = 'onnx/model_quantized.onnx';
const TOKENIZER_KEYS = ['model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

function invalidOption(option: string, message: string, details: Record<string, unknown> = {}): QuiverError {
  return new QuiverError('E_INVALID_OPTION', message, { details: { option, ...details } });
}

function invalidModel(ref: string, message: string, details: Record<string, unknown> = {}): QuiverError {
  return new QuiverError('E_INVALID_MODEL', message, { details: { ref, ...details } });
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

function checkLabels(
  labels: unknown,
  where: string,
  code: 'E_INVALID_OPTION' | 'E_INVALID_METADATA',
): string[] {
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    labels.some((label) => typeof label !== 'string' || label.length === 0)
  )
    throw new QuiverError(code, `${where} must be a non-empty list of non-empty strings.`, {
      details: { option: 'labels' },
    });
  if (new Set(labels).size !== labels.length)
    throw new QuiverError(code, `${where} has repeated names: ${JSON.stringify(labels)}.`, {
      details: { option: 'labels' },
    });
  return [...(labels as string[])];
}

/** Labels from `metadata.labels` (a list) or `metadata.id2label` (index → name). */
function labelsFromMetadata(metadata: JsonObject): unknown {
  if (metadata.labels !== undefined) return metadata.labels;
  const id2label = metadata.id2label;
  if (id2label && typeof id2label === 'object' && !Array.isArray(id2label)) {
    const entries = Object.entries(id2label);
    const labels: unknown[] = [];
    for (const [key, value] of entries) {
      if (!/^(0|[1-9][0-9]*)$/.test(key)) return id2label;
      labels[Number(key)] = value;
    }
    return labels.length === entries.length ? labels : id2label;
  }
  return undefined;
}

function resolveLabels(
  options: TransformersJsExportOptions,
  version: ArtifactVersion,
): {
  labels: string[];
  fromOption: boolean;
} {
  if (options.labels !== undefined)
    return { labels: checkLabels(options.labels, 'The labels option', 'E_INVALID_OPTION'), fromOption: true };
  const fromMetadata = labelsFromMetadata(version.metadata);
  if (fromMetadata === undefined)
    throw invalidOption(
      'labels',
      `No labels for ${version.ref}: pass labels: ['…', …] (one per model output), or log them in the checkpoint's metadata (tokenizerFiles(tokenizer, labels) does).`,
      { ref: version.ref },
    );
  return {
    labels: checkLabels(fromMetadata, `metadata.labels of ${version.ref}`, 'E_INVALID_METADATA'),
    fromOption: false,
  };
}

function checkLabelCount(
  labels: string[],
  fromOption: boolean,
  outputs: number | string | undefined,
  ref: string,
): void {
  if (typeof outputs !== 'number' || outputs === labels.length) return;
  throw new QuiverError(
    fromOption ? 'E_INVALID_OPTION' : 'E_INVALID_METADATA',
    `${labels.length} labels (${labels.join(', ')}) but the model of ${ref} has ${outputs} outputs: give one label per output.`,
    { details: { option: 'labels', labels: labels.length, outputs, ref } },
  );
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

interface TokenizerText {
  json: string;
  config: string;
  /** Largest id + 1. */
  vocabularySize: number;
}

function parseJson(text: string, name: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidOption('tokenizer', `${name} of ${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks what transformers.js needs of the two files and measures the vocabulary. */
function checkTokenizer(json: string, config: string, where: string): TokenizerText {
  const tokenizer = parseJson(json, TOKENIZER_FILE, where) as Partial<TokenizerJson> | null;
  const tokenizerConfig = parseJson(
    config,
    TOKENIZER_CONFIG_FILE,
    where,
  ) as Partial<TokenizerConfigJson> | null;
  if (!tokenizer || typeof tokenizer !== 'object' || Array.isArray(tokenizer))
    throw invalidOption('tokenizer', `${TOKENIZER_FILE} of ${where} is not a JSON object.`);
  const missing = TOKENIZER_KEYS.filter((key) => !(key in tokenizer));
  if (missing.length > 0)
    throw invalidOption(
      'tokenizer',
      `${TOKENIZER_FILE} of ${where} lacks ${missing.join(', ')}: transformers.js needs all of ${TOKENIZER_KEYS.join(', ')} (null is allowed).`,
    );
  if (
    !tokenizerConfig ||
    typeof tokenizerConfig !== 'object' ||
    typeof tokenizerConfig.pad_token !== 'string'
  )
    throw invalidOption(
      'tokenizer',
      `${TOKENIZER_CONFIG_FILE} of ${where} has no pad_token: the pipeline pads batches with it.`,
    );
  const vocab = (tokenizer.model as { vocab?: unknown } | undefined)?.vocab;
  const ids = [
    ...(vocab && typeof vocab === 'object' ? Object.values(vocab as Record<string, unknown>) : []),
    ...(Array.isArray(tokenizer.added_tokens) ? tokenizer.added_tokens.map((token) => token?.id) : []),
  ].filter((id): id is number => typeof id === 'number');
  return { json, config, vocabularySize: ids.length === 0 ? 0 : Math.max(...ids) + 1 };
}

function tokenizerFromOption(source: TokenizerSource): TokenizerText {
  if (source instanceof WordPieceTokenizer) {
    const contents = source.fileContents();
    return checkTokenizer(contents[TOKENIZER_FILE], contents[TOKENIZER_CONFIG_FILE], 'the tokenizer option');
  }
  if (
    !source ||
    typeof source !== 'object' ||
    !(TOKENIZER_FILE in source) ||
    !(TOKENIZER_CONFIG_FILE in source)
  )
    throw invalidOption(
      'tokenizer',
      `The tokenizer option must be a tokenizer from buildTokenizer() or { '${TOKENIZER_FILE}', '${TOKENIZER_CONFIG_FILE}' }.`,
    );
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return checkTokenizer(
    text(source[TOKENIZER_FILE]),
    text(source[TOKENIZER_CONFIG_FILE]),
    'the tokenizer option',
  );
}

async function tokenizerFromVersion(dir: string, paths: Set<string>, ref: string): Promise<TokenizerText> {
  if (!paths.has(TOKENIZER_FILE) || !paths.has(TOKENIZER_CONFIG_FILE))
    throw invalidOption(
      'tokenizer',
      `No tokenizer for ${ref}: it holds no ${paths.has(TOKENIZER_FILE) ? TOKENIZER_CONFIG_FILE : TOKENIZER_FILE}. ` +
        'Pass tokenizer: buildTokenizer(texts) (the one the model was trained with), or add the files to each checkpoint with the tokenizerFiles(tokenizer, labels) hook.',
      { ref },
    );
  return checkTokenizer(
    await readFile(join(dir, TOKENIZER_FILE), 'utf8'),
    await readFile(join(dir, TOKENIZER_CONFIG_FILE), 'utf8'),
    ref,
  );
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

interface OnnxModel {
  bytes: Uint8Array;
  info: Pick<OnnxModelInfo, 'signature'>;
  opset: number;
  format: 'tfjs' | 'onnx';
  parity?: ParityReport;
}

/** The model.json of a downloaded version, if it holds a TF.js layers model with its topology. */
async function readModelJson(dir: string, paths: Set<string>): Promise<tf.io.ModelJSON | undefined> {
  if (!paths.has('model.json')) return undefined;
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return json.modelTopology ? json : undefined;
}

/** Loads the TF.js model of a model.json and its weight files (optimizer state left out). */
async function loadTfjsModel(
  dir: string,
  json: tf.io.ModelJSON,
  entries: ReadonlySet<string>,
  ref: string,
): Promise<tf.LayersModel> {
  // Weight files are read only from the version's own entries (never a path outside it).
  // `./model.weights.bin` (as tf.io.http saves) is the entry `model.weights.bin`.
  const weightPaths = json.weightsManifest
    .flatMap((group) => group.paths)
    .map((path) => path.replace(/^(\.\/)+/, ''));
  const stray = weightPaths.filter((path) => !entries.has(path));
  if (stray.length > 0)
    throw invalidModel(
      ref,
      `${ref}'s model.json names weight files that are not in the version: ${stray.join(', ')}.`,
      {
        missing: stray,
      },
    );
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const buffers = await Promise.all(weightPaths.map((path) => readFile(join(dir, path))));
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(
    joined.byteOffset,
    joined.byteOffset + joined.byteLength,
  ) as ArrayBuffer;
  // Optimizer state follows the model's weights in the buffer; leave it out.
  const modelSpecs = weightSpecs.filter((spec) => spec.group !== 'optimizer');
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: modelSpecs, weightData }),
  );
}

type LayerWithConfig = tf.layers.Layer & { getConfig(): { inputDim?: number } };

async function fromTfjs(
  model: tf.LayersModel,
  ref: string,
  labels: { labels: string[]; fromOption: boolean },
  vocabularySize: number,
  options: TransformersJsExportOptions,
): Promise<OnnxModel> {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw invalidModel(
      ref,
      `The TF.js model of ${ref} has ${model.inputs.length} inputs and ${model.outputs.length} outputs; text classification needs one input (token ids) and one output (one logit per label).`,
    );
  const inputShape = model.inputs[0]!.shape;
  const outputShape = model.outputs[0]!.shape;
  if (inputShape.length !== 2)
    throw invalidModel(
      ref,
      `The TF.js model of ${ref} takes input of shape [${inputShape.join(', ')}]; text classification needs [batch, sequence] token ids.`,
    );
  if (inputShape[1] !== null && inputShape[1] !== undefined)
    throw invalidModel(
      ref,
      `The TF.js model of ${ref} takes sequences of exactly ${inputShape[1]} tokens, but transformers.js feeds sequences of any length (padded only to the longest of a batch): build the Embedding without inputLength.`,
      { sequenceLength: inputShape[1] },
    );
  if (outputShape.length !== 2)
    throw invalidModel(
      ref,
      `The TF.js model of ${ref} outputs shape [${outputShape.join(', ')}]; text classification needs [batch, labels].`,
    );
  checkLabelCount(labels.labels, labels.fromOption, outputShape[1] ?? undefined, ref);
  const outputLayer = model.outputs[0]!.sourceLayer;
  const activation = (outputLayer.getConfig() as { activation?: unknown }).activation;
  if (typeof activation === 'string' && activation !== 'linear' && activation !== 'softmax')
    throw invalidModel(
      ref,
      `The TF.js model of ${ref} ends with a ${activation} activation (layer ${outputLayer.name}); the text-classification pipeline applies softmax to the logits, so the model must end with a linear or softmax output.`,
      { activation },
    );
  const embedding = model.layers.find((layer) => layer.getClassName() === 'Embedding') as
    | LayerWithConfig
    | undefined;
  const inputDim = embedding?.getConfig().inputDim;
  if (typeof inputDim === 'number' && vocabularySize > inputDim)
    throw invalidModel(
      ref,
      `The tokenizer has ${vocabularySize} ids but the Embedding of ${ref} has only ${inputDim} rows: this is not the tokenizer the model was trained with.`,
      { vocabularySize, inputDim },
    );
  const exported: CheckedOnnxExport = await exportOnnx(model, {
    inputNames: ['input_ids'],
    inputDtypes: ['int64'],
    outputNames: ['logits'],
    logits: true,
    ...(options.opset !== undefined ? { opset: options.opset } : {}),
    parity: options.parity === false ? false : { sampleCount: 16, ...options.parity },
    metadataProps: { quiver_source: ref },
  });
  return {
    bytes: exported.bytes,
    info: { signature: exported.signature },
    opset: exported.opset,
    format: 'tfjs',
    ...(exported.parity ? { parity: exported.parity } : {}),
  };
}

/** The ONNX file a version declares (`metadata.onnx.file`), else `model.onnx`. */
function onnxPath(version: ArtifactVersion, paths: Set<string>): string | undefined {
  const declared = (version.metadata.onnx as { file?: unknown } | undefined)?.file;
  if (typeof declared === 'string' && paths.has(declared)) return declared;
  return paths.has('model.onnx') ? 'model.onnx' : undefined;
}

async function fromOnnx(
  file: string,
  ref: string,
  labels: { labels: string[]; fromOption: boolean },
): Promise<OnnxModel> {
  const bytes = new Uint8Array(await readFile(file));
  const info = inspectOnnx(bytes, `The ONNX file of ${ref}`);
  const { inputs, outputs } = info.signature;
  const ids = inputs.find((input) => input.name === 'input_ids');
  const logits = outputs.find((output) => output.name === 'logits');
  const problems = [
    ...(ids ? [] : [`no input named input_ids (inputs: ${inputs.map((input) => input.name).join(', ')})`]),
    ...(ids && ids.dtype !== 'int64' ? [`input_ids is ${ids.dtype}, transformers.js feeds int64`] : []),
    ...(ids && ids.shape.length !== 2
      ? [`input_ids has shape [${ids.shape.join(', ')}], not [batch, sequence]`]
      : []),
    ...(ids && typeof ids.shape[1] === 'number'
      ? [`input_ids has a fixed sequence length ${ids.shape[1]}, transformers.js feeds any length`]
      : []),
    ...(logits
      ? []
      : [`no output named logits (outputs: ${outputs.map((output) => output.name).join(', ')})`]),
    ...(info.externalData.length > 0 ? ['its weights are in external data files'] : []),
  ];
  const unexpected = inputs.filter(
    (input) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(input.name),
  );
  if (unexpected.length > 0)
    problems.push(
      `inputs transformers.js does not feed: ${unexpected.map((input) => input.name).join(', ')}`,
    );
  if (problems.length > 0)
    throw invalidModel(
      ref,
      `The ONNX file of ${ref} is not one transformers.js can run for text classification: ${problems.join('; ')}. ` +
        "Log the TF.js checkpoint instead (it is re-exported with input_ids/logits), or export with toOnnx(model, { inputNames: ['input_ids'], inputDtypes: ['int64'], outputNames: ['logits'], logits: true }).",
      { problems },
    );
  checkLabelCount(labels.labels, labels.fromOption, logits!.shape[logits!.shape.length - 1], ref);
  return { bytes, info, opset: info.opsets['ai.onnx'] ?? 0, format: 'onnx' };
}

// ---------------------------------------------------------------------------------------------
// The export
// ---------------------------------------------------------------------------------------------

/** The client of the options' store (or the run's, or QUIVER_DIR's, opened for `work`). */
function clientFor<T>(
  options: { store?: Store; run?: Run },
  work: (client: QuiverClient) => Promise<T>,
): Promise<T> {
  return withClient(options.store ?? options.run?.client().store, work);
}

/** Resolves `ref` and downloads the version (verified) into the store's model cache. */
async function downloadVersion(
  client: QuiverClient,
  ref: string,
  run: Run | undefined,
): Promise<{ version: ArtifactVersion; dir: string }> {
  if (run) {
    const used = await run.useModel(ref);
    return { version: used.version, dir: used.path };
  }
  const version = await client.artifact(ref);
  const dir = await version.download(join(client.cacheDir, 'models', version.digest));
  return { version, dir };
}

/** The config.json of a text-classification model. */
function modelConfig(
  labels: string[],
  vocabularySize: number,
  padTokenId: number | undefined,
  modelType: string,
  source: { ref: string; digest: string; format: 'tfjs' | 'onnx' },
): JsonObject {
  const architecture = `${modelType.charAt(0).toUpperCase()}${modelType.slice(1)}ForSequenceClassification`;
  return {
    model_type: modelType,
    architectures: modelType === 'bert' ? ['BertForSequenceClassification'] : [architecture],
    problem_type: 'single_label_classification',
    id2label: Object.fromEntries(labels.map((label, index) => [String(index), label])),
    label2id: Object.fromEntries(labels.map((label, index) => [label, index])),
    vocab_size: vocabularySize,
    ...(padTokenId !== undefined ? { pad_token_id: padTokenId } : {}),
    'transformers.js_config': { dtype: 'fp32' },
    quiver: { source: source.ref, digest: source.digest, format: source.format },
  };
}

/**
 * Writes what transformers.js loads for `task` from a model version (artifact or registry ref):
 * `config.json`, `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx` (input
 * `input_ids` int64 [batch, sequence], output `logits`, before softmax).
 *
 * A version holding a TF.js layers checkpoint is re-exported to ONNX and checked against TF.js;
 * otherwise its `model.onnx` is copied when it has that signature. The tokenizer and labels come
 * from the options or from the version (`tokenizer.json`/`tokenizer_config.json` entries,
 * `metadata.labels`), as the `tokenizerFiles` hook records them. With `quantized`,
 * `onnx/model_quantized.onnx` (int8 weights) is written too.
 *
 * The final activation is expected to be a softmax (left out) or linear: the pipeline applies its
 * own softmax to `logits`.
 *
 * Errors (`QuiverError`): `E_INVALID_MODEL` for a version with no usable model;
 * `E_INVALID_OPTION` for a missing tokenizer or labels, or labels that do not match the outputs
 * (`E_INVALID_METADATA` when those labels came from the version); `E_PARITY_MISMATCH`,
 * `E_UNSUPPORTED_LAYER` from the ONNX export.
 *
 * @example
 * await exportForTransformersJs('registry/sentiment:production', './served', { task: 'text-classification' });
 * env.allowRemoteModels = false;
 * const classify = await pipeline('text-classification', resolve('./served'), { dtype: 'fp32' });
 */
export async function exportForTransformersJs(
  ref: string,
  outDir: string,
  options: TransformersJsExportOptions = {},
): Promise<TransformersJsExport> {
  const task = options.task ?? 'text-classification';
  if (!TRANSFORMERS_JS_TASKS.includes(task))
    throw invalidOption(
      'task',
      `task '${String(task)}' is not supported; use ${TRANSFORMERS_JS_TASKS.join(', ')}.`,
    );
  const tokenizerOption =
    options.tokenizer === undefined ? undefined : tokenizerFromOption(options.tokenizer);
  return clientFor(options, async (client) => {
    const { version, dir: sourceDir } = await downloadVersion(client, ref, options.run);
    const paths = new Set((await version.entries()).map((entry) => entry.path));
    const modelJson = await readModelJson(sourceDir, paths);
    const onnxFile = modelJson ? undefined : onnxPath(version, paths);
    if (!modelJson && !onnxFile)
      throw invalidModel(
        version.ref,
        `${version.ref} holds neither a TF.js layers model (model.json with its topology) nor an ONNX file (entries: ${[...paths].join(', ')}).`,
        { entries: [...paths] },
      );
    const labels = resolveLabels(options, version);
    const tokenizer = tokenizerOption ?? (await tokenizerFromVersion(sourceDir, paths, version.ref));

    let model: OnnxModel;
    if (modelJson) {
      const tfjsModel = await loadTfjsModel(sourceDir, modelJson, paths, version.ref);
      try {
        model = await fromTfjs(tfjsModel, version.ref, labels, tokenizer.vocabularySize, options);
      } finally {
        tfjsModel.dispose();
      }
    } else {
      model = await fromOnnx(join(sourceDir, onnxFile!), version.ref, labels);
    }

    const target = resolve(outDir);
    await mkdir(join(target, 'onnx'), { recursive: true });
    const padTokenId = (() => {
      const config = JSON.parse(tokenizer.config) as { pad_token?: string };
      const json = JSON.parse(tokenizer.json) as Partial<TokenizerJson>;
      const added = json.added_tokens?.find((token) => token.content === config.pad_token)?.id;
      return added ?? (config.pad_token ? json.model?.vocab?.[config.pad_token] : undefined);
    })();
    const config = modelConfig(
      labels.labels,
      tokenizer.vocabularySize,
      padTokenId,
      options.modelType ?? 'bert',
      {
        ref: version.ref,
        digest: version.digest,
        format: model.format,
      },
    );
    await writeFile(join(target, MODEL_FILE), model.bytes);
    const quantized = options.quantized
      ? quantizeOnnxWeights(model.bytes, { opset: model.opset })
      : undefined;
    if (quantized) await writeFile(join(target, QUANTIZED_FILE), quantized.bytes);
    await writeFile(join(target, TOKENIZER_FILE), tokenizer.json);
    await writeFile(join(target, TOKENIZER_CONFIG_FILE), tokenizer.config);
    await writeFile(join(target, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    return {
      dir: target,
      files: [
        CONFIG_FILE,
        MODEL_FILE,
        ...(quantized ? [QUANTIZED_FILE] : []),
        TOKENIZER_FILE,
        TOKENIZER_CONFIG_FILE,
      ],
      task,
      labels: labels.labels,
      source: { ref: version.ref, digest: version.digest },
      format: model.format,
      tokenizer: tokenizerOption ? 'option' : 'version',
      ...(model.parity ? { parity: model.parity } : {}),
      signature: model.info.signature,
      ...(quantized ? { quantized: { file: QUANTIZED_FILE, initializers: quantized.quantized } } : {}),
    };
  });
}

/** True when `dir` holds every file of a text-classification export (and the quantized model, if asked). */
export function isTransformersJsExport(dir: string, options: { quantized?: boolean } = {}): boolean {
  return [
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    TOKENIZER_CONFIG_FILE,
    ...(options.quantized ? [QUANTIZED_FILE] : []),
  ].every((file) => existsSync(join(dir, file)));
}
