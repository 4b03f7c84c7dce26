import { join } from 'node:path';
import { type EmbeddedBackend, init } from '@quiver/core';
import type { Measurement } from '../support/figures.js';
import { removeTree } from '../support/files.js';
import { alternate, median, timeAfterSync } from '../support/measure.js';
import { PROJECT, ROUNDS } from './shared.js';

const STEPS = 100_000;
const KEYS = Array.from({ length: 10 }, (_, index) => `metric_${index}`);

function valuesAt(step: number): Record<string, number> {
  const values: Record<string, number> = {};
  KEYS.forEach((key, index) => {
    values[key] = Math.sin(step + index);
  });
  return values;
}

/** Logs every step with `run.log` and flushes; returns the time and the number of steps stored. */
async function timeLogMetrics(storeDir: string): Promise<{ seconds: number; storedSteps: number }> {
  const run = await init({ project: PROJECT, dir: storeDir });
  try {
    const { seconds } = await timeAfterSync(async () => {
      for (let step = 0; step < STEPS; step++) run.log(valuesAt(step), { step });
      await run.flush();
    });
    const stored = await (run.store.backend as EmbeddedBackend).connection.db
      .selectFrom('run_history')
      .select((eb) => eb.fn.countAll<number>().as('steps'))
      .where('run_id', '=', run.id)
      .executeTakeFirstOrThrow();
    return { seconds, storedSteps: Number(stored.steps) };
  } finally {
    await run.finish();
  }
}

/** The baseline: building the same rows and serialising each with JSON.stringify, in memory. */
async function timeSerialise(): Promise<number> {
  const { seconds, result } = await timeAfterSync(async () => {
    const rows: string[] = [];
    for (let step = 0; step < STEPS; step++) rows.push(JSON.stringify({ step, ...valuesAt(step) }));
    return rows.length;
  });
  if (result !== STEPS) throw new Error('serialised the wrong number of rows');
  return seconds;
}

/** Figure 5: 1,000,000 points (100,000 steps × 10 keys) logged with `run.log`, then flushed. */
export async function measureMetricLogging(scratch: string): Promise<Measurement> {
  const storedSteps: number[] = [];
  const samples = await alternate(ROUNDS, {
    serialise: timeSerialise,
    quiver: async () => {
      const storeDir = join(scratch, 'store-metrics');
      const { seconds, storedSteps: steps } = await timeLogMetrics(storeDir);
      storedSteps.push(steps);
      await removeTree(storeDir);
      return seconds;
    },
  });
  return {
    id: '5',
    name: `log ${STEPS * KEYS.length} metric points + flush`,
    value: median(samples.quiver),
    unit: 's',
    baseline: { name: 'JSON.stringify of the rows', value: median(samples.serialise) },
    target: { kind: 'value', max: 5 },
    checks: [{ name: `every run stored ${STEPS} steps`, ok: storedSteps.every((steps) => steps === STEPS) }],
    samples: { candidate: samples.quiver, baseline: samples.serialise },
    notes: ['The baseline only serialises the rows in memory (the CPU floor); the target is absolute.'],
  };
}
