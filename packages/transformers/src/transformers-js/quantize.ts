/**
 * Weight-only int8 quantization of an ONNX model, for `onnx/model_quantized.onnx` (what
 * transformers.js loads with `dtype: 'q8'`).
 *
 * Every large float32 initializer (an Embedding table, a Dense kernel) is stored as int8 with one
 * symmetric scale per row (axis 0), and a `DequantizeLinear` node placed first in the graph
 * rebuilds the float tensor under its original name, so the nodes that read it are unchanged.
 * Activations stay float32. The model is rewritten on the protobuf wire: fields this code does not
 * touch are copied byte for byte.
 */
import { QuiverError } from '@quiver/core';

/** ONNX TensorProto data types used here. */
const FLOAT = 1;
const INT8 = 3;
/** AttributeProto.type INT. */
const ATTRIBUTE_INT = 2;

/** Wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

interface Field {
  number: number;
  wireType: number;
  /** The whole field (tag included), as it appears on the wire. */
  raw: Uint8Array;
  /** The payload of a length-delimited field, or the value of a varint. */
  payload?: Uint8Array;
  value?: number;
}

function readVarint(bytes: Uint8Array, start: number): [number, number] {
  let value = 0;
  let scale = 1;
  let at = start;
  for (;;) {
    if (at >= bytes.length) throw new Error('truncated varint');
    const byte = bytes[at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 0x80;
  }
}

/** The fields of one message, in wire order. */
function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [tag, afterTag] = readVarint(bytes, at);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    at = afterTag;
    let payload: Uint8Array | undefined;
    let value: number | undefined;
    if (wireType === VARINT) [value, at] = readVarint(bytes, at);
    else if (wireType === FIXED64) at += 8;
    else if (wireType === FIXED32) at += 4;
    else if (wireType === LENGTH_DELIMITED) {
      const [length, afterLength] = readVarint(bytes, at);
      payload = bytes.subarray(afterLength, afterLength + length);
      at = afterLength + length;
    } else throw new Error(`unsupported wire type ${wireType}`);
    if (at > bytes.length) throw new Error('truncated field');
    fields.push({
      number,
      wireType,
      raw: bytes.subarray(start, at),
      ...(payload ? { payload } : {}),
      ...(value !== undefined ? { value } : {}),
    });
  }
  return fields;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const varintField = (number: number, value: number): Uint8Array =>
  new Uint8Array([...varint(number * 8 + VARINT), ...varint(value)]);

function bytesField(number: number, payload: Uint8Array | string): Uint8Array {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return concat([new Uint8Array([...varint(number * 8 + LENGTH_DELIMITED), ...varint(data.length)]), data]);
}

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9). */
function tensorProto(name: string, dims: readonly number[], dataType: number, raw: Uint8Array): Uint8Array {
  return concat([
    ...dims.map((dim) => varintField(1, dim)),
    varintField(2, dataType),
    bytesField(8, name),
    bytesField(9, raw),
  ]);
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). */
function dequantizeNode(inputs: readonly string[], output: string, axis: number): Uint8Array {
  // AttributeProto: name (1), i (3), type (20).
  const attribute = concat([bytesField(1, 'axis'), varintField(3, axis), varintField(20, ATTRIBUTE_INT)]);
  return concat([
    ...inputs.map((input) => bytesField(1, input)),
    bytesField(2, output),
    bytesField(3, `${output}::dequantize`),
    bytesField(4, 'DequantizeLinear'),
    bytesField(5, attribute),
  ]);
}

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  external: boolean;
}

function readInitializer(payload: Uint8Array): Initializer {
  const tensor: Initializer = { name: '', dims: [], dataType: 0, external: false };
  for (const field of readFields(payload)) {
    if (field.number === 1 && field.wireType === VARINT) tensor.dims.push(field.value as number);
    else if (field.number === 1 && field.payload) {
      // Packed dims.
      for (let at = 0; at < field.payload.length; ) {
        const [dim, next] = readVarint(field.payload, at);
        tensor.dims.push(dim);
        at = next;
      }
    } else if (field.number === 2) tensor.dataType = field.value ?? 0;
    else if (field.number === 8) tensor.name = text(field.payload);
    else if (field.number === 9) tensor.raw = field.payload;
    else if (field.number === 14) tensor.external = field.value === 1;
  }
  return tensor;
}

