import type { Artifact, ArtifactVersion, JsonObject, Run } from '@quiver/core';
import type * as tf from '@tensorflow/tfjs';

/** The SDK classes a hook sees: the Node SDK's, or in a page those of `@quiver/core/browser`. */
export interface HookTypes {
  run: unknown;
  draft: unknown;
  version: unknown;
}

/** The Node SDK's classes. */
export interface NodeHookTypes extends HookTypes {
  run: Run;
  draft: Artifact;
  version: ArtifactVersion;
}

/** What a hook sees of a checkpoint before it is committed. */
export interface CheckpointDraft<T extends HookTypes = NodeHookTypes> {
  run: T['run'];
  /** The draft version: add files in other formats with `draft.addBytes(path, bytes)`. */
  draft: T['draft'];
  /**
   * The snapshotted model (topology, weight specs and data), as `tf.io.fromMemory` takes it. The
   * weight buffer is reused once the checkpoint is stored: copy it if you keep it.
   */
  modelArtifacts: tf.io.ModelArtifacts;
  epoch: number;
  step: number;
  /** Every metric known at this point. */
  metrics: Record<string, number>;
  /** The version's metadata so far; hooks may add keys (e.g. `formats`). */
  metadata: JsonObject;
}

/** A committed checkpoint, for hooks that send it somewhere else as well. */
export interface CommittedCheckpoint<T extends HookTypes = NodeHookTypes> extends CheckpointDraft<T> {
  version: T['version'];
  /** True when the checkpoint improved the monitored metric (it now holds `best`). */
  isBest: boolean;
}

/**
 * The extension point of the callback. Every method runs on the callback's own queue, never in
 * the training loop, in the order hooks are given.
 *
 * @example
 * const onnxHook: CheckpointHook = {
 *   name: 'onnx',
 *   async beforeCommit({ draft, modelArtifacts, metadata }) {
 *     draft.addBytes('model.onnx', await convert(modelArtifacts));
 *     metadata.formats = ['tfjs', 'onnx'];
 *   },
 * };
 */
export interface CheckpointHook<T extends HookTypes = NodeHookTypes> {
  readonly name: string;
  /** Adds files or metadata to the checkpoint before its version is committed. */
  beforeCommit?(checkpoint: CheckpointDraft<T>): Promise<void> | void;
  /** Runs after the version is committed (e.g. to push it to another system). */
  afterCommit?(checkpoint: CommittedCheckpoint<T>): Promise<void> | void;
  /** Runs once at the end of training, after every checkpoint has been committed. */
  onTrainEnd?(summary: { run: T['run']; best?: T['version']; last?: T['version'] }): Promise<void> | void;
}
