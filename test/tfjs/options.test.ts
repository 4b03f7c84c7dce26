import { isQuiverError } from '@quiver/core';
import { resolveCheckpointOptions } from '@quiver/tfjs';
import { describe, expect, it } from 'vitest';

function errorOf(action: () => unknown): { code: string; message: string } {
  try {
    action();
  } catch (error) {
    if (isQuiverError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

describe('checkpoint options', () => {
  it('defaults: metrics per epoch, best checkpoints each epoch, auto mode, keep all, warn on errors', () => {
    expect(resolveCheckpointOptions({}, {})).toEqual({
      logMetrics: 'epoch',
      logModel: 'best',
      saveFreq: 'epoch',
      monitor: undefined,
      mode: 'auto',
      minDelta: 0,
      saveWeightsOnly: false,
      includeOptimizer: false,
      keep: {},
      artifactName: undefined,
      onError: 'warn',
      maxQueuedCheckpoints: 3,
    });
  });

  it('takes every policy from the environment, and explicit options win', () => {
    const env = {
      QUIVER_LOG_MODEL: 'all',
      QUIVER_SAVE_FREQ: '25',
      QUIVER_MONITOR: 'val_acc',
      QUIVER_MONITOR_MODE: 'max',
      QUIVER_KEEP_BEST: '2',
      QUIVER_KEEP_LAST: '3',
      QUIVER_LOG_METRICS: 'batch',
    };
    expect(resolveCheckpointOptions({}, env)).toMatchObject({
      logModel: 'all',
      saveFreq: 25,
      monitor: 'val_acc',
      mode: 'max',
      keep: { best: 2, last: 3 },
      logMetrics: 'batch',
    });
    expect(
      resolveCheckpointOptions(
        {
          logModel: 'end',
          saveFreq: 'epoch',
          monitor: 'loss',
          mode: 'min',
          keep: { best: 1 },
          logMetrics: false,
        },
        env,
      ),
    ).toMatchObject({
      logModel: 'end',
      saveFreq: 'epoch',
      monitor: 'loss',
      mode: 'min',
      keep: { best: 1, last: 3 },
      logMetrics: false,
    });
    expect(resolveCheckpointOptions({}, { QUIVER_LOG_MODEL: 'false' }).logModel).toBe(false);
    expect(resolveCheckpointOptions({}, { QUIVER_LOG_MODEL: 'checkpoint' }).logModel).toBe('all');
    expect(resolveCheckpointOptions({ logModel: false }, { QUIVER_LOG_MODEL: 'all' }).logModel).toBe(false);
  });

  it.each([
    ['QUIVER_LOG_MODEL', 'sometimes', 'false, end, best or all'],
    ['QUIVER_SAVE_FREQ', '0', 'epoch'],
    ['QUIVER_SAVE_FREQ', 'hourly', 'positive whole number'],
    ['QUIVER_MONITOR_MODE', 'up', 'auto, min or max'],
    ['QUIVER_KEEP_BEST', '-1', 'whole number'],
    ['QUIVER_KEEP_LAST', 'many', 'whole number'],
    ['QUIVER_KEEP_LAST', '99999999999999999999', 'whole number from 0 to 9007199254740991'],
    ['QUIVER_SAVE_FREQ', '99999999999999999999', 'positive whole number'],
    ['QUIVER_LOG_METRICS', 'often', 'epoch or batch'],
  ])('%s=%s is an error naming the variable and the allowed values', (variable, value, allowed) => {
    const error = errorOf(() => resolveCheckpointOptions({}, { [variable]: value }));
    expect(error.code).toBe('E_INVALID_ENV');
    expect(error.message).toContain(variable);
    expect(error.message).toContain(allowed);
  });

  it.each([
    [{ logModel: 'sometimes' as never }, 'logModel'],
    [{ saveFreq: 0 }, 'saveFreq'],
    [{ saveFreq: 2.5 }, 'saveFreq'],
    [{ mode: 'up' as never }, 'mode'],
    [{ minDelta: -1 }, 'minDelta'],
    [{ keep: { best: -1 } }, 'keep.best'],
    [{ keep: { best: 0, last: 0 } }, 'keep'],
    [{ keep: { best: 0 } }, 'keep'],
    [{ onError: 'ignore' as never }, 'onError'],
    [{ logMetrics: 0 }, 'logMetrics'],
    [{ maxQueuedCheckpoints: 0 }, 'maxQueuedCheckpoints'],
  ])('option %o is an error naming %s', (args, option) => {
    const error = errorOf(() => resolveCheckpointOptions(args, {}));
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message.startsWith(`${option}:`)).toBe(true);
  });
});
