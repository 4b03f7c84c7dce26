/**
 * Core layers: Dense, activations, the inference-identity noise/dropout layers, and the shape
 * layers (Flatten, Reshape, Permute, RepeatVector). Tensors stay in TF.js layout (channels-last).
 */
import { attr } from '../graph.js';
import { applyActivation, isSupportedActivation, SUPPORTED_ACTIVATIONS } from './activations.js';
import {
  configValue,
  inputShape,
  type LayerContext,
  type LayerConverter,
  single,
  unsupported,
  weightAt,
} from './types.js';

/** Applies the layer's `activation` config, refusing one that has no ONNX translation. */
export function activationOf(context: LayerContext, x: string, key = 'activation'): string {
  const name = configValue(context, key, 'linear');
  if (name === 'softmax' && context.logitsOutput) return x;
  if (!isSupportedActivation(name))
    throw unsupported(context, `activation "${name}" is not one of ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  return applyActivation(context.graph, name, x, context.hint(name));
}

/** x · W (+ b) for an input of any rank ≥ 2, W being `[in, out]` as TF.js stores it. */
export function denseProduct(context: LayerContext, x: string, rank: number): string {
  const { graph } = context;
  const kernel = weightAt(context, 0);
  const kernelName = graph.initializer(`${context.layer.name}/kernel`, kernel.shape, kernel.data);
  const useBias = configValue(context, 'useBias', true);
  if (!useBias) return graph.node('MatMul', [x, kernelName], {}, context.hint('matmul'));
  const bias = weightAt(context, 1);
  const biasName = graph.initializer(`${context.layer.name}/bias`, bias.shape, bias.data);
  if (rank === 2) return graph.node('Gemm', [x, kernelName, biasName], {}, context.hint('gemm'));
  return graph.node(
    'Add',
    [graph.node('MatMul', [x, kernelName], {}, context.hint('matmul')), biasName],
    {},
    context.hint('bias'),
  );
}

const dense: LayerConverter = (context) => {
  const x = single(context);
  return [activationOf(context, denseProduct(context, x, inputShape(context).length))];
};

const activation: LayerConverter = (context) => [activationOf(context, single(context))];

const identity: LayerConverter = (context) => [single(context)];

const relu: LayerConverter = (context) => {
  const { graph } = context;
  const x = single(context);
  const maxValue = context.config.maxValue as number | null | undefined;
  if (maxValue === null || maxValue === undefined) return [graph.node('Relu', [x], {}, context.hint())];
  const low = graph.floats(context.hint('min'), [0], []);
  const high = graph.floats(context.hint('max'), [maxValue], []);
  return [graph.node('Clip', [x, low, high], {}, context.hint())];
};

const leakyRelu: LayerConverter = (context) => [
  context.graph.node(
    'LeakyRelu',
    [single(context)],
    { alpha: attr.float(configValue(context, 'alpha', 0.3)) },
    context.hint(),
  ),
];

const elu: LayerConverter = (context) => [
  context.graph.node(
    'Elu',
    [single(context)],
    { alpha: attr.float(configValue(context, 'alpha', 1)) },
    context.hint(),
  ),
];

const thresholdedRelu: LayerConverter = (context) => [
  context.graph.node(
    'ThresholdedRelu',
    [single(context)],
    { alpha: attr.float(configValue(context, 'theta', 1)) },
    context.hint(),
  ),
];

const softmax: LayerConverter = (context) => {
  const axis = context.config.axis;
  const single_axis = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : undefined) : (axis ?? -1);
  if (typeof single_axis !== 'number') throw unsupported(context, 'softmax over several axes');
  if (context.logitsOutput) return [single(context)];
  return [context.graph.node('Softmax', [single(context)], { axis: attr.int(single_axis) }, context.hint())];
};

/** PReLU: alpha has the input's shape without the batch (shared axes are 1); it broadcasts. */
const prelu: LayerConverter = (context) => {
  const alpha = weightAt(context, 0);
  const alphaName = context.graph.initializer(`${context.layer.name}/alpha`, alpha.shape, alpha.data);
  return [context.graph.node('PRelu', [single(context), alphaName], {}, context.hint())];
};

const flatten: LayerConverter = (context) => {
  if (
    configValue(context, 'dataFormat', 'channelsLast') === 'channelsFirst' &&
    inputShape(context).length > 3
  )
    throw unsupported(context, 'dataFormat "channelsFirst"');
  return [context.graph.node('Flatten', [single(context)], { axis: attr.int(1) }, context.hint())];
};

const reshape: LayerConverter = (context) => {
  // TF.js writes the unknown dimension (-1) as null.
  const target = (context.config.targetShape as (number | null)[]).map((dim) => dim ?? -1);
  const shape = context.graph.int64s(context.hint('shape'), [0, ...target]);
  return [context.graph.node('Reshape', [single(context), shape], {}, context.hint())];
};

/** TF.js `dims` are 1-based and exclude the batch axis. */
const permuteLayer: LayerConverter = (context) => {
  const dims = context.config.dims as number[];
  return [
    context.graph.node('Transpose', [single(context)], { perm: attr.ints([0, ...dims]) }, context.hint()),
  ];
};

/** [batch, features] → [batch, n, features]. */
const repeatVector: LayerConverter = (context) => {
  const { graph } = context;
  const n = configValue(context, 'n', 1);
  const expanded = graph.node(
    'Unsqueeze',
    [single(context), graph.int64s(context.hint('axes'), [1])],
    {},
    context.hint('unsqueeze'),
  );
  return [
    graph.node('Tile', [expanded, graph.int64s(context.hint('repeats'), [1, n, 1])], {}, context.hint()),
  ];
};

export const CORE_CONVERTERS: Record<string, LayerConverter> = {
  Dense: dense,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  PReLU: prelu,
  ELU: elu,
  ThresholdedReLU: thresholdedRelu,
  Softmax: softmax,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permuteLayer,
  RepeatVector: repeatVector,
};
