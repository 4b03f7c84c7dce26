import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { API_PREFIX, type EmbeddedBackend, type Identity, QuiverError } from '@quiver/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { OriginPolicy } from './cors.js';

/** The cookie that holds a browser session's token (HttpOnly: no script can read it). */
export const SESSION_COOKIE = 'quiver_session';
/**
 * Its name behind HTTPS: the `__Host-` prefix makes the browser refuse one set by a sibling
 * subdomain or for a narrower path, so nobody can slip their own session under a user's.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
/** The header a cookie-authenticated write carries its CSRF token in. */
export const CSRF_HEADER = 'x-quiver-csrf';

/** The web UI's policy: only the app's own scripts run, and nothing frames it. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * `quiver ui`: a server on the loopback interface over a local store, with no accounts. Every
 * request acts as `actor` (an admin); writes still need the CSRF token (another site's page
 * cannot read it), and requests must name a loopback host (no DNS rebinding).
 */
export interface LocalMode {
  actor: string;
  entity: string;
}

/** The cookies of a request, by name (the first of each name wins). */
export function cookiesOf(request: FastifyRequest): Map<string, string> {
  const cookies = new Map<string, string>();
  const header = request.headers.cookie;
  if (typeof header !== 'string') return cookies;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(at + 1).trim());
  }
  return cookies;
}

/** The CSRF token of a session: derived from its token, so it can be handed out again after a reload. */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`quiver-csrf\u0000${sessionToken}`).digest('base64url');
}

function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when the request's Host is a loopback name (`quiver ui` answers no other). */
function loopbackHost(request: FastifyRequest): boolean {
  const host = String(request.headers.host ?? '').toLowerCase();
  return /^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/.test(host);
}

/**
 * A write from a page of another origin (the Origin header, which browsers always send on writes)
 * is refused, unless the server allows that origin (`corsOrigins`).
 */
function crossOrigin(request: FastifyRequest, origins: OriginPolicy): boolean {
  return origins.foreign(request);
}

function csrfRefusal(): QuiverError {
  return new QuiverError(
    'E_FORBIDDEN',
    `A write signed in by the session cookie must carry the session's CSRF token in ${CSRF_HEADER}; reload the page and try again.`,
  );
}

/**
 * Authenticates a request that came without an API key: the local identity under `quiver ui`,
 * else the session cookie. Writes so authenticated must carry the CSRF token and come from this
 * origin. Returns undefined when the request has neither (the caller asks for a key).
 */
export async function identityWithoutKey(
  request: FastifyRequest,
  backend: EmbeddedBackend,
  local: (LocalMode & { csrfToken: string }) | undefined,
  origins: OriginPolicy,
): Promise<Identity | undefined> {
  const write = !SAFE_METHODS.has(request.method);
  if (local) {
    if (!loopbackHost(request))
      throw new QuiverError('E_FORBIDDEN', 'quiver ui answers only at 127.0.0.1 or localhost.');
    if (write && (crossOrigin(request, origins) || !sameToken(request.headers[CSRF_HEADER], local.csrfToken)))
      throw csrfRefusal();
    return {
      actor: local.actor,
      entity: local.entity,
      admin: true,
      memberships: [{ entity: local.entity, role: 'admin' }],
    };
  }
  const token = sessionTokenOf(request);
  if (token === undefined || token === '') return undefined;
  const identity = await backend.accounts.authenticateSession(token);
  if (!identity)
    throw new QuiverError(
      'E_UNAUTHORIZED',
      'Your session has ended (signed out, expired or revoked); sign in again.',
    );
  if (
    write &&
    (crossOrigin(request, origins) || !sameToken(request.headers[CSRF_HEADER], csrfTokenOf(token)))
  )
    throw csrfRefusal();
  return identity;
}

const signInBody = z.union([
  z.strictObject({ apiKey: z.string().min(1).max(200) }),
  z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) }),
]);

function secure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

/** The session token a request carries: the `__Host-` cookie behind HTTPS, else the plain one. */
function sessionTokenOf(request: FastifyRequest): string | undefined {
  const cookies = cookiesOf(request);
  return secure(request) ? cookies.get(SECURE_SESSION_COOKIE) : cookies.get(SESSION_COOKIE);
}

