/**
 * The team server's Hub-compatible routes, driven by the unmodified `@huggingface/hub` client over
 * a real socket: repos, uploads (LFS basic and multipart), listings, downloads, the `Range`
 * probe, snapshots, revisions, dedup of an unchanged push, and who may do what. Every answer is
 * compared with what Quiver's own API says of the same data.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRepo,
  downloadFile,
  fileDownloadInfo,
  HubApiError,
  type ListFileEntry,
  listFiles,
  modelInfo,
  snapshotDownload,
  uploadFiles,
  whoAmI,
} from '@huggingface/hub';
import { type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import { buildServer, type FastifyInstance } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let base: string;
const tokens: Record<string, string> = {};

/** Bytes sent to the LFS storage URLs, counted by a fetch the client is given. */
let lfsBytes = 0;
const countingFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (url.includes('/lfs/') && init?.method === 'PUT' && init.body) {
    const body = init.body as Blob | ArrayBuffer | Uint8Array;
    lfsBytes += body instanceof Blob ? body.size : body.byteLength;
  }
  return fetch(input, init);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-hub-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  const { accounts } = store.backend;
  for (const user of ['ada', 'mia', 'vic', 'otto']) await accounts.createUser(user);
  await accounts.createTeam('vision', 'ada');
  await accounts.setMember('vision', 'ada', 'admin');
  await accounts.setMember('vision', 'mia', 'member');
  await accounts.setMember('vision', 'vic', 'viewer');
  // The Hub client takes only tokens that start with hf_: a Quiver key behind that prefix.
  for (const user of ['ada', 'mia', 'vic', 'otto'])
    tokens[user] = `hf_${(await accounts.createKey(user, 'hub')).key}`;
  app = await buildServer({
    backend: store.backend,
    logger: false,
    webhooks: false,
    hub: { multipartThreshold: 1 * MiB, partSize: 256 * KiB },
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  base = address;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const hub = (user: string, scope = '/hf') => ({
  accessToken: tokens[user]!,
  hubUrl: `${base}${scope}`,
  fetch: countingFetch,
});
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const blob = (content: Uint8Array | string) =>
  new Blob([typeof content === 'string' ? Buffer.from(content) : content]);
const statusOf = async (promise: Promise<unknown>): Promise<number> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HubApiError) return error.statusCode;
    throw error;
  }
  return 200;
};

const CONFIG = Buffer.from(JSON.stringify({ model_type: 'bert', id2label: { 0: 'a', 1: 'b' } }));
const WEIGHTS = randomBytes(3 * MiB + 12_345); // over the multipart threshold: 13 parts
const README = Buffer.from('# classifier\n\nPushed with @huggingface/hub.\n');
const folder = () => [
  { path: 'config.json', content: blob(CONFIG) },
  { path: 'onnx/model.onnx', content: blob(WEIGHTS) },
  { path: 'README.md', content: blob(README) },
];
const repo = { type: 'model' as const, name: 'vision/classifier' };
let firstCommit: string;

