/**
 * Hugging Face workflows: checkpoint pushes to Hub repos by the Trainer's strategies
 * ({@link HubPusher}, {@link hubCheckpoints}), Hub revisions into the registry ({@link importFromHub}),
 * and registered TF.js models as transformers.js pipelines ({@link exportForTransformersJs},
 * {@link loadPipeline}). The Hub stand-in for tests is in `@quiver/transformers/testing`.
 *
 * @packageDocumentation
 */
export { hubCheckpoints } from './checkpoint-hook.js';
export {
  HUB_STRATEGIES,
  type HubLogModel,
  type HubPushEvent,
  type HubPushOptions,
  type HubStrategy,
  type ResolvedHubOptions,
  resolveHubOptions,
} from './hub-options.js';
export { HubPusher, type HubPushResult, type SaveInfo, type SaveSource } from './hub-push.js';
export { type ImportFromHubOptions, importFromHub } from './import-from-hub.js';
export { type CardFacts, type ModelCardOptions, mergeModelCard } from './model-card.js';
export * from './transformers-js/index.js';
