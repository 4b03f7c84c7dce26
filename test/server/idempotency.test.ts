import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  type EmbeddedBackend,
  openEmbeddedStore,
  openRemoteBackend,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from '../support/proxy.js';

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
const keys: Record<string, string> = {};

const runBody = (id: string, project = 'p') => ({
  id,
  project,
  jobType: null,
  group: null,
  tags: [],
  notes: null,
  config: {},
  host: 'h',
  pid: 1,
});

async function post(user: string, path: string, body: unknown, idempotencyKey?: string) {
  const response = await app.inject({
    method: 'POST',
    url: `${API_PREFIX}${path}`,
    headers: {
      authorization: `Bearer ${keys[user]}`,
      'content-type': 'application/json',
      ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}),
    },
    payload: JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    body: response.json() as Record<string, unknown>,
    replayed: response.headers['idempotent-replayed'] === 'true',
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-idempotency-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  for (const user of ['ana', 'bob']) {
    await store.backend.accounts.createUser(user);
    keys[user] = (await store.backend.accounts.createKey(user, 'tests')).key;
  }
  app = await buildServer({ backend: store.backend, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('idempotency keys', () => {
  it('answers a write sent again with its key once, and refuses the key for another request', async () => {
    // With a key, the second is the first's answer, replayed.
    const first = await post('ana', '/runs', runBody('keyed0001'), 'k-1');
    const again = await post('ana', '/runs', runBody('keyed0001'), 'k-1');
    expect(first.status).toBe(200);
    expect(again).toMatchObject({ status: 200, replayed: true });
    expect(again.body).toEqual(first.body);
    // The same key for a different request is refused, and nothing is created.
    const reused = await post('ana', '/runs', runBody('keyed0002'), 'k-1');
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('E_IDEMPOTENCY_KEY_REUSED');
    expect(await store.backend.entityOfRun('keyed0002')).toBeUndefined();
    // Keys are per user: bob's k-1 is his own.
    expect((await post('bob', '/runs', runBody('bobrun001'), 'k-1')).replayed).toBe(false);
    // A malformed key is refused before anything runs.
    const bad = await post('ana', '/runs', runBody('keyed0003'), 'no spaces allowed');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('E_INVALID_REQUEST');
    expect(await store.backend.entityOfRun('keyed0003')).toBeUndefined();
    // Past its 24 hours a key is forgotten: sent again, even with another request, it runs anew.
    await store.backend.connection.db
      .updateTable('idempotency_keys')
      .set({ created_at: new Date(Date.now() - 25 * 60 * 60 * 1000).toISOString() })
      .where('key', '=', 'k-1')
      .where('user_name', '=', 'ana')
      .execute();
    const renewed = await post('ana', '/runs', runBody('keyed0005'), 'k-1');
    expect(renewed).toMatchObject({ status: 200, replayed: false });
    expect(await store.backend.entityOfRun('keyed0005')).toBe('ana');
    expect((await post('ana', '/runs', runBody('keyed0005'), 'k-1')).replayed).toBe(true);
    // A refused write is not remembered: sent again once it can succeed, it runs.
    const refused = await post('ana', '/versions', { project: 'p' }, 'k-2');
    expect(refused.status).toBe(400);
    expect((await post('ana', '/runs', runBody('keyed0004'), 'k-2')).status).toBe(200);
  });

  it('makes a write whose answer was lost succeed once when the SDK retries it', async () => {
    const upstream = (app.server.address() as AddressInfo).port;
    // A proxy that lets the first POST /runs reach the server, then drops the connection before
    // the client hears the answer: the run exists, and the client does not know it.
    const dropped = new Set<string>();
    const seenKeys: Record<string, string[]> = { '/runs': [], '/versions': [] };
    const proxy = await startProxy(upstream, (incoming, answer, outgoing) => {
      const path = incoming.url!.slice(API_PREFIX.length);
      if (incoming.method !== 'POST' || !seenKeys[path]) return false;
      seenKeys[path]!.push(String(incoming.headers['idempotency-key']));
      if (dropped.has(path)) return false;
      dropped.add(path);
      answer.resume();
      answer.on('end', () => outgoing.socket?.destroy());
      return true;
    });
    try {
      const remote = await openRemoteBackend({
        baseUrl: proxy.url,
        apiKey: keys.ana!,
        retryDelayMs: 10,
      });
      const run = await remote.runs.create(runBody('lostreply1', 'lost'));
      expect(run.id).toBe('lostreply1');
      const [sent, resent] = seenKeys['/runs']!;
      expect(seenKeys['/runs']).toHaveLength(2);
      expect(sent).toMatch(/^[0-9a-f-]{36}$/);
      expect(resent).toBe(sent); // one key for every attempt of one call
      const listed = await store.backend.runs.list({ entity: 'ana', project: 'lost' });
      expect(listed.items.map((item) => item.id)).toEqual(['lostreply1']);
      // A commit likewise: its second attempt is answered with the first version, and no v1 appears.
      const bytes = Buffer.from('weights');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await remote.blobs.publish([await remote.blobs.stage({ bytes })]);
      const version = await remote.artifacts.commit({
        project: 'lost',
        name: 'm',
        type: 'model',
        description: null,
        metadata: {},
        manifest: [{ path: 'w.bin', sha256, size: bytes.length }],
        runId: run.id,
        aliases: [],
        tags: [],
      });
      // The first attempt's answer (a new v0), not a content match found by a second commit.
      expect(version).toMatchObject({ deduplicated: false, version: { version: 0 } });
      expect(seenKeys['/versions']).toHaveLength(2);
      const versions = await store.backend
        .withPrincipal({ actor: 'ana', entity: 'ana' })
        .artifacts.versions({ project: 'lost', name: 'm' });
      expect(versions.items.map((item) => item.version)).toEqual([0]);
    } finally {
      await proxy.close();
    }
  });
});
