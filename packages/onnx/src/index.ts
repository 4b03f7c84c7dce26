/**
 * TF.js → ONNX with parity checks ({@link toOnnx}, {@link exportOnnx}), ONNX files on every checkpoint
 * ({@link onnxCheckpoints}), logging ONNX models exported elsewhere ({@link logOnnx}), and serving
 * them with onnxruntime-node ({@link loadOnnxSession}).
 *
 * @packageDocumentation
 */
export { type OnnxCheckpointOptions, type OnnxExportContext, onnxCheckpoints } from './checkpoint-hook.js';
export { SUPPORTED_ACTIVATIONS, supportedLayers } from './converters/index.js';
export {
  type CheckedOnnxExport,
  type ExportOnnxOptions,
  exportOnnx,
  onnxMetadata,
} from './export-onnx.js';
export { decodeOnnx, describeOnnx, inspectOnnx, type OnnxModelInfo } from './inspect.js';
export { type LoadOnnxOptions, loadOnnxSession } from './load-onnx.js';
export { type LogOnnxOptions, logOnnx } from './log-onnx.js';
export {
  checkParity,
  generateInputs,
  type OutputParity,
  type ParityOptions,
  type ParityReport,
  type ParityTolerance,
} from './parity.js';
export {
  AttributeType,
  DataType,
  encodeModel as encodeOnnx,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  toNumber,
} from './proto/onnx-schema.js';
export type { OnnxDtype, OnnxSignature, OnnxTensorSignature } from './signature.js';
export { DEFAULT_OPSET, type OnnxExport, SUPPORTED_OPSETS, type ToOnnxOptions, toOnnx } from './to-onnx.js';
