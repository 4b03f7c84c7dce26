/** Embedding and the recurrent layers: SimpleRNN, LSTM, GRU, Bidirectional. */
import type { LayerConverter } from './types.js';

export const RECURRENT_CONVERTERS: Record<string, LayerConverter> = {};
