import { QuiverError } from '@quiver/core';
import type * as tf from '@tensorflow/tfjs';
import type { GraphBuilder } from '../graph.js';

/** A layer's shape as TF.js reports it: `null` for the batch and other unknown dimensions. */
export type Shape = readonly (number | null)[];

/** One weight of a layer, read once from TF.js. */
export interface Weight {
  /** The weight's TF.js name, e.g. `dense_Dense1/kernel`. */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a converter knows about one application of a layer. */
export interface LayerContext {
  graph: GraphBuilder;
  layer: tf.layers.Layer;
  className: string;
  /** `layer.getConfig()`: camelCase keys, as TF.js gives them. */
  config: Record<string, unknown>;
  /** ONNX value names of the inputs, in the layer's order. */
  inputs: string[];
  inputShapes: Shape[];
  outputShapes: Shape[];
  /** The layer's weights in `layer.weights` order (read lazily, once per layer). */
  weights(): Weight[];
  /**
   * True when this application produces a model output and `toOnnx` was asked for logits: a
   * final softmax is then left out.
   */
  logitsOutput: boolean;
  /** A unique name hint for values made by this layer. */
  hint(suffix?: string): string;
}

/** Emits the nodes of one layer application and returns the ONNX names of its outputs. */
export type LayerConverter = (context: LayerContext) => string[];

/** The error for a layer, or a configuration of it, that has no exact ONNX translation. */
export function unsupported(context: Pick<LayerContext, 'layer' | 'className'>, what: string): QuiverError {
  return new QuiverError(
    'E_UNSUPPORTED_LAYER',
    `Layer "${context.layer.name}" (${context.className}) cannot be exported to ONNX: ${what}. ` +
      'Change the layer, or export without it.',
    { details: { layer: context.layer.name, className: context.className, reason: what } },
  );
}

/** The only input of a single-input layer. */
export function single(context: LayerContext): string {
  if (context.inputs.length !== 1)
    throw unsupported(context, `expected one input, got ${context.inputs.length}`);
  return context.inputs[0] as string;
}

/** The shape of the only input. */
export function inputShape(context: LayerContext, index = 0): Shape {
  const shape = context.inputShapes[index];
  if (!shape) throw unsupported(context, `input ${index} has no known shape`);
  return shape;
}

/** The weight at `index`, or an error naming it. */
export function weightAt(context: LayerContext, index: number): Weight {
  const weight = context.weights()[index];
  if (!weight) throw unsupported(context, `weight ${index} is missing`);
  return weight;
}

/** A config value as a string, number or boolean, with a default. */
export function configValue<T extends string | number | boolean>(
  context: LayerContext,
  key: string,
  fallback: T,
): T extends string ? string : T extends number ? number : boolean {
  const value = context.config[key];
  return (value === undefined || value === null ? fallback : value) as T extends string
    ? string
    : T extends number
      ? number
      : boolean;
}

/**
 * Transposes a tensor of rank `rank` from channels-last (N, …spatial, C) to channels-first
 * (N, C, …spatial), as ONNX Conv and pooling operators expect.
 */
export function toChannelsFirst(context: LayerContext, value: string, rank: number): string {
  const perm = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, index) => index + 1)];
  return context.graph.node(
    'Transpose',
    [value],
    { perm: { kind: 'ints', value: perm } },
    context.hint('to_nchw'),
  );
}

/** The inverse of {@link toChannelsFirst}. */
export function toChannelsLast(context: LayerContext, value: string, rank: number): string {
  const perm = [0, ...Array.from({ length: rank - 2 }, (_, index) => index + 2), 1];
  return context.graph.node(
    'Transpose',
    [value],
    { perm: { kind: 'ints', value: perm } },
    context.hint('to_nhwc'),
  );
}

/**
 * Permutes a weight on the JS side: `perm[i]` is the source axis of output axis `i` (as ONNX
 * Transpose's `perm`). Used to bring TF.js kernels into ONNX layouts once, at export.
 */
export function permute(
  weight: { shape: readonly number[]; data: Float32Array },
  perm: readonly number[],
): {
  shape: number[];
  data: Float32Array;
} {
  const rank = weight.shape.length;
  const outShape = perm.map((axis) => weight.shape[axis] as number);
  const inStrides = new Array<number>(rank).fill(1);
  for (let axis = rank - 2; axis >= 0; axis--)
    inStrides[axis] = (inStrides[axis + 1] as number) * (weight.shape[axis + 1] as number);
  const strides = perm.map((axis) => inStrides[axis] as number);
  const out = new Float32Array(weight.data.length);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let source = 0;
    for (let axis = 0; axis < rank; axis++) source += (index[axis] as number) * (strides[axis] as number);
    out[flat] = weight.data[source] as number;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] as number) + 1;
      if ((index[axis] as number) < (outShape[axis] as number)) break;
      index[axis] = 0;
    }
  }
  return { shape: outShape, data: out };
}
