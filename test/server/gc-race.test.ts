import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  Artifact,
  type EmbeddedBackend,
  isQuiverError,
  openEmbeddedStore,
  openStore,
  QuiverClient,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// gc on the server (at its default grace) in a loop while a client commits through the server
// content whose blobs gc may take: each round deletes its version and ages the now unreferenced
// blobs past the grace, so the next commit of the same bytes races gc for them.
const ROUNDS = 40;
let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let url: string;
let adminKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-server-gc-'));
  store = await openEmbeddedStore({ dir: join(dir, 'server'), entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('root', { admin: true });
  adminKey = (await store.backend.accounts.createKey('root', 'tests')).key;
  app = await buildServer({ backend: store.backend, logger: false });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gc on the server beside commits through it', () => {
  it(`loses no blob of a committed version in ${ROUNDS} rounds of commit, delete, age and commit again`, async () => {
    const remote = await openStore({ baseUrl: url, apiKey: adminKey, dir: join(dir, 'client') });
    const client = new QuiverClient(remote);
    let stop = false;
    let collected = 0;
    let runs = 0;
    const collector = (async () => {
      while (!stop) {
        const answer = await fetch(`${url}${API_PREFIX}/admin/gc`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(answer.status).toBe(200);
        collected += ((await answer.json()) as { blobs: number }).blobs;
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const failures: string[] = [];
    let committed = 0;
    const old = new Date(Date.now() - 3 * 60 * 60 * 1000);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const draft = new Artifact('model', 'model')
          .addBytes('weights.bin', Buffer.alloc(200 * 1024, 7))
          .addBytes('config.json', JSON.stringify({ layers: 2 }))
          .addBytes('round.txt', `round ${round % 3}`);
        let ref: string;
        try {
          ref = (await client.commit(draft, { project: 'gc-race' })).ref;
        } catch (error) {
          if (!isQuiverError(error)) throw error;
          failures.push(error.code);
          continue;
        }
        committed++;
        const version = await client.artifact(ref);
        const target = join(dir, `download-${round}`);
        await version.download(target);
        expect((await version.verify(target)).ok, `${ref} verifies`).toBe(true);
        const entries = await version.entries();
        await client.deleteVersion(ref, { force: true });
        for (const entry of entries) utimesSync(store.backend.blobs.localPath!(entry.sha256), old, old);
      }
    } finally {
      stop = true;
      await collector;
      await remote.close();
    }
    // The race was run: gc removed aged blobs between the rounds that put them again.
    expect(runs).toBeGreaterThan(ROUNDS);
    expect(collected).toBeGreaterThan(0);
    // A commit may give up with a typed error, rarely; it never reports a version it lost.
    expect(failures.every((code) => code === 'E_CONCURRENT_GC')).toBe(true);
    expect(committed).toBeGreaterThanOrEqual(ROUNDS * 0.9);
    const verify = await store.backend.maintenance.verify({});
    expect(verify.ok).toBe(true);
  });
});
