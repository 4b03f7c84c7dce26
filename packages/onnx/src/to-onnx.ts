/**
 * TF.js LayersModel → ONNX ModelProto. Walks the model's graph from its outputs back to its
 * inputs, so Sequential and functional models (several inputs/outputs, shared layers) take the
 * same path, and hands each layer application to the converter of its class.
 */
import { QuiverError } from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import { converterFor, supportedLayers } from './converters/index.js';
import type { LayerContext, Shape, Weight } from './converters/types.js';
import { attr, GraphBuilder } from './graph.js';
import { encodeModel, type ModelProto } from './proto/onnx-schema.js';
import {
  dataTypeCode,
  type OnnxDtype,
  type OnnxSignature,
  type OnnxTensorSignature,
  valueInfo,
} from './signature.js';
import { PACKAGE_VERSION, PRODUCER_NAME } from './version.js';

/** Opsets the exporter writes; 17 is the default. */
export const SUPPORTED_OPSETS = [13, 14, 15, 16, 17] as const;
export type SupportedOpset = (typeof SUPPORTED_OPSETS)[number];
export const DEFAULT_OPSET: SupportedOpset = 17;

export interface ToOnnxOptions {
  /** ONNX opset, 13–17 (default 17). */
  opset?: number;
  /** A symbolic batch dimension named `batch` (default true); else `batchSize` is fixed. */
  dynamicBatch?: boolean;
  /** The fixed batch size when `dynamicBatch` is false (default 1). */
  batchSize?: number;
  /** Names of the graph inputs (default: the TF.js input names). */
  inputNames?: readonly string[];
  /**
   * Element types of the graph inputs, one per input (default: the TF.js dtypes). An integer
   * input (`int64`, `int32`) is cast to float32 for the layers, which is how TF.js feeds ids to an
   * Embedding; transformers.js, for one, feeds `input_ids` as int64.
   */
  inputDtypes?: readonly ('float32' | 'int32' | 'int64')[];
  /** Names of the graph outputs (default: the TF.js output layer names). */
  outputNames?: readonly string[];
  /**
   * Output logits: a softmax that ends the model (a Dense or Activation with `softmax`, or a
   * Softmax layer, producing an output) is left out, as runtimes such as transformers.js apply
   * their own (default false).
   */
  logits?: boolean;
  /** Extra `metadata_props` written into the model. */
  metadataProps?: Record<string, string>;
  /** The model's doc string. */
  docString?: string;
}

/** The result of {@link toOnnx}. */
export interface OnnxExport {
  /** The serialised ModelProto (`model.onnx`). */
  bytes: Uint8Array;
  signature: OnnxSignature;
  opset: number;
  irVersion: number;
  producer: { name: string; version: string };
  /** Trained parameters written as initializers. */
  parameterCount: number;
  /** Outputs whose final softmax was left out (`logits: true`); parity applies it back. */
  softmaxOmitted: string[];
}

/** IR version per opset, the lowest that can hold it (onnxruntime accepts IR ≤ 10+). */
function irVersionFor(opset: number): number {
  return opset <= 13 ? 7 : 8;
}

const NESTED_MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional', 'LayersModel']);

type LayerWithNodes = tf.layers.Layer & {
  inboundNodes: { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[] }[];
};

interface Application {
  layer: LayerWithNodes;
  nodeIndex: number;
}

function invalidOption(message: string, option: string): QuiverError {
  return new QuiverError('E_INVALID_OPTION', message, { details: { option } });
}

function resolveOpset(opset: number | undefined): number {
  const value = opset ?? DEFAULT_OPSET;
  if (!(SUPPORTED_OPSETS as readonly number[]).includes(value))
    throw invalidOption(
      `opset ${value} is not supported; use one of ${SUPPORTED_OPSETS.join(', ')}.`,
      'opset',
    );
  return value;
}

function checkNames(names: readonly string[] | undefined, count: number, option: string): void {
  if (names === undefined) return;
  if (names.length !== count)
    throw invalidOption(`${option} has ${names.length} names but the model has ${count}.`, option);
  if (new Set(names).size !== names.length || names.some((name) => name.length === 0))
    throw invalidOption(`${option} must be distinct, non-empty names.`, option);
}

