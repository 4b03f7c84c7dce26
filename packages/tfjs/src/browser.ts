/**
 * The TF.js checkpoint callback in a browser page, logging to a Quiver server through
 * `@quiver/core/browser`: {@link checkpointCallback} with the options and errors of the Node one,
 * and {@link loadModel} / {@link loadWeights} of a checkpoint or registry version.
 *
 * @packageDocumentation
 */
import type { Run as NodeRun } from '@quiver/core';
import {
  type Artifact,
  type ArtifactVersion,
  type Connection,
  currentConnection,
  QuiverClient,
  QuiverError,
  type Run,
} from '@quiver/core/browser';
import * as tf from '@tensorflow/tfjs';
import { QuiverCheckpointCallback } from './checkpoint-callback.js';
import type { CheckpointDraft, CheckpointHook, CommittedCheckpoint } from './checkpoint-hook.js';
import type { QuiverCheckpointCallbackArgs } from './checkpoint-options.js';
import { loadWeightsInto, modelFrom, readCheckpoint } from './model-artifacts.js';

export { QuiverCheckpointCallback } from './checkpoint-callback.js';

/** The page SDK's classes, as hooks of the callback see them in a page. */
export interface BrowserHookTypes {
  run: Run;
  draft: Artifact;
  version: ArtifactVersion;
}
/** A hook of the callback in a page (see the Node `CheckpointHook`). */
export type BrowserCheckpointHook = CheckpointHook<BrowserHookTypes>;
export type BrowserCheckpointDraft = CheckpointDraft<BrowserHookTypes>;
export type BrowserCommittedCheckpoint = CommittedCheckpoint<BrowserHookTypes>;
/** The callback's options in a page: those of Node, with hooks that see the page SDK's classes. */
export type BrowserCheckpointArgs = Omit<QuiverCheckpointCallbackArgs, 'hooks'> & {
  hooks?: readonly BrowserCheckpointHook[];
};
export type {
  LogModelPolicy,
  MetricsFrequency,
  MonitorMode,
  QuiverCheckpointCallbackArgs,
  ResolvedCheckpointOptions,
  SaveFrequency,
} from './checkpoint-options.js';
export { BestTracker, resolveMode } from './monitor.js';

/**
 * The Quiver checkpoint callback for `model.fit` / `model.fitDataset` in a page: `run` is the run
 * of `init()` from `@quiver/core/browser` (a page has no `QUIVER_*` variables to start one from).
 * Checkpoints go through the run's outbox: one the page could not send is sent by the next page.
 *
 * @example
 * const run = await init({ baseUrl, session: true, project: 'digits' });
 * await model.fit(xs, ys, { epochs: 10, callbacks: [checkpointCallback(run, model, { logModel: 'best' })] });
 */
export function checkpointCallback(
  run: Run,
  model: tf.LayersModel,
  args: BrowserCheckpointArgs = {},
): QuiverCheckpointCallback {
  if (!run || typeof run.logArtifact !== 'function')
    throw new TypeError(
      'checkpointCallback(run, model): in a browser, pass the run of init({ baseUrl, session: true, project }) as the first argument.',
    );
  // The page's Run has every member the callback uses (log, logArtifact, client, flush, finish).
  return new QuiverCheckpointCallback(run as unknown as NodeRun, model, args as QuiverCheckpointCallbackArgs);
}

/** Where a page loads from: a client or connection (default: that of the page's latest `init()`). */
export interface LoadOptions {
  client?: QuiverClient;
}

function clientOf(options: LoadOptions): QuiverClient {
  if (options.client) return options.client;
  const connection: Connection | undefined = currentConnection();
  if (!connection)
    throw new QuiverError(
      'E_INVALID_OPTION',
      'loadModel(ref): no server yet; call init({ baseUrl, … }) first, or pass { client: new QuiverClient(await connect({ baseUrl, session: true })) }.',
    );
  return new QuiverClient(connection);
}

/**
 * Loads a `tf.LayersModel` from an artifact or registry ref (`digits/model-x:best`,
 * `registry/digits:production`), every byte verified against its sha256.
 */
export async function loadModel(ref: string, options: LoadOptions = {}): Promise<tf.LayersModel> {
  const version = await clientOf(options).artifact(ref);
  return modelFrom(tf, version.ref, await readCheckpoint(version));
}

/** Loads the weights of a checkpoint into a model you built (e.g. one saved with `saveWeightsOnly`). */
export async function loadWeights(
  ref: string,
  model: tf.LayersModel,
  options: LoadOptions = {},
): Promise<void> {
  loadWeightsInto(tf, await readCheckpoint(await clientOf(options).artifact(ref)), model);
}
