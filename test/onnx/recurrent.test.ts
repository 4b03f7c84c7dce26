/**
 * Parity of Embedding, SimpleRNN, LSTM, GRU and Bidirectional at opset 17 and 13, at batch 1 and
 * 37 through the dynamic batch dimension: returnSequences, biases, activations, goBackwards,
 * unroll, dropout, returnState, initial states, merge modes, Embedding masks, and the
 * configurations that are refused.
 */
import { isQuiverError } from '@quiver/core';
import { toOnnx } from '@quiver/onnx';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { errorOf, expectParity, randomizeWeights, sequentialOf } from './support.js';

const KINDS = ['SimpleRNN', 'LSTM', 'GRU'] as const;
type Kind = (typeof KINDS)[number];

/** TF.js activations the ONNX RNN operators compute. */
const RNN_ACTIVATIONS = [
  'tanh',
  'sigmoid',
  'hardSigmoid',
  'relu',
  'linear',
  'elu',
  'softsign',
  'softplus',
] as const;

const MERGE_MODES = ['concat', 'sum', 'mul', 'ave', null] as const;

type RecurrentArgs = Parameters<typeof tf.layers.lstm>[0];

/** A SimpleRNN, LSTM or GRU layer (`recurrentActivation` is dropped for SimpleRNN). */
function recurrent(kind: Kind, args: Partial<RecurrentArgs> = {}): tf.RNN {
  const full = { units: 4, ...args } as RecurrentArgs;
  if (kind === 'LSTM') return tf.layers.lstm(full);
  if (kind === 'GRU') return tf.layers.gru(full);
  const { recurrentActivation: _ignored, ...simple } = full;
  return tf.layers.simpleRNN(simple);
}

function bidirectional(layer: tf.RNN, mergeMode?: (typeof MERGE_MODES)[number]): tf.layers.Layer {
  const args = { layer, ...(mergeMode === undefined ? {} : { mergeMode }) };
  return tf.layers.bidirectional(args as Parameters<typeof tf.layers.bidirectional>[0]);
}

function check(inputShape: number[], layers: tf.layers.Layer[]): Promise<unknown> {
  const model = sequentialOf(inputShape, layers);
  randomizeWeights(model);
  return expectParity(model);
}

/**
 * A model over `outputs` of one multi-output layer. Each output goes through its own linear
 * Activation: toOnnx names graph outputs after their layer, so two outputs of one layer collide.
 */
function modelOf(
  inputs: tf.SymbolicTensor | tf.SymbolicTensor[],
  outputs: tf.SymbolicTensor[],
): tf.LayersModel {
  const named = outputs.map(
    (output) => tf.layers.activation({ activation: 'linear' }).apply(output) as tf.SymbolicTensor,
  );
  const model = tf.model({ inputs, outputs: named });
  randomizeWeights(model);
  return model;
}

/** Asserts that exporting `model` is refused with E_UNSUPPORTED_LAYER, naming `reason`. */
function expectRefused(model: tf.LayersModel, reason: string): void {
  const error = errorOf(() => toOnnx(model));
  expect(isQuiverError(error, 'E_UNSUPPORTED_LAYER'), String(error)).toBe(true);
  expect((error as Error).message).toContain(reason);
}

/** Token ids with padding at the start, the end, in the middle, everywhere, and nowhere. */
function paddedIds(): tf.Tensor {
  return tf.tensor(
    [
      [0, 0, 1, 2, 3, 1],
      [1, 2, 3, 0, 0, 0],
      [2, 0, 3, 0, 1, 0],
      [0, 0, 0, 0, 0, 0],
      [3, 1, 2, 1, 2, 3],
    ],
    [5, 6],
  );
}

/** Embedding({maskZero}) over 6 tokens of a 4-word vocabulary (so generated ids are often 0). */
function maskedEmbedding(): tf.layers.Layer {
  return tf.layers.embedding({ inputDim: 4, outputDim: 3, inputLength: 6, maskZero: true });
}

/** Checks a masked model on generated ids and on hand-padded ones. */
async function checkMasked(layers: tf.layers.Layer[]): Promise<void> {
  const model = sequentialOf([6], [maskedEmbedding(), ...layers]);
  randomizeWeights(model);
  await expectParity(model);
  await expectParity(model, { samples: paddedIds() });
}

