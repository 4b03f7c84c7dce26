import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  Artifact,
  type CreatedAutomation,
  type DeliveryInfo,
  openStore,
  QuiverClient,
} from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore } from '../support/backends.js';
import { freePort } from '../support/private-postgres.js';
import { startTestServer, type TestServer } from '../support/remote-server.js';
import { startReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const WEBHOOK_ENV = {
  QUIVER_WEBHOOK_ALLOW: '127.0.0.1',
  QUIVER_WEBHOOK_POLL_MS: '100',
  QUIVER_WEBHOOK_RETRY_BASE_MS: '200',
  QUIVER_WEBHOOK_TIMEOUT_MS: '1000',
  QUIVER_WEBHOOK_LEASE_MS: '2500',
  QUIVER_SECRET_KEY: randomBytes(32).toString('hex'),
};

async function api<T>(
  server: { url: string },
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${server.url}${API_PREFIX}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What a receiver that deduplicates by webhook-id acted on: each event's id, once per webhook. */
function actedOn(receiver: TestReceiver): { webhooks: Map<string, number>; events: string[] } {
  const webhooks = new Map<string, number>();
  const events: string[] = [];
  for (const webhook of receiver.received) {
    const id = String(webhook.headers['webhook-id']);
    webhooks.set(id, (webhooks.get(id) ?? 0) + 1);
    if (webhooks.get(id) === 1) events.push((webhook.json.data.event as { id: string }).id);
  }
  return { webhooks, events };
}

describe('webhook delivery through crashes and replicas', () => {
  it('a server killed between commit and delivery, and again mid-delivery, delivers every event after restart; the receiver acts once per event', {
    timeout: 180_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quiver-webhook-crash-'));
    const dataDir = join(dir, 'server');
    let server: TestServer = await startTestServer({ dataDir, env: WEBHOOK_ENV });
    const adminKey = server.adminKey;
    const port = await freePort();
    let receiver: TestReceiver | undefined;
    try {
      const automation = await api<CreatedAutomation>(server, adminKey, 'POST', '/automations', {
        name: 'crashing',
        trigger: 'artifact.tag.added',
        url: `http://127.0.0.1:${port}/hook`,
      });
      const tagAll = async (url: string, tags: string[]) => {
        const store = await openStore({ baseUrl: url, apiKey: adminKey, dir: join(dir, 'client') });
        const client = new QuiverClient(store);
        const version = await client.commit(new Artifact('data', 'dataset').addBytes('d', 'bytes'), {
          project: 'p',
        });
        for (const tag of tags) await client.tag(version.ref, [tag]);
        await store.close();
      };
      // 1. Committed while no receiver listens (attempts fail and are retried), then SIGKILL.
      await tagAll(server.url, ['a1', 'a2', 'a3']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      server.process.kill('SIGKILL');
      await server.stop();
      receiver = await startReceiver(port);
      server = await startTestServer({ dataDir, env: WEBHOOK_ENV });
      await receiver.waitFor(3, 30_000);
      // 2. The receiver holds the next webhook open; the server is killed while it is in flight.
      receiver.answer = (index) => (index === 3 ? false : undefined);
      await tagAll(server.url, ['b1', 'b2']);
      await receiver.waitFor(4, 30_000);
      server.process.kill('SIGKILL');
      await server.stop();
      server = await startTestServer({ dataDir, env: WEBHOOK_ENV });
      // After its lease ran out the held webhook is sent again, with the same id, then the rest.
      await until('every delivery', async () => {
        const log = await api<DeliveryInfo[]>(
          server,
          adminKey,
          'GET',
          `/automations/${automation.id}/deliveries`,
        );
        return log.length === 5 && log.every((delivery) => delivery.state === 'delivered');
      });
      const { webhooks, events } = actedOn(receiver);
      expect(events).toHaveLength(5);
      expect(new Set(events).size).toBe(5);
      expect(webhooks.size).toBe(5);
      // The one in flight at the kill came twice under one id; the receiver acted on it once.
      expect([...webhooks.values()].sort()).toEqual([1, 1, 1, 1, 2]);
      const tags = receiver.received.map(
        (webhook) => (webhook.json.data.after as { tags: string[] }).tags.length,
      );
      expect(tags.filter((_, i) => i !== 4)).toEqual([1, 2, 3, 4, 5]); // in commit order
    } finally {
      await receiver?.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('200 events under 2 replicas over PostgreSQL: each webhook is delivered exactly once, in order', {
    timeout: 240_000,
  }, async () => {
    await using pgStore = await createTestStore('postgres');
    const databaseUrl = pgStore.env.QUIVER_DATABASE_URL!;
    const dataDir = join(pgStore.dir, 'server');
    const first = await startTestServer({ dataDir, databaseUrl, env: WEBHOOK_ENV });
    const second = await startTestServer({ dataDir, databaseUrl, env: WEBHOOK_ENV });
    await using receiver = await startReceiver();
    try {
      const key = first.adminKey;
      const automations = await Promise.all(
        ['one', 'two'].map((name) =>
          api<CreatedAutomation>(first, key, 'POST', '/automations', {
            name,
            trigger: 'artifact.tag.added',
            url: `${receiver.url}?automation=${name}`,
          }),
        ),
      );
      // Two clients, one on each replica, each tag a version 100 times, at once.
      await Promise.all(
        [first, second].map(async (server, n) => {
          const store = await openStore({
            baseUrl: server.url,
            apiKey: key,
            dir: join(pgStore.dir, `client-${n}`),
          });
          const client = new QuiverClient(store);
          const version = await client.commit(
            new Artifact(`data-${n}`, 'dataset').addBytes('d', `bytes ${n}`),
            {
              project: 'p',
            },
          );
          for (let i = 0; i < 100; i++) await client.tag(version.ref, [`t${n}-${i}`]);
          await store.close();
        }),
      );
      await receiver.waitFor(400, 120_000);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // nothing more comes
      expect(receiver.received).toHaveLength(400);
      for (const automation of automations) {
        const mine = receiver.received.filter(
          (webhook) =>
            webhook.json.data.automation &&
            (webhook.json.data.automation as { id: string }).id === automation.id,
        );
        const ids = mine.map((webhook) => String(webhook.headers['webhook-id']));
        expect(new Set(ids).size).toBe(200);
        const positions = mine.map((webhook) => (webhook.json.data.event as { position: number }).position);
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
        const log = await api<DeliveryInfo[]>(
          first,
          key,
          'GET',
          `/automations/${automation.id}/deliveries?limit=1000`,
        );
        expect(
          log.filter((delivery) => delivery.state === 'delivered' && delivery.attempts === 1),
        ).toHaveLength(200);
      }
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
