/** BatchNormalization (folded to a scale and shift) and LayerNormalization. */
import { attr } from '../graph.js';
import {
  configValue,
  inputShape,
  type LayerContext,
  type LayerConverter,
  single,
  unsupported,
} from './types.js';

/**
 * Inference-mode batch normalisation: y = x · s + t with s = γ / √(var + ε), t = β − mean · s,
 * computed once at export in float64 and stored as float32.
 */
const batchNormalization: LayerConverter = (context) => {
  const { graph } = context;
  const rank = inputShape(context).length;
  const rawAxis = configValue(context, 'axis', -1);
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  // TF.js's batchNorm kernels index the per-channel vectors by flat position modulo their length,
  // which only equals per-channel normalisation on the last axis; no exact ONNX form exists else.
  if (axis !== rank - 1)
    throw unsupported(context, `axis ${rawAxis} (TF.js normalises correctly only over the last axis, -1)`);
  const epsilon = configValue(context, 'epsilon', 1e-3);
  const weights = context.weights();
  let index = 0;
  const gamma = configValue(context, 'scale', true) ? weights[index++] : undefined;
  const beta = configValue(context, 'center', true) ? weights[index++] : undefined;
  const mean = weights[index++];
  const variance = weights[index++];
  if (!mean || !variance) throw unsupported(context, 'moving mean/variance weights are missing');
  const channels = mean.data.length;
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const s =
      (gamma ? (gamma.data[channel] as number) : 1) / Math.sqrt((variance.data[channel] as number) + epsilon);
    scale[channel] = s;
    shift[channel] = (beta ? (beta.data[channel] as number) : 0) - (mean.data[channel] as number) * s;
  }
  const dims = [channels];
  const scaled = graph.node(
    'Mul',
    [single(context), graph.initializer(`${context.layer.name}/scale`, dims, scale)],
    {},
    context.hint('scale'),
  );
  return [
    graph.node(
      'Add',
      [scaled, graph.initializer(`${context.layer.name}/shift`, dims, shift)],
      {},
      context.hint(),
    ),
  ];
};

/** The trailing axes LayerNormalization normalises over, as the first of them. */
function firstNormalizedAxis(context: LayerContext, rank: number): number {
  const raw = context.config.axis as number | number[] | undefined;
  const axes = (Array.isArray(raw) ? raw : [raw ?? -1])
    .map((axis) => (axis < 0 ? axis + rank : axis))
    .sort((a, b) => a - b);
  const first = axes[0] as number;
  if (axes.some((axis, index) => axis !== first + index) || axes[axes.length - 1] !== rank - 1)
    throw unsupported(
      context,
      `normalising over axes [${axes.join(', ')}] (only trailing axes are supported)`,
    );
  return first;
}

const layerNormalization: LayerConverter = (context) => {
  const { graph } = context;
  const rank = inputShape(context).length;
  const axis = firstNormalizedAxis(context, rank);
  const epsilon = configValue(context, 'epsilon', 1e-3);
  const shape = inputShape(context).slice(axis) as number[];
  const size = shape.reduce((product, dim) => product * dim, 1);
  const weights = context.weights();
  let index = 0;
  const gamma = configValue(context, 'scale', true) ? weights[index++] : undefined;
  const beta = configValue(context, 'center', true) ? weights[index++] : undefined;
  const gammaName = graph.initializer(
    `${context.layer.name}/gamma`,
    shape,
    gamma?.data ?? new Float32Array(size).fill(1),
    gamma !== undefined,
  );
  const betaName = graph.initializer(
    `${context.layer.name}/beta`,
    shape,
    beta?.data ?? new Float32Array(size),
    beta !== undefined,
  );
  const x = single(context);
  if (graph.opset >= 17)
    return [
      graph.node(
        'LayerNormalization',
        [x, gammaName, betaName],
        { axis: attr.int(axis), epsilon: attr.float(epsilon) },
        context.hint(),
      ),
    ];
  const axes = attr.ints(Array.from({ length: rank - axis }, (_, offset) => axis + offset));
  const mean = graph.node('ReduceMean', [x], { axes, keepdims: attr.int(1) }, context.hint('mean'));
  const centered = graph.node('Sub', [x, mean], {}, context.hint('centered'));
  const variance = graph.node(
    'ReduceMean',
    [graph.node('Mul', [centered, centered], {}, context.hint('sq'))],
    { axes, keepdims: attr.int(1) },
    context.hint('var'),
  );
  const std = graph.node(
    'Sqrt',
    [
      graph.node(
        'Add',
        [variance, graph.floats(context.hint('eps'), [epsilon], [])],
        {},
        context.hint('var_eps'),
      ),
    ],
    {},
    context.hint('std'),
  );
  const normalized = graph.node('Div', [centered, std], {}, context.hint('normalized'));
  return [
    graph.node(
      'Add',
      [graph.node('Mul', [normalized, gammaName], {}, context.hint('gamma')), betaName],
      {},
      context.hint(),
    ),
  ];
};

export const NORMALIZATION_CONVERTERS: Record<string, LayerConverter> = {
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
