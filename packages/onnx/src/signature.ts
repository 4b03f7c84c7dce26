/** Input/output signatures of ONNX models: written by the exporter, read back from any model. */
import { DataType, type ModelProto, toNumber, type ValueInfoProto } from './proto/onnx-schema.js';

/** An ONNX element type, spelled as onnxruntime's `Tensor.type`. */
export type OnnxDtype =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'string'
  | 'unknown';

/** One input or output: a number per fixed dimension, a name per symbolic one (e.g. `batch`). */
export interface OnnxTensorSignature {
  name: string;
  dtype: OnnxDtype;
  shape: (number | string)[];
}

export interface OnnxSignature {
  inputs: OnnxTensorSignature[];
  outputs: OnnxTensorSignature[];
}

const DTYPE_BY_CODE: Record<number, OnnxDtype> = {
  [DataType.FLOAT]: 'float32',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
  8: 'string',
};

/** The ONNX element type code of a dtype (inverse of the table above). */
export function dataTypeCode(dtype: OnnxDtype): number {
  const entry = Object.entries(DTYPE_BY_CODE).find(([, name]) => name === dtype);
  if (!entry) throw new Error(`No ONNX element type for ${dtype}.`);
  return Number(entry[0]);
}

/** A graph input or output as ValueInfoProto. */
export function valueInfo(signature: OnnxTensorSignature): ValueInfoProto {
  return {
    name: signature.name,
    type: {
      tensor_type: {
        elem_type: dataTypeCode(signature.dtype),
        shape: {
          dim: signature.shape.map((dim) =>
            typeof dim === 'number' ? { dim_value: dim } : { dim_param: dim },
          ),
        },
      },
    },
  };
}

function describe(info: ValueInfoProto): OnnxTensorSignature {
  const tensor = info.type?.tensor_type;
  return {
    name: info.name,
    dtype: DTYPE_BY_CODE[tensor?.elem_type ?? 0] ?? 'unknown',
    shape: (tensor?.shape?.dim ?? []).map((dim) =>
      dim.dim_param !== undefined && dim.dim_param !== ''
        ? dim.dim_param
        : dim.dim_value === undefined
          ? '?'
          : toNumber(dim.dim_value),
    ),
  };
}

/** The signature of a decoded model; graph inputs that are initializers are not inputs. */
export function signatureOf(model: ModelProto): OnnxSignature {
  const graph = model.graph;
  const initializers = new Set((graph?.initializer ?? []).map((tensor) => tensor.name));
  return {
    inputs: (graph?.input ?? []).filter((info) => !initializers.has(info.name)).map(describe),
    outputs: (graph?.output ?? []).map(describe),
  };
}
