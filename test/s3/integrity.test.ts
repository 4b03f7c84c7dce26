import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Artifact, init, openStore } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, createUserWithKey, type TestStore } from '../support/backends.js';
import { runCli } from '../support/processes.js';
import { listBucket, s3Client, testS3 } from '../support/s3.js';

const s3 = testS3();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const keyOf = (digest: string) => `sha256/${digest.slice(0, 2)}/${digest}`;

// A server over PostgreSQL with its blobs in a bucket of the real Ceph RGW the test command runs.
describe.skipIf(!s3)('integrity on remote+s3 (Ceph RGW)', () => {
  let store: TestStore;
  let bucket: string;
  let mallory: string;
  let bob: string;
  const scratch = mkdtempSync(join(tmpdir(), 'quiver-s3-integrity-'));

  const admin = async (path: string, body: unknown, method = 'POST') => {
    const response = await fetch(`${store.s3!.url}/api/v1/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${store.server!.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  };
  const upload = (key: string, digest: string, body: Uint8Array, entity: string) =>
    fetch(`${store.s3!.url}/api/v1/blobs/${digest}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/octet-stream',
        'x-quiver-entity': entity,
      },
      body,
    });
  const head = (key: string, digest: string, entity: string) =>
    fetch(`${store.s3!.url}/api/v1/blobs/${digest}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${key}`, 'x-quiver-entity': entity },
    });
  const cliEnv = (key: string, entity: string) => ({
    QUIVER_DIR: mkdtempSync(join(scratch, 'client-')),
    QUIVER_BASE_URL: store.s3!.url,
    QUIVER_API_KEY: key,
    QUIVER_ENTITY: entity,
  });

  beforeAll(async () => {
    store = await createTestStore('remote+s3');
    bucket = store.s3!.bucket;
    mallory = await createUserWithKey(store.server!, 'mallory');
    bob = await createUserWithKey(store.server!, 'bob');
    await admin('/teams', { name: 'red' });
    await admin('/teams', { name: 'blue' });
    await admin('/teams/red/members/mallory', { role: 'member' }, 'PUT');
    await admin('/teams/blue/members/bob', { role: 'member' }, 'PUT');
  }, 120_000);
  afterAll(async () => {
    await store?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each([
    ['small (one PUT)', 64 * 1024],
    ['large (multipart)', 40 * 1024 * 1024],
  ])(
    'a client that uploads bytes not matching the declared sha256 (%s) gets nothing stored under it',
    async (_, size) => {
      const honest = randomBytes(size);
      const lie = randomBytes(size);
      const answer = await upload(mallory, sha256(honest), lie, 'red');
      expect(answer.status).toBe(422);
      expect(((await answer.json()) as { code: string }).code).toBe('E_CHECKSUM_MISMATCH');
      // Nothing under the digest's key, no multipart upload left open.
      expect((await listBucket(s3!, bucket, 'sha256/')).map((item) => item.key)).not.toContain(
        keyOf(sha256(honest)),
      );
      const client = s3Client(s3!);
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      client.destroy();
      expect(uploads.Uploads ?? []).toEqual([]);
      expect((await head(mallory, sha256(honest), 'red')).status).toBe(404);
      // The bytes under their own digest do go in.
      expect((await upload(mallory, sha256(lie), lie, 'red')).status).toBe(204);
      expect((await head(mallory, sha256(lie), 'red')).status).toBe(200);
    },
  );

  it('bytes planted in the bucket under a digest are not served; an honest commit by another team replaces them', async () => {
    const truth = randomBytes(300_000);
    const digest = sha256(truth);
    const planted = randomBytes(truth.length);
    const client = s3Client(s3!);
    // A writer with the bucket's own credentials, even copying the look of Quiver's metadata.
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keyOf(digest),
        Body: planted,
        Metadata: { 'quiver-seal': randomBytes(32).toString('hex') },
      }),
    );
    expect((await head(mallory, digest, 'red')).status).toBe(404);
    // A commit that relies on the planted object (no upload of its own) is refused.
    const refused = await fetch(`${store.s3!.url}/api/v1/artifacts/commit`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${mallory}`,
        'content-type': 'application/json',
        'x-quiver-entity': 'red',
      },
      body: JSON.stringify({
        entity: 'red',
        project: 'heist',
        name: 'planted',
        type: 'model',
        description: null,
        metadata: {},
        manifest: [{ path: 'weights.bin', sha256: digest, size: truth.length }],
        runId: null,
        aliases: [],
        tags: [],
      }),
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);

    // Bob of another team logs the true content through the SDK.
    const bobStore = await openStore({
      dir: mkdtempSync(join(scratch, 'bob-')),
      baseUrl: store.s3!.url,
      apiKey: bob,
      entity: 'blue',
    });
    try {
      const run = await init({ project: 'honest', store: bobStore });
      await run.logArtifact(new Artifact('weights', 'model').addBytes('weights.bin', truth));
      await run.finish();
      const back = await bobStore.backend.blobs.read(digest, truth.length);
      expect(Buffer.from(back).equals(truth)).toBe(true);
    } finally {
      await bobStore.close();
    }
    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(digest) }));
    expect(sha256(await stored.Body!.transformToByteArray())).toBe(digest);
    client.destroy();
    expect((await head(bob, digest, 'blue')).status).toBe(200);
  });

  it('an object corrupted in the bucket behind Quiver is reported by get and by verify', async () => {
    const bytes = randomBytes(200_000);
    const digest = sha256(bytes);
    const env = cliEnv(bob, 'blue');
    const file = join(scratch, 'model.bin');
    writeFileSync(file, bytes);
    const logged = await runCli(['artifact', 'put', 'blue/fragile/net', file, '--json'], env);
    expect(logged.code, logged.stderr).toBe(0);
    const client = s3Client(s3!);
    const original = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(digest) }));
    // Same size, same metadata (its seal too): only the bytes differ, as after an overwrite or bit rot.
    const corrupt = Buffer.from(bytes);
    corrupt[1000] = corrupt[1000]! ^ 0xff;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keyOf(digest),
        Body: corrupt,
        Metadata: original.Metadata ?? {},
      }),
    );
    client.destroy();

    const out = join(scratch, 'out');
    const got = await runCli(['get', 'blue/fragile/net:latest', out, '--json'], cliEnv(bob, 'blue'));
    expect(got.code).not.toBe(0);
    expect(got.stderr + got.stdout).toMatch(/E_CHECKSUM_MISMATCH|checksum|does not match/i);
    expect(got.stderr + got.stdout).toContain('model.bin');

    const verified = await runCli(['verify', '--json'], cliEnv(store.server!.adminKey, 'admin'));
    expect(verified.code, verified.stdout + verified.stderr).toBe(1);
    const report = JSON.parse(verified.stdout) as { problems: Array<{ kind: string; sha256: string }> };
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'corrupt-blob', sha256: digest }));
  });

  it('a download is redirected to a presigned URL of the bucket only after the authorization check', async () => {
    const bytes = randomBytes(50_000);
    const digest = sha256(bytes);
    expect((await upload(bob, digest, bytes, 'blue')).status).toBe(204);
    const asked = (key: string, entity: string) =>
      fetch(`${store.s3!.url}/api/v1/blobs/${digest}`, {
        headers: { authorization: `Bearer ${key}`, 'x-quiver-entity': entity, 'x-quiver-direct': '1' },
        redirect: 'manual',
      });
    const answer = await asked(bob, 'blue');
    expect(answer.status).toBe(307);
    const location = answer.headers.get('location')!;
    expect(location.startsWith(s3!.endpoint)).toBe(true);
    expect(location).not.toContain(bob);
    expect(location).not.toContain(s3!.secretKey);
    // The bucket serves the bytes to that URL alone: no Quiver key, no S3 credentials.
    const direct = await fetch(location);
    expect(Buffer.from(await direct.arrayBuffer()).equals(bytes)).toBe(true);
    // A key of a team that may not read `blue` gets no URL.
    expect((await asked(mallory, 'blue')).status).toBe(404);
    // Without the header the server streams the bytes itself.
    const streamed = await fetch(`${store.s3!.url}/api/v1/blobs/${digest}`, {
      headers: { authorization: `Bearer ${bob}`, 'x-quiver-entity': 'blue' },
    });
    expect(Buffer.from(await streamed.arrayBuffer()).equals(bytes)).toBe(true);
  });
});
