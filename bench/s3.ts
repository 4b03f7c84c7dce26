/**
 * The S3 suite: a real `quiver server start` process with its blobs in a bucket of a real Ceph
 * RGW (one this suite installs if needed, starts in a scratch folder and stops afterwards),
 * against plain AWS SDK calls on the same RGW, alternating, in one run:
 *
 * 1. logging a 1 GiB file through Quiver (client → server → RGW, hashed on both sides) against a
 *    plain `@aws-sdk/lib-storage` multipart upload of the same file (its defaults), and (1b,
 *    information) against one with the server's own part size and parts in flight (8 MiB × 4);
 * 2. a verified get of it (`version.download`: the server redirects to a presigned GET, the client
 *    hashes while it writes) against a plain SDK `GetObject` piped to a file;
 * 3. re-logging it unchanged: the bytes that reach the bucket, and the server's socket reads;
 * 4. the server's peak RSS over all of that, and over a 1 GiB download streamed through it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { openStore } from '@quiver/core';
import type { Measurement } from './support/figures.js';
import { GiB, MiB, removeTree, writeRandomFile } from './support/files.js';
import { alternate, median, progress, timeAfterSync } from './support/measure.js';
import { startServer } from './support/server-process.js';
import { freshen, processFacts, timeGet, timeLog } from './support/transfers.js';

const ROUNDS = 3;
const MB = 1e6;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run$ = promisify(execFile);

/**
 * A fresh Ceph RGW in the scratch folder (stopped by `stop`): every run measures a cluster in the
 * same state, with its whole 20 GiB block file free.
 */
async function objectStore(
  scratch: string,
): Promise<{ endpoint: string; key: string; secret: string; stop(): Promise<void> }> {
  progress('starting a Ceph RGW (scripts/s3/rgw-start.sh)');
  await run$('bash', [join(ROOT, 'scripts/s3/rgw-install.sh')]);
  const data = join(scratch, 'rgw');
  const { stdout } = await run$('bash', [join(ROOT, 'scripts/s3/rgw-start.sh'), data, '7880']);
  const env = Object.fromEntries(
    readFileSync(join(data, 'env'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    endpoint: stdout.trim(),
    key: env.QUIVER_TEST_S3_ACCESS_KEY!,
    secret: env.QUIVER_TEST_S3_SECRET_KEY!,
    stop: async () => {
      await run$('bash', [join(ROOT, 'scripts/s3/rgw-stop.sh'), data]);
    },
  };
}

async function bucketBytes(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const item of page.Contents ?? []) total += Number(item.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return total;
}

/** Deletes every object (and open multipart upload) of the bucket, then the bucket. */
async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  const {
    AbortMultipartUploadCommand,
    DeleteBucketCommand,
    DeleteObjectCommand,
    ListMultipartUploadsCommand,
  } = await import('@aws-sdk/client-s3');
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    if (!page.Contents?.length) break;
    for (const item of page.Contents)
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: item.Key! }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? [])
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! }),
    );
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

