import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Artifact, init, type QuiverClient, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore } from '../support/backends.js';
import { runCli } from '../support/processes.js';
import { createBucket, deleteBucket, listBucket, s3Client, testS3 } from '../support/s3.js';

const s3 = testS3();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const OBJECTS = 1000;
const name = (index: number) => `data/${String(index).padStart(4, '0')}.bin`;

// The consumer's own credentials reach the referenced bucket; the server never sees it.
const CONSUMER_ENV = [
  'AWS_ENDPOINT_URL_S3',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_EC2_METADATA_DISABLED',
];

describe.skipIf(!s3)('s3:// references on remote+s3 (Ceph RGW)', () => {
  let store: TestStore;
  let sdkStore: Store;
  let client: QuiverClient;
  let refs: string;
  const contents = new Map<string, Buffer>();
  const saved: Record<string, string | undefined> = {};
  const bytesOf = async (bucket: string) =>
    (await listBucket(s3!, bucket)).reduce((sum, item) => sum + item.size, 0);

  beforeAll(async () => {
    for (const key of CONSUMER_ENV) saved[key] = process.env[key];
    process.env.AWS_ENDPOINT_URL_S3 = s3!.endpoint;
    process.env.AWS_ACCESS_KEY_ID = s3!.accessKey;
    process.env.AWS_SECRET_ACCESS_KEY = s3!.secretKey;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    store = await createTestStore('remote+s3');
    sdkStore = await store.open();
    client = await store.client();
    refs = await createBucket(s3!, 'datasets');
    const raw = s3Client(s3!);
    const keys = Array.from({ length: OBJECTS }, (_, index) => name(index));
    for (let start = 0; start < keys.length; start += 50)
      await Promise.all(
        keys.slice(start, start + 50).map((key) => {
          const body = randomBytes(64 + (key.length % 7));
          contents.set(key, body);
          return raw.send(new PutObjectCommand({ Bucket: refs, Key: key, Body: body }));
        }),
      );
    raw.destroy();
  }, 180_000);
  afterAll(async () => {
    for (const key of CONSUMER_ENV) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    if (refs) await deleteBucket(s3!, refs);
    await store?.cleanup();
  });

  it('logs a prefix of 1,000 objects without copying, downloads and verifies it; an overwrite behind it fails get naming the entry', async () => {
    const storeBytes = await bytesOf(store.s3!.bucket);
    const refBytes = await bytesOf(refs);
    const run = await init({ project: 'data', store: sdkStore });
    const version = await run.logArtifact(
      new Artifact('corpus', 'dataset').addReference(`s3://${refs}/data/`, { maxObjects: OBJECTS }),
    );
    await run.finish();
    const entries = await version.entries();
    expect(entries).toHaveLength(OBJECTS);
    expect(
      entries.every((entry) => entry.ref?.startsWith(`s3://${refs}/data/`) && entry.ref.includes('etag=')),
    ).toBe(true);
    expect(entries.find((entry) => entry.path === 'data/0007.bin')?.size).toBe(
      contents.get('data/0007.bin')!.length,
    );
    // Nothing was copied: neither the server's bucket nor the referenced one changed in size.
    expect(await bytesOf(store.s3!.bucket)).toBe(storeBytes);
    expect(await bytesOf(refs)).toBe(refBytes);

    const out = join(store.dir, 'corpus');
    await version.download(out);
    for (const index of [0, 1, 499, 999])
      expect(readFileSync(join(out, name(index))).equals(contents.get(name(index))!)).toBe(true);
    expect((await version.verify(out)).ok).toBe(true);

    // Logging the unchanged prefix again is the same version.
    const again = await init({ project: 'data', store: sdkStore });
    const same = await again.logArtifact(
      new Artifact('corpus', 'dataset').addReference(`s3://${refs}/data/`, { maxObjects: OBJECTS }),
    );
    await again.finish();
    expect(same.version).toBe(version.version);

    const raw = s3Client(s3!);
    await raw.send(new PutObjectCommand({ Bucket: refs, Key: name(42), Body: randomBytes(66) }));
    raw.destroy();
    await expect(
      (await client.artifact(`tester/data/corpus:v${version.version}`)).download(join(store.dir, 'again')),
    ).rejects.toMatchObject({
      code: 'E_CHECKSUM_MISMATCH',
      message: expect.stringContaining("'data/0042.bin'"),
    });
  }, 180_000);

  it('refuses a prefix with more objects than maxObjects, and logs nothing', async () => {
    const raw = s3Client(s3!);
    await raw.send(new PutObjectCommand({ Bucket: refs, Key: name(OBJECTS), Body: randomBytes(10) }));
    raw.destroy();
    const run = await init({ project: 'limits', store: sdkStore });
    await expect(
      run.logArtifact(
        new Artifact('corpus', 'dataset').addReference(`s3://${refs}/data/`, { maxObjects: OBJECTS }),
      ),
    ).rejects.toMatchObject({
      code: 'E_TOO_LARGE',
      message: expect.stringContaining(`more than ${OBJECTS} objects`),
    });
    await run.finish();
    await expect(client.artifact('tester/limits/corpus')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    // The CLI says the same, and logs nothing either.
    const cli = await runCli(
      [
        'artifact',
        'put',
        'tester/limits/corpus',
        `s3://${refs}/data/`,
        '--max-objects',
        String(OBJECTS),
        '--json',
      ],
      {
        ...store.env,
        AWS_ENDPOINT_URL_S3: s3!.endpoint,
        AWS_ACCESS_KEY_ID: s3!.accessKey,
        AWS_SECRET_ACCESS_KEY: s3!.secretKey,
      },
    );
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).error.code).toBe('E_TOO_LARGE');
    await expect(client.artifact('tester/limits/corpus')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('checksum: true records the sha256; a versioned bucket pins the version, which still downloads after an overwrite', async () => {
    const raw = s3Client(s3!);
    const versioned = await createBucket(s3!, 'versioned');
    await raw.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const first = randomBytes(5000);
    await raw.send(new PutObjectCommand({ Bucket: versioned, Key: 'model.bin', Body: first }));
    try {
      const run = await init({ project: 'pinned', store: sdkStore });
      const version = await run.logArtifact(
        new Artifact('weights', 'model').addReference(`s3://${versioned}/model.bin`, { checksum: true }),
      );
      await run.finish();
      const [entry] = await version.entries();
      expect(entry!.sha256).toBe(sha256(first));
      expect(entry!.ref).toMatch(/versionId=/);
      await raw.send(new PutObjectCommand({ Bucket: versioned, Key: 'model.bin', Body: randomBytes(5000) }));
      const out = join(store.dir, 'pinned');
      await version.download(out);
      expect(readFileSync(join(out, 'model.bin')).equals(first)).toBe(true);
    } finally {
      raw.destroy();
      await deleteBucket(s3!, versioned);
    }
  });

  it('without credentials the error names what to set', async () => {
    const key = process.env.AWS_ACCESS_KEY_ID;
    const secret = process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const profile = process.env.AWS_PROFILE;
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(store.dir, 'no-such-credentials');
    process.env.AWS_CONFIG_FILE = join(store.dir, 'no-such-config');
    try {
      const run = await init({ project: 'nocreds', store: sdkStore });
      await expect(
        run.logArtifact(new Artifact('one', 'model').addReference(`s3://${refs}/${name(1)}`)),
      ).rejects.toMatchObject({
        code: 'E_INVALID_ENV',
        message: expect.stringMatching(/AWS_ACCESS_KEY_ID.*AWS_SECRET_ACCESS_KEY/),
      });
      await run.finish();
    } finally {
      process.env.AWS_ACCESS_KEY_ID = key;
      process.env.AWS_SECRET_ACCESS_KEY = secret;
      if (profile !== undefined) process.env.AWS_PROFILE = profile;
      delete process.env.AWS_SHARED_CREDENTIALS_FILE;
      delete process.env.AWS_CONFIG_FILE;
    }
  });
});
