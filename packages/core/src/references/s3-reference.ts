import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { hashChunks, sha256Hex } from '../blobs/copy-and-hash.js';
import { QuiverError } from '../contract/errors.js';
import { mapLimited } from '../map-limited.js';
import { createS3Client, isS3NotFound, s3Error } from '../s3/s3-client.js';
import type { ExpandedReference, ReferenceHandler } from './reference-handler.js';

/** The most objects one prefix reference records unless `maxObjects` says otherwise. */
export const DEFAULT_MAX_OBJECTS = 10_000;

/** Google Cloud Storage's S3-compatible (XML API) endpoint, used for `gs://` with HMAC keys. */
const GCS_ENDPOINT = 'https://storage.googleapis.com';

/** An object named by an `s3://` (or `gs://`) reference: bucket, key, and what was pinned when it was logged. */
interface S3Object {
  scheme: 's3' | 'gs';
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  /** True when the entry's sha256 stands for the ETag, not the content (logged without `checksum`). */
  etagDigest: boolean;
}

function parse(uri: URL): S3Object {
  const scheme = uri.protocol === 'gs:' ? 'gs' : 's3';
  const bucket = uri.hostname;
  let key: string;
  try {
    key = decodeURIComponent(uri.pathname.replace(/^\//, ''));
  } catch {
    key = '';
  }
  if (!bucket || !/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(bucket))
    throw new QuiverError(
      'E_INVALID_REF',
      `'${uri.href}' names no bucket; write ${scheme}://<bucket>/<key or prefix/>.`,
    );
  const versionId = uri.searchParams.get('versionId') ?? undefined;
  const etag = uri.searchParams.get('etag') ?? undefined;
  return {
    scheme,
    bucket,
    key,
    ...(versionId ? { versionId } : {}),
    ...(etag ? { etag } : {}),
    etagDigest: uri.searchParams.get('digest') === 'etag',
  };
}

/** The URI of one object, with what was pinned (encoded so keys with `?`, `#` or spaces survive). */
function format(object: S3Object): string {
  const path = object.key.split('/').map(encodeURIComponent).join('/');
  const query = new URLSearchParams();
  if (object.versionId) query.set('versionId', object.versionId);
  if (object.etag) query.set('etag', object.etag);
  if (object.etagDigest) query.set('digest', 'etag');
  const text = query.toString();
  return `${object.scheme}://${object.bucket}/${path}${text ? `?${text}` : ''}`;
}

/** ETags as S3 sends them are quoted; RGW and AWS agree on the inner text. */
const bareEtag = (etag: string | undefined) => etag?.replace(/^W\//, '').replace(/^"|"$/g, '');

/** The digest an entry records when the content was not read: a stand-in for ETag, size and version. */
function etagDigest(etag: string, size: number, versionId: string | undefined): string {
  return sha256Hex(`quiver-s3-etag\0${etag}\0${size}\0${versionId ?? ''}`);
}

const clients = new Map<string, Promise<S3Client>>();

/**
 * The consumer's own client: the AWS credentials chain (`AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, an instance role), `AWS_REGION`, and for
 * S3-compatible servers `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`). `gs://` goes to Google's
 * S3-compatible endpoint (`QUIVER_GS_ENDPOINT` to change it) with HMAC keys as the credentials.
 */
function clientFor(scheme: 's3' | 'gs'): Promise<S3Client> {
  const endpoint =
    scheme === 'gs'
      ? (process.env.QUIVER_GS_ENDPOINT ?? GCS_ENDPOINT)
      : (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  const region =
    process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (scheme === 'gs' ? 'auto' : 'us-east-1');
  const cacheKey = `${scheme}\0${endpoint ?? ''}\0${region}\0${process.env.AWS_ACCESS_KEY_ID ?? ''}\0${process.env.AWS_PROFILE ?? ''}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = createS3Client({ ...(endpoint ? { endpoint } : {}), region });
    clients.set(cacheKey, client);
  }
  return client;
}

/** True unless the bucket says it never had versioning (asking may be refused: then assume it has). */
async function isVersioned(client: S3Client, bucket: string): Promise<boolean> {
  const { GetBucketVersioningCommand } = await import('@aws-sdk/client-s3');
  try {
    const answer = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    return answer.Status === 'Enabled' || answer.Status === 'Suspended';
  } catch {
    return true;
  }
}

function where(object: S3Object): string {
  return `${object.scheme}://${object.bucket}/${object.key}`;
}

async function headObject(object: S3Object) {
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await clientFor(object.scheme);
  return client.send(
    new HeadObjectCommand({
      Bucket: object.bucket,
      Key: object.key,
      ...(object.versionId ? { VersionId: object.versionId } : {}),
    }),
  );
}

async function getObject(object: S3Object) {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await clientFor(object.scheme);
  return client
    .send(
      new GetObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        ...(object.versionId ? { VersionId: object.versionId } : {}),
      }),
    )
    .catch((error: unknown) => {
      if (isS3NotFound(error))
        throw new QuiverError(
          'E_REFERENCE_FAILED',
          `The referenced object ${where(object)}${object.versionId ? ` (version ${object.versionId})` : ''} is gone from its bucket.`,
          { details: { uri: where(object) } },
        );
      throw s3Error(error, `Reading ${where(object)}`, where(object));
    });
}

/** What an entry records of one object: size, ETag, version id, and sha256 when asked (one read). */
async function describeObject(
  object: S3Object,
  facts: { size: number; etag: string | undefined; versionId: string | undefined },
  checksum: boolean,
): Promise<{ sha256: string; size: number; uri: string }> {
  const pinned: S3Object = {
    ...object,
    ...(facts.versionId && facts.versionId !== 'null' ? { versionId: facts.versionId } : {}),
    ...(facts.etag ? { etag: facts.etag } : {}),
    etagDigest: !checksum,
  };
  if (checksum) {
    const answer = await getObject(pinned);
    const digest = await hashChunks(answer.Body as Readable);
    return { ...digest, uri: format(pinned) };
  }
  if (!facts.etag)
    throw new QuiverError(
      'E_REFERENCE_FAILED',
      `${where(object)} has no ETag to pin; log it with { checksum: true } so its sha256 is recorded.`,
    );
  return {
    sha256: etagDigest(facts.etag, facts.size, pinned.versionId),
    size: facts.size,
    uri: format(pinned),
  };
}

/**
 * `s3://bucket/key` and `s3://bucket/prefix/` references (and `gs://` through Google's
 * S3-compatible endpoint): recorded with size, ETag and version id — and sha256 when `checksum`
 * is asked for, which reads each object once — never copied into Quiver's store. Downloads read
 * the bucket with the consumer's own credentials and check what was recorded. A prefix with
 * more objects than `maxObjects` is refused, never truncated.
 */
export const s3ReferenceHandler: ReferenceHandler = {
  schemes: ['s3', 'gs'],
  async describe(uri, options = {}) {
    const object = parse(uri);
    if (!object.key || object.key.endsWith('/'))
      throw new QuiverError('E_INVALID_REF', `${uri.href} names a prefix, not one object.`);
    let head: Awaited<ReturnType<typeof headObject>>;
    try {
      head = await headObject(object);
    } catch (error) {
      if (isS3NotFound(error))
        throw new QuiverError(
          'E_REFERENCE_FAILED',
          `There is no object ${where(object)}; check the bucket and key.`,
          {
            details: { uri: where(object) },
          },
        );
      throw s3Error(error, `Reading ${where(object)}`, where(object));
    }
    return describeObject(
      object,
      { size: Number(head.ContentLength ?? 0), etag: bareEtag(head.ETag), versionId: head.VersionId },
      options.checksum === true,
    );
  },

  async expand(uri, options) {
    const object = parse(uri);
    if (object.key !== '' && !object.key.endsWith('/')) return undefined;
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const client = await clientFor(object.scheme);
    const found: Array<{ key: string; size: number; etag: string | undefined }> = [];
    let token: string | undefined;
    do {
      const page = await client
        .send(
          new ListObjectsV2Command({
            Bucket: object.bucket,
            Prefix: object.key,
            // One more than allowed: enough to know the limit is passed, no more.
            MaxKeys: Math.min(1000, options.maxObjects + 1 - found.length),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        )
        .catch((error: unknown) => {
          throw s3Error(error, `Listing ${where(object)}`, where(object));
        });
      for (const item of page.Contents ?? [])
        if (item.Key !== undefined && !item.Key.endsWith('/'))
          found.push({ key: item.Key, size: Number(item.Size ?? 0), etag: bareEtag(item.ETag) });
      if (found.length > options.maxObjects)
        throw new QuiverError(
          'E_TOO_LARGE',
          `${where(object)} holds more than ${options.maxObjects} objects (maxObjects); nothing was logged. Raise maxObjects or reference a narrower prefix.`,
          { details: { uri: where(object), maxObjects: options.maxObjects } },
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (found.length === 0)
      throw new QuiverError(
        'E_REFERENCE_FAILED',
        `There are no objects under ${where(object)}; check the bucket and prefix.`,
        {
          details: { uri: where(object) },
        },
      );
    // A listing has no version ids: in a versioned bucket each object's current version is pinned by a HEAD.
    const versioned = await isVersioned(client, object.bucket);
    return mapLimited(found, 16, async (item): Promise<ExpandedReference> => {
      const child: S3Object = {
        scheme: object.scheme,
        bucket: object.bucket,
        key: item.key,
        etagDigest: false,
      };
      const head = versioned ? await headObject(child) : undefined;
      const described = await describeObject(
        child,
        {
          size: head ? Number(head.ContentLength ?? item.size) : item.size,
          etag: bareEtag(head?.ETag) ?? item.etag,
          versionId: head?.VersionId,
        },
        options.checksum === true,
      );
      return { path: item.key.slice(object.key.length), ...described };
    });
  },

  contentDigest(uri) {
    return !parse(uri).etagDigest;
  },

  async download(uri, target) {
    const object = parse(uri);
    const answer = await getObject(object);
    const etag = bareEtag(answer.ETag);
    if (object.etag && etag && etag !== object.etag) {
      (answer.Body as Readable).destroy();
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The referenced object ${where(object)} changed since it was logged (ETag ${object.etag}, now ${etag}).`,
        { details: { uri: where(object), expected: object.etag, actual: etag } },
      );
    }
    await pipeline(answer.Body as Readable, createWriteStream(target, { flags: 'wx' }));
  },
};
