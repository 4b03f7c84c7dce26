import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Measurement } from '../support/figures.js';
import { removeTree } from '../support/files.js';
import { syncDisks } from '../support/measure.js';
import type { MemoryReport } from './memory-child.js';

const execFileAsync = promisify(execFile);
const MB = 1e6;
const childScript = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

/** Runs the child in a fresh node, with this process's flags (tsx's loader, `--conditions=source`). */
async function runChild(storeDir: string, file: string): Promise<MemoryReport> {
  const { stdout } = await execFileAsync(process.execPath, [
    ...process.execArgv,
    childScript,
    storeDir,
    file,
  ]);
  const lastLine = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(lastLine) as MemoryReport;
}

/** Figure 7: the peak RSS of a process that logs the 1 GiB file. */
export async function measurePeakMemory(storeDir: string, file: string): Promise<Measurement> {
  await syncDisks();
  const report = await runChild(storeDir, file);
  await removeTree(storeDir);
  const peakBytes = report.highWaterMarkBytes ?? report.sampledPeakBytes;
  return {
    id: '7',
    name: 'peak RSS logging 1 GiB file',
    value: peakBytes / MB,
    unit: 'MB',
    baseline: { name: 'RSS before logging', value: report.rssBeforeBytes / MB },
    target: { kind: 'value', max: 200 },
    notes: [
      `${report.highWaterMarkBytes === null ? 'Largest RSS sampled' : 'VmHWM (whole child lifetime)'}; ` +
        `RSS sampled every 20 ms while logging peaked at ${(report.sampledPeakBytes / MB).toFixed(1)} MB.`,
      'Baseline: the child’s RSS with the store open and the run started, just before logArtifact.',
    ],
  };
}
