import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  type EmbeddedBackend,
  openEmbeddedStore,
  openStore,
  QuiverClient,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, startProxy } from '../support/proxy.js';

// Downloads through a proxy that breaks connections mid-body: the client resumes with Range.
let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let key: string;
const content = randomBytes(6 * 1024 * 1024);
const sha256 = createHash('sha256').update(content).digest('hex');

/** A proxy that cuts each blob download after `cutAfter` bytes while `cuts()` says so, and logs each Range asked. */
async function cuttingProxy(cuts: () => boolean, cutAfter: number) {
  const ranges: string[] = [];
  const proxy = await startProxy((app.server.address() as AddressInfo).port, (incoming, answer, outgoing) => {
    if (incoming.method !== 'GET' || incoming.url !== `${API_PREFIX}/blobs/${sha256}`) return false;
    ranges.push(String(incoming.headers.range ?? 'whole'));
    if (!cuts()) return false;
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
    let sent = 0;
    answer.on('data', (chunk: Buffer) => {
      if (sent >= cutAfter) return;
      const part = chunk.subarray(0, cutAfter - sent);
      sent += part.length;
      outgoing.write(part);
      if (sent >= cutAfter) {
        answer.destroy();
        outgoing.socket?.destroy();
      }
    });
    return true;
  });
  return { ...proxy, ranges };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-resume-'));
  store = await openEmbeddedStore({ dir: join(dir, 'server'), entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('ana');
  key = (await store.backend.accounts.createKey('ana', 'tests')).key;
  await commitFiles(store.backend, { entity: 'ana', project: 'p', name: 'big' }, { 'weights.bin': content });
  app = await buildServer({ backend: store.backend, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('resumable downloads', () => {
  it('resumes a download whose connection broke off, from the byte it reached', async () => {
    let cut = 0;
    const proxy = await cuttingProxy(() => cut++ < 2, 1024 * 1024 + 17);
    const client = await openStore({ baseUrl: proxy.url, apiKey: key, dir: join(dir, 'client-1') });
    try {
      const target = join(dir, 'got-1');
      await new QuiverClient(client).artifact('ana/p/big:v0').then((version) => version.download(target));
      expect(
        createHash('sha256')
          .update(readFileSync(join(target, 'weights.bin')))
          .digest('hex'),
      ).toBe(sha256);
      // The whole body once, then two resumes, each from where the last one stopped (at most
      // the bytes the proxy let through: what was still in flight when it cut may be lost).
      const cutAfter = 1024 * 1024 + 17;
      expect(proxy.ranges[0]).toBe('whole');
      expect(proxy.ranges).toHaveLength(3);
      const starts = proxy.ranges.slice(1).map((range) => {
        const match = /^bytes=(\d+)-(\d+)$/.exec(range);
        expect(Number(match?.[2])).toBe(content.length - 1);
        return Number(match?.[1]);
      });
      expect(starts[0]).toBeGreaterThan(0);
      expect(starts[0]).toBeLessThanOrEqual(cutAfter);
      expect(starts[1]).toBeGreaterThan(starts[0]!);
      expect(starts[1]! - starts[0]!).toBeLessThanOrEqual(cutAfter);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('gives up with a clear error, and writes no file, when every attempt breaks off', async () => {
    const proxy = await cuttingProxy(() => true, 64 * 1024);
    const client = await openStore({ baseUrl: proxy.url, apiKey: key, dir: join(dir, 'client-2') });
    try {
      const target = join(dir, 'got-2');
      const failed = await new QuiverClient(client)
        .artifact('ana/p/big:v0')
        .then((version) => version.download(target))
        .catch((error: { code?: string; message?: string }) => error);
      expect(failed).toMatchObject({ code: 'E_UNAVAILABLE' });
      expect((failed as Error).message).toMatch(/broke off 9 times/);
      expect(existsSync(join(target, 'weights.bin'))).toBe(false);
      expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
