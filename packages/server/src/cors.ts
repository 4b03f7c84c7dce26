import cors from '@fastify/cors';
import { DIRECT_HEADER, ENTITY_HEADER, IDEMPOTENCY_HEADER, QuiverError, SIZE_HEADER } from '@quiver/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isHubPath } from './hub/hub-http.js';
import { CSRF_HEADER } from './web-ui.js';

/** The methods a page of an allowed origin may send. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;

/** The request headers a page of an allowed origin may send (besides the CORS-safelisted ones). */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  IDEMPOTENCY_HEADER,
  ENTITY_HEADER,
  CSRF_HEADER,
  SIZE_HEADER,
  DIRECT_HEADER,
  'range',
] as const;

/** The answer headers a page of an allowed origin may read (the client reads the sizes and dates of blobs). */
export const CORS_EXPOSED_HEADERS = [
  'content-length',
  'content-range',
  'content-disposition',
  'accept-ranges',
  'etag',
  'last-modified',
  'idempotent-replayed',
  'x-request-id',
] as const;

/** How long a browser may keep a preflight's answer. */
export const CORS_MAX_AGE_SECONDS = 600;

const EXAMPLES = 'e.g. http://127.0.0.1:5173 or https://train.example.com';

/**
 * One allowed origin, checked and normalised (host in lower case, default port dropped): exactly
 * `scheme://host[:port]` with http or https — no path (not even a trailing `/`), query, fragment,
 * `user:password@` or `*`. Anything else throws a {@link QuiverError} (`code`, default
 * `E_INVALID_OPTION`) that names `source` and says what to give.
 */
export function parseCorsOrigin(
  value: string,
  source = 'corsOrigins',
  code: 'E_INVALID_OPTION' | 'E_INVALID_ENV' = 'E_INVALID_OPTION',
): string {
  const refuse = (why: string) =>
    new QuiverError(
      code,
      `${source}: '${value}' ${why}. Give the exact origin of the page that calls the server, scheme://host[:port] with http or https and nothing after it (${EXAMPLES}).`,
      { details: { source, value } },
    );
  const text = String(value).trim();
  if (text === '') throw refuse('is empty');
  if (text.includes('*'))
    throw refuse('has a wildcard: the server lets allowed pages send credentials, so list each origin');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) throw refuse('has no scheme (start it with http:// or https://)');
  if (scheme !== 'http' && scheme !== 'https') throw refuse(`is not http or https (${scheme}://)`);
  const rest = text.slice(scheme.length + 3);
  if (rest.includes('@')) throw refuse('holds credentials (user:password@); an origin never does');
  if (/[/?#]/.test(rest)) throw refuse('has a path, query or fragment (a trailing / counts)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('is not a valid host[:port]');
  }
  if (url.hostname === '' || url.origin === 'null') throw refuse('has no host');
  return url.origin;
}

/** {@link parseCorsOrigin} for each of a list, without repeats. */
export function parseCorsOrigins(
  values: readonly string[],
  source = 'corsOrigins',
  code: 'E_INVALID_OPTION' | 'E_INVALID_ENV' = 'E_INVALID_OPTION',
): string[] {
  if (!Array.isArray(values))
    throw new QuiverError(code, `${source} is a list of origins (${EXAMPLES}).`, { details: { source } });
  return [...new Set(values.map((value) => parseCorsOrigin(value, source, code)))];
}

/**
 * The origins of `QUIVER_CORS_ORIGINS` (comma-separated), or undefined when it is unset or empty.
 * A value that is not an origin throws `E_INVALID_ENV`.
 */
export function corsOriginsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const value = env.QUIVER_CORS_ORIGINS;
  if (value === undefined || value.trim() === '') return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return parseCorsOrigins(items, 'QUIVER_CORS_ORIGINS', 'E_INVALID_ENV');
}

/** Where a request came from: no `Origin` (not a browser's cross-origin request), this server, an allowed origin, or another. */
export type OriginKind = 'none' | 'own' | 'allowed' | 'foreign';

/** The server's origin rules: its own origin (by the `Host` it was reached at) and the allowed ones. */
export class OriginPolicy {
  readonly allowed: ReadonlySet<string>;

  /** `origins` as {@link parseCorsOrigins} returns them. */
  constructor(origins: readonly string[] = []) {
    this.allowed = new Set(origins);
  }

  kindOf(request: FastifyRequest): OriginKind {
    const origin = request.headers.origin;
    if (origin === undefined) return 'none';
    if (typeof origin !== 'string') return 'foreign';
    if (this.allowed.has(origin)) return 'allowed';
    try {
      const host = String(request.headers.host ?? '').toLowerCase();
      return host !== '' && new URL(origin).host === host ? 'own' : 'foreign';
    } catch {
      // `null` (a sandboxed frame, a file, a redirect across origins) or garbage.
      return 'foreign';
    }
  }

  /** True for a request a page of another, not allowed, origin sent. */
  foreign(request: FastifyRequest): boolean {
    return this.kindOf(request) === 'foreign';
  }
}

const preflight = (request: FastifyRequest): boolean =>
  request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;

/**
 * The server's CORS policy, registered before authentication:
 *
 * - A request under `/api/` (any method) or a preflight with an `Origin` that is neither the
 *   server's own nor an allowed one is refused with 403 `E_FORBIDDEN` before any handler runs, so
 *   even a "simple" cross-origin POST (no preflight) writes nothing.
 * - A request from an allowed origin gets `Access-Control-Allow-Origin: <that origin>` and
 *   `Access-Control-Allow-Credentials: true`; its preflight the methods, headers and max-age.
 * - With allowed origins, every answer says `Vary: Origin` (so no cache hands one origin's answer
 *   to another); the Hub-compatible routes keep their own CORS (bearer tokens only, no cookies).
 */
export async function registerCors(app: FastifyInstance, policy: OriginPolicy): Promise<void> {
  // Refuse first, before the CORS headers and before authentication touches the database.
  app.addHook('onRequest', async (request) => {
    if (request.headers.origin === undefined) return;
    const pathname = request.url.split('?')[0]!;
    if (isHubPath(pathname)) return;
    const api = pathname.startsWith('/api/') || (request.routeOptions.url ?? '').startsWith('/api/');
    if (!(api || preflight(request)) || !policy.foreign(request)) return;
    const origin = String(request.headers.origin).slice(0, 200);
    throw new QuiverError(
      'E_FORBIDDEN',
      `This server does not answer pages of ${origin}: that is neither its own origin nor one it allows. A server admin can allow it with QUIVER_CORS_ORIGINS or 'quiver server start --cors-origin <origin>'.`,
      { details: { origin } },
    );
  });
  // No allowed origin: no CORS at all (and no preflight route).
  if (policy.allowed.size === 0) return;
  await app.register(cors, {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      const allowed =
        typeof origin === 'string' &&
        policy.kindOf(request) === 'allowed' &&
        !isHubPath(request.url.split('?')[0]!);
      callback(
        null,
        allowed
          ? {
              origin,
              credentials: true,
              methods: [...CORS_METHODS],
              allowedHeaders: [...CORS_ALLOWED_HEADERS],
              exposedHeaders: [...CORS_EXPOSED_HEADERS],
              maxAge: CORS_MAX_AGE_SECONDS,
              strictPreflight: true,
            }
          : { origin: false },
      );
    },
  });
}
