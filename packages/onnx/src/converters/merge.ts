/** Merge layers: Add, Multiply, Average, Maximum, Minimum, Concatenate, Dot. */
import { attr } from '../graph.js';
import { configValue, inputShape, type LayerContext, type LayerConverter, unsupported } from './types.js';

/**
 * TF.js expands lower-rank merge inputs at axis 1, ONNX broadcasts from the trailing axes: only
 * inputs of one rank mean the same in both.
 */
function assertSameRank(context: LayerContext): void {
  const ranks = new Set(context.inputShapes.map((shape) => shape.length));
  if (ranks.size > 1)
    throw unsupported(
      context,
      `inputs of different ranks (${[...ranks].join(', ')}); reshape them to one rank first`,
    );
}

function variadic(op: string): LayerConverter {
  return (context) => {
    assertSameRank(context);
    return [context.graph.node(op, context.inputs, {}, context.hint())];
  };
}

/** Chained binary operator (Mul has no variadic form). */
function chained(op: string): LayerConverter {
  return (context) => {
    assertSameRank(context);
    const [first, ...rest] = context.inputs;
    if (first === undefined || rest.length === 0)
      throw unsupported(context, 'a merge needs at least two inputs');
    return [rest.reduce((left, right) => context.graph.node(op, [left, right], {}, context.hint()), first)];
  };
}

const concatenate: LayerConverter = (context) => [
  context.graph.node(
    'Concat',
    context.inputs,
    { axis: attr.int(configValue(context, 'axis', -1)) },
    context.hint(),
  ),
];

/** x / √max(Σx², ε) along `axis`, as TF.js's l2Normalize. */
function l2Normalize(context: LayerContext, x: string, axis: number): string {
  const { graph } = context;
  const squares = graph.node(
    'ReduceSumSquare',
    [x],
    { axes: attr.ints([axis]), keepdims: attr.int(1) },
    context.hint('sumsq'),
  );
  const clamped = graph.node(
    'Max',
    [squares, graph.floats(context.hint('eps'), [1e-12], [])],
    {},
    context.hint('clamp'),
  );
  return graph.node(
    'Div',
    [x, graph.node('Sqrt', [clamped], {}, context.hint('norm'))],
    {},
    context.hint('normalized'),
  );
}

/**
 * Dot of two inputs of rank 2 ([b, n]·[b, n] → [b, 1]) or rank 3 (a batched matrix product over
 * the given axes).
 */
const dot: LayerConverter = (context) => {
  const { graph } = context;
  if (context.inputs.length !== 2) throw unsupported(context, 'Dot needs exactly two inputs');
  const rankA = inputShape(context, 0).length;
  const rankB = inputShape(context, 1).length;
  const rawAxes = context.config.axes as number | number[];
  const axesPair = (Array.isArray(rawAxes) ? rawAxes : [rawAxes, rawAxes]).map((axis, index) =>
    axis < 0 ? axis + (index === 0 ? rankA : rankB) : axis,
  );
  let [a, b] = context.inputs as [string, string];
  const [axisA, axisB] = axesPair as [number, number];
  if (configValue(context, 'normalize', false)) {
    a = l2Normalize(context, a, axisA);
    b = l2Normalize(context, b, axisB);
  }
  if (rankA === 2 && rankB === 2) {
    const product = graph.node('Mul', [a, b], {}, context.hint('mul'));
    return [
      graph.node(
        'ReduceSum',
        [product, graph.int64s(context.hint('axes'), [1])],
        { keepdims: attr.int(1) },
        context.hint(),
      ),
    ];
  }
  if (rankA === 3 && rankB === 3) {
    const left =
      axisA === 2 ? a : graph.node('Transpose', [a], { perm: attr.ints([0, 2, 1]) }, context.hint('a_t'));
    const right =
      axisB === 1 ? b : graph.node('Transpose', [b], { perm: attr.ints([0, 2, 1]) }, context.hint('b_t'));
    return [graph.node('MatMul', [left, right], {}, context.hint())];
  }
  throw unsupported(context, `Dot of inputs of rank ${rankA} and ${rankB} (rank 2 or 3 are supported)`);
};

export const MERGE_CONVERTERS: Record<string, LayerConverter> = {
  Add: variadic('Sum'),
  Multiply: chained('Mul'),
  Average: variadic('Mean'),
  Maximum: variadic('Max'),
  Minimum: variadic('Min'),
  Concatenate: concatenate,
  Dot: dot,
};