describe('Embedding', () => {
  it('float32 ids (the TF.js default), over a known and an unknown sequence length', async () => {
    await check([6], [tf.layers.embedding({ inputDim: 9, outputDim: 4 })]);
    const input = tf.input({ shape: [null] });
    const model = tf.model({
      inputs: input,
      outputs: tf.layers.embedding({ inputDim: 5, outputDim: 3 }).apply(input) as tf.SymbolicTensor,
    });
    randomizeWeights(model);
    await expectParity(model);
  });

  it('int32 ids and rank-3 ids', async () => {
    const ids = tf.input({ shape: [6], dtype: 'int32' });
    const model = tf.model({
      inputs: ids,
      outputs: tf.layers.embedding({ inputDim: 7, outputDim: 4 }).apply(ids) as tf.SymbolicTensor,
    });
    randomizeWeights(model);
    await expectParity(model);
    await check([2, 3], [tf.layers.embedding({ inputDim: 5, outputDim: 2 }), tf.layers.dense({ units: 3 })]);
  });

  it('maskZero with no recurrent layer after it (Dense ignores the mask)', async () => {
    await check(
      [6],
      [tf.layers.embedding({ inputDim: 4, outputDim: 3, maskZero: true }), tf.layers.dense({ units: 2 })],
    );
  });
});

describe.each(KINDS)('%s', (kind) => {
  it.each([
    [true, true],
    [true, false],
    [false, true],
    [false, false],
  ])('returnSequences %s, useBias %s', async (returnSequences, useBias) => {
    await check([5, 3], [recurrent(kind, { returnSequences, useBias })]);
  });

  it('every activation the ONNX operator computes, as activation and recurrentActivation', async () => {
    for (const activation of RNN_ACTIVATIONS) {
      await check(
        [4, 3],
        [recurrent(kind, { activation, recurrentActivation: 'sigmoid', returnSequences: true })],
      );
      if (kind !== 'SimpleRNN')
        await check(
          [4, 3],
          [recurrent(kind, { activation: 'tanh', recurrentActivation: activation, returnSequences: true })],
        );
    }
    // Parameterised activations in every slot (alpha/beta are consumed in slot order).
    await check(
      [4, 3],
      [recurrent(kind, { activation: 'elu', recurrentActivation: 'hardSigmoid', useBias: false })],
    );
    await check([4, 3], [recurrent(kind, { activation: 'hardSigmoid', recurrentActivation: 'linear' })]);
  });

  it('goBackwards (the sequence comes back in processing order, i.e. reversed)', async () => {
    await check([5, 3], [recurrent(kind, { goBackwards: true, returnSequences: true })]);
    await check([5, 3], [recurrent(kind, { goBackwards: true })]);
  });

  it('unroll: true, dropout and recurrentDropout (identities at inference), stacked layers', async () => {
    await check(
      [5, 3],
      [recurrent(kind, { unroll: true, returnSequences: true }), recurrent(kind, { unroll: true })],
    );
    await check(
      [5, 3],
      [
        recurrent(kind, { dropout: 0.5, recurrentDropout: 0.5, returnSequences: true }),
        recurrent(kind, { units: 2 }),
      ],
    );
  });

  it('an unknown sequence length', async () => {
    const input = tf.input({ shape: [null, 3] });
    const model = tf.model({
      inputs: input,
      outputs: recurrent(kind, { returnSequences: true }).apply(input) as tf.SymbolicTensor,
    });
    randomizeWeights(model);
    await expectParity(model);
  });

  it('returnState, and initial states fed as inputs (an encoder-decoder)', async () => {
    for (const returnSequences of [false, true]) {
      const input = tf.input({ shape: [5, 3] });
      const outputs = recurrent(kind, { returnState: true, returnSequences }).apply(
        input,
      ) as tf.SymbolicTensor[];
      expect(outputs).toHaveLength(kind === 'LSTM' ? 3 : 2);
      if (returnSequences) await expectParity(modelOf(input, outputs));
      else {
        // The output and h are one TF.js tensor here: two consumers would see it disposed.
        const joined = tf.layers.concatenate().apply(outputs) as tf.SymbolicTensor;
        const model = tf.model({ inputs: input, outputs: joined });
        randomizeWeights(model);
        await expectParity(model);
      }
    }
    const encoderInput = tf.input({ shape: [5, 3] });
    const decoderInput = tf.input({ shape: [4, 2] });
    const [, ...states] = recurrent(kind, { returnState: true }).apply(encoderInput) as tf.SymbolicTensor[];
    const decoded = recurrent(kind, { returnSequences: true, goBackwards: true }).apply(decoderInput, {
      initialState: states,
    }) as tf.SymbolicTensor;
    const model = tf.model({
      inputs: [encoderInput, decoderInput],
      outputs: tf.layers.dense({ units: 2 }).apply(decoded) as tf.SymbolicTensor,
    });
    randomizeWeights(model);
    await expectParity(model);
  });

  it('refuses stateful layers and activations the ONNX operator lacks', () => {
    const stateful = tf.sequential();
    stateful.add(recurrent(kind, { stateful: true, batchInputShape: [2, 5, 3] }));
    expectRefused(stateful, 'stateful');
    expectRefused(sequentialOf([5, 3], [recurrent(kind, { activation: 'selu' })]), 'activation "selu"');
    if (kind !== 'SimpleRNN')
      expectRefused(
        sequentialOf([5, 3], [recurrent(kind, { recurrentActivation: 'relu6' })]),
        'recurrentActivation "relu6"',
      );
  });
});

