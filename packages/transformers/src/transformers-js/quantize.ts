/**
 * Weight-only int8 quantization of an ONNX model, for `onnx/model_quantized.onnx` (what
 * transformers.js loads with `dtype: 'q8'`).
 *
 * Every large float32 initializer (an Embedding table, a Dense kernel) is stored as int8 with one
 * symmetric scale per row (axis 0), and a `DequantizeLinear` node placed first in the graph
 * rebuilds the float tensor under its original name, so the nodes that read it are unchanged.
 * Activations stay float32. The model is read and written with `@quiver/onnx`'s ONNX schema.
 */
import { QuiverError } from '@quiver/core';
import {
  AttributeType,
  DataType,
  decodeOnnx,
  encodeOnnx,
  type NodeProto,
  type TensorProto,
  toNumber,
} from '@quiver/onnx';

/** Symmetric int8 per row: scale = max |row| / 127, zero point 0. */
function quantizeRows(floats: Float32Array, rows: number): { values: Int8Array; scales: Float32Array } {
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
  return { values, scales };
}

const bytesOf = (array: Int8Array | Float32Array): Uint8Array =>
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** The float32 values of an initializer held in `raw_data` (little-endian, as every Node host). */
function floatsOf(raw: Uint8Array): Float32Array {
  const floats = new Float32Array(raw.byteLength / 4);
  new Uint8Array(floats.buffer).set(raw);
  return floats;
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
  const proto = decodeOnnx(model);
  const graph = proto.graph;
  if (!graph) return { bytes: model, quantized: [] };
  // Graph inputs may name initializers (IR < 4 style): those stay as they are.
  const inputNames = new Set(graph.input.map((input) => input.name));
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const quantized: string[] = [];
  for (const tensor of graph.initializer) {
    const dims = (tensor.dims ?? []).map(toNumber);
    const elements = dims.reduce((product, dim) => product * dim, 1);
    const raw = tensor.raw_data;
    if (
      tensor.data_type !== DataType.FLOAT ||
      tensor.data_location === 1 ||
      raw === undefined ||
      raw.byteLength !== elements * 4 ||
      dims.length < 2 ||
      elements < minElements ||
      inputNames.has(tensor.name ?? '')
    ) {
      initializers.push(tensor);
      continue;
    }
    const name = tensor.name as string;
    const rows = dims[0] as number;
    const { values, scales } = quantizeRows(floatsOf(raw), rows);
    const names = [`${name}::q8`, `${name}::q8_scale`, `${name}::q8_zero_point`];
    initializers.push(
      { name: names[0], dims, data_type: DataType.INT8, raw_data: bytesOf(values) },
      { name: names[1], dims: [rows], data_type: DataType.FLOAT, raw_data: bytesOf(scales) },
      { name: names[2], dims: [rows], data_type: DataType.INT8, raw_data: new Uint8Array(rows) },
    );
    nodes.push({
      op_type: 'DequantizeLinear',
      name: `${name}::dequantize`,
      input: names,
      output: [name],
      attribute: [{ name: 'axis', type: AttributeType.INT, i: 0 }],
    });
    quantized.push(name);
  }
  if (quantized.length === 0) return { bytes: model, quantized };
  // The dequantizing nodes come first: ONNX wants nodes in topological order.
  const bytes = encodeOnnx({
    ...proto,
    graph: { ...graph, node: [...nodes, ...graph.node], initializer: initializers },
  });
  return { bytes, quantized };
}
