import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

// The SDK's notice about Node 22 would land in every test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * The real S3 server of the test command (Ceph RGW, started by `scripts/s3/with-rgw.sh`, which
 * exports `QUIVER_TEST_S3_*`). Outside the test command, start one with
 * `scripts/s3/rgw-start.sh /tmp/rgw-dev` and `set -a; . /tmp/rgw-dev/env`.
 */
export interface TestS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  otherAccessKey: string;
  otherSecretKey: string;
}

/** The test S3 server, or undefined when none runs — which fails under CI (the suite must run there). */
export function testS3(): TestS3 | undefined {
  const endpoint = process.env.QUIVER_TEST_S3_ENDPOINT;
  if (!endpoint) {
    if (process.env.CI)
      throw new Error(
        'CI runs the S3 suites: QUIVER_TEST_S3_ENDPOINT is not set (run tests through scripts/s3/with-rgw.sh).',
      );
    return undefined;
  }
  return {
    endpoint,
    accessKey: process.env.QUIVER_TEST_S3_ACCESS_KEY ?? '',
    secretKey: process.env.QUIVER_TEST_S3_SECRET_KEY ?? '',
    otherAccessKey: process.env.QUIVER_TEST_S3_OTHER_ACCESS_KEY ?? '',
    otherSecretKey: process.env.QUIVER_TEST_S3_OTHER_SECRET_KEY ?? '',
  };
}

/** A plain SDK client of the test server (the bucket's owner, or the other user). */
export function s3Client(s3: TestS3, who: 'owner' | 'other' = 'owner'): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials:
      who === 'owner'
        ? { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey }
        : { accessKeyId: s3.otherAccessKey, secretAccessKey: s3.otherSecretKey },
  });
}

/** The environment that points a store (or a server) at `bucket` of the test server. */
export function s3StoreEnv(s3: TestS3, bucket: string): Record<string, string> {
  return {
    QUIVER_S3_BUCKET: bucket,
    QUIVER_S3_ENDPOINT: s3.endpoint,
    QUIVER_S3_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** A new, empty bucket with a random name. */
export async function createBucket(s3: TestS3, prefix = 'quiver'): Promise<string> {
  const bucket = `${prefix}-${randomBytes(6).toString('hex')}`;
  const client = s3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return bucket;
}

/** Every key of a bucket (under `prefix`), with sizes. */
export async function listBucket(
  s3: TestS3,
  bucket: string,
  prefix = '',
): Promise<Array<{ key: string; size: number }>> {
  const client = s3Client(s3);
  const keys: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const item of page.Contents ?? []) keys.push({ key: item.Key!, size: Number(item.Size ?? 0) });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return keys;
}

/** Empties and deletes a bucket (aborting its multipart uploads). */
export async function deleteBucket(s3: TestS3, bucket: string): Promise<void> {
  const client = s3Client(s3);
  try {
    for (const { key } of await listBucket(s3, bucket))
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads.Uploads ?? [])
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! }),
      );
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // a test that failed half-way: the cluster's folder is removed at the end of the test command
  } finally {
    client.destroy();
  }
}

/** Makes `bucket` refuse (or accept again) every PutObject, by a bucket policy. */
export async function setWritesDenied(s3: TestS3, bucket: string, denied: boolean): Promise<void> {
  const { DeleteBucketPolicyCommand, PutBucketPolicyCommand } = await import('@aws-sdk/client-s3');
  const client = s3Client(s3);
  try {
    if (!denied) await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    else
      await client.send(
        new PutBucketPolicyCommand({
          Bucket: bucket,
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                Principal: '*',
                Action: ['s3:PutObject'],
                Resource: [`arn:aws:s3:::${bucket}/*`],
              },
            ],
          }),
        }),
      );
  } finally {
    client.destroy();
  }
}