function sessionCookie(request: FastifyRequest, token: string, maxAgeSeconds: number): string {
  return [
    `${secure(request) ? SECURE_SESSION_COOKIE : SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure(request) ? ['Secure'] : []),
  ].join('; ');
}

/**
 * The session routes: `GET /session` (who is signed in, and the CSRF token for writes),
 * `POST /session` (sign in with an API key or a user name and password: sets the HttpOnly
 * cookie) and `POST /session/end` (sign out).
 */
export function registerSessionRoutes(
  app: FastifyInstance,
  backend: EmbeddedBackend,
  local: (LocalMode & { csrfToken: string }) | undefined,
  origins: OriginPolicy,
): void {
  const describe = (identity: Identity, csrfToken: string) => ({
    ...identity,
    csrfToken,
    mode: local ? ('local' as const) : ('team' as const),
  });
  app.get(`${API_PREFIX}/session`, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (local) return describe(request.identity!, local.csrfToken);
    const token = sessionTokenOf(request);
    if (token === undefined)
      // Signed in with an API key, not a session: there is no cookie to protect.
      throw new QuiverError(
        'E_UNAUTHORIZED',
        'Not signed in: POST /api/v1/session with an API key or a password.',
      );
    return describe(request.identity!, csrfTokenOf(token));
  });
  app.post(`${API_PREFIX}/session`, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (local) return describe(request.identity!, local.csrfToken);
    if (crossOrigin(request, origins))
      throw new QuiverError(
        'E_FORBIDDEN',
        'Sign in from the Quiver page itself (or a page of an origin the server allows), not from another site.',
      );
    const parsed = signInBody.safeParse(request.body ?? {});
    if (!parsed.success)
      throw new QuiverError(
        'E_INVALID_REQUEST',
        'Send {"apiKey": "qvr_…"} or {"username": "…", "password": "…"}.',
      );
    const session = await backend.accounts.startSession(parsed.data);
    const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
    void reply.header('set-cookie', sessionCookie(request, session.token, maxAge));
    return describe(session.identity, csrfTokenOf(session.token));
  });
  app.post(`${API_PREFIX}/session/end`, async (request, reply) => {
    if (!local) {
      const token = sessionTokenOf(request);
      if (token !== undefined) await backend.accounts.endSession(token);
      void reply.header('set-cookie', sessionCookie(request, '', 0));
    }
    return reply.status(204).send();
  });
}

/** True for the path of the sign-in route (it authenticates itself). */
export const isSignInRoute = (method: string, pathname: string): boolean =>
  method === 'POST' && pathname === `${API_PREFIX}/session`;

// ---- the app's files --------------------------------------------------------------------------

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface StaticFile {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
  immutable: boolean;
}

/** The folder the UI's build is in (`@quiver/ui`'s dist), or undefined when the package is absent. */
export function defaultUiDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@quiver/ui/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

/** Every file of the build, read once at start: the server serves these and nothing else from disk. */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      const stats = statSync(path);
      if (stats.isDirectory()) walk(path);
      else if (stats.isFile() && stats.size < 20 * 1024 * 1024) {
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        const url = `/${relative(dir, path).split(sep).join('/')}`;
        files.set(url, {
          type,
          body,
          gzip:
            /^(text|application\/json|image\/svg)/.test(type) && body.length > 1024
              ? gzipSync(body)
              : undefined,
          etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
          immutable: url.startsWith('/assets/'),
        });
      }
    }
  };
  walk(dir);
  return files;
}

function notBuiltPage(dir: string): StaticFile {
  const body = Buffer.from(
    `<!doctype html><meta charset="utf-8"><title>Quiver</title><body style="font-family:system-ui;padding:2rem">` +
      `<h1>The web UI is not built</h1><p>Build it with <code>pnpm --filter @quiver/ui build</code> ` +
      `(it goes to <code>${dir.replace(/[<>&]/g, '')}</code>), then restart the server. The API is at <code>${API_PREFIX}</code>.</p>`,
  );
  return { type: TYPES['.html']!, body, gzip: undefined, etag: '"not-built"', immutable: false };
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  void reply
    .header('content-type', file.type)
    .header('etag', file.etag)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (file.type.startsWith('text/html'))
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-frame-options', 'DENY');
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (file.gzip && acceptsGzip) {
    void reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding');
    return reply.send(file.gzip);
  }
  return reply.send(file.body);
}

/** The app's own pages (it routes them itself): each is answered with `index.html`. */
const PAGE = /^\/(?:signin|projects(?:\/[^/]+)+|registry(?:\/[^/]+)*)?$/;

/**
 * The single-page app: its files by exact path (read at start, so no request reaches the file
 * system) and `index.html` for the app's pages (`/`, `/signin`, `/projects/…`, `/registry/…`).
 * Nothing else is answered here, so every other path still needs a key.
 */
export class WebUi {
  private readonly files: Map<string, StaticFile>;
  private readonly index: StaticFile;

  constructor(dir: string) {
    const built = existsSync(join(dir, 'index.html'));
    this.files = built ? loadFiles(dir) : new Map<string, StaticFile>();
    this.index = this.files.get('/index.html') ?? notBuiltPage(dir);
  }

  /** True for a path this serves without a key: a file of the build or a page of the app. */
  serves(method: string, pathname: string): boolean {
    return (method === 'GET' || method === 'HEAD') && (this.files.has(pathname) || PAGE.test(pathname));
  }

  register(app: FastifyInstance): void {
    for (const [path, file] of this.files)
      if (path !== '/index.html') app.get(path, async (request, reply) => send(request, reply, file));
    const page = async (request: FastifyRequest, reply: FastifyReply) => send(request, reply, this.index);
    for (const path of ['/', '/signin', '/projects/*', '/registry', '/registry/*']) app.get(path, page);
  }
}

/** A CSRF token for a `quiver ui` server's lifetime. */
export const newLocalCsrfToken = (): string => randomBytes(32).toString('base64url');
