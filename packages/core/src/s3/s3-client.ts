import type { S3Client } from '@aws-sdk/client-s3';
import { QuiverError } from '../contract/errors.js';

/** Where an S3 (or S3-compatible) bucket is and how to reach it; credentials come from the AWS chain. */
export interface S3Location {
  bucket: string;
  /** An S3-compatible endpoint (Ceph RGW, MinIO, R2, GCS's interoperability endpoint); default: AWS. */
  endpoint?: string;
  /** Default `us-east-1` (what most S3-compatible servers expect). */
  region?: string;
  /** Keys under this prefix (`team-a/`), so several stores can share a bucket. */
  prefix?: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Reads `QUIVER_S3_BUCKET`, `QUIVER_S3_ENDPOINT`, `QUIVER_S3_REGION` and `QUIVER_S3_PREFIX`; undefined without a bucket. */
export function s3LocationFromEnv(env: NodeJS.ProcessEnv = process.env): S3Location | undefined {
  const bucket = env.QUIVER_S3_BUCKET?.trim();
  if (!bucket) {
    for (const name of ['QUIVER_S3_ENDPOINT', 'QUIVER_S3_PREFIX'])
      if (env[name]?.trim())
        throw new QuiverError(
          'E_INVALID_ENV',
          `${name} is set but QUIVER_S3_BUCKET is not; set the bucket too.`,
        );
    return undefined;
  }
  if (!BUCKET_NAME.test(bucket))
    throw new QuiverError(
      'E_INVALID_ENV',
      `QUIVER_S3_BUCKET='${bucket}' is not a bucket name (3–63 lowercase letters, digits, dots and dashes).`,
    );
  const endpoint = env.QUIVER_S3_ENDPOINT?.trim() || undefined;
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password)
      throw new QuiverError(
        'E_INVALID_ENV',
        'QUIVER_S3_ENDPOINT must be an http(s) URL without credentials (they come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE).',
      );
  }
  const prefix = normalizePrefix(env.QUIVER_S3_PREFIX ?? '');
  return {
    bucket,
    ...(endpoint ? { endpoint } : {}),
    region: env.QUIVER_S3_REGION?.trim() || env.AWS_REGION?.trim() || 'us-east-1',
    ...(prefix ? { prefix } : {}),
  };
}

/** `a/b` → `a/b/`; refuses `..`, empty segments and a leading `/`. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim();
  if (trimmed === '') return '';
  const body = trimmed.replace(/\/+$/, '');
  if (body.startsWith('/') || body.split('/').some((part) => part === '' || part === '.' || part === '..'))
    throw new QuiverError(
      'E_INVALID_ENV',
      `QUIVER_S3_PREFIX='${prefix}' is not a key prefix; use segments like 'team-a/models' (no '..', no leading '/').`,
    );
  return `${body}/`;
}

/** The bucket's URL (no secret in it), for messages. */
export function describeS3(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix ?? ''}`;
}

/**
 * An S3 client for AWS or an S3-compatible server: path-style addressing when an endpoint is
 * given, and checksums only where S3 requires them — RGW 16 answers the SDK's default streamed
 * CRC32 trailer with 411, and Quiver checks sha256 itself anyway. The SDK is loaded on first use,
 * so a store without S3 never pays for it.
 */
export async function createS3Client(location: Pick<S3Location, 'endpoint' | 'region'>): Promise<S3Client> {
  // The SDK warns on every process under Node 22 about its releases of 2027; Quiver says which Node it needs itself.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: location.region ?? 'us-east-1',
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
  });
}

/** The S3 error name (`NoSuchKey`, `NotFound`, …) or HTTP status of an SDK error. */
export function s3ErrorName(error: unknown): { name: string; status: number | undefined } {
  const value = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  return {
    name: typeof value?.Code === 'string' ? value.Code : typeof value?.name === 'string' ? value.name : '',
    status: value?.$metadata?.httpStatusCode,
  };
}

/** True for an answer that means the key (or version) is not there. */
export function isS3NotFound(error: unknown): boolean {
  const { name, status } = s3ErrorName(error);
  return status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchVersion';
}

/**
 * An SDK failure as a Quiver error that says what to do: missing credentials name the variables to
 * set, a refused key names the bucket, an unreachable endpoint says so. Never repeats a secret (the
 * SDK's messages hold none; the endpoint has no credentials by construction).
 */
export function s3Error(error: unknown, what: string, where: string): QuiverError {
  if (error instanceof QuiverError) return error;
  const { name, status } = s3ErrorName(error);
  const message = String((error as Error)?.message ?? error);
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(message))
    return new QuiverError(
      'E_INVALID_ENV',
      `${what}: no AWS credentials for ${where}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run where an instance role applies).`,
    );
  if (
    status === 403 ||
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch'
  )
    return new QuiverError(
      'E_PERMISSION_DENIED',
      `${what}: ${where} refused the credentials (${name || status}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy.`,
      { details: { s3: name || String(status) } },
    );
  if (name === 'NoSuchBucket')
    return new QuiverError('E_NOT_FOUND', `${what}: the bucket of ${where} does not exist; create it first.`);
  const code = (error as NodeJS.ErrnoException)?.code;
  if (
    status === undefined &&
    (code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'ECONNRESET' ||
      code === 'ETIMEDOUT' ||
      /socket|connect/i.test(message))
  )
    return new QuiverError(
      'E_UNAVAILABLE',
      `${what}: cannot reach ${where} (${code ?? message}); check QUIVER_S3_ENDPOINT and the network.`,
    );
  if (status !== undefined && status >= 500)
    return new QuiverError('E_UNAVAILABLE', `${what}: ${where} answered ${status} ${name}; try again.`);
  return new QuiverError('E_IO', `${what}: ${where} answered ${name || status || message}.`, {
    details: { s3: name || String(status ?? '') },
  });
}
