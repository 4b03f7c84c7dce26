import type { MonitorMode } from './checkpoint-options.js';

/** Names whose larger values are better, as Keras infers them. */
const MAXIMISED = /(acc|accuracy|auc|precision|recall|f1|fmeasure|iou)$/i;

/** `auto` → `max` for accuracy-like metrics, else `min`. */
export function resolveMode(mode: MonitorMode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return MAXIMISED.test(monitor) ? 'max' : 'min';
}

/**
 * Tracks the best value of the monitored metric. A value only counts as better when it beats the
 * best so far by more than `minDelta`, so `best` never moves to a worse (or equal) checkpoint.
 */
export class BestTracker {
  private bestValue: number | undefined;

  constructor(
    readonly mode: 'min' | 'max',
    private readonly minDelta: number,
  ) {}

  get best(): number | undefined {
    return this.bestValue;
  }

  /** True when `value` improves on the best so far (the first finite value always does). */
  isImprovement(value: number | undefined): boolean {
    if (value === undefined || !Number.isFinite(value)) return false;
    if (this.bestValue === undefined) return true;
    return this.mode === 'min'
      ? value < this.bestValue - this.minDelta
      : value > this.bestValue + this.minDelta;
  }

  /** Records `value` as the new best. */
  accept(value: number): void {
    this.bestValue = value;
  }

  /** Orders scores best first. */
  compare(a: number, b: number): number {
    return this.mode === 'min' ? a - b : b - a;
  }
}
