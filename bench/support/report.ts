import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure, Unit } from './figures.js';
import { busyWarning, type MachineState } from './machine.js';

function formatNumber(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

const formatQuantity = (value: number, unit: Unit): string => `${formatNumber(value)} ${unit}`;

function resultOf(figure: Figure): string {
  if (figure.pass === null) return 'info';
  return figure.pass ? 'PASS' : 'FAIL';
}

function rowOf(figure: Figure): string[] {
  const baseline =
    figure.baseline === null
      ? '—'
      : `${formatQuantity(figure.baseline, figure.unit)} (${figure.baselineName})`;
  return [
    figure.name,
    formatQuantity(figure.value, figure.unit),
    baseline,
    figure.ratio === null ? '—' : `${figure.ratio.toFixed(2)}×`,
    figure.target ?? '—',
    resultOf(figure),
  ];
}

function formatTable(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join(' │ ')
      .trimEnd();
  const rule = widths.map((width) => '─'.repeat(width)).join('─┼─');
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

const formatSeries = (values: readonly number[], unit: Unit): string =>
  `${values.map((value) => formatNumber(value)).join(', ')} ${unit}`;

function formatSamples(figure: Figure): string[] {
  if (figure.samples === null) return [];
  const { candidate, baseline } = figure.samples;
  const lines = [`samples: ${formatSeries(candidate, figure.unit)}`];
  if (baseline.length > 0)
    lines.push(`baseline samples (${figure.baselineName}): ${formatSeries(baseline, figure.unit)}`);
  if (figure.bestRatio !== null) {
    lines.push(`best-of-${candidate.length} ratio: ${figure.bestRatio.toFixed(2)}× (fastest run of each)`);
  }
  return lines;
}

function formatDetails(figures: readonly Figure[]): string[] {
  return figures.flatMap((figure) => {
    const checks = figure.checks.map((check) => `${check.ok ? '✔' : '✘'} ${check.name}`);
    const details = [...checks, ...formatSamples(figure), ...figure.notes];
    return details.length === 0
      ? []
      : [`[${figure.id}] ${figure.name}`, ...details.map((text) => `    ${text}`)];
  });
}

function formatMachine(machine: MachineState): string {
  const { loadAtStart, loadAtEnd } = machine;
  const load = `load average ${loadAtStart} at start (${loadAtEnd} at end, the suite's own included)`;
  const platform = `${machine.platform}/${machine.arch}`;
  const summary = `Node ${machine.node} on ${platform}, ${machine.cpus} CPUs, ${load}.`;
  const warning = busyWarning(loadAtStart, machine.cpus);
  return warning === undefined ? summary : `${summary}\n${warning}`;
}

/** The table of figures, then each figure's checks and notes, the machine and the tally. */
export function formatReport(suite: string, figures: readonly Figure[], machine: MachineState): string {
  const header = ['Figure', 'Value', 'Baseline (same run)', 'Ratio', 'Target', 'Result'];
  const numbered = figures.map((figure) => {
    const [name, ...rest] = rowOf(figure);
    return [`${figure.id}. ${name}`, ...rest];
  });
  const judged = figures.filter((figure) => figure.pass !== null);
  const failed = judged.filter((figure) => figure.pass === false).length;
  return [
    `Quiver bench — ${suite}`,
    '',
    formatTable([header, ...numbered]),
    '',
    ...formatDetails(figures),
    '',
    formatMachine(machine),
    `${judged.length - failed} of ${judged.length} targets met.`,
  ].join('\n');
}

/** Writes `<resultsDir>/<suite>.json` and returns its path. */
export function writeResults(
  resultsDir: string,
  suite: string,
  figures: readonly Figure[],
  machine: MachineState,
): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${suite}.json`);
  const document = { suite, measuredAt: new Date().toISOString(), machine, figures };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}
