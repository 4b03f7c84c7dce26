import { join } from 'node:path';
import { Artifact } from '@quiver/core';
import type { Measurement } from '../support/figures.js';
import { removeTree, writeRandomFiles } from '../support/files.js';
import { alternate, median, runCommand, timeAfterSync } from '../support/measure.js';
import { ROUNDS, timeLogArtifact } from './shared.js';

const FILE_COUNT = 10_000;
const FILE_BYTES = 4 * 1024;

async function timeCopyTree(source: string, copy: string): Promise<number> {
  const { seconds } = await timeAfterSync(() => runCommand('cp', ['-r', source, copy]));
  await removeTree(copy);
  return seconds;
}

async function timeLogFolder(storeDir: string, source: string): Promise<number> {
  const { seconds, version } = await timeLogArtifact(storeDir, () =>
    new Artifact('many-files', 'dataset').addDir(source),
  );
  if (version.fileCount !== FILE_COUNT)
    throw new Error(`logged ${version.fileCount} files, not ${FILE_COUNT}`);
  await removeTree(storeDir);
  return seconds;
}

/** Figure 3: `run.logArtifact` of a folder of 10,000 random 4 KiB files, against `cp -r`. */
export async function measureManyFiles(scratch: string): Promise<Measurement> {
  const source = join(scratch, 'many-files');
  await writeRandomFiles(source, FILE_COUNT, FILE_BYTES);
  const samples = await alternate(ROUNDS, {
    cp: () => timeCopyTree(source, join(scratch, 'many-files-copy')),
    quiver: () => timeLogFolder(join(scratch, 'store-many-files'), source),
  });
  return {
    id: '3',
    name: 'log 10,000 × 4 KiB files (logArtifact)',
    value: median(samples.quiver),
    unit: 's',
    baseline: { name: 'cp -r', value: median(samples.cp) },
    target: { kind: 'ratio', max: 2 },
    samples: { candidate: samples.quiver, baseline: samples.cp },
  };
}
