/**
 * Child process of figure 7: logs one file into a fresh store and prints, as one JSON line, its
 * RSS before logging, the largest RSS sampled every 20 ms while logging, and the kernel's
 * lifetime peak (VmHWM). Usage: tsx --conditions=source memory-child.ts <store-dir> <file>
 */
import { readFileSync } from 'node:fs';
import { Artifact, init } from '@quiver/core';
import { PROJECT } from './shared.js';

const SAMPLE_INTERVAL_MS = 20;

export interface MemoryReport {
  rssBeforeBytes: number;
  sampledPeakBytes: number;
  /** Null where /proc is not available. */
  highWaterMarkBytes: number | null;
}

function sampleRss(): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_INTERVAL_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

function highWaterMark(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

async function main(storeDir: string, file: string): Promise<MemoryReport> {
  const run = await init({ project: PROJECT, dir: storeDir });
  const rssBeforeBytes = process.memoryUsage.rss();
  const sampler = sampleRss();
  await run.logArtifact(new Artifact('memory-probe', 'model').addFile(file));
  const sampledPeakBytes = sampler.stop();
  await run.finish();
  return { rssBeforeBytes, sampledPeakBytes, highWaterMarkBytes: highWaterMark() };
}

const [storeDir, file] = process.argv.slice(2);
if (storeDir === undefined || file === undefined)
  throw new Error('usage: memory-child.ts <store-dir> <file>');
process.stdout.write(`${JSON.stringify(await main(storeDir, file))}\n`);
