/**
 * The transformers suite: pushing a 200 MB checkpoint to a Hub repo through Quiver (HubPusher with
 * the `end` strategy: repo check, model card, upload, commit, and recording the push as a version
 * of hf:// references) against calling @huggingface/hub's `uploadFiles` directly for the same
 * files, against the same Hub stand-in, alternating, in one run. Each trial writes fresh random
 * content, so no upload is skipped as already stored.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { uploadFiles } from '@huggingface/hub';
import { init } from '@quiver/core';
import { HubPusher } from '@quiver/transformers';
import { startHubServer } from '@quiver/transformers/testing';
import type { Measurement } from './support/figures.js';
import { MiB, removeTree } from './support/files.js';
import { median, progress } from './support/measure.js';

const ROUNDS = 7;
const WEIGHTS_BYTES = 200 * 1000 * 1000;

/** A checkpoint folder: 200 MB of fresh random weights and a small config. */
async function checkpoint(folder: string, buffer: Buffer): Promise<string> {
  await mkdir(folder, { recursive: true });
  randomFillSync(buffer);
  await writeFile(join(folder, 'weights.bin'), buffer);
  await writeFile(join(folder, 'config.json'), JSON.stringify({ hidden: 1024, layers: 12 }));
  return folder;
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-transformers-'));
  const server = await startHubServer();
  const token = server.createToken({ user: 'bench' });
  const buffer = Buffer.alloc(WEIGHTS_BYTES);
  const times = { direct: [] as number[], quiver: [] as number[] };
  try {
    const qrun = await init({ project: 'bench-transformers', dir: join(scratch, 'store') });
    const trial = async (variant: 'direct' | 'quiver', round: number): Promise<number> => {
      const repo = `bench/${variant}-${round < 0 ? 'warmup' : round + 1}`;
      server.createRepo({ repo });
      const folder = await checkpoint(join(scratch, `${variant}-${round}`), buffer);
      const started = performance.now();
      if (variant === 'direct') {
        await uploadFiles({
          repo,
          accessToken: token,
          hubUrl: server.url,
          files: ['weights.bin', 'config.json'].map((path) => ({
            path,
            content: pathToFileURL(join(folder, path)),
          })),
        });
      } else {
        const hub = new HubPusher(qrun, { repo, token, hubUrl: server.url, strategy: 'end' });
        await hub.onSave(folder, { step: Math.max(round, 0) });
        await hub.finish();
      }
      const seconds = (performance.now() - started) / 1000;
      await removeTree(folder);
      return seconds;
    };
    await trial('direct', -2); // warm-up: connections, JIT
    await trial('quiver', -2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['direct', 'quiver'] as const) {
        const seconds = await trial(variant, round);
        progress(`round ${round + 1}: ${variant} ${seconds.toFixed(2)} s`);
        times[variant].push(seconds);
      }
    }
    await qrun.finish();
  } finally {
    await server.close();
    await removeTree(scratch);
  }
  return [
    {
      id: '1',
      name: 'push a 200 MB checkpoint through Quiver (HubPusher, recorded as hf:// references) vs uploadFiles',
      value: median(times.quiver),
      unit: 's',
      baseline: {
        name: '@huggingface/hub uploadFiles, same files, same stand-in',
        value: median(times.direct),
      },
      target: { kind: 'ratio', max: 1.1 },
      notes: [
        `${(WEIGHTS_BYTES / MiB).toFixed(0)} MiB of weights (multipart LFS) + config.json; median of ${ROUNDS} alternating rounds; the stand-in runs in this process`,
      ],
      samples: { candidate: times.quiver, baseline: times.direct },
    },
  ];
}
