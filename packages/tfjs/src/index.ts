/**
 * The TF.js `model.fit` / `model.fitDataset` checkpoint callback ({@link checkpointCallback}), by
 * options or `QUIVER_*` variables, and loading checkpoints back ({@link loadModel}, {@link loadWeights},
 * {@link quiverIO}).
 *
 * @packageDocumentation
 */
export { checkpointCallback, QuiverCheckpointCallback } from './checkpoint-callback.js';
export type { CheckpointDraft, CheckpointHook, CommittedCheckpoint } from './checkpoint-hook.js';
export {
  type LogModelPolicy,
  type MetricsFrequency,
  type MonitorMode,
  type QuiverCheckpointCallbackArgs,
  type ResolvedCheckpointOptions,
  resolveCheckpointOptions,
  type SaveFrequency,
} from './checkpoint-options.js';
export {
  loadModel,
  loadWeights,
  type QuiverSaveTarget,
  quiverIO,
  readModelArtifacts,
  registerQuiverRouters,
  type StoreOption,
} from './load-model.js';
export { BestTracker, resolveMode } from './monitor.js';
