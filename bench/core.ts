/**
 * The core SDK suite: artifact logging, re-logging, downloads (one large file, many small ones),
 * metric logging, alias resolution and memory, each beside a baseline measured in the same run on the same disk. Everything happens
 * in a scratch folder under the OS temporary directory, removed at the end.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAliasResolve } from './core/alias-resolve.js';
import { measureBigFileLogging, measureDownload, measureRelog, prepareLoggedStore } from './core/big-file.js';
import { measureManyFiles, measureManyFilesDownload } from './core/many-files.js';
import { measurePeakMemory } from './core/memory.js';
import { measureMetricLogging } from './core/metrics.js';
import type { Measurement } from './support/figures.js';
import { GiB, removeTree, writeRandomFile } from './support/files.js';
import { progress } from './support/measure.js';

/**
 * The figures to measure: all, or those listed in `QUIVER_BENCH_ONLY` (e.g. `QUIVER_BENCH_ONLY=3b
 * pnpm bench core`), by the id of a group's first row (`1` measures 1 to 1d, `4` also 4b). Figure 2
 * is compared with figure 1's `cp`, so asking for 2 measures 1 too. The results file then holds
 * only the figures measured.
 */
const GROUPS = ['1', '2', '3', '3b', '4', '5', '6', '7'] as const;
type Group = (typeof GROUPS)[number];

function selectedGroups(): Set<Group> {
  const wanted = process.env.QUIVER_BENCH_ONLY?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (!wanted || wanted.length === 0) return new Set(GROUPS);
  const unknown = wanted.filter((id) => !(GROUPS as readonly string[]).includes(id));
  if (unknown.length > 0)
    throw new Error(
      `QUIVER_BENCH_ONLY: unknown figure ${unknown.join(', ')}; figures: ${GROUPS.join(', ')}.`,
    );
  const groups = new Set(wanted as Group[]);
  if (groups.has('2')) groups.add('1');
  return groups;
}

async function measureAll(scratch: string, groups: Set<Group>): Promise<Measurement[]> {
  const figures: Measurement[] = [];
  const needsBigFile = ['1', '2', '4', '7'].some((id) => groups.has(id as Group));
  const bigFile = join(scratch, 'big.bin');
  if (needsBigFile) {
    progress(`writing 1 GiB of random bytes to ${bigFile}`);
    await writeRandomFile(bigFile, GiB);
  }
  const loggedStore = join(scratch, 'store-big');
  if (groups.has('2') || groups.has('4')) await prepareLoggedStore(loggedStore, bigFile);

  if (groups.has('1')) {
    progress('figure 1: logArtifact of the 1 GiB file against cp');
    const { figures: logging, cpSeconds } = await measureBigFileLogging(scratch, bigFile);
    figures.push(...logging);
    if (groups.has('2')) {
      progress('figure 2: re-logging the unchanged file');
      figures.push(await measureRelog(loggedStore, bigFile, cpSeconds));
    }
  }
  if (groups.has('3')) {
    progress('figure 3: logArtifact of 10,000 files of 4 KiB against cp -r');
    figures.push(await measureManyFiles(scratch));
  }
  if (groups.has('3b')) {
    progress('figure 3b: download of 10,000 files of 4 KiB against cp -r');
    figures.push(await measureManyFilesDownload(scratch));
  }
  if (groups.has('4')) {
    progress('figure 4: download of the 1 GiB artifact against cp');
    figures.push(...(await measureDownload(scratch, loggedStore)));
  }
  await removeTree(loggedStore);
  if (groups.has('5')) {
    progress('figure 5: 1,000,000 metric points');
    figures.push(await measureMetricLogging(scratch));
  }
  if (groups.has('6')) {
    progress('figure 6: resolving name:alias among 100,000 versions');
    figures.push(await measureAliasResolve(join(scratch, 'store-versions')));
  }
  if (groups.has('7')) {
    progress('figure 7: peak RSS of a child process logging the 1 GiB file');
    figures.push(await measurePeakMemory(join(scratch, 'store-memory'), bigFile));
  }
  return figures;
}

export async function run(): Promise<Measurement[]> {
  const groups = selectedGroups();
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-core-'));
  progress(`scratch folder ${scratch}`);
  if (groups.size < GROUPS.length) progress(`measuring figures ${[...groups].join(', ')} only`);
  try {
    return await measureAll(scratch, groups);
  } finally {
    await removeTree(scratch);
  }
}
