import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_PREFIX, type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Bad input over the wire: each case gets a 4xx with a stable code, and the store is unchanged.
let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let url: string;
let key: string;
const MAX_BLOB = 1024 * 1024;

const weights = Buffer.from('the weights');
const weightsSha = createHash('sha256').update(weights).digest('hex');
const api = (path: string) => `${API_PREFIX}${path}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-server-bad-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('tester');
  key = (await store.backend.accounts.createKey('tester', 'tests')).key;
  app = await buildServer({
    backend: store.backend,
    logger: false,
    bodyLimit: 256 * 1024,
    maxBlobBytes: MAX_BLOB,
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  // One good version, so that refusals have something to leave alone.
  const put = await raw('PUT', api(`/blobs/${weightsSha}`), weights, {
    'content-type': 'application/octet-stream',
    'content-length': String(weights.length),
  });
  expect(put.status).toBe(204);
  const commit = await json('POST', api('/versions'), goodCommit());
  expect(commit.status).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function goodCommit(overrides: Record<string, unknown> = {}) {
  return {
    project: 'p',
    name: 'model',
    type: 'model',
    description: null,
    metadata: {},
    manifest: [{ path: 'weights.bin', sha256: weightsSha, size: weights.length }],
    runId: null,
    aliases: [],
    tags: [],
    ...overrides,
  };
}

/** A raw HTTP request on a socket (so bodies can disagree with their headers). */
function raw(
  method: string,
  path: string,
  body: Buffer | string | Array<Buffer | string> | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { code?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    const request = httpRequest(
      target,
      { method, headers: { authorization: `Bearer ${key}`, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: { code?: string; message?: string } = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = {};
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('error', reject);
    for (const part of [body ?? []].flat()) request.write(part);
    request.end();
  });
}

const json = (method: string, path: string, body: unknown) =>
  raw(method, path, typeof body === 'string' ? body : JSON.stringify(body), {
    'content-type': 'application/json',
  });

async function snapshot() {
  const blobs: string[] = [];
  for await (const blob of store.backend.blobs.list()) blobs.push(`${blob.sha256}:${blob.size}`);
  const versions = await store.backend
    .withPrincipal({ actor: 'x', entity: 'tester' })
    .artifacts.versions({ project: 'p', name: 'model' });
  const events = await store.backend.events.read({});
  const runs = await store.backend.runs.list({});
  return {
    blobs: blobs.sort(),
    versions: versions.items.map((v) => v.ref),
    events: events.length,
    runs: runs.items.length,
  };
}

type Case = [
  string,
  () => Promise<{ status: number; body: { code?: string; message?: string } }>,
  number,
  string,
];

const otherSha = 'b'.repeat(64);
const cases: Case[] = [
  ['malformed JSON', () => json('POST', api('/versions'), '{"project": "p",'), 400, 'E_INVALID_REQUEST'],
  [
    'a JSON body sent as text/plain',
    () => raw('POST', api('/versions'), JSON.stringify(goodCommit()), { 'content-type': 'text/plain' }),
    415,
    'E_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'JSON sent to the blob route',
    () => raw('PUT', api(`/blobs/${otherSha}`), '{}', { 'content-type': 'application/json' }),
    415,
    'E_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a body over the limit',
    () => json('POST', api('/versions'), goodCommit({ description: 'x'.repeat(300 * 1024) })),
    413,
    'E_TOO_LARGE',
  ],
  [
    'an empty JSON body',
    () => raw('POST', api('/versions'), '', { 'content-type': 'application/json' }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an unknown field',
    () => json('POST', api('/versions'), goodCommit({ evil: true })),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a missing field',
    () => json('POST', api('/versions'), { project: 'p', name: 'model' }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a field of the wrong type',
    () => json('POST', api('/versions'), goodCommit({ project: 5 })),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an invalid project name',
    () => json('POST', api('/versions'), goodCommit({ project: 'has space' })),
    400,
    'E_INVALID_NAME',
  ],
  [
    'an invalid alias',
    () => json('POST', api('/versions'), goodCommit({ aliases: ['v7'] })),
    400,
    'E_INVALID_ALIAS',
  ],
  [
    'an entry path that climbs out',
    () =>
      json(
        'POST',
        api('/versions'),
        goodCommit({ manifest: [{ path: '../../etc/passwd', sha256: weightsSha, size: weights.length }] }),
      ),
    400,
    'E_INVALID_PATH',
  ],
  [
    'an absolute entry path',
    () =>
      json(
        'POST',
        api('/versions'),
        goodCommit({ manifest: [{ path: '/etc/passwd', sha256: weightsSha, size: weights.length }] }),
      ),
    400,
    'E_INVALID_PATH',
  ],
  [
    'a digest that is not hex',
    () =>
      json(
        'POST',
        api('/versions'),
        goodCommit({ manifest: [{ path: 'w', sha256: 'z'.repeat(64), size: 1 }] }),
      ),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a negative size',
    () =>
      json('POST', api('/versions'), goodCommit({ manifest: [{ path: 'w', sha256: weightsSha, size: -1 }] })),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a size that disagrees with the stored blob',
    () =>
      json(
        'POST',
        api('/versions'),
        goodCommit({ manifest: [{ path: 'w', sha256: weightsSha, size: 999 }] }),
      ),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a blob that was never uploaded',
    () =>
      json('POST', api('/versions'), goodCommit({ manifest: [{ path: 'w', sha256: otherSha, size: 3 }] })),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an upload whose bytes do not match its digest',
    () =>
      raw('PUT', api(`/blobs/${otherSha}`), weights, {
        'content-type': 'application/octet-stream',
        'content-length': String(weights.length),
      }),
    422,
    'E_CHECKSUM_MISMATCH',
  ],
  [
    'an upload longer than its declared size',
    () =>
      raw('PUT', api(`/blobs/${weightsSha}`), [weights, weights], {
        'content-type': 'application/octet-stream',
        'x-quiver-size': String(weights.length),
        'transfer-encoding': 'chunked',
      }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an upload shorter than its declared size',
    () =>
      raw('PUT', api(`/blobs/${otherSha}`), weights, {
        'content-type': 'application/octet-stream',
        'x-quiver-size': String(weights.length + 10),
        'transfer-encoding': 'chunked',
      }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an upload with no declared size',
    () =>
      raw('PUT', api(`/blobs/${otherSha}`), [weights], {
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
      }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an upload larger than the server takes',
    () =>
      raw('PUT', api(`/blobs/${otherSha}`), [weights], {
        'content-type': 'application/octet-stream',
        'x-quiver-size': String(MAX_BLOB + 1),
        'transfer-encoding': 'chunked',
      }),
    413,
    'E_TOO_LARGE',
  ],
  [
    'sizes in two headers that disagree',
    () =>
      raw('PUT', api(`/blobs/${weightsSha}`), weights, {
        'content-type': 'application/octet-stream',
        'content-length': String(weights.length),
        'x-quiver-size': '3',
      }),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a blob name that is not a digest',
    () => raw('GET', api('/blobs/..%2F..%2Fquiver.db'), undefined),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'a byte range past the end',
    () => raw('GET', api(`/blobs/${weightsSha}`), undefined, { range: 'bytes=1000-2000' }),
    416,
    'E_RANGE_NOT_SATISFIABLE',
  ],
  [
    'a byte range that is not one',
    () => raw('GET', api(`/blobs/${weightsSha}`), undefined, { range: 'lines=1-2' }),
    416,
    'E_RANGE_NOT_SATISFIABLE',
  ],
  ['a huge page', () => raw('GET', api('/artifacts?limit=100000'), undefined), 400, 'E_INVALID_REQUEST'],
  ['a page of zero', () => raw('GET', api('/runs?limit=0'), undefined), 400, 'E_INVALID_REQUEST'],
  [
    'a forged cursor',
    () => raw('GET', api('/artifacts/versions?project=p&name=model&cursor=not-a-cursor'), undefined),
    400,
    'E_INVALID_OPTION',
  ],
  [
    'a lineage depth that is not a number',
    () => raw('GET', api('/refs/lineage?ref=p/model&depth=deep'), undefined),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an unknown query parameter',
    () => raw('GET', api('/runs?drop=table'), undefined),
    400,
    'E_INVALID_REQUEST',
  ],
  [
    'an event topic that does not exist',
    () => raw('GET', api('/events?topic=secrets'), undefined),
    400,
    'E_INVALID_REQUEST',
  ],
  ['a negative event cursor', () => raw('GET', api('/events?after=-5'), undefined), 400, 'E_INVALID_REQUEST'],
  [
    'a malformed ref',
    () => raw('GET', api(`/refs/resolve?ref=${encodeURIComponent('a/b/c/d/e:')}`), undefined),
    400,
    'E_INVALID_REF',
  ],
  ['a run that does not exist', () => raw('GET', api('/runs/nosuchrun'), undefined), 404, 'E_NOT_FOUND'],
  [
    'a route that does not exist',
    () => raw('GET', api('/admin/../../etc/passwd'), undefined),
    404,
    'E_NOT_FOUND',
  ],
  [
    'an entity header naming nobody',
    () => raw('GET', api('/runs'), undefined, { 'x-quiver-entity': 'nobody' }),
    404,
    'E_NOT_FOUND',
  ],
  [
    'a consumer name with a slash',
    () => json('POST', api(`/events/consumers/${encodeURIComponent('a:b')}/claim`), {}),
    400,
    'E_INVALID_NAME',
  ],
  [
    'history rows with a non-number',
    () =>
      json('POST', api('/runs/nosuchrun/history'), {
        rows: [{ step: 0, metrics: { loss: 'low' } }],
        summary: {},
      }),
    400,
    'E_INVALID_REQUEST',
  ],
];

describe('bad input over the wire', () => {
  it(`refuses ${cases.length} kinds of bad request with a 4xx and a stable code, leaving the store unchanged`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    const before = await snapshot();
    const wrong: string[] = [];
    for (const [name, send, status, code] of cases) {
      const answer = await send();
      if (answer.status !== status || answer.body.code !== code || typeof answer.body.message !== 'string')
        wrong.push(`${name}: ${answer.status} ${answer.body.code} (expected ${status} ${code})`);
    }
    expect(wrong).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // Refused uploads left no staged bytes behind.
    expect(await store.backend.blobs.removeStaleStaging(0)).toEqual({ files: 0, bytes: 0 });
    // The server still works.
    const again = await json('POST', api('/versions'), goodCommit());
    expect(again.status).toBe(200);
  });
});