describe.each(KINDS)('Bidirectional(%s)', (kind) => {
  it.each(
    MERGE_MODES.flatMap((mergeMode) =>
      [true, false].map((returnSequences) => [mergeMode, returnSequences] as const),
    ),
  )('mergeMode %s, returnSequences %s', async (mergeMode, returnSequences) => {
    if (mergeMode === null) {
      // Two outputs: the forward and the (time-aligned) backward result.
      const input = tf.input({ shape: [5, 3] });
      const outputs = bidirectional(recurrent(kind, { returnSequences }), null).apply(
        input,
      ) as tf.SymbolicTensor[];
      expect(outputs).toHaveLength(2);
      await expectParity(modelOf(input, outputs));
      return;
    }
    await check([5, 3], [bidirectional(recurrent(kind, { returnSequences }), mergeMode)]);
  });

  it('the default merge mode, no bias and non-default activations', async () => {
    await check(
      [5, 3],
      [
        bidirectional(
          recurrent(kind, {
            useBias: false,
            activation: 'relu',
            recurrentActivation: 'sigmoid',
            returnSequences: true,
          }),
        ),
      ],
    );
  });

  it('a wrapped layer with goBackwards: true (the copies swap directions; TF.js still reverses the second)', async () => {
    await check([5, 3], [bidirectional(recurrent(kind, { goBackwards: true, returnSequences: true }))]);
    await check([5, 3], [bidirectional(recurrent(kind, { goBackwards: true }), 'sum')]);
  });

  it('returnState and initial states', async () => {
    for (const mergeMode of ['concat', null] as const) {
      const input = tf.input({ shape: [5, 3] });
      const outputs = bidirectional(
        recurrent(kind, { returnState: true, returnSequences: true }),
        mergeMode,
      ).apply(input) as tf.SymbolicTensor[];
      expect(outputs).toHaveLength((mergeMode === null ? 2 : 1) + (kind === 'LSTM' ? 4 : 2));
      await expectParity(modelOf(input, outputs));
    }
    const input = tf.input({ shape: [5, 3] });
    const stateCount = kind === 'LSTM' ? 4 : 2;
    const states = Array.from({ length: stateCount }, () => tf.input({ shape: [4] }));
    const output = bidirectional(recurrent(kind, { returnSequences: true }), 'ave').apply([
      input,
      ...states,
    ]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [input, ...states], outputs: output });
    randomizeWeights(model);
    await expectParity(model);
  });
});

