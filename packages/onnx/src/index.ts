export { SUPPORTED_ACTIVATIONS, supportedLayers } from './converters/index.js';
export {
  checkParity,
  generateInputs,
  type OutputParity,
  type ParityOptions,
  type ParityReport,
  type ParityTolerance,
} from './parity.js';
export type { OnnxDtype, OnnxSignature, OnnxTensorSignature } from './signature.js';
export { DEFAULT_OPSET, type OnnxExport, SUPPORTED_OPSETS, type ToOnnxOptions, toOnnx } from './to-onnx.js';
