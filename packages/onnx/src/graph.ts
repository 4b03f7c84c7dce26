/**
 * Builds an ONNX GraphProto node by node. Converters only talk to this class: it names values
 * uniquely, stores initializers as little-endian `raw_data`, and types attributes explicitly.
 */
import { QuiverError } from '@quiver/core';
import {
  type AttributeProto,
  AttributeType,
  DataType,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto/onnx-schema.js';

/** A typed attribute value; build one with {@link attr}. */
export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] };

/** Attribute constructors: `{ alpha: attr.float(0.2), axis: attr.int(1) }`. */
export const attr = {
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  strings: (value: readonly string[]): AttributeValue => ({ kind: 'strings', value }),
};

export type Attributes = Record<string, AttributeValue | undefined>;

/** Data an initializer can hold. */
export type InitializerData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

function toAttribute(name: string, value: AttributeValue): AttributeProto {
  switch (value.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: value.value };
    case 'int':
      return { name, type: AttributeType.INT, i: value.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: Buffer.from(value.value, 'utf8') };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...value.value] };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...value.value] };
    case 'strings':
      return {
        name,
        type: AttributeType.STRINGS,
        strings: value.value.map((entry) => Buffer.from(entry, 'utf8')),
      };
  }
}

function dataTypeOf(data: InitializerData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  return DataType.UINT8;
}

/** Little-endian bytes of a typed array, without copying (every supported host is little-endian). */
function rawBytes(data: InitializerData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class GraphBuilder {
  readonly opset: number;
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  /** Number of float parameters stored as initializers (weights, not shape constants). */
  parameterCount = 0;

  constructor(opset: number) {
    this.opset = opset;
  }

  /** A value name not used yet, derived from `hint`. */
  name(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'value';
    let candidate = base;
    for (let suffix = 1; this.used.has(candidate); suffix++) candidate = `${base}_${suffix}`;
    this.used.add(candidate);
    return candidate;
  }

  /** True when a value already has this name. */
  isTaken(name: string): boolean {
    return this.used.has(name);
  }

  /** Reserves an exact name (graph inputs and outputs); throws when it is already taken. */
  reserve(name: string): string {
    if (this.used.has(name))
      throw new QuiverError(
        'E_INVALID_OPTION',
        `The ONNX value name "${name}" is used twice; give inputs and outputs distinct names.`,
        {
          details: { option: 'inputNames/outputNames', name },
        },
      );
    this.used.add(name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: readonly string[], attributes: Attributes = {}, hint?: string): string {
    const [output] = this.nodeWithOutputs(opType, inputs, 1, attributes, hint);
    return output as string;
  }

  /** Adds a node with `outputCount` outputs (an empty string in `inputs` skips an optional one). */
  nodeWithOutputs(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Attributes = {},
    hint?: string,
  ): string[] {
    const base = hint ?? opType;
    const outputs = Array.from({ length: outputCount }, (_, index) =>
      this.name(outputCount === 1 ? base : `${base}_out${index}`),
    );
    this.push(opType, inputs, outputs, attributes, base);
    return outputs;
  }

  /** Adds a node writing to the given (already reserved) output names. */
  nodeInto(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Attributes = {},
  ): void {
    this.push(opType, inputs, outputs, attributes, outputs[0] ?? opType);
  }

  private push(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Attributes,
    hint: string,
  ): void {
    const attribute = Object.entries(attributes)
      .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
      .map(([key, value]) => toAttribute(key, value));
    this.nodes.push({
      op_type: opType,
      name: `${hint}/${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outputs],
      attribute,
    });
  }

  /** Stores a tensor as an initializer and returns its name. Float data counts as parameters. */
  initializer(hint: string, dims: readonly number[], data: InitializerData, isParameter = true): string {
    const expected = dims.reduce((product, dim) => product * dim, 1);
    if (data.length !== expected)
      throw new Error(`Initializer ${hint}: ${data.length} values do not fill shape [${dims.join(', ')}].`);
    const name = this.name(hint);
    this.initializers.push({ name, dims: [...dims], data_type: dataTypeOf(data), raw_data: rawBytes(data) });
    if (isParameter && data instanceof Float32Array) this.parameterCount += data.length;
    return name;
  }

  /** An int64 constant (shapes, axes, pads, …). */
  int64s(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(
      hint,
      dims,
      BigInt64Array.from(values, (value) => BigInt(value)),
      false,
    );
  }

  /** A float constant that is not a trained parameter (e.g. a scalar 0.5). */
  floats(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(hint, dims, Float32Array.from(values), false);
  }

  /** The finished graph. */
  build(name: string, input: ValueInfoProto[], output: ValueInfoProto[]): GraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input, output };
  }
}
