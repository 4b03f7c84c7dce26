/**
 * Embedding and the recurrent layers: SimpleRNN, LSTM, GRU and Bidirectional around each.
 *
 * The recurrent layers become ONNX RNN / LSTM / GRU operators, which work time-major
 * (`X` is [seq, batch, in], `Y` is [seq, dirs, batch, hidden]); TF.js's [batch, seq, units]
 * layout is restored with Transpose/Reshape. The semantics follow `tfjs-layers` 4.22
 * (`layers/recurrent.ts`, `layers/wrappers.ts`, `layers/embeddings.ts`):
 * - `goBackwards` runs over the reversed input and returns the sequence in processing order,
 *   i.e. reversed; it is exported as the same reversal of the input.
 * - Bidirectional runs a forward copy and a copy with `goBackwards` flipped, reverses the second
 *   one's sequence (when `returnSequences`), and merges them.
 * - A mask (from `Embedding({maskZero: true})`) makes a masked step keep the previous output and
 *   states. ONNX's `sequence_lens` cannot express masks with holes, so a masked layer is unrolled
 *   over its (static) time steps, one single-step operator per step followed by `Where`.
 */
import type * as tf from '@tensorflow/tfjs';
import { attr, type GraphBuilder } from '../graph.js';
import { DataType } from '../proto/onnx-schema.js';
import {
  configValue,
  inputShape,
  type LayerContext,
  type LayerConverter,
  single,
  unsupported,
  type Weight,
  weightAt,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Masks
// ---------------------------------------------------------------------------------------------

/**
 * Per graph: ONNX value name → the mask TF.js attaches to that value ([batch, time], bool),
 * built on first use. Embedding registers its output; a masked recurrent layer that returns
 * sequences registers its output too (TF.js passes the mask on unchanged). Identity converters
 * (Dropout, …) return their input's name, so the mask follows them as it does in TF.js.
 */
const MASKS = new WeakMap<GraphBuilder, Map<string, () => string>>();

function maskRegistry(graph: GraphBuilder): Map<string, () => string> {
  let registry = MASKS.get(graph);
  if (!registry) {
    registry = new Map();
    MASKS.set(graph, registry);
  }
  return registry;
}

/** A thunk that builds `build()` once and then returns the same name. */
function once(build: () => string): () => string {
  let name: string | undefined;
  return () => {
    name ??= build();
    return name;
  };
}

interface LinkedNode {
  inboundLayers: (LinkedLayer | null | undefined)[];
  outboundLayer: LinkedLayer;
}

interface LinkedLayer {
  getClassName(): string;
  inboundNodes: LinkedNode[];
  outboundNodes: LinkedNode[];
  maskZero?: boolean;
}

/**
 * True when any layer connected to `layer` produces a mask (`Embedding({maskZero: true})` or
 * `Masking`). TF.js's executor keeps the last mask it saw in a `kwargs` object shared by the
 * layers that run after it, so a recurrent layer whose own input carries no mask still gets a
 * stale one; such layers are refused rather than exported unmasked.
 */
function graphHasMaskSource(layer: tf.layers.Layer): boolean {
  const start = layer as unknown as LinkedLayer;
  const seen = new Set<LinkedLayer>([start]);
  const pending: LinkedLayer[] = [start];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    const className = current.getClassName();
    if (className === 'Masking' || (className === 'Embedding' && current.maskZero === true)) return true;
    const neighbours = [
      ...(current.inboundNodes ?? []).flatMap((node) => node.inboundLayers ?? []),
      ...(current.outboundNodes ?? []).map((node) => node.outboundLayer),
    ];
    for (const neighbour of neighbours) {
      if (neighbour && !seen.has(neighbour)) {
        seen.add(neighbour);
        pending.push(neighbour);
      }
    }
  }
  return false;
}

