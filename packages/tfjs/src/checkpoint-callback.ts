import {
  Artifact,
  type ArtifactVersion,
  init,
  type JsonObject,
  type QuiverClient,
  type Run,
} from '@quiver/core';
import * as tf from '@tensorflow/tfjs';
import type { CheckpointDraft, CheckpointHook } from './checkpoint-hook.js';
import {
  type QuiverCheckpointCallbackArgs,
  type ResolvedCheckpointOptions,
  resolveCheckpointOptions,
} from './checkpoint-options.js';
import { CheckpointQueue } from './checkpoint-queue.js';
import { BestTracker, resolveMode } from './monitor.js';
import { pruneCheckpoints } from './retention.js';
import {
  takeSnapshot,
  toLayersFiles,
  toModelArtifacts,
  WeightBufferPool,
  type WeightsSnapshot,
} from './weights-snapshot.js';

type Logs = Record<string, number>;

/** One moment at which a checkpoint may be taken. */
interface SavePoint {
  /** Epochs completed (1-based), or the epoch in progress for batch save points. */
  epoch: number;
  /**
   * The `_step` of the metrics row logged at the same point: the 0-based global batch index on the
   * batch axis, else the 0-based epoch index.
   */
  step: number;
  /** `epoch-<n>` or `step-<n>`. */
  label: string;
  logs: Logs;
  final: boolean;
}

function finiteOnly(logs: Logs): Logs {
  return Object.fromEntries(
    Object.entries(logs).filter(([, value]) => typeof value === 'number' && Number.isFinite(value)),
  );
}

function shapesOf(tensors: readonly tf.SymbolicTensor[]): JsonObject[] {
  return tensors.map((tensor) => ({
    name: tensor.name,
    shape: tensor.shape as number[],
    dtype: tensor.dtype,
  }));
}

/**
 * Logs metrics and checkpoints of `model.fit` / `fitDataset` to Quiver. Weights are snapshotted
 * synchronously at each save point; serialising, hashing, storing, hooks and pruning run on the
 * callback's own bounded queue, drained in `onTrainEnd`.
 *
 * @example
 * await model.fit(xs, ys, { epochs: 10, validationSplit: 0.2, callbacks: [checkpointCallback(run, model)] });
 */
export class QuiverCheckpointCallback extends tf.CustomCallback {
  readonly options: ResolvedCheckpointOptions;
  private readonly userModel: tf.LayersModel;
  private readonly hooks: readonly CheckpointHook[];
  private readonly registryModel: QuiverCheckpointCallbackArgs['registryModel'];
  private run: Run | undefined;
  private ownsRun = false;
  private client: QuiverClient | undefined;
  private queue: CheckpointQueue;
  private readonly buffers: WeightBufferPool;
  private tracker: BestTracker | undefined;
  private monitor = 'loss';
  private globalStep = 0;
  private epochInProgress = 0;
  private lastSavedStep = -1;
  /** The step of the checkpoint that `last` holds. */
  private lastStoredStep = -1;
  private lastLogs: Logs = {};
  private failure: unknown;
  private warnedMissingMonitor = false;
  /** The best and the last checkpoint committed. */
  best: ArtifactVersion | undefined;
  last: ArtifactVersion | undefined;
  /** Milliseconds `fit` waited inside this callback for each checkpoint (snapshot + back-pressure). */
  readonly blockedMs: number[] = [];

  constructor(run: Run | null | undefined, model: tf.LayersModel, args: QuiverCheckpointCallbackArgs = {}) {
    const options = resolveCheckpointOptions(args);
    const needsBatches =
      options.logMetrics === 'batch' ||
      typeof options.logMetrics === 'number' ||
      typeof options.saveFreq === 'number';
    super({
      onTrainBegin: (logs) => this.handleTrainBegin(logs),
      onEpochBegin: async (epoch) => {
        this.epochInProgress = epoch;
      },
      ...(needsBatches
        ? { onBatchEnd: (batch: number, logs?: Logs) => this.handleBatchEnd(batch, logs ?? {}) }
        : {}),
      onEpochEnd: (epoch, logs) => this.handleEpochEnd(epoch, logs ?? {}),
      onTrainEnd: () => this.handleTrainEnd(),
    });
    if (!model || typeof (model as tf.LayersModel).toJSON !== 'function') {
      throw new TypeError(
        'checkpointCallback(run, model): pass the tf.LayersModel you are training as the second argument.',
      );
    }
    this.options = options;
    this.userModel = model;
    this.hooks = args.hooks ?? [];
    this.registryModel = args.registryModel;
    this.run = run ?? undefined;
    this.queue = new CheckpointQueue(options.maxQueuedCheckpoints, (error) => this.fail(error));
    this.buffers = new WeightBufferPool(options.maxQueuedCheckpoints + 1);
  }