/** Applications of layers that the outputs depend on, inputs first. */
function applicationsInOrder(model: tf.LayersModel): Application[] {
  const inputIds = new Set(model.inputs.map((tensor) => tensor.id));
  const order: Application[] = [];
  const seen = new Set<string>();
  const visit = (tensor: tf.SymbolicTensor): void => {
    if (inputIds.has(tensor.id)) return;
    const layer = tensor.sourceLayer as LayerWithNodes;
    const key = `${layer.name}#${tensor.nodeIndex}`;
    if (seen.has(key)) return;
    seen.add(key);
    const node = layer.inboundNodes[tensor.nodeIndex];
    if (!node) throw new Error(`Layer ${layer.name} has no node ${tensor.nodeIndex}.`);
    for (const input of node.inputTensors) visit(input);
    order.push({ layer, nodeIndex: tensor.nodeIndex });
  };
  for (const output of model.outputs) visit(output);
  return order;
}

function unsupportedLayer(layer: tf.layers.Layer, className: string, why: string): QuiverError {
  const supported = supportedLayers();
  return new QuiverError(
    'E_UNSUPPORTED_LAYER',
    `Layer "${layer.name}" (${className}) cannot be exported to ONNX: ${why}. ` +
      `Supported layers: ${supported.join(', ')}.`,
    { details: { layer: layer.name, className, supported } },
  );
}

function dtypeOf(dtype: string): OnnxDtype {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  return 'float32';
}

function signatureShape(shape: Shape, batch: number | string, name: string): (number | string)[] {
  return shape.map((dim, index) => (index === 0 ? batch : (dim ?? `${name}_dim${index}`)));
}

/** True for a layer whose converter drops its softmax when asked for logits. */
function endsWithSoftmax(layer: tf.layers.Layer): boolean {
  return (
    layer.getClassName() === 'Softmax' ||
    (layer.getConfig() as { activation?: unknown }).activation === 'softmax'
  );
}

/** Reads every weight of a layer once, with its TF.js name. */
function readWeights(layer: tf.layers.Layer): Weight[] {
  const tensors = layer.getWeights();
  return tensors.map((tensor, index) => ({
    name: layer.weights[index]?.originalName ?? `${layer.name}/weight_${index}`,
    shape: tensor.shape,
    data: weightValues(tensor),
  }));
}

/** What the wasm and cpu backends expose of a tensor's storage (TF.js 4 internals). */
interface BackendStorage {
  wasm?: { HEAPU8: Uint8Array };
  dataIdMap?: { get(dataId: object): { memoryOffset?: number } | undefined };
  data?: { get(dataId: object): { values?: unknown } | undefined };
}

/**
 * A weight's float32 values without copying them out of the backend when it is wasm or cpu (a
 * 10M-parameter model would otherwise be copied once more before encoding), else `dataSync()`.
 * The values are read-only and valid until the next TF.js operation: `toOnnx` runs none until it
 * has encoded them.
 */
function weightValues(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype === 'float32') {
    const backend = tf.engine().backend as unknown as BackendStorage;
    const dataId = tensor.dataId as object;
    const offset = backend.wasm && backend.dataIdMap?.get(dataId)?.memoryOffset;
    if (backend.wasm && typeof offset === 'number')
      return new Float32Array(backend.wasm.HEAPU8.buffer, offset, tensor.size);
    const values = backend.data?.get(dataId)?.values;
    if (values instanceof Float32Array && values.length === tensor.size) return values;
  }
  return tensor.dataSync() as Float32Array;
}

/**
 * Converts a TF.js LayersModel to ONNX. Throws `E_UNSUPPORTED_LAYER` (naming the layer, its class
 * and the supported list) for anything without an exact translation; never writes a partial graph.
 */
