import { describe, expect, it } from 'vitest';
import type { AppendHistoryInput } from './contract/index.js';
import { MetricHistory } from './metric-history.js';

/** A sink whose writes finish only when the test lets them. */
function slowSink() {
  const started: number[][] = [];
  const finish: Array<(error?: Error) => void> = [];
  const sink = {
    backend: {
      runs: {
        appendHistory: (_runId: string, input: AppendHistoryInput) => {
          started.push(input.rows.map((row) => row.step));
          return new Promise<void>((resolve, reject) =>
            finish.push((error) => (error ? reject(error) : resolve())),
          );
        },
      },
    },
  };
  return { sink, started, finish };
}

describe('the metric history', () => {
  it('writes one flush after another, unless told to start now (a page going away)', async () => {
    const { sink, started, finish } = slowSink();
    const history = new MetricHistory(sink, 'r1');
    history.log({ loss: 1 }, 0);
    history.log({ loss: 0.5 }, 1);
    const first = history.flush();
    history.log({ loss: 0.25 }, 2);
    const second = history.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // The second waits for the first…
    expect(started).toEqual([[0, 1]]);
    history.log({ loss: 0.1 }, 3);
    const third = history.flush({ closeStep: true, now: true });
    // …the one told `now` does not.
    expect(started).toEqual([
      [0, 1],
      [2, 3],
    ]);
    finish[0]!();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    // (a step still open is sent again with the next flush: rows are upserted by step)
    expect(started).toEqual([
      [0, 1],
      [2, 3],
      [1, 2],
    ]);
    finish[1]!();
    finish[2]!();
    await Promise.all([second, third]);
  });

  it('keeps the rows of a write started now that failed, for the next flush', async () => {
    const { sink, started, finish } = slowSink();
    const history = new MetricHistory(sink, 'r1');
    history.log({ loss: 1 }, 0);
    const failed = history.flush({ closeStep: true, now: true });
    finish[0]!(new Error('the network is away'));
    await expect(failed).rejects.toThrow('the network is away');
    const again = history.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toEqual([[0], [0]]);
    finish[1]!();
    await again;
  });
});
