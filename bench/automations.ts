/**
 * The automations suite: a real `quiver server start` process (SQLite store) with a webhook
 * automation, and a receiver in this process on loopback.
 *
 * 1. Latency: 500 alias moves, one at a time; for each, the time from the event's commit (its
 *    `at`, stamped in the committing transaction) to the moment the receiver answers 200. Beside
 *    it, the alias move's own request time (the client's view of the commit).
 * 2. Drain: 10,000 deliveries queued while the automation is paused (tag events written into the
 *    server's store by a second process), then resumed; the time until the receiver has all of
 *    them. Beside it, 10,000 plain POSTs of the same bodies to the same receiver over one
 *    keep-alive connection (undici), alternating rounds.
 */
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { API_PREFIX, Artifact, openEmbeddedStore, openStore, QuiverClient } from '@quiver/core';
import { Agent, request } from 'undici';
import type { Measurement } from './support/figures.js';
import { median, progress } from './support/measure.js';
import { startServer } from './support/server-process.js';

const LATENCY_EVENTS = 500;
const DRAIN = 10_000;
const ROUNDS = 3;

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** A receiver that answers 200 and tells each arrival to whoever waits. */
async function startReceiver() {
  let onArrival: ((body: string, answeredAt: number) => void) | undefined;
  let count = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200).end('ok');
      count++;
      onArrival?.(Buffer.concat(chunks).toString('utf8'), Date.now());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    listen(handler: (body: string, answeredAt: number) => void) {
      onArrival = handler;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-automations-'));
  const dataDir = join(scratch, 'server');
  const server = await startServer(dataDir, { QUIVER_WEBHOOK_ALLOW: '127.0.0.1' });
  const receiver = await startReceiver();
  const store = await openStore({ baseUrl: server.url, apiKey: server.key, dir: join(scratch, 'client') });
  const client = new QuiverClient(store);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${API_PREFIX}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.key}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  try {
    // ---- 1. latency ------------------------------------------------------------------------
    progress(`latency: ${LATENCY_EVENTS} alias moves, each to its webhook's 200`);
    const weights = await Promise.all(
      [0, 1].map((n) =>
        client.commit(new Artifact('weights', 'model').addBytes('w.bin', `weights ${n}`), {
          project: 'bench',
        }),
      ),
    );
    const linked = [];
    for (const version of weights)
      linked.push(
        (await client.registry.link(version.ref, { model: 'clf' }, { create: true })).version.version,
      );
    await call('POST', '/automations', {
      name: 'deploy',
      trigger: 'registry.alias.added',
      filter: '^production$',
      scope: { registry: 'model', model: 'clf' },
      url: receiver.url,
    });
    const latencies: number[] = [];
    const requests: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS + 20; i++) {
      const arrived = new Promise<number>((resolve) =>
        receiver.listen((body, answeredAt) => {
          const event = (JSON.parse(body) as { data: { event: { at: string } } }).data.event;
          resolve(answeredAt - Date.parse(event.at));
        }),
      );
      const started = performance.now();
      await client.registry.setAlias(`registry/clf:v${linked[i % 2]}`, 'production', { force: true });
      const took = performance.now() - started;
      const latency = await arrived;
      // The first 20 warm the connections and caches.
      if (i >= 20) {
        latencies.push(latency);
        requests.push(took);
      }
    }

    // ---- 2. drain --------------------------------------------------------------------------
    const drain = await call('POST', '/automations', {
      name: 'drain',
      trigger: 'artifact.tag.added',
      url: receiver.url,
    });
    const writer = await openEmbeddedStore({ dir: dataDir, entity: 'admin', actor: 'admin' });
    const target = await new QuiverClient(writer).commit(
      new Artifact('tagged', 'dataset').addBytes('d', 'data'),
      { project: 'bench' },
    );
    const bodies: string[] = [];
    const drainSeconds: number[] = [];
    const plainSeconds: number[] = [];
    const agent = new Agent({ connections: 1 });
    for (let round = 0; round < ROUNDS; round++) {
      progress(`drain round ${round + 1}/${ROUNDS}: queuing ${DRAIN} deliveries while paused`);
      await call('POST', `/automations/${drain.id}/pause`);
      for (let i = 0; i < DRAIN; i++)
        await writer.backend.artifacts.tag(
          target.ref,
          [`r${round}-${i}`],
          i > 0 ? [`r${round}-${i - 1}`] : [],
        );
      receiver.reset();
      const done = new Promise<void>((resolve) =>
        receiver.listen((body) => {
          if (bodies.length < DRAIN) bodies.push(body);
          if (receiver.count >= DRAIN) resolve();
        }),
      );
      const started = performance.now();
      await call('POST', `/automations/${drain.id}/resume`, {});
      await done;
      drainSeconds.push((performance.now() - started) / 1000);
      progress(`drained ${DRAIN} in ${drainSeconds[round]!.toFixed(2)} s; the plain POST loop`);
      receiver.reset();
      receiver.listen(() => {});
      const plainStarted = performance.now();
      for (const body of bodies) {
        const answer = await request(receiver.url, { method: 'POST', body, dispatcher: agent });
        await answer.body.dump();
      }
      plainSeconds.push((performance.now() - plainStarted) / 1000);
      // Untagging the last tag of the round is an untag event: no delivery.
      await writer.backend.artifacts.tag(target.ref, [], [`r${round}-${DRAIN - 1}`]);
    }
    await agent.close();
    await writer.close();

    return [
      {
        id: '5a',
        name: `alias move commit → receiver's 200, median of ${LATENCY_EVENTS}`,
        value: median(latencies),
        unit: 'ms',
        baseline: { name: 'the alias move request itself (median)', value: median(requests) },
        target: { kind: 'value', max: 50 },
        notes: [
          `p99 ${percentile(latencies, 99).toFixed(1)} ms, min ${Math.min(...latencies)} ms, max ${Math.max(...latencies)} ms`,
        ],
      },
      {
        id: '5b',
        name: `alias move commit → receiver's 200, p99 of ${LATENCY_EVENTS}`,
        value: percentile(latencies, 99),
        unit: 'ms',
        baseline: { name: 'the alias move request itself (p99)', value: percentile(requests, 99) },
        target: { kind: 'info' },
      },
      {
        id: '5c',
        name: `${DRAIN} queued deliveries drained (≤ 20 s is ≥ 500/s), median of ${ROUNDS}`,
        value: median(drainSeconds),
        unit: 's',
        baseline: {
          name: `${DRAIN} plain POSTs of the same bodies, one connection`,
          value: median(plainSeconds),
        },
        target: { kind: 'value', max: DRAIN / 500 },
        notes: [`${(DRAIN / median(drainSeconds)).toFixed(0)} deliveries/s`],
        samples: { candidate: drainSeconds, baseline: plainSeconds },
      },
    ];
  } finally {
    await store.close();
    await receiver.close();
    await server.stop();
  }
}
