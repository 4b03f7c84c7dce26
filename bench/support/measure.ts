import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs a command to completion, failing when it exits non-zero. */
export async function runCommand(command: string, args: readonly string[]): Promise<void> {
  await execFileAsync(command, [...args]);
}

/** Flushes every dirty page to disk, so one timed step does not pay for the writes of the last. */
export function syncDisks(): Promise<void> {
  return runCommand('sync', []);
}

/**
 * Flushes dirty pages and drops the page cache (root only), so the next step reads from the disk:
 * the disk-bound case. Returns false where the kernel does not allow it.
 */
export async function dropCaches(): Promise<boolean> {
  await syncDisks();
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/** Times `work` in seconds, after flushing the disks. */
export async function timeAfterSync<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  await syncDisks();
  const start = performance.now();
  const result = await work();
  return { seconds: (performance.now() - start) / 1000, result };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Runs each trial once per round, in turn (baseline and candidate alternate, so drift in the
 * machine's state affects both alike), and returns every trial's durations in seconds.
 */
export async function alternate<Name extends string>(
  rounds: number,
  trials: Record<Name, () => Promise<number>>,
): Promise<Record<Name, number[]>> {
  const names = Object.keys(trials) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) samples[name].push(await trials[name]());
  }
  return samples;
}

/** Writes a progress line to stderr (the table goes to stdout). */
export function progress(message: string): void {
  process.stderr.write(`… ${message}\n`);
}
