/**
 * The core SDK suite: artifact logging, re-logging, download, metric logging, alias resolution and
 * memory, each beside a baseline measured in the same run on the same disk. Everything happens
 * in a scratch folder under the OS temporary directory, removed at the end.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAliasResolve } from './core/alias-resolve.js';
import { measureBigFileLogging, measureDownload, measureRelog, prepareLoggedStore } from './core/big-file.js';
import { measureManyFiles } from './core/many-files.js';
import { measurePeakMemory } from './core/memory.js';
import { measureMetricLogging } from './core/metrics.js';
import type { Measurement } from './support/figures.js';
import { GiB, removeTree, writeRandomFile } from './support/files.js';
import { progress } from './support/measure.js';

async function measureAll(scratch: string): Promise<Measurement[]> {
  const bigFile = join(scratch, 'big.bin');
  progress(`writing 1 GiB of random bytes to ${bigFile}`);
  await writeRandomFile(bigFile, GiB);

  progress('figure 1: logArtifact of the 1 GiB file against cp');
  const { figures: logging, cpSeconds } = await measureBigFileLogging(scratch, bigFile);
  const loggedStore = join(scratch, 'store-big');
  await prepareLoggedStore(loggedStore, bigFile);
  progress('figure 2: re-logging the unchanged file');
  const relog = await measureRelog(loggedStore, bigFile, cpSeconds);
  progress('figure 3: logArtifact of 10,000 files of 4 KiB against cp -r');
  const manyFiles = await measureManyFiles(scratch);
  progress('figure 4: download of the 1 GiB artifact against cp');
  const download = await measureDownload(scratch, loggedStore);
  await removeTree(loggedStore);
  progress('figure 5: 1,000,000 metric points');
  const metrics = await measureMetricLogging(scratch);
  progress('figure 6: resolving name:alias among 100,000 versions');
  const aliases = await measureAliasResolve(join(scratch, 'store-versions'));
  progress('figure 7: peak RSS of a child process logging the 1 GiB file');
  const memory = await measurePeakMemory(join(scratch, 'store-memory'), bigFile);

  return [...logging, relog, manyFiles, ...download, metrics, aliases, memory];
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-core-'));
  progress(`scratch folder ${scratch}`);
  try {
    return await measureAll(scratch);
  } finally {
    await removeTree(scratch);
  }
}