export function toOnnx(model: tf.LayersModel, options: ToOnnxOptions = {}): OnnxExport {
  const opset = resolveOpset(options.opset);
  const dynamicBatch = options.dynamicBatch ?? true;
  const batchSize = options.batchSize ?? 1;
  if (!dynamicBatch && !(Number.isInteger(batchSize) && batchSize > 0))
    throw invalidOption(`batchSize must be a positive integer, got ${batchSize}.`, 'batchSize');
  const batch: number | string = dynamicBatch ? 'batch' : batchSize;
  checkNames(options.inputNames, model.inputs.length, 'inputNames');
  checkNames(options.outputNames, model.outputs.length, 'outputNames');
  if (options.inputDtypes !== undefined && options.inputDtypes.length !== model.inputs.length)
    throw invalidOption(
      `inputDtypes has ${options.inputDtypes.length} entries but the model has ${model.inputs.length} inputs.`,
      'inputDtypes',
    );

  const graph = new GraphBuilder(opset);
  const names = new Map<number, string>();
  const inputs: OnnxTensorSignature[] = model.inputs.map((tensor, index) => {
    // The input layer's name: a rebuilt model's symbolic tensors get uniquified names (input1_3).
    const name = graph.reserve(
      options.inputNames?.[index] ??
        model.inputNames?.[index] ??
        model.inputLayers?.[index]?.name ??
        tensor.name,
    );
    const dtype = options.inputDtypes?.[index] ?? dtypeOf(tensor.dtype);
    const layerDtype = dtypeOf(tensor.dtype);
    names.set(
      tensor.id,
      dtype === layerDtype
        ? name
        : graph.node('Cast', [name], { to: attr.int(dataTypeCode(layerDtype)) }, `${name}/cast`),
    );
    return { name, dtype, shape: signatureShape(tensor.shape, batch, name) };
  });
  const outputNames = model.outputs.map((tensor, index) => {
    const asked = options.outputNames?.[index];
    if (asked !== undefined) return graph.reserve(asked);
    // Several outputs of one layer (returnState, Bidirectional without merge) share its name.
    const name = model.outputNames?.[index] ?? tensor.sourceLayer.name;
    return graph.reserve(graph.isTaken(name) ? `${name}_${index}` : name);
  });

  const outputIds = new Set(model.outputs.map((tensor) => tensor.id));
  const weightCache = new Map<tf.layers.Layer, Weight[]>();
  for (const { layer, nodeIndex } of applicationsInOrder(model)) {
    const className = layer.getClassName();
    if (NESTED_MODEL_CLASSES.has(className))
      throw unsupportedLayer(layer, className, 'nested models are not supported');
    const converter = converterFor(className);
    if (!converter) throw unsupportedLayer(layer, className, 'no converter for this layer class');
    const node = layer.inboundNodes[nodeIndex] as LayerWithNodes['inboundNodes'][number];
    const context: LayerContext = {
      graph,
      layer,
      className,
      config: layer.getConfig() as Record<string, unknown>,
      inputs: node.inputTensors.map((tensor) => names.get(tensor.id) as string),
      inputShapes: node.inputTensors.map((tensor) => tensor.shape),
      outputShapes: node.outputTensors.map((tensor) => tensor.shape),
      logitsOutput: options.logits === true && node.outputTensors.some((tensor) => outputIds.has(tensor.id)),
      weights: () => {
        let cached = weightCache.get(layer);
        if (!cached) {
          cached = readWeights(layer);
          weightCache.set(layer, cached);
        }
        return cached;
      },
      hint: (suffix) => `${layer.name}${nodeIndex > 0 ? `_${nodeIndex}` : ''}${suffix ? `/${suffix}` : ''}`,
    };
    const produced = converter(context);
    if (produced.length !== node.outputTensors.length)
      throw unsupportedLayer(
        layer,
        className,
        `produced ${produced.length} outputs instead of ${node.outputTensors.length}`,
      );
    for (const [index, tensor] of node.outputTensors.entries())
      names.set(tensor.id, produced[index] as string);
  }

  const softmaxOmitted = model.outputs
    .filter((tensor) => options.logits === true && endsWithSoftmax(tensor.sourceLayer))
    .map((tensor) => outputNames[model.outputs.indexOf(tensor)] as string);
  const outputs: OnnxTensorSignature[] = model.outputs.map((tensor, index) => {
    const name = outputNames[index] as string;
    graph.nodeInto('Identity', [names.get(tensor.id) as string], [name]);
    return { name, dtype: dtypeOf(tensor.dtype), shape: signatureShape(tensor.shape, batch, name) };
  });

  const irVersion = irVersionFor(opset);
  const producer = { name: PRODUCER_NAME, version: PACKAGE_VERSION };
  const metadataProps = { tfjs_version: tf.version.tfjs, ...options.metadataProps };
  const proto: ModelProto = {
    ir_version: irVersion,
    opset_import: [{ domain: '', version: opset }],
    producer_name: producer.name,
    producer_version: producer.version,
    doc_string: options.docString ?? `Exported from TF.js model "${model.name}" by Quiver.`,
    graph: graph.build(model.name, inputs.map(valueInfo), outputs.map(valueInfo)),
    metadata_props: Object.entries(metadataProps).map(([key, value]) => ({ key, value })),
  };
  return {
    bytes: encodeModel(proto),
    signature: { inputs, outputs },
    opset,
    irVersion,
    producer,
    parameterCount: graph.parameterCount,
    softmaxOmitted,
  };
}