  /** Waits until every checkpoint queued so far is stored (training need not wait for this). */
  async drain(): Promise<void> {
    await this.queue.drain();
  }

  private fail(error: unknown): void {
    if (this.options.onError === 'throw') {
      this.failure ??= error;
      return;
    }
    console.warn(
      `quiver: a checkpoint could not be stored; training goes on. ${(error as Error)?.message ?? String(error)}`,
    );
  }

  private rethrowFailure(): void {
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      throw error;
    }
  }

  private async handleTrainBegin(_logs?: Logs): Promise<void> {
    if (!this.run) {
      this.run = await init();
      this.ownsRun = true;
    }
    if (!this.run.disabled) this.client = this.run.client();
    const doValidation = Boolean((this.params as { doValidation?: boolean } | undefined)?.doValidation);
    this.monitor = this.options.monitor ?? (doValidation ? 'val_loss' : 'loss');
    this.tracker = new BestTracker(resolveMode(this.options.mode, this.monitor), this.options.minDelta);
    this.globalStep = 0;
    this.lastSavedStep = -1;
    this.lastStoredStep = -1;
  }

  /**
   * Whether steps count batches: when metrics or save points are per batch. Metrics rows and
   * checkpoints then share the global batch index (0-based) as their step; otherwise both use the
   * epoch index (0-based), so a checkpoint's `step` is the `_step` of its epoch's metrics row.
   */
  private get batchAxis(): boolean {
    return (
      this.options.logMetrics === 'batch' ||
      typeof this.options.logMetrics === 'number' ||
      typeof this.options.saveFreq === 'number'
    );
  }

  /** The step of the state after the latest batch (batch axis) or of the epoch with this index. */
  private stepOf(epochIndex: number): number {
    return this.batchAxis ? Math.max(this.globalStep - 1, 0) : epochIndex;
  }

  private get artifactName(): string {
    return this.options.artifactName ?? `model-${this.run!.id}`;
  }

  private logMetrics(values: Logs, step: number): void {
    if (this.run && !this.run.disabled) this.run.log(finiteOnly(values), { step });
  }

  private async handleBatchEnd(_batch: number, logs: Logs): Promise<void> {
    this.globalStep++;
    const every = this.options.logMetrics === 'batch' ? 1 : this.options.logMetrics;
    if (typeof every === 'number' && this.globalStep % every === 0)
      this.logMetrics(logs, this.globalStep - 1);
    this.lastLogs = { ...this.lastLogs, ...logs };
    const saveEvery = this.options.saveFreq;
    if (typeof saveEvery === 'number' && this.globalStep % saveEvery === 0) {
      const step = this.globalStep - 1;
      await this.savePoint({
        epoch: this.epochInProgress + 1,
        step,
        label: `step-${step}`,
        logs: this.lastLogs,
        final: false,
      });
    }
  }

  private async handleEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const step = this.stepOf(epoch);
    if (this.options.logMetrics !== false) this.logMetrics({ ...logs, epoch: epoch + 1 }, step);
    this.lastLogs = { ...this.lastLogs, ...logs };
    if (this.options.saveFreq === 'epoch') {
      await this.savePoint({
        epoch: epoch + 1,
        step,
        label: `epoch-${epoch + 1}`,
        logs,
        final: false,
      });
    }
    this.rethrowFailure();
  }

  private async savePoint(point: SavePoint): Promise<void> {
    const policy = this.options.logModel;
    if (!this.run || this.run.disabled || policy === false || (policy === 'end' && !point.final)) return;
    const score = point.logs[this.monitor];
    if (score === undefined && !this.warnedMissingMonitor && (policy === 'best' || point.final)) {
      this.warnedMissingMonitor = true;
      console.warn(
        `quiver: the monitored metric '${this.monitor}' is not in the logs (${Object.keys(point.logs).join(', ') || 'none'}); set monitor to one of them.`,
      );
    }
    const isBest = this.tracker!.isImprovement(score);
    if (policy === 'best' && !isBest && !point.final) return;
    if (isBest) this.tracker!.accept(score!);
    const started = performance.now();
    const snapshot = await takeSnapshot(
      this.userModel,
      { includeOptimizer: this.options.includeOptimizer, weightsOnly: this.options.saveWeightsOnly },
      this.buffers,
    );
    this.lastSavedStep = point.step;
    await this.queue.enqueue(() =>
      this.store(snapshot, point, score, isBest).finally(() => this.buffers.release(snapshot.weightData)),
    );
    this.blockedMs.push(performance.now() - started);
  }

  private metadataFor(point: SavePoint, score: number | undefined): JsonObject {
    const model = this.userModel;
    return {
      epoch: point.epoch,
      step: point.step,
      metrics: finiteOnly(point.logs),
      monitor: this.monitor,
      mode: this.tracker!.mode,
      score: score !== undefined && Number.isFinite(score) ? score : null,
      format: 'tfjs-layers',
      formats: ['tfjs'],
      weightsOnly: this.options.saveWeightsOnly,
      includesOptimizer: this.options.includeOptimizer && model.optimizer != null,
      tfjsVersion: tf.version.tfjs,
      backend: tf.getBackend(),
      parameterCount: model.countParams(),
      inputs: shapesOf(model.inputs),
      outputs: shapesOf(model.outputs),
    };
  }

  private async store(
    snapshot: WeightsSnapshot,
    point: SavePoint,
    score: number | undefined,
    isBest: boolean,
  ): Promise<void> {
    const run = this.run!;
    const modelArtifacts = toModelArtifacts(snapshot);
    const metadata = this.metadataFor(point, score);
    const draft = new Artifact(this.artifactName, 'model', {
      description: `Checkpoint at ${point.label} of run ${run.name}.`,
    });
    for (const file of toLayersFiles(modelArtifacts)) draft.addBytes(file.path, file.bytes);
    const context: CheckpointDraft = {
      run,
      draft,
      modelArtifacts,
      epoch: point.epoch,
      step: point.step,
      metrics: finiteOnly(point.logs),
      metadata,
    };
    for (const hook of this.hooks) await hook.beforeCommit?.(context);
    draft.metadata = context.metadata;
    const aliases = [point.label, ...(isBest ? ['best'] : []), ...(point.final ? ['final'] : [])];
    const version = await run.logArtifact(draft, { aliases });
    this.last = version;
    this.lastStoredStep = point.step;
    if (isBest) this.best = version;
    for (const hook of this.hooks) await hook.afterCommit?.({ ...context, version, isBest });
    if (this.client)
      await pruneCheckpoints(
        this.client,
        { project: run.project, name: this.artifactName, entity: run.entity },
        this.options.keep,
        this.tracker!,
      );
  }

  private async handleTrainEnd(): Promise<void> {
    const run = this.run;
    if (!run || run.disabled) return;
    const policy = this.options.logModel;
    const endStep = this.stepOf(this.epochInProgress);
    // `final` is the state training ended in. 'end' logs its one checkpoint now; 'all' and 'best'
    // log the end state unless the last save point already was it (for 'best', content equal to
    // the best checkpoint is deduplicated into it: that version then holds `final` too).
    if (policy === 'end' || ((policy === 'all' || policy === 'best') && this.lastSavedStep !== endStep)) {
      await this.savePoint({
        epoch: this.epochInProgress + 1,
        step: endStep,
        label: this.options.saveFreq === 'epoch' ? `epoch-${this.epochInProgress + 1}` : `step-${endStep}`,
        logs: this.lastLogs,
        final: true,
      });
    }
    await this.queue.drain();
    try {
      // The last save point was the end state: `final` goes on it. (If storing the end state
      // failed, `last` is older and does not get `final`.)
      if (
        this.last &&
        this.lastStoredStep === endStep &&
        !this.last.aliases.includes('final') &&
        policy !== 'end' &&
        this.client
      )
        this.last = await this.client.setAlias(this.last.ref, 'final');
      await this.linkIntoRegistry();
      for (const hook of this.hooks)
        await hook.onTrainEnd?.({
          run,
          ...(this.best ? { best: this.best } : {}),
          ...(this.last ? { last: this.last } : {}),
        });
      await run.flush();
    } catch (error) {
      this.fail(error);
    }
    if (this.ownsRun) await run.finish({ exitCode: this.failure === undefined ? 0 : 1 });
    this.rethrowFailure();
  }

  private async linkIntoRegistry(): Promise<void> {
    const target = this.best ?? this.last;
    if (!this.registryModel || !target || !this.client) return;
    const spec = typeof this.registryModel === 'string' ? { model: this.registryModel } : this.registryModel;
    await this.client.registry.link(
      target.ref,
      { model: spec.model, ...(spec.registry ? { registry: spec.registry } : {}) },
      { create: true, aliases: spec.aliases ?? [] },
    );
  }
}

/**
 * The Quiver checkpoint callback for `model.fit` / `model.fitDataset`: `run` may be null to start
 * one from `QUIVER_*` variables (finished at train end); `model` is the model you train.
 */
export function checkpointCallback(
  run: Run | null | undefined,
  model: tf.LayersModel,
  args: QuiverCheckpointCallbackArgs = {},
): QuiverCheckpointCallback {
  return new QuiverCheckpointCallback(run, model, args);
}
