/**
 * Every activation TF.js layers can name (`activation: '…'`), as ONNX nodes. Each matches the
 * TF.js formula in `tfjs-layers/src/activations.ts`.
 */
import { attr, type GraphBuilder } from '../graph.js';

type Emit = (graph: GraphBuilder, x: string, hint: string) => string;

/** x · sigmoid(x), x · tanh(softplus(x)), … built from primitive operators. */
function mulBy(graph: GraphBuilder, x: string, op: string, hint: string): string {
  return graph.node('Mul', [x, graph.node(op, [x], {}, hint)], {}, hint);
}

const ACTIVATIONS: Record<string, Emit> = {
  linear: (_graph, x) => x,
  relu: (graph, x, hint) => graph.node('Relu', [x], {}, hint),
  relu6: (graph, x, hint) =>
    graph.node(
      'Clip',
      [x, graph.floats(`${hint}_min`, [0], []), graph.floats(`${hint}_max`, [6], [])],
      {},
      hint,
    ),
  elu: (graph, x, hint) => graph.node('Elu', [x], { alpha: attr.float(1) }, hint),
  // TF.js uses the exact constants of the SELU paper; ONNX's defaults are these rounded to float32.
  selu: (graph, x, hint) =>
    graph.node(
      'Selu',
      [x],
      { alpha: attr.float(1.6732632423543772), gamma: attr.float(1.0507009873554805) },
      hint,
    ),
  sigmoid: (graph, x, hint) => graph.node('Sigmoid', [x], {}, hint),
  // K.hardSigmoid: clip(0.2 · x + 0.5, 0, 1).
  hardSigmoid: (graph, x, hint) =>
    graph.node('HardSigmoid', [x], { alpha: attr.float(0.2), beta: attr.float(0.5) }, hint),
  softplus: (graph, x, hint) => graph.node('Softplus', [x], {}, hint),
  softsign: (graph, x, hint) => graph.node('Softsign', [x], {}, hint),
  tanh: (graph, x, hint) => graph.node('Tanh', [x], {}, hint),
  softmax: (graph, x, hint) => graph.node('Softmax', [x], { axis: attr.int(-1) }, hint),
  logSoftmax: (graph, x, hint) => graph.node('LogSoftmax', [x], { axis: attr.int(-1) }, hint),
  swish: (graph, x, hint) => mulBy(graph, x, 'Sigmoid', hint),
  mish: (graph, x, hint) =>
    graph.node('Mul', [x, graph.node('Tanh', [graph.node('Softplus', [x], {}, hint)], {}, hint)], {}, hint),
  // x · 0.5 · (1 + erf(x / √2))
  gelu: (graph, x, hint) => {
    const scaled = graph.node('Div', [x, graph.floats(`${hint}_sqrt2`, [Math.SQRT2], [])], {}, hint);
    const onePlus = graph.node(
      'Add',
      [graph.node('Erf', [scaled], {}, hint), graph.floats(`${hint}_one`, [1], [])],
      {},
      hint,
    );
    const half = graph.node('Mul', [onePlus, graph.floats(`${hint}_half`, [0.5], [])], {}, hint);
    return graph.node('Mul', [x, half], {}, hint);
  },
  // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
  gelu_new: (graph, x, hint) => {
    const cube = graph.node('Pow', [x, graph.floats(`${hint}_three`, [3], [])], {}, hint);
    const inner = graph.node(
      'Add',
      [x, graph.node('Mul', [cube, graph.floats(`${hint}_c`, [0.044715], [])], {}, hint)],
      {},
      hint,
    );
    const scaled = graph.node(
      'Mul',
      [inner, graph.floats(`${hint}_k`, [Math.sqrt(2 / Math.PI)], [])],
      {},
      hint,
    );
    const onePlus = graph.node(
      'Add',
      [graph.node('Tanh', [scaled], {}, hint), graph.floats(`${hint}_one`, [1], [])],
      {},
      hint,
    );
    return graph.node(
      'Mul',
      [graph.node('Mul', [x, onePlus], {}, hint), graph.floats(`${hint}_half`, [0.5], [])],
      {},
      hint,
    );
  },
};

/** Names of the activations {@link applyActivation} supports. */
export const SUPPORTED_ACTIVATIONS: readonly string[] = Object.keys(ACTIVATIONS);

/** True when TF.js's activation `name` can be exported. */
export function isSupportedActivation(name: string): boolean {
  return Object.hasOwn(ACTIVATIONS, name);
}

/** Applies TF.js activation `name` (as in a layer config) to `x`; `linear` adds nothing. */
export function applyActivation(graph: GraphBuilder, name: string, x: string, hint: string): string {
  const emit = ACTIVATIONS[name];
  if (!emit) throw new Error(`Unknown activation "${name}".`);
  return emit(graph, x, hint);
}
