/** Reads what an ONNX file says about itself, for models exported here or anywhere else. */
import { QuiverError } from '@quiver/core';
import { DataType, decodeModel, type ModelProto, type TensorProto, toNumber } from './proto/onnx-schema.js';
import { type OnnxSignature, signatureOf } from './signature.js';

/** What Quiver records of an ONNX model (`metadata.onnx` of its version). */
export interface OnnxModelInfo {
  irVersion: number;
  /** Operator set versions by domain (`''` is the default ONNX domain, shown as `ai.onnx`). */
  opsets: Record<string, number>;
  producer: { name: string; version: string };
  /** The model's `metadata_props`. */
  metadataProps: Record<string, string>;
  signature: OnnxSignature;
  /** Elements of floating-point initializers. */
  parameterCount: number;
  /** Files holding initializer data outside the model file, relative to it. */
  externalData: string[];
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, 16]);

function elementCount(tensor: TensorProto): number {
  return (tensor.dims ?? []).reduce<number>((product, dim) => product * toNumber(dim), 1);
}

function externalLocation(tensor: TensorProto): string | undefined {
  if (tensor.data_location !== 1) return undefined;
  return tensor.external_data?.find((entry) => entry.key === 'location')?.value;
}

function invalid(message: string, cause?: unknown): QuiverError {
  return new QuiverError('E_INVALID_MODEL', message, cause === undefined ? {} : { cause });
}

/** Decodes ONNX bytes; `E_INVALID_MODEL` when they are not a model with a graph. */
export function decodeOnnx(bytes: Uint8Array, source = 'the input'): ModelProto {
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    throw invalid(
      `${source} is not a valid ONNX model: its protobuf does not decode (${(error as Error).message}); the file may be truncated or corrupted.`,
      error,
    );
  }
  if (!model.graph || toNumber(model.ir_version) <= 0 || (model.opset_import ?? []).length === 0)
    throw invalid(`${source} is not an ONNX model: it has no graph, IR version or opset import.`);
  return model;
}

/** The facts Quiver records about a decoded model. */
export function describeOnnx(model: ModelProto): OnnxModelInfo {
  const initializers = model.graph?.initializer ?? [];
  const externalData = [
    ...new Set(
      initializers.map(externalLocation).filter((location): location is string => location !== undefined),
    ),
  ];
  return {
    irVersion: toNumber(model.ir_version),
    opsets: Object.fromEntries(
      (model.opset_import ?? []).map((opset) => [opset.domain || 'ai.onnx', toNumber(opset.version)]),
    ),
    producer: { name: model.producer_name ?? '', version: model.producer_version ?? '' },
    metadataProps: Object.fromEntries(
      (model.metadata_props ?? []).map((entry) => [entry.key ?? '', entry.value ?? '']),
    ),
    signature: signatureOf(model),
    parameterCount: initializers
      .filter((tensor) => FLOAT_TYPES.has(tensor.data_type ?? 0))
      .reduce((total, tensor) => total + elementCount(tensor), 0),
    externalData,
  };
}

/** Decodes and describes ONNX bytes in one step. */
export function inspectOnnx(bytes: Uint8Array, source?: string): OnnxModelInfo {
  return describeOnnx(decodeOnnx(bytes, source));
}
