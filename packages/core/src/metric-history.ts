import { QuiverError } from './contract/errors.js';
import type { MetricSummary, RunsApiV1 } from './contract/index.js';

/** Where a history writes: a store's backend (Node) or a browser's connection to a server. */
export interface HistorySink {
  backend: { runs: Pick<RunsApiV1, 'appendHistory'> };
  /** The longest a logged step waits before it is written (default 2 s). */
  metricsFlushMs?: number;
}

/** Buffered steps that trigger a flush. */
const FLUSH_ROWS = 5000;
const FLUSH_INTERVAL_MS = 2000;

/**
 * Buffers a run's logged metrics by step and writes them in batches: one row per step holding the
 * values logged at that step, plus a summary (last, min, max) per key.
 */
export class MetricHistory {
  private lastStep = -1;
  private pendingStep: number | undefined;
  private pendingValues: Record<string, number> = {};
  private buffer: Array<{ step: number; metrics: Record<string, number> }> = [];
  private readonly summary: Record<string, MetricSummary>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: HistorySink,
    private readonly runId: string,
    summary: Record<string, MetricSummary> = {},
  ) {
    this.summary = summary;
  }

  /** The step the next `log` without an explicit step will use. */
  get nextStep(): number {
    return (this.pendingStep ?? this.lastStep) + 1;
  }

  get currentSummary(): Record<string, MetricSummary> {
    return this.summary;
  }

  /** Records values at `step` (default: the next step). Steps never go back. */
  log(metrics: Record<string, number>, step?: number): void {
    const entries = Object.entries(metrics);
    for (const [key, value] of entries) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new QuiverError(
          'E_INVALID_METRIC',
          `Metric '${key}' is ${String(value)}; log finite numbers only.`,
          { details: { key } },
        );
      }
      if (key.length === 0 || key.length > 256 || key.startsWith('_')) {
        throw new QuiverError(
          'E_INVALID_METRIC',
          `Metric name '${key}' is not allowed: use 1–256 characters, not starting with '_'.`,
          { details: { key } },
        );
      }
    }
    const current = this.pendingStep ?? this.lastStep;
    const target = step ?? this.nextStep;
    if (!Number.isSafeInteger(target) || target < 0) {
      throw new QuiverError('E_INVALID_STEP', `step must be a whole number ≥ 0, got ${String(step)}.`);
    }
    if (target < current) {
      throw new QuiverError(
        'E_INVALID_STEP',
        `step ${target} is before the last logged step ${current}; steps only increase. Omit step to use ${current + 1}.`,
        {
          details: { step: target, lastStep: current },
        },
      );
    }
    if (this.pendingStep !== undefined && target !== this.pendingStep) this.closePendingStep();
    this.pendingStep = target;
    for (const [key, value] of entries) {
      this.pendingValues[key] = value;
      const previous = this.summary[key];
      this.summary[key] = previous
        ? {
            last: value,
            min: Math.min(previous.min, value),
            max: Math.max(previous.max, value),
            step: target,
          }
        : { last: value, min: value, max: value, step: target };
    }
    if (this.buffer.length >= FLUSH_ROWS) void this.flush();
    else this.schedule();
  }

  private closePendingStep(): void {
    if (this.pendingStep === undefined) return;
    this.buffer.push({ step: this.pendingStep, metrics: this.pendingValues });
    this.lastStep = this.pendingStep;
    this.pendingStep = undefined;
    this.pendingValues = {};
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failed background flush keeps its rows (see flush); the next flush or finish retries.
      void this.flush().catch(() => undefined);
    }, this.store.metricsFlushMs ?? FLUSH_INTERVAL_MS);
    // Node: a pending flush does not keep the process alive (browsers have no unref).
    (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * Writes everything logged so far, the current step included. Writes go one after another;
   * `now` starts this one at once instead (a page going away has no time to wait for the one
   * before: the sink keeps them in the order they were started).
   */
  async flush(options: { closeStep?: boolean; now?: boolean } = {}): Promise<void> {
    if (options.closeStep) this.closePendingStep();
    const rows = this.buffer;
    this.buffer = [];
    const summary = structuredClone(this.summary);
    const pendingStep = this.pendingStep;
    const pendingValues = { ...this.pendingValues };
    const write = () =>
      this.store.backend.runs.appendHistory(this.runId, {
        rows: pendingStep === undefined ? rows : [...rows, { step: pendingStep, metrics: pendingValues }],
        summary,
      });
    const before = this.flushing.catch(() => undefined);
    const started = options.now ? write() : undefined;
    started?.catch(() => undefined); // handled below, once the write before it settled
    this.flushing = before
      .then(() => started ?? write())
      .catch((error: unknown) => {
        // Nothing of it was written (one transaction): keep the rows for the next flush, which
        // run.finish() makes, so a database outage longer than the retries loses no metrics
        // (rows are upserted by step, so sending them again is safe).
        this.buffer = [...rows, ...this.buffer];
        throw error;
      });
    await this.flushing;
  }

  /** Stops the flush timer. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
