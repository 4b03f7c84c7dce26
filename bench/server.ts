/**
 * The team-server suite: a real `quiver server start` process on loopback against the embedded
 * store in this process, alternating, in one run — logging and getting 1 GiB, the server's peak
 * RSS while it takes a 4 GiB upload, 1,000,000 metric points, and alias resolution under 50
 * concurrent clients (autocannon).
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, openEmbeddedStore, openStore, type Store } from '@quiver/core';
import autocannon from 'autocannon';
import type { Measurement } from './support/figures.js';
import { GiB, MiB, removeTree, writeRandomFile } from './support/files.js';
import { alternate, median, progress, timeAfterSync } from './support/measure.js';
import { startServer } from './support/server-process.js';
import { freshen, processFacts, timeGet, timeLog } from './support/transfers.js';

const ROUNDS = 3;
const MB = 1e6;
export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-server-'));
  const server = await startServer(join(scratch, 'server'));
  const remote = await openStore({ baseUrl: server.url, apiKey: server.key, dir: join(scratch, 'client') });
  const embedded = await openEmbeddedStore({ dir: join(scratch, 'embedded') });
  const figures: Measurement[] = [];
  try {
    const file = join(scratch, 'big.bin');
    progress(`writing 1 GiB of random bytes to ${file}`);
    await writeRandomFile(file, GiB);

    progress('figure 1: logArtifact of 1 GiB through the server against the embedded store');
    const refs: { embedded?: string; remote?: string } = {};
    const put = await alternate(ROUNDS, {
      embedded: async () => {
        freshen(file);
        const { seconds, ref } = await timeLog(embedded, file, 'bench-server');
        refs.embedded = ref;
        return seconds;
      },
      remote: async () => {
        freshen(file);
        const { seconds, ref } = await timeLog(remote, file, 'bench-server');
        refs.remote = ref;
        return seconds;
      },
    });
    figures.push({
      id: '1',
      name: 'log 1 GiB through the server on loopback (logArtifact)',
      value: median(put.remote),
      unit: 's',
      baseline: { name: 'the same logArtifact on the embedded store', value: median(put.embedded) },
      target: { kind: 'ratio', max: 1.3 },
      samples: { candidate: put.remote, baseline: put.embedded },
      notes: ['Each sample logs new content (its first MiB rewritten), so nothing is deduplicated.'],
    });

    progress('figure 2: verified get of 1 GiB through the server against the embedded store');
    const get = await alternate(ROUNDS, {
      embedded: () => timeGet(embedded, refs.embedded!, join(scratch, 'get-embedded')),
      remote: () => timeGet(remote, refs.remote!, join(scratch, 'get-remote')),
    });
    figures.push({
      id: '2',
      name: 'verified get of 1 GiB through the server (version.download)',
      value: median(get.remote),
      unit: 's',
      baseline: { name: 'the same download from the embedded store', value: median(get.embedded) },
      target: { kind: 'ratio', max: 1.3 },
      samples: { candidate: get.remote, baseline: get.embedded },
    });

    progress('figure 3: the server’s peak RSS while it takes a 4 GiB upload');
    const before = processFacts(server.process.pid!);
    const four = join(scratch, 'four.bin');
    await truncate(file, GiB); // keep the 1 GiB file; the 4 GiB one is sparse but read in full
    const fd = openSync(four, 'w');
    const head = Buffer.alloc(MiB);
    randomFillSync(head);
    writeSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    await truncate(four, 4 * GiB);
    await timeLog(remote, four, 'bench-server');
    const after = processFacts(server.process.pid!);
    await removeTree(four);
    figures.push({
      id: '3',
      name: 'server peak RSS during a 4 GiB upload',
      value: after.peak / MB,
      unit: 'MB',
      baseline: { name: 'server RSS before the upload', value: before.now / MB },
      target: { kind: 'value', max: 300 },
      notes: [
        `VmHWM of the server process (its whole life so far); VmHWM before the upload: ${(before.peak / MB).toFixed(1)} MB.`,
      ],
    });

    progress('figure 4: 1,000,000 metric points (100,000 steps × 10 keys) through the server');
    const metrics = await alternate(1, {
      embedded: () => timeMetrics(embedded),
      remote: () => timeMetrics(remote),
    });
    figures.push({
      id: '4',
      name: 'log 1,000,000 metric points through the server + flush',
      value: metrics.remote[0]!,
      unit: 's',
      baseline: { name: 'the same on the embedded store', value: metrics.embedded[0]! },
      target: { kind: 'value', max: 10 },
    });

    progress('figure 5: alias resolution with 50 concurrent clients (autocannon, 3 s warm-up, then 10 s)');
    const lookup = {
      url: `${server.url}/api/v1/refs/resolve?ref=${encodeURIComponent(refs.remote!.replace(/:v\d+$/, ':latest'))}`,
      connections: 50,
      headers: { authorization: `Bearer ${server.key}` },
    };
    // A server that has answered a few thousand lookups (its code compiled by V8), as in service.
    await autocannon({ ...lookup, duration: 3 });
    const resolve = await autocannon({ ...lookup, duration: 10 });
    const health = await autocannon({ url: `${server.url}/healthz`, connections: 50, duration: 5 });
    const ok = resolve.non2xx === 0 && resolve.errors === 0;
    figures.push({
      id: '5',
      name: 'alias resolution, 50 concurrent clients: p99 latency',
      value: resolve.latency.p99,
      unit: 'ms',
      baseline: { name: 'GET /healthz under the same load (p99)', value: health.latency.p99 },
      target: { kind: 'value', max: 20 },
      checks: [
        {
          name: `≥ 2,000 requests/s (${Math.round(resolve.requests.average)} on average)`,
          ok: resolve.requests.average >= 2000,
        },
        { name: `every answer 200 (${resolve.non2xx} not, ${resolve.errors} errors)`, ok },
      ],
      notes: [
        `${resolve.requests.total} requests in ${resolve.duration} s; median latency ${resolve.latency.p50} ms; /healthz: ${Math.round(health.requests.average)} requests/s.`,
      ],
    });
    return figures;
  } finally {
    await remote.close();
    await embedded.close();
    await server.stop();
    await removeTree(scratch);
  }
}

async function timeMetrics(store: Store): Promise<number> {
  const run = await init({ project: 'bench-metrics', store });
  try {
    const { seconds } = await timeAfterSync(async () => {
      for (let step = 0; step < 100_000; step++) {
        const values: Record<string, number> = {};
        for (let key = 0; key < 10; key++) values[`metric_${key}`] = Math.sin(step + key);
        run.log(values, { step });
      }
      await run.flush();
    });
    return seconds;
  } finally {
    await run.finish();
  }
}