describe('the Hub routes with @huggingface/hub', () => {
  it('creates a repo as a registered model, and uploads a folder (a file over the multipart threshold included) as one version', async () => {
    const created = await createRepo({ ...hub('mia'), repo });
    expect(created.repoUrl).toBe(`${base}/hf/vision/classifier`);
    const model = await store.backend.registry.model({ entity: 'vision', model: 'classifier' });
    expect(model.versionCount).toBe(0);

    lfsBytes = 0;
    const output = await uploadFiles({ ...hub('mia'), repo, files: folder(), commitTitle: 'First weights' });
    expect(lfsBytes).toBe(CONFIG.length + WEIGHTS.length + README.length);
    const resolved = await store.backend.artifacts.resolve('vision/registry/classifier:latest');
    expect(resolved.registryVersion?.version).toBe(0);
    expect(resolved.registryVersion?.linkedBy).toBe('mia');
    expect(resolved.version.ref).toBe('vision/hub/classifier:v0');
    expect(resolved.version.description).toBe('First weights');
    expect(resolved.version.metadata).toEqual({ hub: { summary: 'First weights', author: 'mia' } });
    const entries = await store.backend.artifacts.entries(resolved.version.id);
    expect(entries.map(({ path, sha256, size }) => ({ path, sha256, size }))).toEqual([
      { path: 'README.md', sha256: sha256(README), size: README.length },
      { path: 'config.json', sha256: sha256(CONFIG), size: CONFIG.length },
      { path: 'onnx/model.onnx', sha256: sha256(WEIGHTS), size: WEIGHTS.length },
    ]);
    firstCommit = output!.commit.oid;
    expect(firstCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(
      (await modelInfo({ ...hub('vic'), name: 'vision/classifier', additionalFields: ['sha'] })).sha,
    ).toBe(firstCommit);
  });

  it('lists, downloads and probes files as Quiver stores them', async () => {
    const listed: ListFileEntry[] = [];
    for await (const entry of listFiles({ ...hub('vic'), repo, recursive: true })) listed.push(entry);
    expect(listed.map((entry) => [entry.type, entry.path, entry.size, entry.lfs?.oid])).toEqual([
      ['file', 'README.md', README.length, sha256(README)],
      ['file', 'config.json', CONFIG.length, sha256(CONFIG)],
      ['directory', 'onnx', 0, undefined],
      ['file', 'onnx/model.onnx', WEIGHTS.length, sha256(WEIGHTS)],
    ]);
    const top: string[] = [];
    for await (const entry of listFiles({ ...hub('vic'), repo })) top.push(entry.path);
    expect(top).toEqual(['README.md', 'config.json', 'onnx']);

    const downloaded = await downloadFile({ ...hub('vic'), repo, path: 'onnx/model.onnx' });
    expect(Buffer.from(await downloaded!.arrayBuffer()).equals(WEIGHTS)).toBe(true);
    const info = await fileDownloadInfo({ ...hub('vic'), repo, path: 'onnx/model.onnx' });
    expect(info?.size).toBe(WEIGHTS.length);
    expect(info?.etag).toBe(`"${sha256(WEIGHTS)}"`);
    expect(await fileDownloadInfo({ ...hub('vic'), repo, path: 'nope.bin' })).toBeNull();

    // The probe transformers.js sends, read raw.
    const probe = await fetch(`${base}/hf/vision/classifier/resolve/main/config.json`, {
      headers: { authorization: `Bearer ${tokens.vic}`, range: 'bytes=0-0', origin: 'http://app.test' },
    });
    expect(probe.status).toBe(206);
    expect(probe.headers.get('content-range')).toBe(`bytes 0-0/${CONFIG.length}`);
    expect(probe.headers.get('x-repo-commit')).toBe(firstCommit);
    expect(probe.headers.get('x-linked-size')).toBe(String(CONFIG.length));
    expect(probe.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(probe.headers.get('access-control-expose-headers')).toContain('X-Repo-Commit');
    expect(Buffer.from(await probe.arrayBuffer())).toEqual(CONFIG.subarray(0, 1));
    const missing = await fetch(`${base}/hf/vision/classifier/resolve/main/missing.json`, {
      headers: { authorization: `Bearer ${tokens.vic}` },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-error-code')).toBe('EntryNotFound');
    const preflight = await fetch(`${base}/hf/vision/classifier/resolve/main/config.json`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-headers': 'authorization,range' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Range');

    const cacheDir = mkdtempSync(join(tmpdir(), 'quiver-hub-cache-'));
    try {
      const snapshot = await snapshotDownload({ ...hub('vic'), repo, cacheDir });
      expect(snapshot.endsWith(firstCommit)).toBe(true);
      expect(readFileSync(join(snapshot, 'onnx/model.onnx')).equals(WEIGHTS)).toBe(true);
      expect(readFileSync(join(snapshot, 'config.json')).equals(CONFIG)).toBe(true);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('pushes an unchanged folder with no LFS bytes and no new version; the audit history says who pushed', async () => {
    lfsBytes = 0;
    const output = await uploadFiles({ ...hub('ada'), repo, files: folder(), commitTitle: 'Same again' });
    expect(lfsBytes).toBe(0);
    expect(output!.commit.oid).toBe(firstCommit);
    const model = await store.backend.registry.model({ entity: 'vision', model: 'classifier' });
    expect(model.versionCount).toBe(1);
    const versions = await store.backend.artifacts.versions({
      entity: 'vision',
      project: 'hub',
      name: 'classifier',
    });
    expect(versions.items.map((version) => version.version)).toEqual([0]);
    const history = await store.backend.registry.history({ entity: 'vision', model: 'classifier' });
    expect(history.map((event) => [event.action, event.actor])).toEqual([
      ['model.create', 'mia'],
      ['link', 'mia'],
      ['alias.set', 'mia'], // latest
    ]);
    // ada's push changed nothing, so it is not in the history: mia's push is.
  });

  it('reads a revision by alias, by vN and by commit sha; main is latest', async () => {
    const changed = randomBytes(2 * MiB);
    const output = await uploadFiles({
      ...hub('mia'),
      repo,
      files: [{ path: 'onnx/model.onnx', content: blob(changed) }],
      commitTitle: 'Retrained',
    });
    const second = output!.commit.oid;
    expect(second).not.toBe(firstCommit);
    const latest = await store.backend.artifacts.resolve('vision/registry/classifier:latest');
    expect(latest.registryVersion?.version).toBe(1);
    // The other files came along from main.
    expect((await store.backend.artifacts.entries(latest.version.id)).map((entry) => entry.path)).toEqual([
      'README.md',
      'config.json',
      'onnx/model.onnx',
    ]);
    // An admin moves production to v0 with Quiver's own API.
    await store.backend
      .withPrincipal({ actor: 'ada', entity: 'vision' })
      .registry.setAlias(
        { entity: 'vision', registry: 'model', model: 'classifier', version: 0 },
        'production',
        {
          force: true,
        },
      );
    const read = async (revision: string) =>
      Buffer.from(
        await (await downloadFile({ ...hub('vic'), repo, path: 'onnx/model.onnx', revision }))!.arrayBuffer(),
      );
    expect((await read('production')).equals(WEIGHTS)).toBe(true);
    expect((await read('v0')).equals(WEIGHTS)).toBe(true);
    expect((await read(firstCommit)).equals(WEIGHTS)).toBe(true);
    expect((await read('main')).equals(changed)).toBe(true);
    expect((await read(second)).equals(changed)).toBe(true);
    expect(await statusOf(read('v7'))).toBe(404);
    expect(await statusOf(read('no-such-alias'))).toBe(404);
  });

  it('maps a project artifact to a repo under /hf-project/<project>', async () => {
    const scope = '/hf-project/demo';
    const output = await uploadFiles({
      ...hub('mia', scope),
      repo: { type: 'model', name: 'vision/mlp' },
      files: [{ path: 'weights.bin', content: blob(CONFIG) }],
    });
    const version = (await store.backend.artifacts.resolve('vision/demo/mlp:latest')).version;
    expect(version.ref).toBe('vision/demo/mlp:v0');
    const listed: string[] = [];
    for await (const entry of listFiles({
      ...hub('vic', scope),
      repo: { type: 'model', name: 'vision/mlp' },
    }))
      listed.push(`${entry.path}:${entry.lfs?.oid}`);
    expect(listed).toEqual([`weights.bin:${sha256(CONFIG)}`]);
    expect(output!.commit.oid).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('who may do what through the Hub routes', () => {
  it('lets a viewer read but not write, and changes nothing when it tries', async () => {
    const before = await store.backend.registry.model({ entity: 'vision', model: 'classifier' });
    expect(
      await statusOf(uploadFiles({ ...hub('vic'), repo, files: [{ path: 'x.txt', content: blob('x') }] })),
    ).toBe(403);
    expect(await statusOf(createRepo({ ...hub('vic'), repo: { type: 'model', name: 'vision/other' } }))).toBe(
      403,
    );
    const after = await store.backend.registry.model({ entity: 'vision', model: 'classifier' });
    expect(after.versionCount).toBe(before.versionCount);
    expect((await whoAmI({ ...hub('vic') })).name).toBe('vic');
  });

  it("shows another team's repos to nobody outside it: the same 404 as a repo that does not exist", async () => {
    const outsider = hub('otto');
    expect(await statusOf(downloadFile({ ...outsider, repo, path: 'config.json' }))).toBe(404);
    expect(await statusOf(fileDownloadInfo({ ...outsider, repo, path: 'config.json' }))).toBe(404);
    const listing = async () => {
      for await (const _ of listFiles({ ...outsider, repo })) return;
    };
    expect(await statusOf(listing())).toBe(404);
    expect(
      await statusOf(uploadFiles({ ...outsider, repo, files: [{ path: 'x', content: blob('x') }] })),
    ).toBe(404);
    const raw = await fetch(`${base}/hf/vision/classifier/resolve/main/config.json`, {
      headers: { authorization: `Bearer ${tokens.otto}` },
    });
    const nowhere = await fetch(`${base}/hf/vision/does-not-exist/resolve/main/config.json`, {
      headers: { authorization: `Bearer ${tokens.otto}` },
    });
    expect([raw.status, raw.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
    const absent = (await nowhere.json()) as { error: string };
    expect(await raw.json()).toEqual({ error: absent.error.replace('does-not-exist', 'classifier') });
  });

  it('refuses an hf_ token that is not a Quiver key, and a request without one', async () => {
    for (const authorization of ['Bearer hf_notaquiverkey', `Bearer ${tokens.mia}x`, undefined]) {
      const answer = await fetch(`${base}/hf/vision/classifier/resolve/main/config.json`, {
        headers: authorization ? { authorization } : {},
      });
      expect(answer.status, String(authorization)).toBe(401);
    }
    expect(await statusOf(whoAmI({ accessToken: 'hf_notaquiverkey', hubUrl: `${base}/hf` }))).toBe(401);
  });

  it('refuses a forged or reused upload URL, and bytes that do not hash to the object', async () => {
    const content = randomBytes(1000);
    const oid = sha256(content);
    const batch = async (token: string) =>
      (await (
        await fetch(`${base}/hf/vision/classifier.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.git-lfs+json' },
          body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size: 1000 }] }),
        })
      ).json()) as { objects: Array<{ actions?: { upload: { href: string } } }> };
    expect(
      (
        await fetch(`${base}/hf/vision/classifier.git/info/lfs/objects/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens.vic}`, 'content-type': 'application/vnd.git-lfs+json' },
          body: JSON.stringify({ operation: 'upload', objects: [{ oid, size: 1000 }] }),
        })
      ).status,
    ).toBe(403);
    const href = (await batch(tokens.mia!)).objects[0]!.actions!.upload.href;
    const [ticket, mac] = href.split('/lfs/')[1]!.split('.');
    // The ticket's body says what may be stored; changing it (a bigger size) breaks its signature.
    const body = JSON.parse(Buffer.from(ticket!, 'base64url').toString()) as { size: number };
    const forged = `${href.split('/lfs/')[0]}/lfs/${Buffer.from(JSON.stringify({ ...body, size: 10 ** 12 })).toString('base64url')}.${mac}`;
    expect((await fetch(forged, { method: 'PUT', body: new Uint8Array(10) })).status).toBe(403);
    // Other bytes of the right size: refused, and nothing is stored under the oid.
    const wrong = await fetch(href, { method: 'PUT', body: randomBytes(1000) });
    expect(wrong.status).toBe(400);
    expect(await store.backend.blobs.has(oid)).toBe(false);
    expect((await fetch(href, { method: 'PUT', body: content })).status).toBe(200);
    expect(await store.backend.blobs.has(oid, 1000)).toBe(true);
  });

  it('gives browsers a signed read URL: files of one repo, no token, until it expires', async () => {
    const mint = async (token: string, body: object = {}) =>
      fetch(`${base}/hf/api/models/vision/classifier/read-url`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await mint(tokens.otto!)).status).toBe(404);
    const { remoteHost } = (await (await mint(tokens.vic!)).json()) as { remoteHost: string };
    expect(remoteHost.startsWith(`${base}/hf/~read/`)).toBe(true);
    // What transformers.js in a page asks for: no Authorization header.
    const file = await fetch(`${remoteHost}vision/classifier/resolve/main/config.json`, {
      headers: { origin: 'http://app.test' },
    });
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(CONFIG)).toBe(true);
    expect(file.headers.get('access-control-allow-origin')).toBe('http://app.test');
    // Only files of that one repo, and only reads.
    expect((await fetch(`${remoteHost}vision/mlp/resolve/main/weights.bin`)).status).toBe(403);
    expect((await fetch(`${remoteHost}api/models/vision/classifier/tree/main`)).status).toBe(403);
    expect((await fetch(`${remoteHost}api/whoami-v2`)).status).toBe(403);
    const token = remoteHost.split('/~read/')[1]!.replace(/\/$/, '');
    const [grant, mac] = token.split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(grant!, 'base64url').toString()), name: 'mlp' }),
    ).toString('base64url');
    expect(
      (await fetch(`${base}/hf/~read/${widened}.${mac}/vision/mlp/resolve/main/weights.bin`)).status,
    ).toBe(403);
    const short = (await (await mint(tokens.vic!, { expiresIn: 1 })).json()) as { remoteHost: string };
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const late = await fetch(`${short.remoteHost}vision/classifier/resolve/main/config.json`);
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: string }).error).toContain('expired');
  });
});
