import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Artifact, openClient } from '@quiver/core';
import type { Measurement } from '../support/figures.js';
import { folderUsage, removeTree, writeRandomFiles } from '../support/files.js';
import { alternate, median, runCommand, timeAfterSync } from '../support/measure.js';
import { PROJECT, ROUNDS, timeLogArtifact } from './shared.js';

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

/** The folder of 10,000 random 4 KiB files figures 3 and 3b share, written once per run. */
async function manyFilesSource(scratch: string): Promise<string> {
  const source = join(scratch, 'many-files');
  if (!existsSync(source)) await writeRandomFiles(source, FILE_COUNT, FILE_BYTES);
  return source;
}

/** Figure 3: `run.logArtifact` of a folder of 10,000 random 4 KiB files, against `cp -r`. */
export async function measureManyFiles(scratch: string): Promise<Measurement> {
  const source = await manyFilesSource(scratch);
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

/**
 * Figure 3b: `version.download(dir)` (what `quiver get` does) of the 10,000 files into a folder
 * that does not exist yet, against `cp -r` of the source folder to a new folder: both create the
 * folder and 10,000 files. The download also reads each blob and checks its sha256 first.
 */
export async function measureManyFilesDownload(scratch: string): Promise<Measurement> {
  const source = await manyFilesSource(scratch);
  const storeDir = join(scratch, 'store-many-download');
  await timeLogArtifact(storeDir, () => new Artifact('many-files', 'dataset').addDir(source));
  const client = await openClient({ dir: storeDir });
  try {
    const version = await client.artifact(`${PROJECT}/many-files`);
    const target = join(scratch, 'many-files-download');
    const fileCounts: number[] = [];
    let verified: boolean | undefined;
    const samples = await alternate(ROUNDS, {
      cp: () => timeCopyTree(source, join(scratch, 'many-files-copy')),
      quiver: async () => {
        const { seconds } = await timeAfterSync(() => version.download(target));
        fileCounts.push(folderUsage(target).files);
        verified ??= (await version.verify(target)).ok; // once, untimed
        await removeTree(target);
        return seconds;
      },
    });
    return {
      id: '3b',
      name: 'get 10,000 × 4 KiB files (version.download)',
      value: median(samples.quiver),
      unit: 's',
      baseline: { name: 'cp -r', value: median(samples.cp) },
      target: { kind: 'ratio', max: 2 },
      checks: [
        {
          name: `every download wrote ${FILE_COUNT} files (${[...new Set(fileCounts)].join(', ')})`,
          ok: fileCounts.every((count) => count === FILE_COUNT),
        },
        { name: 'the first download verifies (version.verify)', ok: verified === true },
      ],
      samples: { candidate: samples.quiver, baseline: samples.cp },
      notes: ['Each blob is read, its sha256 checked, then written to a partial file renamed into place.'],
    };
  } finally {
    await client.close();
    await removeTree(storeDir);
  }
}
