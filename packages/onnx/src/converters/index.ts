import { CONVOLUTION_CONVERTERS } from './convolution.js';
import { CORE_CONVERTERS } from './core.js';
import { MERGE_CONVERTERS } from './merge.js';
import { NORMALIZATION_CONVERTERS } from './normalization.js';
import { RECURRENT_CONVERTERS } from './recurrent.js';
import type { LayerConverter } from './types.js';

const CONVERTERS: Record<string, LayerConverter> = {
  ...CORE_CONVERTERS,
  ...CONVOLUTION_CONVERTERS,
  ...NORMALIZATION_CONVERTERS,
  ...MERGE_CONVERTERS,
  ...RECURRENT_CONVERTERS,
};

/** The converter of a TF.js layer class, if it has one. */
export function converterFor(className: string): LayerConverter | undefined {
  return Object.hasOwn(CONVERTERS, className) ? CONVERTERS[className] : undefined;
}

/** Every TF.js layer class the exporter supports, sorted. */
export function supportedLayers(): string[] {
  return Object.keys(CONVERTERS).sort();
}

export { SUPPORTED_ACTIVATIONS } from './activations.js';
