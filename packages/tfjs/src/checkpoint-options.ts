import { QuiverError } from '@quiver/core';
import type { CheckpointHook } from './checkpoint-hook.js';

/** Which checkpoints to log: none, one at the end, each improvement of the monitored metric, or every save point. */
export type LogModelPolicy = false | 'end' | 'best' | 'all';
/** When to consider saving: at each epoch end, or every N batches. */
export type SaveFrequency = 'epoch' | number;
/** Whether a smaller or a larger monitored value is better; `auto` infers it from the name. */
export type MonitorMode = 'auto' | 'min' | 'max';
/** How often to log metrics: each epoch, each batch, every N batches, or never. */
export type MetricsFrequency = 'epoch' | 'batch' | number | false;

/** Options of the Quiver checkpoint callback. Each policy also has an environment variable. */
export interface QuiverCheckpointCallbackArgs {
  /** `QUIVER_LOG_METRICS`. Default `'epoch'`. */
  logMetrics?: MetricsFrequency;
  /**
   * `QUIVER_LOG_MODEL` (`false|end|best|all`; `checkpoint` means `all`). Default `'best'`. With
   * `'best'` and `'all'` the state training ended in is logged too, with alias `final` (content
   * equal to an earlier checkpoint is deduplicated into that version, which then holds `final`).
   */
  logModel?: LogModelPolicy;
  /** `QUIVER_SAVE_FREQ` (`epoch` or a number of batches). Default `'epoch'`. */
  saveFreq?: SaveFrequency;
  /** `QUIVER_MONITOR`. Default `val_loss` when there is validation data, else `loss`. */
  monitor?: string;
  /** `QUIVER_MONITOR_MODE`. Default `'auto'` (`max` for accuracy-like names, else `min`). */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Store only the weights (`weights.bin` + `weights.json`), not the topology. Default false. */
  saveWeightsOnly?: boolean;
  /** Store the optimizer state too, so `fit` can resume from a loaded checkpoint. Default false. */
  includeOptimizer?: boolean;
  /**
   * Retention (`QUIVER_KEEP_BEST`, `QUIVER_KEEP_LAST`): keep the `best` N by score and the `last`
   * N newest; other versions are deleted unless they hold an alias other than `latest`,
   * `epoch-<n>` and `step-<n>`, or are linked in the registry. The best-so-far version (`best`)
   * and the end-of-training version (`final`) are always kept in addition, so `{ last: 2 }` alone
   * can keep three. Default: keep all.
   */
  keep?: { best?: number; last?: number };
  /** Artifact name. Default `model-<run id>`. */
  artifactName?: string;
  /** On a storage failure: `'warn'` (default; training goes on) or `'throw'` (fit rejects). */
  onError?: 'warn' | 'throw';
  /** Checkpoints queued or being stored before training waits for one to finish (each holds one copy of the weights). Default 3. */
  maxQueuedCheckpoints?: number;
  /** Extension point: add files to each checkpoint, or send it elsewhere (see `CheckpointHook`). */
  hooks?: readonly CheckpointHook[];
  /** At train end, link the best checkpoint (else the last) into this registered model (created if missing). */
  registryModel?: string | { model: string; registry?: string; aliases?: string[] };
}

/** The options after defaults and environment variables are applied. */
export interface ResolvedCheckpointOptions {
  logMetrics: MetricsFrequency;
  logModel: LogModelPolicy;
  saveFreq: SaveFrequency;
  monitor: string | undefined;
  mode: MonitorMode;
  minDelta: number;
  saveWeightsOnly: boolean;
  includeOptimizer: boolean;
  keep: { best?: number; last?: number };
  artifactName: string | undefined;
  onError: 'warn' | 'throw';
  maxQueuedCheckpoints: number;
}

type Environment = Record<string, string | undefined>;