export async function run(): Promise<Measurement[]> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-s3-'));
  const rgw = await objectStore(scratch);
  const s3 = new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: rgw.key, secretAccessKey: rgw.secret },
  });
  const bucket = `bench-${randomBytes(4).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const serverEnv = {
    QUIVER_S3_BUCKET: bucket,
    QUIVER_S3_ENDPOINT: rgw.endpoint,
    QUIVER_S3_PREFIX: 'quiver/',
    AWS_ACCESS_KEY_ID: rgw.key,
    AWS_SECRET_ACCESS_KEY: rgw.secret,
    QUIVER_SECRET_KEY: randomBytes(32).toString('hex'),
  };
  const server = await startServer(join(scratch, 'server'), serverEnv);
  const streaming = await startServer(join(scratch, 'server-streaming'), {
    ...serverEnv,
    QUIVER_S3_DIRECT_DOWNLOADS: 'off',
  });
  const remote = await openStore({ baseUrl: server.url, apiKey: server.key, dir: join(scratch, 'client') });
  const figures: Measurement[] = [];
  try {
    const file = join(scratch, 'big.bin');
    progress(`writing 1 GiB of random bytes to ${file}`);
    await writeRandomFile(file, GiB);
    const rssBefore = processFacts(server.process.pid!);

    progress('figure 1: logArtifact of 1 GiB through the server into RGW against a plain lib-storage upload');
    let ref = '';
    let plainRound = 0;
    const plainUpload = async (options: { queueSize?: number; partSize?: number }) => {
      freshen(file);
      const { seconds } = await timeAfterSync(async () => {
        const upload = new Upload({
          client: s3,
          ...options,
          params: { Bucket: bucket, Key: `plain/big-${plainRound++}`, Body: createReadStream(file) },
        });
        await upload.done();
      });
      return seconds;
    };
    const put = await alternate(ROUNDS, {
      plain: () => plainUpload({}),
      matched: () => plainUpload({ queueSize: 4, partSize: 8 * MiB }),
      quiver: async () => {
        freshen(file);
        const logged = await timeLog(remote, file, 'bench-s3');
        ref = logged.ref;
        return logged.seconds;
      },
    });
    figures.push({
      id: '1',
      name: 'log 1 GiB through Quiver into RGW (logArtifact: client hash, server hash + multipart)',
      value: median(put.quiver),
      unit: 's',
      baseline: {
        name: 'plain @aws-sdk/lib-storage Upload of the file (its defaults: 5 MiB parts × 4)',
        value: median(put.plain),
      },
      target: { kind: 'ratio', max: 1.2 },
      samples: { candidate: put.quiver, baseline: put.plain },
      notes: ['Each sample uploads new content (its first MiB rewritten), so nothing is deduplicated.'],
    });
    figures.push({
      id: '1b',
      name: 'the same log of 1 GiB, beside lib-storage with the server’s own part size and parts in flight',
      value: median(put.quiver),
      unit: 's',
      baseline: { name: 'lib-storage Upload, 8 MiB parts × 4 in flight', value: median(put.matched) },
      target: { kind: 'info' },
      samples: { candidate: put.quiver, baseline: put.matched },
    });

    progress('figure 2: verified get of 1 GiB (presigned redirect) against a plain GetObject to a file');
    const plainKey = `plain/big-${plainRound - 1}`;
    const get = await alternate(ROUNDS, {
      plain: async () => {
        const target = join(scratch, 'plain-get.bin');
        const { seconds } = await timeAfterSync(async () => {
          const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: plainKey }));
          await pipeline(answer.Body as NodeJS.ReadableStream, createWriteStream(target));
        });
        await removeTree(target);
        return seconds;
      },
      quiver: () => timeGet(remote, ref, join(scratch, 'get')),
    });
    figures.push({
      id: '2',
      name: 'verified get of 1 GiB (version.download: presigned GET, hashed while written)',
      value: median(get.quiver),
      unit: 's',
      baseline: { name: 'plain SDK GetObject piped to a file', value: median(get.plain) },
      target: { kind: 'ratio', max: 1.2 },
      samples: { candidate: get.quiver, baseline: get.plain },
    });

    progress('figure 3: re-logging the unchanged 1 GiB file');
    const storedBefore = await bucketBytes(s3, bucket, 'quiver/sha256/');
    const readBefore = processFacts(server.process.pid!).read;
    const again = await timeLog(remote, file, 'bench-s3');
    const readAfter = processFacts(server.process.pid!).read;
    const storedAfter = await bucketBytes(s3, bucket, 'quiver/sha256/');
    figures.push({
      id: '3',
      name: 'bytes uploaded when re-logging the unchanged 1 GiB file',
      value: (storedAfter - storedBefore) / MB,
      unit: 'MB',
      baseline: null,
      target: { kind: 'value', max: 0 },
      checks: [
        { name: 'the same version came back (deduplicated)', ok: again.ref === ref },
        { name: 'the server read under 1 MB from its sockets and files', ok: readAfter - readBefore < MB },
      ],
      notes: [
        `server rchar grew by ${((readAfter - readBefore) / 1024).toFixed(1)} KiB; re-log took ${again.seconds.toFixed(2)} s (the client's digest cache knew the unchanged file, and the server had its blob)`,
      ],
    });

    const peak = processFacts(server.process.pid!);
    figures.push({
      id: '4',
      name: 'server peak RSS over the 1 GiB uploads and gets above',
      value: peak.peak / MB,
      unit: 'MB',
      baseline: { name: 'server RSS before them', value: rssBefore.now / MB },
      target: { kind: 'value', max: 300 },
      notes: ['VmHWM of the server process over its whole life.'],
    });

    progress('figure 4b: a 1 GiB download streamed through a server (direct downloads off)');
    const streamingStore = await openStore({
      baseUrl: streaming.url,
      apiKey: streaming.key,
      dir: join(scratch, 'client-streaming'),
    });
    const { ref: streamedRef } = await timeLog(streamingStore, file, 'bench-s3');
    const streamedSeconds = await timeGet(streamingStore, streamedRef, join(scratch, 'get-streamed'));
    await streamingStore.close();
    const streamedPeak = processFacts(streaming.process.pid!);
    figures.push({
      id: '4b',
      name: 'peak RSS of a server that streamed a 1 GiB upload and download itself',
      value: streamedPeak.peak / MB,
      unit: 'MB',
      baseline: null,
      target: { kind: 'value', max: 300 },
      notes: [`the streamed download took ${streamedSeconds.toFixed(2)} s`],
    });
    await removeTree(file);
  } finally {
    await remote.close();
    await server.stop();
    await streaming.stop();
    await emptyBucket(s3, bucket).catch(() => undefined);
    s3.destroy();
    await rgw.stop();
    await removeTree(scratch);
  }
  return figures;
}
