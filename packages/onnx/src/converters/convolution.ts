/** Convolution, pooling, padding, cropping and upsampling layers (channels-last handled). */
import type { LayerConverter } from './types.js';

export const CONVOLUTION_CONVERTERS: Record<string, LayerConverter> = {};
