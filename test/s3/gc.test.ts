import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Artifact, init, type QuiverClient } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore } from '../support/backends.js';
import { listBucket, s3Client, testS3 } from '../support/s3.js';

const s3 = testS3();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const keyOf = (digest: string) => `sha256/${digest.slice(0, 2)}/${digest}`;

describe.skipIf(!s3)('gc on remote+s3 (Ceph RGW)', () => {
  let store: TestStore;
  let client: QuiverClient;
  beforeAll(async () => {
    store = await createTestStore('remote+s3');
    client = await store.client();
  }, 120_000);
  afterAll(() => store?.cleanup());

  it('deletes the objects of deleted versions from the bucket, keeps every live one, aborts abandoned uploads', async () => {
    const shared = randomBytes(100_000);
    const onlyOld = randomBytes(30 * 1024 * 1024); // a multipart upload
    const onlyNew = randomBytes(70_000);
    const run = await init({ project: 'gc', store: await store.open() });
    await run.logArtifact(
      new Artifact('net', 'model').addBytes('shared.bin', shared).addBytes('old.bin', onlyOld),
    );
    await run.logArtifact(
      new Artifact('net', 'model').addBytes('shared.bin', shared).addBytes('new.bin', onlyNew),
    );
    await run.finish();
    const bucket = store.s3!.bucket;
    const keys = async (prefix = '') => (await listBucket(s3!, bucket, prefix)).map((item) => item.key);
    expect(await keys('sha256/')).toEqual(
      expect.arrayContaining([keyOf(sha256(shared)), keyOf(sha256(onlyOld)), keyOf(sha256(onlyNew))]),
    );

    // Debris of a crashed writer: an upload never completed, a staging object of a dead process.
    const raw = s3Client(s3!);
    const abandonedKey = keyOf('f'.repeat(64));
    const created = await raw.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: abandonedKey }));
    await raw.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: abandonedKey,
        UploadId: created.UploadId!,
        PartNumber: 1,
        Body: randomBytes(5 * 1024 * 1024),
      }),
    );
    await raw.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'tmp/1-999999-deadbeef-000000000000',
        Body: randomBytes(1000),
      }),
    );

    await client.deleteVersion('tester/gc/net:v0', { force: true });
    // Within the grace period nothing goes.
    expect((await client.gc()).blobs).toBe(0);
    const report = await client.gc({ graceMs: 0 });
    expect(report.blobs).toBe(1);
    expect(report.bytes).toBe(onlyOld.length);
    expect(report.temporaries).toBeGreaterThanOrEqual(2);

    const after = await keys();
    expect(after).not.toContain(keyOf(sha256(onlyOld)));
    expect(after).toContain(keyOf(sha256(shared)));
    expect(after).toContain(keyOf(sha256(onlyNew)));
    // No trash, staging or reuse marks of the removed blob are left behind.
    expect(after.filter((key) => key.startsWith('trash/') || key.startsWith('tmp/'))).toEqual([]);
    expect(after).not.toContain(`touched/${sha256(onlyOld)}`);
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    raw.destroy();

    // The live version still downloads, verified, and the store verifies clean.
    const live = await client.artifact('tester/gc/net:v1');
    await live.download(`${store.dir}/download`);
    expect(readFileSync(`${store.dir}/download/shared.bin`).equals(shared)).toBe(true);
    expect(readFileSync(`${store.dir}/download/new.bin`).equals(onlyNew)).toBe(true);
    expect((await client.verify()).ok).toBe(true);
  });
});