function readEnv(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function invalidEnv(name: string, value: string, allowed: string): never {
  throw new QuiverError('E_INVALID_ENV', `${name}=${JSON.stringify(value)} is not valid: use ${allowed}.`, {
    details: { variable: name, value },
  });
}

function invalidOption(name: string, value: unknown, allowed: string): never {
  throw new QuiverError(
    'E_INVALID_OPTION',
    `${name}: ${JSON.stringify(value)} is not valid: use ${allowed}.`,
    { details: { option: name } },
  );
}

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function parseLogModel(value: string, variable: string): LogModelPolicy {
  const normalised = value.toLowerCase();
  if (normalised === 'false' || normalised === 'none' || normalised === '0') return false;
  if (normalised === 'checkpoint') return 'all';
  // As WANDB_LOG_MODEL: `true` is the older spelling of `end`.
  if (normalised === 'true') return 'end';
  if (normalised === 'end' || normalised === 'best' || normalised === 'all') return normalised;
  return invalidEnv(variable, value, 'false, end, best or all (checkpoint means all)');
}

function parseFrequency(value: string, variable: string, words: readonly string[]): string | number {
  if (words.includes(value)) return value;
  if (/^[1-9][0-9]*$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (variable === 'QUIVER_LOG_METRICS' && value === 'false') return 'false';
  return invalidEnv(variable, value, `${words.join(' or ')} or a positive whole number of batches`);
}

function parseCount(value: string, variable: string): number {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)))
    invalidEnv(variable, value, `a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  return Number(value);
}

/**
 * Applies explicit options, then `QUIVER_*` variables, then defaults; an invalid value is an error
 * naming the option or variable and the allowed values.
 */
export function resolveCheckpointOptions(
  args: QuiverCheckpointCallbackArgs,
  // A browser page has no environment: there, only the options count.
  env: Environment = typeof process === 'undefined' ? {} : process.env,
): ResolvedCheckpointOptions {
  const logModelEnv = readEnv(env, 'QUIVER_LOG_MODEL');
  const logModel =
    args.logModel !== undefined
      ? args.logModel
      : logModelEnv !== undefined
        ? parseLogModel(logModelEnv, 'QUIVER_LOG_MODEL')
        : 'best';
  if (![false, 'end', 'best', 'all'].includes(logModel))
    invalidOption('logModel', logModel, "false, 'end', 'best' or 'all'");

  const saveFreqEnv = readEnv(env, 'QUIVER_SAVE_FREQ');
  const saveFreq =
    args.saveFreq ??
    (saveFreqEnv !== undefined
      ? (parseFrequency(saveFreqEnv, 'QUIVER_SAVE_FREQ', ['epoch']) as SaveFrequency)
      : 'epoch');
  if (saveFreq !== 'epoch' && !isPositiveInteger(saveFreq))
    invalidOption('saveFreq', saveFreq, "'epoch' or a positive whole number of batches");

  const logMetricsEnv = readEnv(env, 'QUIVER_LOG_METRICS');
  const fromEnvMetrics =
    logMetricsEnv !== undefined
      ? parseFrequency(logMetricsEnv, 'QUIVER_LOG_METRICS', ['epoch', 'batch'])
      : undefined;
  const logMetrics =
    args.logMetrics ??
    (fromEnvMetrics === 'false' ? false : ((fromEnvMetrics as MetricsFrequency | undefined) ?? 'epoch'));
  if (
    logMetrics !== false &&
    logMetrics !== 'epoch' &&
    logMetrics !== 'batch' &&
    !isPositiveInteger(logMetrics)
  ) {
    invalidOption('logMetrics', logMetrics, "'epoch', 'batch', a positive whole number of batches, or false");
  }

  const monitor = args.monitor ?? readEnv(env, 'QUIVER_MONITOR');
  if (monitor !== undefined && (typeof monitor !== 'string' || monitor.length === 0))
    invalidOption('monitor', monitor, 'a metric name such as val_loss');

  const modeEnv = readEnv(env, 'QUIVER_MONITOR_MODE');
  const mode =
    args.mode ??
    (modeEnv !== undefined
      ? ['auto', 'min', 'max'].includes(modeEnv)
        ? (modeEnv as MonitorMode)
        : invalidEnv('QUIVER_MONITOR_MODE', modeEnv, 'auto, min or max')
      : 'auto');
  if (!['auto', 'min', 'max'].includes(mode)) invalidOption('mode', mode, "'auto', 'min' or 'max'");

  const minDelta = args.minDelta ?? 0;
  if (typeof minDelta !== 'number' || !Number.isFinite(minDelta) || minDelta < 0)
    invalidOption('minDelta', minDelta, 'a number ≥ 0');

  const keepBestEnv = readEnv(env, 'QUIVER_KEEP_BEST');
  const keepLastEnv = readEnv(env, 'QUIVER_KEEP_LAST');
  const keep = {
    ...(args.keep?.best !== undefined
      ? { best: args.keep.best }
      : keepBestEnv !== undefined
        ? { best: parseCount(keepBestEnv, 'QUIVER_KEEP_BEST') }
        : {}),
    ...(args.keep?.last !== undefined
      ? { last: args.keep.last }
      : keepLastEnv !== undefined
        ? { last: parseCount(keepLastEnv, 'QUIVER_KEEP_LAST') }
        : {}),
  };
  if (keep.best !== undefined && !isCount(keep.best))
    invalidOption('keep.best', keep.best, 'a whole number ≥ 0');
  if (keep.last !== undefined && !isCount(keep.last))
    invalidOption('keep.last', keep.last, 'a whole number ≥ 0');
  if ((keep.best !== undefined || keep.last !== undefined) && (keep.best ?? 0) + (keep.last ?? 0) === 0) {
    invalidOption('keep', keep, 'keep at least one checkpoint (best or last ≥ 1)');
  }

  const onError = args.onError ?? 'warn';
  if (onError !== 'warn' && onError !== 'throw') invalidOption('onError', onError, "'warn' or 'throw'");
  const maxQueuedCheckpoints = args.maxQueuedCheckpoints ?? 3;
  if (!isPositiveInteger(maxQueuedCheckpoints))
    invalidOption('maxQueuedCheckpoints', maxQueuedCheckpoints, 'a positive whole number');

  return {
    logMetrics,
    logModel,
    saveFreq,
    monitor,
    mode,
    minDelta,
    saveWeightsOnly: args.saveWeightsOnly ?? false,
    includeOptimizer: args.includeOptimizer ?? false,
    keep,
    artifactName: args.artifactName,
    onError,
    maxQueuedCheckpoints,
  };
}
