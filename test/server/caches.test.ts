import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  API_PREFIX,
  type EmbeddedBackend,
  IDENTITY_CACHE_MS,
  openEmbeddedStore,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The server's two caches (resolved refs, authenticated keys), with a second process's view of the
// same store standing in for another server replica that writes beside this one.
let dir: string;
let store: Store<EmbeddedBackend>;
let replica: Store<EmbeddedBackend>;
let app: FastifyInstance;
let key: string;

const headers = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function resolve(ref: string): Promise<{ status: number; version?: number; aliases?: string[] }> {
  const response = await app.inject({
    method: 'GET',
    url: `${API_PREFIX}/refs/resolve`,
    query: { ref },
    headers: headers(),
  });
  const body = response.json() as { version?: { version: number; aliases: string[] } };
  return { status: response.statusCode, version: body.version?.version, aliases: body.version?.aliases };
}

async function commit(backend: EmbeddedBackend, text: string): Promise<void> {
  const staged = await backend.blobs.stage({ bytes: Buffer.from(text) });
  await backend.blobs.publish([staged]);
  await backend.withPrincipal({ actor: 'ana', entity: 'ana' }).artifacts.commit({
    project: 'p',
    name: 'm',
    type: 'model',
    description: null,
    metadata: {},
    manifest: [{ path: 'w.bin', sha256: createHash('sha256').update(text).digest('hex'), size: text.length }],
    runId: null,
    aliases: [],
    tags: [],
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-caches-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('ana');
  key = (await store.backend.accounts.createKey('ana', 'tests')).key;
  replica = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  app = await buildServer({ backend: store.backend, logger: false });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await replica?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('server caches', () => {
  it('answers a resolved ref again only while nothing changed, whichever process wrote the change', async () => {
    await commit(store.backend, 'first');
    expect(await resolve('ana/p/m:latest')).toMatchObject({ status: 200, version: 0 });
    expect(await resolve('ana/p/m:latest')).toMatchObject({ status: 200, version: 0 });
    // A commit by another process moves `latest`; the very next answer follows it.
    await commit(replica.backend, 'second');
    expect(await resolve('ana/p/m:latest')).toMatchObject({ version: 1 });
    // So do an alias set, a tag and a delete made there.
    const other = replica.backend.withPrincipal({ actor: 'ana', entity: 'ana' });
    await other.artifacts.setAlias('ana/p/m:v0', 'best');
    expect(await resolve('ana/p/m:best')).toMatchObject({ version: 0 });
    expect((await resolve('ana/p/m:v0')).aliases).toContain('best');
    await other.artifacts.setAlias('ana/p/m:v1', 'best');
    expect(await resolve('ana/p/m:best')).toMatchObject({ version: 1 });
    expect((await resolve('ana/p/m:v0')).aliases).not.toContain('best');
    await other.artifacts.deleteVersion('ana/p/m:v1', { force: true });
    expect((await resolve('ana/p/m:best')).status).toBe(404);
    expect(await resolve('ana/p/m:latest')).toMatchObject({ version: 0 });
  });

  it('drops a revoked key at once in this process, and within its cache time when another process revoked it', async () => {
    const own = await store.backend.accounts.createKey('ana', 'own');
    const other = await store.backend.accounts.createKey('ana', 'other');
    const whoami = async (apiKey: string) =>
      (
        await app.inject({
          method: 'GET',
          url: `${API_PREFIX}/whoami`,
          headers: { authorization: `Bearer ${apiKey}` },
        })
      ).statusCode;
    expect(await whoami(own.key)).toBe(200);
    expect(await whoami(other.key)).toBe(200);
    await store.backend.accounts.revokeKey(own.id);
    expect(await whoami(own.key)).toBe(401);
    const revokedAt = Date.now();
    await replica.backend.accounts.revokeKey(other.id);
    // Until the cache time has passed the other process's revocation may not be seen yet; after it, always.
    await sleep(IDENTITY_CACHE_MS - (Date.now() - revokedAt) + 100);
    expect(await whoami(other.key)).toBe(401);
  });
});
