/** Units the figures are reported in. `MB` is 10⁶ bytes. */
export type Unit = 's' | 'ms' | 'MB';

/** What a figure must meet: a multiple of its baseline, an absolute value, or nothing (information). */
export type Target = { kind: 'ratio'; max: number } | { kind: 'value'; max: number } | { kind: 'info' };

/** A yes/no condition a figure must also meet, such as "no second copy stored". */
export interface Check {
  name: string;
  ok: boolean;
}

/** A measured figure as a suite reports it. */
export interface Measurement {
  /** The figure's number in the issue (`1`), or a sub-number for information beside it (`1b`). */
  id: string;
  name: string;
  value: number;
  unit: Unit;
  /** The same work done by a reference tool, measured in the same run on the same disk. */
  baseline: { name: string; value: number } | null;
  target: Target;
  checks?: readonly Check[];
  notes?: readonly string[];
  /** The timed runs behind `value` and the baseline's, when those are medians. */
  samples?: { candidate: readonly number[]; baseline?: readonly number[] };
}

/** A measurement judged against its target, as printed and written to `results/<suite>.json`. */
export interface Figure {
  id: string;
  name: string;
  value: number;
  unit: Unit;
  baselineName: string | null;
  baseline: number | null;
  /** value ÷ baseline. */
  ratio: number | null;
  target: string | null;
  /** Null for information-only figures. */
  pass: boolean | null;
  checks: Check[];
  notes: string[];
  samples: { candidate: number[]; baseline: number[] } | null;
  /**
   * Fastest candidate run ÷ fastest baseline run. Other processes only ever add time, so on a
   * shared machine this is steadier than the ratio of medians.
   */
  bestRatio: number | null;
}

function describeTarget(target: Target, unit: Unit): string | null {
  switch (target.kind) {
    case 'ratio':
      return `≤ ${target.max} × baseline`;
    case 'value':
      return `≤ ${target.max} ${unit}`;
    case 'info':
      return null;
  }
}

function meetsTarget(target: Target, value: number, ratio: number | null): boolean | null {
  switch (target.kind) {
    case 'ratio':
      return ratio !== null && ratio <= target.max;
    case 'value':
      return value <= target.max;
    case 'info':
      return null;
  }
}

function bestRatioOf(samples: Measurement['samples']): number | null {
  if (!samples?.baseline?.length || samples.candidate.length === 0) return null;
  return Math.min(...samples.candidate) / Math.min(...samples.baseline);
}

/** Computes the ratio to the baseline and whether the target and every check are met. */
export function judge(measurement: Measurement): Figure {
  const { baseline, target } = measurement;
  const ratio = baseline && baseline.value > 0 ? measurement.value / baseline.value : null;
  const checks = [...(measurement.checks ?? [])];
  const targetMet = meetsTarget(target, measurement.value, ratio);
  return {
    id: measurement.id,
    name: measurement.name,
    value: measurement.value,
    unit: measurement.unit,
    baselineName: baseline?.name ?? null,
    baseline: baseline?.value ?? null,
    ratio,
    target: describeTarget(target, measurement.unit),
    pass: targetMet === null ? null : targetMet && checks.every((check) => check.ok),
    checks,
    notes: [...(measurement.notes ?? [])],
    samples: measurement.samples
      ? { candidate: [...measurement.samples.candidate], baseline: [...(measurement.samples.baseline ?? [])] }
      : null,
    bestRatio: bestRatioOf(measurement.samples),
  };
}
