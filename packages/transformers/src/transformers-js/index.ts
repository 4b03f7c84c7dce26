export {
  exportForTransformersJs,
  isTransformersJsExport,
  type TokenizerSource,
  TRANSFORMERS_JS_TASKS,
  type TransformersJsExport,
  type TransformersJsExportOptions,
  type TransformersJsTask,
} from './export.js';
export { type LoadPipelineOptions, loadPipeline, type TransformersJsPipelineOptions } from './pipeline.js';
export {
  type AddedTokenJson,
  type BuildTokenizerOptions,
  buildTokenizer,
  SPECIAL_TOKENS,
  type TokenizerConfigJson,
  type TokenizerFiles,
  type TokenizerJson,
  WordPieceTokenizer,
} from './tokenizer.js';
export { tokenizerFiles } from './tokenizer-hook.js';