/**
 * The mask TF.js applies to the recurrent layer reading `x`, or undefined when it applies none.
 * Throws when TF.js applies a mask this exporter cannot reproduce.
 */
function inputMask(context: LayerContext, x: string): (() => string) | undefined {
  const mask = maskRegistry(context.graph).get(x);
  if (mask) return mask;
  if (graphHasMaskSource(context.layer))
    throw unsupported(
      context,
      'the model has a mask source (Embedding maskZero or Masking), and this layer may get a mask that does not ' +
        'come straight from an Embedding (directly, through Dropout-like layers, or through masked recurrent ' +
        'layers that return sequences): TF.js passes masks through layers such as Dense, and its executor even ' +
        'applies a stale mask to layers after one that drops it',
    );
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Embedding
// ---------------------------------------------------------------------------------------------

/** Gather rows of the table; TF.js casts float ids to int32 (truncating), ONNX Cast does too. */
const embedding: LayerConverter = (context) => {
  const { graph } = context;
  const x = single(context);
  const table = weightAt(context, 0);
  if (!(table.data instanceof Float32Array)) throw unsupported(context, 'the embedding table is not float32');
  const tableName = graph.initializer(`${context.layer.name}/embeddings`, table.shape, table.data);
  const ids = graph.node('Cast', [x], { to: attr.int(DataType.INT64) }, context.hint('ids'));
  const output = graph.node('Gather', [tableName, ids], { axis: attr.int(0) }, context.hint());
  // TF.js's mask is `notEqual(inputs, 0)` on the raw ids; only [batch, time] ids can reach an RNN.
  if (configValue(context, 'maskZero', false) && inputShape(context).length === 2) {
    maskRegistry(graph).set(
      output,
      once(() => {
        const asFloat = graph.node('Cast', [x], { to: attr.int(DataType.FLOAT) }, context.hint('mask_ids'));
        const zero = graph.floats(context.hint('mask_zero'), [0], []);
        const isZero = graph.node('Equal', [asFloat, zero], {}, context.hint('mask_eq'));
        return graph.node('Not', [isZero], {}, context.hint('mask'));
      }),
    );
  }
  return [output];
};

// ---------------------------------------------------------------------------------------------
// Recurrent layers: configuration
// ---------------------------------------------------------------------------------------------

/** What differs between the three TF.js cells, in ONNX terms. */
interface CellKind {
  op: 'RNN' | 'LSTM' | 'GRU';
  /** ONNX gate block `g` is TF.js kernel column block `gateOrder[g]`. */
  gateOrder: readonly number[];
  /** States per direction: [h] or [h, c]. */
  stateCount: 1 | 2;
  /** TF.js config keys of ONNX's activation slots (f, g, h), with TF.js's defaults. */
  activations: readonly (readonly [key: string, fallback: string])[];
}

const CELL_KINDS: Record<string, CellKind> = {
  // Ht = f(Xt·Wᵀ + Ht-1·Rᵀ + Wb + Rb): TF.js SimpleRNNCell exactly.
  SimpleRNN: { op: 'RNN', gateOrder: [0], stateCount: 1, activations: [['activation', 'tanh']] },
  // TF.js blocks i, f, c, o → ONNX i, o, f, c.
  LSTM: {
    op: 'LSTM',
    gateOrder: [0, 3, 1, 2],
    stateCount: 2,
    activations: [
      ['recurrentActivation', 'hardSigmoid'],
      ['activation', 'tanh'],
      ['activation', 'tanh'],
    ],
  },
  // TF.js blocks z, r, h = ONNX z, r, h. TF.js 4.22 only has reset_after = false, i.e. the reset
  // gate multiplies Ht-1 before the recurrent kernel: ONNX's linear_before_reset = 0.
  GRU: {
    op: 'GRU',
    gateOrder: [0, 1, 2],
    stateCount: 1,
    activations: [
      ['recurrentActivation', 'hardSigmoid'],
      ['activation', 'tanh'],
    ],
  },
};

/** An ONNX RNN-family activation with its optional alpha/beta. */
interface OnnxActivation {
  name: string;
  alpha?: number;
  beta?: number;
}

/** TF.js activations (tfjs-layers `activations.ts`) that ONNX's RNN operators compute exactly. */
const RNN_ACTIVATIONS: Record<string, OnnxActivation> = {
  tanh: { name: 'Tanh' },
  sigmoid: { name: 'Sigmoid' },
  // K.hardSigmoid: clip(0.2·x + 0.5, 0, 1).
  hardSigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  relu: { name: 'Relu' },
  linear: { name: 'Affine', alpha: 1, beta: 0 },
  elu: { name: 'Elu', alpha: 1 },
  softsign: { name: 'Softsign' },
  softplus: { name: 'Softplus' },
};

/** One direction of a recurrent layer, with its weights in ONNX layout. */
interface Cell {
  goBackwards: boolean;
  /** [k·units, input] */
  w: Float32Array;
  /** [k·units, units] */
  r: Float32Array;
  /** [2·k·units]: Wb then Rb (zeros; TF.js has a single bias). Undefined without a bias. */
  b: Float32Array | undefined;
  activations: OnnxActivation[];
}

/** A recurrent layer (one or two directions) ready to emit. */
interface Recurrence {
  kind: CellKind;
  units: number;
  inputSize: number;
  cells: Cell[];
  returnSequences: boolean;
  returnState: boolean;
}

/**
 * A TF.js kernel [rows, k·units] (gate blocks along columns) as ONNX's [k·units, rows], with the
 * blocks in ONNX order.
 */
function gateMajor(weight: Weight, rows: number, units: number, gateOrder: readonly number[]): Float32Array {
  const gates = gateOrder.length;
  const columns = gates * units;
  const out = new Float32Array(columns * rows);
  gateOrder.forEach((source, gate) => {
    for (let unit = 0; unit < units; unit++) {
      const column = source * units + unit;
      const target = (gate * units + unit) * rows;
      for (let row = 0; row < rows; row++) out[target + row] = weight.data[row * columns + column] as number;
    }
  });
  return out;
}

/** A cell's weight by its TF.js name (`…/kernel`), else by position. */
function cellWeight(weights: Weight[], suffix: string, index: number): Weight | undefined {
  return weights.find((weight) => weight.name.endsWith(`/${suffix}`)) ?? weights[index];
}

function sameShape(weight: Weight | undefined, shape: readonly number[]): weight is Weight {
  return (
    weight !== undefined &&
    weight.shape.length === shape.length &&
    weight.shape.every((dim, index) => dim === shape[index]) &&
    weight.data instanceof Float32Array
  );
}

/**
 * Reads one TF.js SimpleRNN/LSTM/GRU (its config and weights) into a {@link Cell}, refusing
 * configurations that have no exact ONNX form.
 */
function readCell(
  context: LayerContext,
  className: string,
  config: Record<string, unknown>,
  weights: Weight[],
  inputSize: number,
): Cell {
  const kind = CELL_KINDS[className];
  if (!kind) throw unsupported(context, `recurrent layer class ${className} is not SimpleRNN, LSTM or GRU`);
  if (config.stateful === true)
    throw unsupported(context, 'stateful: true (the state carried between predict() calls has no ONNX form)');
  if (config.resetAfter === true) throw unsupported(context, 'GRU resetAfter: true');
  const units = config.units as number;
  const activations = kind.activations.map(([key, fallback]) => {
    const name = (config[key] as string | null | undefined) ?? fallback;
    const activation = RNN_ACTIVATIONS[name];
    if (!activation)
      throw unsupported(
        context,
        `${key} "${name}" is not one the ONNX ${kind.op} operator computes (${Object.keys(RNN_ACTIVATIONS).join(', ')})`,
      );
    return activation;
  });
  const width = kind.gateOrder.length * units;
  const kernel = cellWeight(weights, 'kernel', 0);
  const recurrent = cellWeight(weights, 'recurrent_kernel', 1);
  if (!sameShape(kernel, [inputSize, width]) || !sameShape(recurrent, [units, width]))
    throw unsupported(
      context,
      `unexpected weights (kernel [${inputSize}, ${width}] and recurrent_kernel expected)`,
    );
  let b: Float32Array | undefined;
  if (config.useBias !== false) {
    const bias = cellWeight(weights, 'bias', 2);
    if (!sameShape(bias, [width]))
      throw unsupported(context, `unexpected weights (bias [${width}] expected)`);
    b = new Float32Array(2 * width);
    b.set(gateMajor(bias, 1, units, kind.gateOrder));
  }
  return {
    goBackwards: config.goBackwards === true,
    w: gateMajor(kernel, inputSize, units, kind.gateOrder),
    r: gateMajor(recurrent, units, units, kind.gateOrder),
    b,
    activations,
  };
}

/** The [batch, time, features] input's feature size, refusing anything else. */
function featureSize(context: LayerContext): number {
  const shape = inputShape(context);
  const size = shape[2];
  if (shape.length !== 3 || typeof size !== 'number')
    throw unsupported(context, `expected a [batch, time, features] input, got [${shape.join(', ')}]`);
  return size;
}

// ---------------------------------------------------------------------------------------------
// Recurrent layers: graph
// ---------------------------------------------------------------------------------------------

/** ONNX-layout results: Y [time, dirs, batch, units] (when needed), Y_h and Y_c [dirs, batch, units]. */
interface Run {
  y: string | undefined;
  yh: string;
  yc: string | undefined;
}

function transpose(context: LayerContext, x: string, perm: readonly number[], hint: string): string {
  return context.graph.node('Transpose', [x], { perm: attr.ints(perm) }, context.hint(hint));
}

function squeeze(context: LayerContext, x: string, axis: number, hint: string): string {
  const axes = context.graph.int64s(context.hint(`${hint}_axes`), [axis]);
  return context.graph.node('Squeeze', [x, axes], {}, context.hint(hint));
}

function unsqueeze(context: LayerContext, x: string, axis: number, hint: string): string {
  const axes = context.graph.int64s(context.hint(`${hint}_axes`), [axis]);
  return context.graph.node('Unsqueeze', [x, axes], {}, context.hint(hint));
}

/** `x` with axis `axis` reversed (Slice with step −1). */
function reverseAxis(context: LayerContext, x: string, axis: number, hint: string): string {
  const { graph } = context;
  const inputs = [
    x,
    graph.int64s(context.hint(`${hint}_starts`), [-1]),
    graph.int64s(context.hint(`${hint}_ends`), [Number.MIN_SAFE_INTEGER]),
    graph.int64s(context.hint(`${hint}_axes`), [axis]),
    graph.int64s(context.hint(`${hint}_steps`), [-1]),
  ];
  return graph.node('Slice', inputs, {}, context.hint(hint));
}

/** Slice `index` of axis `axis`, dropping that axis. */
function pick(context: LayerContext, x: string, axis: number, index: number, hint: string): string {
  const at = context.graph.int64s(context.hint(`${hint}_index`), [index], []);
  return context.graph.node('Gather', [x, at], { axis: attr.int(axis) }, context.hint(hint));
}

function concat(context: LayerContext, values: string[], axis: number, hint: string): string {
  if (values.length === 1) return values[0] as string;
  return context.graph.node('Concat', values, { axis: attr.int(axis) }, context.hint(hint));
}

/** The operator's attributes for the given directions. */
function operatorAttributes(recurrence: Recurrence, cells: Cell[], direction: string) {
  const activations = cells.flatMap((cell) => cell.activations);
  const alphas = activations.flatMap((activation) =>
    activation.alpha === undefined ? [] : [activation.alpha],
  );
  const betas = activations.flatMap((activation) => (activation.beta === undefined ? [] : [activation.beta]));
  return {
    hidden_size: attr.int(recurrence.units),
    direction: attr.string(direction),
    activations: attr.strings(activations.map((activation) => activation.name)),
    activation_alpha: alphas.length > 0 ? attr.floats(alphas) : undefined,
    activation_beta: betas.length > 0 ? attr.floats(betas) : undefined,
  };
}

/** W, R and B initializers stacking `cells` along the direction axis. */
function weightInitializers(context: LayerContext, recurrence: Recurrence, cells: Cell[], hint: string) {
  const { graph } = context;
  const width = recurrence.kind.gateOrder.length * recurrence.units;
  const stack = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  const dirs = cells.length;
  const w = graph.initializer(
    `${hint}/W`,
    [dirs, width, recurrence.inputSize],
    stack(cells.map((cell) => cell.w)),
  );
  const r = graph.initializer(
    `${hint}/R`,
    [dirs, width, recurrence.units],
    stack(cells.map((cell) => cell.r)),
  );
  const biases = cells.map((cell) => cell.b);
  if (!biases.every((bias): bias is Float32Array => bias !== undefined)) return { w, r, b: '' };
  // Only the Wb half holds trained values; the Rb half is zeros, so count TF.js's bias once.
  const b = graph.initializer(`${hint}/B`, [dirs, 2 * width], stack(biases), false);
  graph.parameterCount += dirs * width;
  return { w, r, b };
}

/** Drops trailing skipped ('') optional inputs. */
function trimInputs(inputs: string[]): string[] {
  let end = inputs.length;
  while (end > 0 && inputs[end - 1] === '') end--;
  return inputs.slice(0, end);
}

/**
 * Runs the whole sequence through one ONNX operator: 'forward' for one direction, 'bidirectional'
 * for two. `xt` is time-major and already in the first cell's processing order.
 */
function runOperator(
  context: LayerContext,
  recurrence: Recurrence,
  xt: string,
  initial: string[][] | undefined,
): Run {
  const { graph } = context;
  const { kind, cells } = recurrence;
  const { w, r, b } = weightInitializers(context, recurrence, cells, context.layer.name);
  const initialState = (slot: number): string =>
    initial
      ? concat(
          context,
          initial.map((states, dir) =>
            unsqueeze(context, states[slot] as string, 0, `initial${slot}_${dir}`),
          ),
          0,
          `initial${slot}`,
        )
      : '';
  const inputs = [xt, w, r, b, '', initialState(0)];
  if (kind.stateCount === 2) inputs.push(initialState(1));
  const direction = cells.length === 2 ? 'bidirectional' : 'forward';
  const outputs = graph.nodeWithOutputs(
    kind.op,
    trimInputs(inputs),
    kind.stateCount + 1,
    operatorAttributes(recurrence, cells, direction),
    context.hint(kind.op.toLowerCase()),
  );
  return { y: outputs[0], yh: outputs[1] as string, yc: outputs[2] };
}

/**
 * Unrolls the sequence step by step for a mask: each step is a one-step ONNX operator, and
 * `Where(mask_t, new, previous)` keeps the previous output and states on masked steps, as TF.js's
 * `rnn()` does. The backward direction walks the steps in reverse and stores each output at its
 * time index (so it lines up as the Bidirectional layer's reversed backward sequence does).
 */
function runUnrolled(
  context: LayerContext,
  recurrence: Recurrence,
  xt: string,
  mask: string,
  steps: number,
  initial: string[][] | undefined,
  needSequence: boolean,
): Run {
  const { graph } = context;
  const { kind, cells, units } = recurrence;
  const xs = graph.nodeWithOutputs('Split', [xt], steps, { axis: attr.int(0) }, context.hint('x_step'));
  const masks = graph.nodeWithOutputs(
    'Split',
    [mask],
    steps,
    { axis: attr.int(1) },
    context.hint('mask_step'),
  );
  // Zero states [1, batch, units] when no initial state is given.
  const zeros = once(() => {
    const batch = graph.node(
      'Slice',
      [
        graph.node('Shape', [xt], {}, context.hint('shape')),
        graph.int64s(context.hint('batch_start'), [1]),
        graph.int64s(context.hint('batch_end'), [2]),
      ],
      {},
      context.hint('batch'),
    );
    const dims = graph.node(
      'Concat',
      [graph.int64s(context.hint('one'), [1]), batch, graph.int64s(context.hint('units'), [units])],
      { axis: attr.int(0) },
      context.hint('zero_shape'),
    );
    return graph.node('ConstantOfShape', [dims], {}, context.hint('zeros'));
  });
  const ys: string[] = [];
  const hs: string[] = [];
  const cs: string[] = [];
  cells.forEach((cell, dir) => {
    const hint = `${context.layer.name}/${dir === 0 ? 'forward' : 'backward'}`;
    const { w, r, b } = weightInitializers(context, recurrence, [cell], hint);
    const attributes = operatorAttributes(recurrence, [cell], 'forward');
    let states = Array.from({ length: kind.stateCount }, (_, slot) => {
      const given = initial?.[dir]?.[slot];
      return given === undefined ? zeros() : unsqueeze(context, given, 0, `initial${slot}_${dir}`);
    });
    const outputs = new Array<string>(steps);
    for (let index = 0; index < steps; index++) {
      const t = dir === 0 ? index : steps - 1 - index;
      const step = graph.nodeWithOutputs(
        kind.op,
        [xs[t] as string, w, r, b, '', ...states],
        kind.stateCount + 1,
        attributes,
        context.hint(`${kind.op.toLowerCase()}_${dir}_${t}`),
      );
      const keep = masks[t] as string;
      states = states.map((previous, slot) =>
        graph.node(
          'Where',
          [keep, step[slot + 1] as string, previous],
          {},
          context.hint(`state${slot}_${dir}_${t}`),
        ),
      );
      outputs[t] = states[0] as string;
    }
    if (needSequence) ys.push(unsqueeze(context, concat(context, outputs, 0, `y_${dir}`), 1, `y_${dir}_dir`));
    hs.push(states[0] as string);
    if (states[1] !== undefined) cs.push(states[1]);
  });
  return {
    y: needSequence ? concat(context, ys, 1, 'y') : undefined,
    yh: concat(context, hs, 0, 'y_h'),
    yc: cs.length > 0 ? concat(context, cs, 0, 'y_c') : undefined,
  };
}

/**
 * Emits a recurrent layer over `x` ([batch, time, features]). `initial` holds TF.js initial
 * states per direction ([batch, units] each). Returns ONNX-layout results whose time axis is in
 * the first cell's processing order.
 */
function runRecurrence(
  context: LayerContext,
  recurrence: Recurrence,
  x: string,
  initial: string[][] | undefined,
  mask: (() => string) | undefined,
): Run {
  const first = recurrence.cells[0] as Cell;
  // TF.js goBackwards reverses the inputs (and mask) and then runs forwards. In a Bidirectional
  // layer the second cell has the opposite goBackwards, which is ONNX's reverse direction.
  const ordered = first.goBackwards ? reverseAxis(context, x, 1, 'reverse') : x;
  const xt = transpose(context, ordered, [1, 0, 2], 'time_major');
  if (!mask) return runOperator(context, recurrence, xt, initial);
  const steps = inputShape(context)[1];
  if (typeof steps !== 'number')
    throw unsupported(context, 'a masked recurrent layer needs a static sequence length (set inputLength)');
  const orderedMask = first.goBackwards ? reverseAxis(context, mask(), 1, 'reverse_mask') : mask();
  return runUnrolled(context, recurrence, xt, orderedMask, steps, initial, recurrence.returnSequences);
}

/** Direction `dir`'s sequence as [batch, time, units]. */
function sequenceOf(context: LayerContext, run: Run, dirs: number, dir: number): string {
  const y = run.y as string;
  const perDirection =
    dirs === 1 ? squeeze(context, y, 1, 'y_squeeze') : pick(context, y, 1, dir, `y_${dir}`);
  return transpose(context, perDirection, [1, 0, 2], `sequence_${dir}`);
}

/** Direction `dir`'s final value of `states` (Y_h or Y_c) as [batch, units]. */
function stateOf(context: LayerContext, states: string, dirs: number, dir: number, hint: string): string {
  return dirs === 1 ? squeeze(context, states, 0, hint) : pick(context, states, 0, dir, `${hint}_${dir}`);
}

/** Splits the layer's inputs into the sequence and the initial states per direction. */
function splitInputs(
  context: LayerContext,
  recurrence: Recurrence,
): { x: string; initial: string[][] | undefined } {
  const [x, ...states] = context.inputs;
  if (x === undefined) throw unsupported(context, 'no input');
  if (states.length === 0) return { x, initial: undefined };
  const perCell = recurrence.kind.stateCount;
  if (states.length !== perCell * recurrence.cells.length)
    throw unsupported(
      context,
      `expected ${perCell * recurrence.cells.length} initial states, got ${states.length}`,
    );
  return { x, initial: recurrence.cells.map((_, dir) => states.slice(dir * perCell, (dir + 1) * perCell)) };
}

/** The final states of every direction, in TF.js's order (forward h, c, then backward h, c). */
function finalStates(context: LayerContext, recurrence: Recurrence, run: Run): string[] {
  const dirs = recurrence.cells.length;
  return recurrence.cells.flatMap((_, dir) => [
    stateOf(context, run.yh, dirs, dir, 'state_h'),
    ...(run.yc === undefined ? [] : [stateOf(context, run.yc, dirs, dir, 'state_c')]),
  ]);
}

/** SimpleRNN, LSTM and GRU. */
const recurrentLayer: LayerConverter = (context) => {
  const inputSize = featureSize(context);
  const cell = readCell(context, context.className, context.config, context.weights(), inputSize);
  const recurrence: Recurrence = {
    kind: CELL_KINDS[context.className] as CellKind,
    units: configValue(context, 'units', 0),
    inputSize,
    cells: [cell],
    returnSequences: configValue(context, 'returnSequences', false),
    returnState: configValue(context, 'returnState', false),
  };
  const { x, initial } = splitInputs(context, recurrence);
  const mask = inputMask(context, x);
  const run = runRecurrence(context, recurrence, x, initial, mask);
  const output = recurrence.returnSequences
    ? sequenceOf(context, run, 1, 0)
    : stateOf(context, run.yh, 1, 0, 'last');
  // TF.js passes the input's mask on, unreversed even with goBackwards.
  if (mask && recurrence.returnSequences) maskRegistry(context.graph).set(output, mask);
  return recurrence.returnState ? [output, ...finalStates(context, recurrence, run)] : [output];
};

type MergeMode = 'concat' | 'sum' | 'mul' | 'ave' | null;

/**
 * Y [time, dirs, batch, units] or Y_h [dirs, batch, units] → [batch, (time,) dirs·units]: the
 * forward units, then the backward units (TF.js's concat merge).
 */
function concatDirections(context: LayerContext, value: string, sequence: boolean): string {
  const batchMajor = transpose(context, value, sequence ? [2, 0, 1, 3] : [1, 0, 2], 'batch_major');
  const shape = context.graph.int64s(context.hint('concat_shape'), sequence ? [0, 0, -1] : [0, -1]);
  return context.graph.node('Reshape', [batchMajor, shape], {}, context.hint('concat'));
}

interface BidirectionalLayer {
  forwardLayer: tf.layers.Layer;
  backwardLayer: tf.layers.Layer;
}

/**
 * Bidirectional(SimpleRNN | LSTM | GRU). TF.js reverses the backward copy's output sequence, so
 * both directions line up in time, which is exactly ONNX's bidirectional Y.
 */
const bidirectional: LayerConverter = (context) => {
  const { graph } = context;
  const { forwardLayer, backwardLayer } = context.layer as unknown as BidirectionalLayer;
  if (!forwardLayer || !backwardLayer) throw unsupported(context, 'the wrapped layers are missing');
  const className = forwardLayer.getClassName();
  // TF.js's default is 'concat'; `null` returns both directions as separate outputs.
  const mergeMode = (
    context.config.mergeMode === undefined ? 'concat' : context.config.mergeMode
  ) as MergeMode;
  if (!['concat', 'sum', 'mul', 'ave', null].includes(mergeMode))
    throw unsupported(context, `mergeMode "${String(mergeMode)}"`);
  const inputSize = featureSize(context);
  const weights = context.weights();
  const forwardCount = forwardLayer.weights.length;
  if (weights.length !== forwardCount + backwardLayer.weights.length)
    throw unsupported(context, 'the weights do not split into a forward and a backward layer');
  const forwardConfig = forwardLayer.getConfig() as Record<string, unknown>;
  const backwardConfig = backwardLayer.getConfig() as Record<string, unknown>;
  const cells = [
    readCell(context, className, forwardConfig, weights.slice(0, forwardCount), inputSize),
    readCell(context, backwardLayer.getClassName(), backwardConfig, weights.slice(forwardCount), inputSize),
  ];
  if ((cells[0] as Cell).goBackwards === (cells[1] as Cell).goBackwards)
    throw unsupported(context, 'both wrapped layers run in the same direction');
  const recurrence: Recurrence = {
    kind: CELL_KINDS[className] as CellKind,
    units: forwardConfig.units as number,
    inputSize,
    cells,
    returnSequences: forwardConfig.returnSequences === true,
    returnState: forwardConfig.returnState === true,
  };
  const { x, initial } = splitInputs(context, recurrence);
  const mask = inputMask(context, x);
  const run = runRecurrence(context, recurrence, x, initial, mask);

  let outputs: string[];
  if (mergeMode === 'concat') {
    outputs = [
      recurrence.returnSequences
        ? concatDirections(context, run.y as string, true)
        : concatDirections(context, run.yh, false),
    ];
  } else {
    const [forward, backward] = [0, 1].map((dir) =>
      recurrence.returnSequences
        ? sequenceOf(context, run, 2, dir)
        : stateOf(context, run.yh, 2, dir, 'last'),
    ) as [string, string];
    if (mergeMode === null) outputs = [forward, backward];
    else if (mergeMode === 'sum') outputs = [graph.node('Add', [forward, backward], {}, context.hint('sum'))];
    else if (mergeMode === 'mul') outputs = [graph.node('Mul', [forward, backward], {}, context.hint('mul'))];
    else {
      // TF.js: 0.5 · (y + yRev).
      const sum = graph.node('Add', [forward, backward], {}, context.hint('sum'));
      outputs = [
        graph.node('Mul', [sum, graph.floats(context.hint('half'), [0.5], [])], {}, context.hint('ave')),
      ];
    }
  }
  if (mask && recurrence.returnSequences) for (const output of outputs) maskRegistry(graph).set(output, mask);
  return recurrence.returnState ? [...outputs, ...finalStates(context, recurrence, run)] : outputs;
};

export const RECURRENT_CONVERTERS: Record<string, LayerConverter> = {
  Embedding: embedding,
  SimpleRNN: recurrentLayer,
  LSTM: recurrentLayer,
  GRU: recurrentLayer,
  Bidirectional: bidirectional,
};