describe('Embedding maskZero: masked steps keep the previous output and states', () => {
  it('changes what TF.js computes (so the masked checks below are meaningful)', () => {
    const masked = sequentialOf([6], [maskedEmbedding(), recurrent('LSTM', { returnSequences: true })]);
    randomizeWeights(masked);
    const plain = sequentialOf(
      [6],
      [
        tf.layers.embedding({ inputDim: 4, outputDim: 3, inputLength: 6 }),
        recurrent('LSTM', { returnSequences: true }),
      ],
    );
    plain.setWeights(masked.getWeights());
    const difference = tf.tidy(
      () =>
        tf
          .sub(masked.predict(paddedIds()) as tf.Tensor, plain.predict(paddedIds()) as tf.Tensor)
          .abs()
          .max()
          .dataSync()[0],
    );
    expect(difference).toBeGreaterThan(1e-2);
  });

  it.each(KINDS)('%s, returnSequences true and false, forwards and backwards', async (kind) => {
    for (const goBackwards of [false, true]) {
      await checkMasked([recurrent(kind, { returnSequences: true, goBackwards })]);
      await checkMasked([recurrent(kind, { goBackwards })]);
    }
  });

  it.each(KINDS)('Bidirectional(%s) with each merge mode', async (kind) => {
    for (const mergeMode of ['concat', 'sum', 'mul', 'ave'] as const) {
      await checkMasked([bidirectional(recurrent(kind, { returnSequences: true }), mergeMode)]);
      await checkMasked([bidirectional(recurrent(kind), mergeMode)]);
    }
  });

  it('through Dropout, into stacked recurrent layers (the mask follows sequences), with returnState', async () => {
    await checkMasked([
      tf.layers.dropout({ rate: 0.3 }),
      bidirectional(recurrent('GRU', { returnSequences: true, goBackwards: true })),
      recurrent('SimpleRNN', { returnSequences: true, units: 3 }),
      recurrent('LSTM', { units: 2 }),
    ]);
    const ids = tf.input({ shape: [6] });
    const embedded = maskedEmbedding().apply(ids) as tf.SymbolicTensor;
    const outputs = recurrent('LSTM', { returnState: true, returnSequences: true }).apply(
      embedded,
    ) as tf.SymbolicTensor[];
    const model = modelOf(ids, outputs);
    await expectParity(model);
    await expectParity(model, { samples: paddedIds() });
  });

  it('with initial states fed as inputs (masked steps keep the given state)', async () => {
    for (const kind of KINDS) {
      const ids = tf.input({ shape: [6] });
      const states = Array.from({ length: kind === 'LSTM' ? 2 : 1 }, () => tf.input({ shape: [4] }));
      const embedded = maskedEmbedding().apply(ids) as tf.SymbolicTensor;
      const output = recurrent(kind, { returnSequences: true }).apply(embedded, { initialState: states });
      const model = tf.model({ inputs: [ids, ...states], outputs: output as tf.SymbolicTensor });
      randomizeWeights(model);
      await expectParity(model);
    }
  });

  it('refuses masks it cannot reproduce', () => {
    // TF.js keeps applying the Embedding's mask to the second LSTM although RepeatVector drops it.
    expectRefused(
      sequentialOf(
        [6],
        [maskedEmbedding(), recurrent('LSTM'), tf.layers.repeatVector({ n: 6 }), recurrent('LSTM')],
      ),
      'stale mask',
    );
    // Dense passes the mask on under a new ONNX value.
    expectRefused(
      sequentialOf([6], [maskedEmbedding(), tf.layers.dense({ units: 3 }), recurrent('GRU')]),
      'mask',
    );
    // Unrolling needs the number of steps.
    const input = tf.input({ shape: [null] });
    const embedded = tf.layers
      .embedding({ inputDim: 4, outputDim: 3, maskZero: true })
      .apply(input) as tf.SymbolicTensor;
    expectRefused(
      tf.model({ inputs: input, outputs: recurrent('LSTM').apply(embedded) as tf.SymbolicTensor }),
      'static sequence length',
    );
  });
});

describe('parameter count', () => {
  it('equals TF.js countParams() (the zero Rb half of ONNX B is not counted)', () => {
    for (const kind of KINDS) {
      for (const layers of [
        [recurrent(kind, { returnSequences: true }), bidirectional(recurrent(kind, { useBias: false }))],
        [recurrent(kind, { useBias: false })],
      ]) {
        const model = sequentialOf([5, 3], layers);
        expect(toOnnx(model).parameterCount).toBe(model.countParams());
      }
      const masked = sequentialOf([6], [maskedEmbedding(), bidirectional(recurrent(kind))]);
      expect(toOnnx(masked).parameterCount).toBe(masked.countParams());
    }
  });
});

describe('text models', () => {
  it('Embedding → LSTM → Dense softmax', async () => {
    await check(
      [8],
      [
        tf.layers.embedding({ inputDim: 20, outputDim: 6 }),
        recurrent('LSTM', { units: 8 }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    );
  });

  it('Embedding → Bidirectional(LSTM, returnSequences) → LSTM → Dense softmax, unmasked and masked', async () => {
    for (const maskZero of [false, true]) {
      await check(
        [8],
        [
          tf.layers.embedding({ inputDim: 20, outputDim: 6, maskZero, inputLength: 8 }),
          bidirectional(recurrent('LSTM', { units: 5, returnSequences: true })),
          recurrent('LSTM', { units: 4 }),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      );
    }
  });
});
