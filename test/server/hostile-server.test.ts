import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  DIRECT_HEADER,
  type EmbeddedBackend,
  openEmbeddedStore,
  openStore,
  QuiverClient,
  type Store,
} from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestDigest } from '../../packages/core/src/manifest.js';
import { commitFiles, startProxy } from '../support/proxy.js';

// A server that lies: a proxy in front of a real one rewrites what it answers. The client must
// refuse every lie before it writes anything, even when the lie is made consistent (the version's
// digest recomputed to match the tampered manifest).
type Entry = { path: string; sha256: string; size: number; ref?: string };
let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let key: string;
/** The manifest as the server answers it. */
let truth: Entry[];
const files = { 'weights.bin': Buffer.from('real weights'), 'config.json': Buffer.from('{"layers":2}') };

async function lyingProxy(tamper: {
  entries?: (entries: Entry[]) => Entry[];
  blob?: (bytes: Buffer) => Buffer;
}) {
  const forged = tamper.entries?.(truth);
  return startProxy((app.server.address() as AddressInfo).port, async (incoming, answer, outgoing) => {
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    let body: Buffer = Buffer.concat(chunks);
    const path = (incoming.url ?? '').split('?')[0]!;
    const status = answer.statusCode ?? 502;
    if (status === 200 && forged && /\/versions\/[^/]+\/entries$/.test(path)) {
      const page = JSON.parse(body.toString()) as Entry[] | { items: Entry[] };
      expect(Array.isArray(page) ? page : page.items).toEqual(truth); // what the lie replaces
      body = Buffer.from(JSON.stringify(Array.isArray(page) ? forged : { ...page, items: forged }));
    }
    if (status === 200 && forged && path === `${API_PREFIX}/refs/resolve`) {
      // Make the lie consistent: the version's digest is that of the forged manifest.
      const resolved = JSON.parse(body.toString()) as { version: { digest: string } };
      resolved.version.digest = manifestDigest(forged as never);
      body = Buffer.from(JSON.stringify(resolved));
    }
    if (status === 200 && tamper.blob && path.startsWith(`${API_PREFIX}/blobs/`)) body = tamper.blob(body);
    const headers = { ...answer.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    outgoing.writeHead(status, headers);
    outgoing.end(body);
    return true;
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-hostile-'));
  store = await openEmbeddedStore({ dir: join(dir, 'server'), entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('ana');
  key = (await store.backend.accounts.createKey('ana', 'tests')).key;
  const committed = await commitFiles(store.backend, { entity: 'ana', project: 'p', name: 'model' }, files);
  truth = JSON.parse(
    JSON.stringify(
      await store.backend
        .withPrincipal({ actor: 'ana', entity: 'ana' })
        .artifacts.entries(committed.version.id),
    ),
  ) as Entry[];
  app = await buildServer({ backend: store.backend, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every file under `root`, relative to it. */
function tree(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

const lies: Array<[string, Parameters<typeof lyingProxy>[0], string]> = [
  [
    'an entry path that climbs out of the target',
    { entries: (e) => [{ ...e[0]!, path: '../../escaped.bin' }, ...e.slice(1)] },
    'E_CORRUPT_MANIFEST',
  ],
  [
    'an absolute entry path',
    { entries: (e) => [{ ...e[0]!, path: '/tmp/quiver-hostile-absolute.bin' }, ...e.slice(1)] },
    'E_CORRUPT_MANIFEST',
  ],
  [
    'an entry with a negative size',
    { entries: (e) => [{ ...e[0]!, size: -1 }, ...e.slice(1)] },
    'E_CORRUPT_MANIFEST',
  ],
  [
    'an entry whose digest is not a sha256',
    { entries: (e) => [{ ...e[0]!, sha256: 'not-a-digest' }, ...e.slice(1)] },
    'E_CORRUPT_MANIFEST',
  ],
  [
    'an entry longer than its blob',
    { entries: (e) => [{ ...e[0]!, size: e[0]!.size + 1 }, ...e.slice(1)] },
    'E_CHECKSUM_MISMATCH',
  ],
  [
    'two entries with one path',
    { entries: (e) => [e[0]!, { ...e[1]!, path: e[0]!.path }] },
    'E_CORRUPT_MANIFEST',
  ],
  [
    'blob bytes that do not match their digest',
    { blob: (bytes) => Buffer.from(bytes.toString().toUpperCase()) },
    'E_CHECKSUM_MISMATCH',
  ],
];

describe('a hostile server', () => {
  it.each(lies)('is refused: %s — and no unverified byte is written', async (_name, tamper, code) => {
    const proxy = await lyingProxy(tamper);
    const home = mkdtempSync(join(dir, 'client-'));
    const client = await openStore({ baseUrl: proxy.url, apiKey: key, dir: join(home, 'cache') });
    try {
      const target = join(home, 'target', 'deep');
      const failed = await new QuiverClient(client)
        .artifact('ana/p/model:v0')
        .then((version) => version.download(target))
        .then(
          () => undefined,
          (error: { code?: string }) => error,
        );
      expect(failed, 'the download was refused').toBeDefined();
      expect(failed?.code).toBe(code);
      // A forged manifest is refused before anything is written; bytes that do not match their
      // digest leave no file of that entry (other entries, verified, may be there), and no partials.
      const written = tree(join(home, 'target'));
      if (code === 'E_CORRUPT_MANIFEST') expect(written).toEqual([]);
      else {
        expect(written).not.toContain('deep/config.json');
        for (const file of written) expect(['deep/weights.bin']).toContain(file);
      }
      expect(existsSync(join(home, 'escaped.bin'))).toBe(false);
      expect(existsSync('/tmp/quiver-hostile-absolute.bin')).toBe(false);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('is believed when it tells the truth (the proxy alone changes nothing)', async () => {
    const proxy = await lyingProxy({});
    const client = await openStore({ baseUrl: proxy.url, apiKey: key, dir: join(dir, 'honest-cache') });
    try {
      const target = join(dir, 'honest');
      await (await new QuiverClient(client).artifact('ana/p/model:v0')).download(target);
      expect(tree(target)).toEqual(['config.json', 'weights.bin']);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('a server that redirects downloads to object storage', () => {
  /** A stand-in bucket on loopback: records what each request carried, answers with `body(path)`. */
  async function bucketServer(body: (original: Buffer) => Buffer) {
    const seen: Array<{ url: string; headers: Record<string, unknown> }> = [];
    const { createServer } = await import('node:http');
    const server = createServer((request, response) => {
      seen.push({ url: request.url ?? '', headers: { ...request.headers } });
      const digest = /([0-9a-f]{64})/.exec(request.url ?? '')?.[1];
      const original = Object.values(files).find(
        (bytes) => digest === createHash('sha256').update(bytes).digest('hex'),
      );
      if (!original) return response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body(original));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  /** Answers every blob GET that accepts a redirect with a 307 to `bucket`, as a server over S3 does. */
  const redirecting = (bucket: string) =>
    startProxy((app.server.address() as AddressInfo).port, async (incoming, answer, outgoing) => {
      const path = (incoming.url ?? '').split('?')[0]!;
      if (incoming.method !== 'GET' || !path.startsWith(`${API_PREFIX}/blobs/`)) return false;
      expect(incoming.headers[DIRECT_HEADER]).toBe('1');
      answer.resume();
      outgoing.writeHead(307, {
        location: `${bucket}/presigned${path}?X-Amz-Signature=abc`,
        'content-length': '0',
      });
      outgoing.end();
      return true;
    });

  it.each([
    ['the true bytes', (bytes: Buffer) => bytes, undefined],
    ['other bytes', (bytes: Buffer) => Buffer.from(bytes.toString().toUpperCase()), 'E_CHECKSUM_MISMATCH'],
  ])(
    'the bucket, sent %s, never sees the Quiver key, and is believed only when the bytes match',
    async (_name, body, code) => {
      const bucket = await bucketServer(body);
      const proxy = await redirecting(bucket.url);
      const home = mkdtempSync(join(dir, 'redirected-'));
      const client = await openStore({ baseUrl: proxy.url, apiKey: key, dir: join(home, 'cache') });
      try {
        const outcome = await new QuiverClient(client)
          .artifact('ana/p/model:v0')
          .then((version) => version.download(join(home, 'target')))
          .then(
            () => undefined,
            (error: { code?: string }) => error.code,
          );
        expect(outcome).toBe(code);
        expect(bucket.seen.length).toBeGreaterThan(0);
        for (const request of bucket.seen) {
          expect(request.headers.authorization).toBeUndefined();
          expect(JSON.stringify(request)).not.toContain(key);
        }
        if (!code) expect(tree(join(home, 'target'))).toEqual(['config.json', 'weights.bin']);
        else expect(tree(join(home, 'target'))).not.toContain('config.json');
      } finally {
        await client.close();
        await proxy.close();
        await bucket.close();
      }
    },
  );
});
