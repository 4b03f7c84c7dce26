/**
 * The sync suite: offline bundles sent to a team server with `client.sync` vs logging the same
 * checkpoints online, alternating, in one run, against one server process (embedded SQLite store).
 *
 * 1. A bundle of 20 checkpoints of 25 MB each (recorded offline beforehand, untimed) synced to the
 *    server vs a run logging 20 checkpoints of 25 MB to the server as they are made. Each trial
 *    writes fresh random bytes, so the server never holds them already.
 * 1b. Syncing that bundle a second time (nothing to send) — information.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init, openClient, type QuiverClient } from '@quiver/core';
import type { Measurement } from './support/figures.js';
import { removeTree, writeRandomFile } from './support/files.js';
import { median, progress } from './support/measure.js';
import { startServer } from './support/server-process.js';

const ROUNDS = Number(process.env.QUIVER_BENCH_ROUNDS ?? 5);
const CHECKPOINTS = 20;
const CHECKPOINT_BYTES = 25 * 1000 * 1000;

/** 20 folders of one 25 MB weights file and a config, fresh random bytes. */
async function checkpoints(folder: string): Promise<string[]> {
  const folders: string[] = [];
  for (let index = 0; index < CHECKPOINTS; index++) {
    const path = join(folder, `epoch-${index + 1}`);
    await mkdir(path, { recursive: true });
    await writeRandomFile(join(path, 'weights.bin'), CHECKPOINT_BYTES);
    await writeFile(join(path, 'config.json'), JSON.stringify({ epoch: index + 1 }));
    folders.push(path);
  }
  return folders;
}

/** Logs the checkpoints as a training run does (`best` on every third). */
async function logAll(run: Awaited<ReturnType<typeof init>>, folders: readonly string[]): Promise<void> {
  for (const [index, folder] of folders.entries()) {
    run.log({ loss: 1 / (index + 1) });
    const draft = new Artifact('weights', 'model', { metadata: { epoch: index + 1 } })
      .addFile(join(folder, 'weights.bin'))
      .addFile(join(folder, 'config.json'));
    await run.logArtifact(draft, { aliases: index % 3 === 0 ? ['best'] : [] });
  }
  await run.finish();
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-sync-'));
  const server = await startServer(join(scratch, 'server'));
  const times = { online: [] as number[], sync: [] as number[], again: [] as number[] };
  let client: QuiverClient | undefined;
  try {
    client = await openClient({ baseUrl: server.url, apiKey: server.key, dir: join(scratch, 'client') });
    const trial = async (variant: 'online' | 'sync', round: number): Promise<number> => {
      const folder = join(scratch, `${variant}-${round}`);
      const folders = await checkpoints(folder);
      const project = `bench-${variant}-${round < 0 ? 'warmup' : round + 1}`;
      if (variant === 'online') {
        const started = performance.now();
        await logAll(await init({ store: client!.store, project }), folders);
        const seconds = (performance.now() - started) / 1000;
        await removeTree(folder);
        return seconds;
      }
      // Recorded offline first (untimed: that is the training), then synced.
      const laptop = join(scratch, `laptop-${round}`);
      const offline = await init({ mode: 'offline', dir: laptop, project });
      await logAll(offline, folders);
      await removeTree(folder);
      const started = performance.now();
      const result = await client!.sync([join(laptop, 'offline')]);
      const seconds = (performance.now() - started) / 1000;
      const report = result.reports[0];
      if (result.failures.length > 0 || !report?.complete || report.versions !== CHECKPOINTS)
        throw new Error(`the sync did not complete: ${JSON.stringify(result.failures)}`);
      const againStarted = performance.now();
      const again = await client!.sync([join(laptop, 'offline')]);
      if (again.reports[0]!.bytesUploaded !== 0) throw new Error('the second sync uploaded bytes');
      if (round >= 0) times.again.push((performance.now() - againStarted) / 1000);
      await removeTree(laptop);
      return seconds;
    };
    await trial('online', -1); // warm-up: connections, JIT
    await trial('sync', -1);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['online', 'sync'] as const) : (['sync', 'online'] as const);
      for (const variant of order) {
        const seconds = await trial(variant, round);
        progress(`round ${round + 1}: ${variant} ${seconds.toFixed(2)} s`);
        times[variant].push(seconds);
      }
    }
  } finally {
    await client?.close();
    await server.stop();
    await removeTree(scratch);
  }
  const megabytes = ((CHECKPOINTS * CHECKPOINT_BYTES) / 1e6).toFixed(0);
  return [
    {
      id: '1',
      name: `quiver sync of a bundle of ${CHECKPOINTS} checkpoints of 25 MB vs logging them online`,
      value: median(times.sync),
      unit: 's',
      baseline: {
        name: `a run logging the same ${CHECKPOINTS} checkpoints (fresh bytes) to the same server`,
        value: median(times.online),
      },
      target: { kind: 'ratio', max: 1.2 },
      notes: [
        `${megabytes} MB per trial, fresh random bytes each time; the bundle is recorded offline before its timer starts; median of ${ROUNDS} alternating rounds; the server is its own process on an embedded SQLite store`,
      ],
      samples: { candidate: times.sync, baseline: times.online },
    },
    {
      id: '1b',
      name: 'syncing the same bundle again (everything is on the server)',
      value: median(times.again),
      unit: 's',
      baseline: null,
      target: { kind: 'info' },
      notes: ['0 bytes uploaded each time (checked)'],
      samples: { candidate: times.again },
    },
  ];
}