/** Symmetric int8 per row: scale = max |row| / 127, zero point 0. */
function quantizeRows(tensor: Initializer): { values: Uint8Array; scales: Uint8Array; rows: number } {
  const raw = tensor.raw as Uint8Array;
  const floats = new Float32Array(raw.byteLength / 4);
  new Uint8Array(floats.buffer).set(raw); // raw_data is little-endian, as is every host Node runs on
  const rows = tensor.dims[0] as number;
  const width = rows === 0 ? 0 : floats.length / rows;
  const values = new Int8Array(floats.length);
  const scales = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let max = 0;
    for (let column = 0; column < width; column++)
      max = Math.max(max, Math.abs(floats[row * width + column] as number));
    const scale = max === 0 ? 1 : max / 127;
    scales[row] = scale;
    for (let column = 0; column < width; column++) {
      const index = row * width + column;
      values[index] = Math.max(-127, Math.min(127, Math.round((floats[index] as number) / scale)));
    }
  }
  return { values: new Uint8Array(values.buffer), scales: new Uint8Array(scales.buffer), rows };
}

export interface QuantizedOnnx {
  bytes: Uint8Array;
  /** Names of the initializers stored as int8. */
  quantized: string[];
}

/**
 * Stores the float32 initializers of at least `minElements` elements (and two dimensions) as
 * int8 with per-row scales. Needs opset ≥ 13 (per-axis DequantizeLinear).
 */
export function quantizeOnnxWeights(
  model: Uint8Array,
  options: { opset: number; minElements?: number },
): QuantizedOnnx {
  if (options.opset < 13)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `quantized: the model's opset ${options.opset} has no per-axis DequantizeLinear (opset 13+).`,
      { details: { option: 'quantized' } },
    );
  const minElements = options.minElements ?? 1024;
  const modelFields = readFields(model);
  const graphField = modelFields.find((field) => field.number === 7 && field.payload);
  if (!graphField?.payload) return { bytes: model, quantized: [] };
  const graphFields = readFields(graphField.payload);
  // Graph inputs (11) may name initializers (IR < 4 style): those stay as they are.
  const inputNames = new Set(
    graphFields
      .filter((field) => field.number === 11 && field.payload)
      .map((field) =>
        text(readFields(field.payload as Uint8Array).find((inner) => inner.number === 1)?.payload),
      ),
  );
  const nodes: Uint8Array[] = [];
  const initializers: Uint8Array[] = [];
  const kept: Uint8Array[] = [];
  const quantized: string[] = [];
  for (const field of graphFields) {
    if (field.number !== 5 || !field.payload) {
      kept.push(field.raw);
      continue;
    }
    const tensor = readInitializer(field.payload);
    const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
    if (
      tensor.dataType !== FLOAT ||
      tensor.external ||
      tensor.raw === undefined ||
      tensor.raw.byteLength !== elements * 4 ||
      tensor.dims.length < 2 ||
      elements < minElements ||
      inputNames.has(tensor.name)
    ) {
      kept.push(field.raw);
      continue;
    }
    const { values, scales, rows } = quantizeRows(tensor);
    const names = [
      `${tensor.name}::q8`,
      `${tensor.name}::q8_scale`,
      `${tensor.name}::q8_zero_point`,
    ] as const;
    initializers.push(
      bytesField(5, tensorProto(names[0], tensor.dims, INT8, values)),
      bytesField(5, tensorProto(names[1], [rows], FLOAT, scales)),
      bytesField(5, tensorProto(names[2], [rows], INT8, new Uint8Array(rows))),
    );
    nodes.push(bytesField(1, dequantizeNode(names, tensor.name, 0)));
    quantized.push(tensor.name);
  }
  if (quantized.length === 0) return { bytes: model, quantized };
  // The dequantizing nodes come first: ONNX wants nodes in topological order.
  const graph = concat([...nodes, ...kept, ...initializers]);
  const bytes = concat(modelFields.map((field) => (field === graphField ? bytesField(7, graph) : field.raw)));
  return { bytes, quantized };
}
