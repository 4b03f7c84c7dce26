/**
 * Runs one benchmark suite: `pnpm bench <suite>` imports `bench/<suite>.ts`, prints its figures
 * beside their baselines and targets, and writes them to `bench/results/<suite>.json`. Exits 1
 * when a target is missed, 2 on a usage error.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { judge } from './support/figures.js';
import { busyWarning, observeMachine } from './support/machine.js';
import { formatReport, writeResults } from './support/report.js';
import { isSuiteModule, type SuiteModule } from './support/suite.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const DISPATCHER = 'run.ts';

/** Every `bench/<name>.ts` except this dispatcher is a suite. */
function availableSuites(): string[] {
  return readdirSync(benchDir, { withFileTypes: true })
    .filter((dirent) => dirent.isFile() && dirent.name.endsWith('.ts') && dirent.name !== DISPATCHER)
    .map((dirent) => dirent.name.slice(0, -'.ts'.length))
    .sort();
}

async function loadSuite(name: string): Promise<SuiteModule> {
  const module: unknown = await import(pathToFileURL(join(benchDir, `${name}.ts`)).href);
  if (!isSuiteModule(module))
    throw new Error(`bench/${name}.ts does not export run(): Promise<Measurement[]>.`);
  return module;
}

/** Warns when `@quiver/core` resolves to its build, which may be older than its source. */
function warnUnlessCoreFromSource(): void {
  const resolved = import.meta.resolve('@quiver/core');
  if (!resolved.endsWith('/src/index.ts')) {
    process.stderr.write(
      `Warning: measuring ${resolved}, not core's source; run with tsx --conditions=source.\n`,
    );
  }
}

async function main(): Promise<number> {
  const suites = availableSuites();
  const requested = process.argv[2];
  if (requested === undefined || !suites.includes(requested)) {
    const shown = requested === undefined ? 'No suite given' : `Unknown suite '${requested}'`;
    process.stderr.write(`${shown}. Usage: pnpm bench <suite>. Suites: ${suites.join(', ')}.\n`);
    return 2;
  }
  return runSuite(requested);
}

/** Runs a suite, prints its report and writes its results; returns 1 when a target is missed. */
async function runSuite(name: string): Promise<number> {
  warnUnlessCoreFromSource();
  const suite = await loadSuite(name);
  const machine = observeMachine();
  const busy = busyWarning(machine.loadAtStart);
  if (busy !== undefined) process.stderr.write(`Warning: ${busy}\n`);
  const figures = (await suite.run()).map(judge);
  const state = machine.finish();
  process.stdout.write(`\n${formatReport(name, figures, state)}\n`);
  const path = writeResults(join(benchDir, 'results'), name, figures, state);
  process.stdout.write(`Results written to ${path}\n`);
  return figures.some((figure) => figure.pass === false) ? 1 : 0;
}

process.exitCode = await main();
