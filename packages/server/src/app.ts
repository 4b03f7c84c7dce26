import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  API_PREFIX,
  DIRECT_HEADER,
  type EmbeddedBackend,
  ENTITY_HEADER,
  httpStatusOf,
  IDEMPOTENCY_HEADER,
  type Identity,
  isQuiverError,
  type LineageGraph,
  type LineageNode,
  QuiverError,
  type QuiverEvent,
  SIZE_HEADER,
  type WireRequest,
  wireOperations,
} from '@quiver/core';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { z } from 'zod';
import { registerAdminRoutes } from './admin-routes.js';
import { FORCE_BY_ROLE, needsOf, notFound, requireRole, roleIn } from './authorize.js';
import { registerAutomationRoutes } from './automation-routes.js';
import { OriginPolicy, parseCorsOrigins, registerCors } from './cors.js';
import { counted, parseRange } from './http-bodies.js';
import { isHubPath } from './hub/hub-http.js';
import { type HubRouteOptions, registerHubRoutes } from './hub/hub-routes.js';
import { openApiDocument } from './openapi.js';
import {
  defaultUiDir,
  identityWithoutKey,
  isSignInRoute,
  type LocalMode,
  newLocalCsrfToken,
  registerSessionRoutes,
  WebUi,
} from './web-ui.js';
import { EgressPolicy, type Resolver } from './webhooks/egress.js';
import { type RelayOptions, WebhookRelay } from './webhooks/relay.js';

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** The embedded backend the server runs for every request (bound to the caller per request). */
  backend: EmbeddedBackend;
  /** pino options, or false for no logs (tests). Default: JSON logs at `info`. */
  logger?:
    | boolean
    | {
        level?: string /** Where the JSON lines go (default stdout). */;
        stream?: { write(line: string): void };
      };
  /** The largest JSON body (default 64 MiB: a commit of 100,000 entries fits). */
  bodyLimit?: number;
  /** The largest blob one upload may hold (default 1 TiB). */
  maxBlobBytes?: number;
  /**
   * When the blob store can presign (S3), a download that asks for it (`x-quiver-direct: 1`) is
   * answered with a redirect to a URL of the bucket valid this long, so bytes skip the server.
   * 0 streams every download through the server. Default 900 s.
   */
  directDownloadSeconds?: number;
  /**
   * Webhook delivery: where webhooks may go (`allow`: addresses or CIDR ranges reachable despite
   * being private or loopback) and how the relay retries; `false` runs no relay in this process
   * (the outbox waits for one that does). Default: a relay with the defaults of {@link RelayOptions}.
   */
  webhooks?: false | (RelayOptions & { allow?: readonly string[]; resolve?: Resolver });
  /** The Hub-compatible routes' transfer settings (multipart threshold and part size). */
  hub?: Pick<HubRouteOptions, 'multipartThreshold' | 'partSize' | 'maxFormBytes'>;
  /**
   * The web UI at `/`: served from `dir` (default: the build of `@quiver/ui`); `false` serves
   * none (the API only). Default: served.
   */
  ui?: false | { dir?: string };
  /**
   * `quiver ui`: no accounts; every request from a loopback host acts as this user, an admin.
   * Never set on a server others reach.
   */
  local?: LocalMode;
  /**
   * The origins (exactly `scheme://host[:port]`, http or https, no `*`) whose pages may call the
   * API from a browser: CORS with credentials, and cookie sessions (sign-in and CSRF-checked
   * writes) as from the server's own pages. A request under `/api/` that carries any other
   * `Origin` but the server's own is refused (403). Default: none.
   */
  corsOrigins?: readonly string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the server registered (method and URL pattern). */
    quiverRoutes: Array<{ method: string; url: string }>;
  }
  interface FastifyRequest {
    identity?: Identity;
    /** The entity the request acts in by default (the `x-quiver-entity` header, else the user's own). */
    entity?: string;
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The routes that answer without a key: liveness, readiness and the API's description. */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', `${API_PREFIX}/openapi.json`]);

/** How long `/readyz` waits for the database before it says the server is not ready. */
const READY_TIMEOUT_MS = 1000;

/** How many resolved refs the server keeps (all are dropped when it is full). */
const RESOLVE_CACHE_SIZE = 10_000;

/** How long a consumer's claimed batch stays its own before it is handed out again. */
const CONSUMER_LEASE_MS = 5 * 60_000;

function wireError(error: QuiverError): { code: string; message: string; details: Record<string, unknown> } {
  return { code: error.code, message: error.message, details: error.details };
}

/** Fastify's own errors (parsing, limits, routing) as the contract's codes. */
function fromFastify(error: FastifyError): QuiverError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new QuiverError('E_TOO_LARGE', 'The request body is larger than this server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new QuiverError(
        'E_UNSUPPORTED_MEDIA_TYPE',
        'This route takes a JSON body: send it with Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new QuiverError('E_INVALID_REQUEST', 'The request says it has a JSON body but sent none.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new QuiverError(
        'E_INVALID_REQUEST',
        'The body is shorter or longer than its Content-Length says.',
      );
    default:
      if (error instanceof SyntaxError || error.statusCode === 400)
        return new QuiverError('E_INVALID_REQUEST', `The request body is not valid JSON (${error.message}).`);
      if (error.statusCode === 413) return new QuiverError('E_TOO_LARGE', error.message);
      if (error.statusCode === 415)
        return new QuiverError('E_UNSUPPORTED_MEDIA_TYPE', 'This route does not take that Content-Type.');
      return new QuiverError('E_INTERNAL', 'The server failed on this request; its log has the details.');
  }
}

/** A URL as logged: keys (`qvr_…`), signed upload tickets and the values of key-, token- or secret-like parameters masked. */
export function scrubUrl(url: string): string {
  const masked = url
    .replace(/qvr_[A-Za-z0-9_-]+/g, 'qvr_***')
    // The signed upload and read URLs of the Hub routes.
    .replace(/(\/(?:lfs|~read)\/)[^/?]+/g, '$1***');
  return masked.replace(/([?&][^=&]*(?:key|token|secret|password|auth)[^=&]*=)[^&]*/gi, '$1***');
}

/** The request's idempotency key, if it sent one (1–200 letters, digits and `._:-`). */
function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers[IDEMPOTENCY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9._:-]{1,200}$/.test(value))
    throw new QuiverError(
      'E_INVALID_REQUEST',
      'An Idempotency-Key is 1–200 letters, digits, ., _, : or - (a UUID will do).',
    );
  return value;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

/**
 * The team server as a fastify app: every operation of the wire table, the event log, blobs,
 * `/whoami`, `/healthz`, `/readyz` and the OpenAPI document. Each request is authenticated by its
 * API key, bound to its user and entity, and checked against the role each entity it touches
 * needs before the backend runs it.
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { backend } = options;
  const maxBlobBytes = options.maxBlobBytes ?? 2 ** 40;
  const directSeconds = options.directDownloadSeconds ?? 900;
  const origins = new OriginPolicy(parseCorsOrigins(options.corsOrigins ?? []));
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: (typeof options.logger === 'object' && options.logger.level) || 'info',
            // Keys, cookies and CSRF tokens never reach a log line (the req serializer below logs no
            // headers at all; these catch a header object logged by hand).
            redact: [
              'req.headers.authorization',
              'req.headers.cookie',
              'req.headers["x-api-key"]',
              'req.headers["x-quiver-csrf"]',
              'req.headers["proxy-authorization"]',
              'res.headers["set-cookie"]',
              'headers.authorization',
              'headers.cookie',
              'headers["set-cookie"]',
            ],
            serializers: {
              req: (request: { method: string; url: string; host?: string; ip?: string }) => ({
                method: request.method,
                url: scrubUrl(request.url),
                host: request.host,
                remoteAddress: request.ip,
              }),
            },
            ...(typeof options.logger === 'object' && options.logger.stream
              ? { stream: options.logger.stream }
              : {}),
          },
    bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
  });

  // JSON only (and octet-stream on the blob route): a text/plain body is refused, not parsed.
  app.removeContentTypeParser('text/plain');

  // Every route as registered, for the authorization suite (a route added later cannot escape it).
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  app.decorate('quiverRoutes', routes);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const quiver = isQuiverError(error) ? error : fromFastify(error);
    const status = httpStatusOf(quiver.code);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).header('content-type', 'application/json').send(wireError(quiver));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new QuiverError(
      'E_NOT_FOUND',
      `No route ${request.method} ${request.url.split('?')[0]} on this server.`,
    );
    void reply.status(404).send(wireError(error));
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  const local = options.local ? { ...options.local, csrfToken: newLocalCsrfToken() } : undefined;
  const uiDir = options.ui === false ? undefined : (options.ui?.dir ?? defaultUiDir());
  const ui = uiDir === undefined ? undefined : new WebUi(uiDir);

  // Cross-origin requests: refused unless from an allowed origin (before authentication runs).
  await registerCors(app, origins);

  // Authentication, for everything under the API prefix.
  app.addHook('onRequest', async (request) => {
    // Everything needs a key but these (matched exactly, so no spelling of a path slips past).
    const pathname = request.url.split('?')[0]!;
    if (PUBLIC_PATHS.has(pathname)) return;
    // The Hub-compatible routes authenticate themselves (Hub tokens, signed upload URLs).
    if (isHubPath(pathname)) return;
    // The web UI's own files and pages are public; what it shows comes from the API, which is not.
    if (ui?.serves(request.method, pathname)) return;
    if (isSignInRoute(request.method, pathname) && !local) return;
    const key = local ? undefined : bearer(request);
    // Without a key: `quiver ui`'s local user, or a browser's session cookie.
    const identity =
      key === undefined
        ? await identityWithoutKey(request, backend, local, origins)
        : await backend.accounts.authenticate(key);
    if (identity === undefined && key === undefined)
      throw new QuiverError(
        'E_UNAUTHORIZED',
        "This server needs an API key: send 'Authorization: Bearer <key>' (set QUIVER_API_KEY, or run 'quiver login').",
      );
    if (!identity)
      throw new QuiverError(
        'E_UNAUTHORIZED',
        "The API key is not valid (unknown or revoked). Ask an admin for a new one ('quiver server key create').",
      );
    request.identity = identity;
    const asked = request.headers[ENTITY_HEADER];
    const entity = typeof asked === 'string' && asked !== '' ? asked : identity.entity;
    if (roleIn(identity, entity) === undefined) throw notFound(entity);
    request.entity = entity;
  });

  const resolved = new Map<string, { head: number; body: string }>();
  const forRequest = (request: FastifyRequest): EmbeddedBackend =>
    backend.withPrincipal({ actor: request.identity!.actor, entity: request.entity! });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    try {
      // The database's own retries would wait out an outage; readiness answers within a second.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        backend.accounts.empty(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 1 s')), READY_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      return { ok: true };
    } catch {
      return reply
        .status(503)
        .send(wireError(new QuiverError('E_UNAVAILABLE', 'The database is not reachable.')));
    }
  });
  app.get(`${API_PREFIX}/openapi.json`, async () => openApiDocument());
  app.get(`${API_PREFIX}/whoami`, async (request) => ({ ...request.identity!, entity: request.entity! }));

  for (const { api, method, operation } of wireOperations()) {
    app.route({
      method: operation.verb,
      url: `${API_PREFIX}${operation.path}`,
      config: { operation: `${api}.${method}` },
      handler: async (request, reply) => {
        const raw = operation.verb === 'GET' ? request.query : request.body;
        const parsed = operation.input.safeParse(raw ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new QuiverError(
            'E_INVALID_REQUEST',
            `Invalid request to ${operation.verb} ${operation.path}: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'malformed'}.`,
            {
              details: {
                issues: parsed.error.issues
                  .slice(0, 10)
                  .map((i) => ({ path: i.path.join('.'), message: i.message })),
              },
            },
          );
        }
        const wire: WireRequest = {
          params: request.params as Record<string, string>,
          query: operation.verb === 'GET' ? (parsed.data as Record<string, string>) : {},
          body: operation.verb === 'GET' ? undefined : parsed.data,
        };
        const args = operation.decode(wire);
        const identity = request.identity!;
        if (api === 'maintenance' && !identity.admin)
          throw new QuiverError('E_FORBIDDEN', 'Store maintenance (verify, gc) is for server admins.');
        const needs = await needsOf(backend, api, method, args, request.entity!, operation.role);
        for (const need of needs) requireRole(identity, need.entity, need.role);
        const forceAt = FORCE_BY_ROLE[`${api}.${method}`];
        if (forceAt !== undefined && (args[forceAt] as { force?: boolean } | undefined)?.force) {
          // Protected aliases: only an admin of the registry's entity may force a change to one.
          const primary = needs[needs.length - 1]!.entity;
          if (roleIn(identity, primary) !== 'admin')
            throw new QuiverError(
              'E_FORBIDDEN',
              `Only admins of '${primary}' may set, move or remove its protected aliases (such as production).`,
              { details: { entity: primary } },
            );
        }
        if (api === 'artifacts' && method === 'commit') {
          // A client that skipped an upload hears so, rather than about a concurrent gc.
          const manifest = (args[0] as { manifest: Array<{ sha256: string; size: number; ref?: string }> })
            .manifest;
          const missing = await backend.blobs.missing(manifest.filter((entry) => entry.ref === undefined));
          if (missing.length > 0)
            throw new QuiverError(
              'E_INVALID_REQUEST',
              `${missing.length} blob(s) of this manifest are not on the server; upload each first (PUT ${API_PREFIX}/blobs/<sha256>). Nothing was committed.`,
              { details: { missing: missing.slice(0, 10) } },
            );
        }
        if (api === 'artifacts' && method === 'missingBlobs') {
          // Blobs a commit will rely on get a fresh time, so a gc within its grace leaves them.
          const asked = args[0] as Array<{ sha256: string; size: number }>;
          const missing = await backend.blobs.missing(asked);
          const absent = new Set(missing);
          for (const blob of asked) if (!absent.has(blob.sha256)) await backend.blobs.touch(blob.sha256);
          return reply.header('content-type', 'application/json').send(JSON.stringify(missing));
        }
        if (api === 'artifacts' && method === 'resolve') {
          // The hottest read (every consumer resolving `production`): answers are kept, each with
          // the event log's head it was computed at, and reused while the head has not moved.
          const key = `${request.entity!}\u0000${args[0] as string}`;
          const head = await backend.eventHead();
          const cached = resolved.get(key);
          if (cached?.head === head)
            return reply.header('content-type', 'application/json').send(cached.body);
          const body = JSON.stringify(await forRequest(request).artifacts.resolve(args[0] as string));
          if (resolved.size >= RESOLVE_CACHE_SIZE) resolved.clear();
          resolved.set(key, { head, body });
          return reply.header('content-type', 'application/json').send(body);
        }
        const target = forRequest(request)[api] as unknown as Record<
          string,
          (...a: unknown[]) => Promise<unknown>
        >;
        // A write sent with an idempotency key is answered once; a retry of it gets that answer.
        const idempotencyKey = operation.verb === 'GET' ? undefined : idempotencyKeyOf(request);
        const fingerprint =
          idempotencyKey === undefined
            ? ''
            : createHash('sha256')
                .update(JSON.stringify([`${api}.${method}`, request.entity, request.params, parsed.data]))
                .digest('hex');
        if (idempotencyKey !== undefined) {
          const earlier = await backend.idempotentAnswer(identity.actor, idempotencyKey);
          if (earlier !== undefined) {
            if (earlier.fingerprint !== fingerprint)
              throw new QuiverError(
                'E_IDEMPOTENCY_KEY_REUSED',
                `This Idempotency-Key already answered a different request; send a new key for a new request.`,
              );
            reply.header('idempotent-replayed', 'true');
            if (earlier.status === 204) return reply.status(204).send();
            return reply.header('content-type', 'application/json').send(earlier.response);
          }
        }
        let result = await target[method]!(...args);
        if (api === 'artifacts' && method === 'lineage')
          result = visibleLineage(result as LineageGraph, identity);
        const response = result === undefined ? '' : JSON.stringify(result);
        if (idempotencyKey !== undefined)
          await backend.rememberAnswer(identity.actor, idempotencyKey, {
            fingerprint,
            status: result === undefined ? 204 : 200,
            response,
          });
        if (result === undefined) return reply.status(204).send();
        return reply.header('content-type', 'application/json').send(response);
      },
    });
  }

  registerAdminRoutes(app, backend);
  registerSessionRoutes(app, backend, local, origins);
  ui?.register(app);
  await registerHubRoutes(app, backend, { maxBlobBytes, ...options.hub });

  const webhooks = options.webhooks === false ? undefined : (options.webhooks ?? {});
  const egress = new EgressPolicy({
    ...(webhooks?.allow ? { allow: webhooks.allow } : {}),
    ...(webhooks?.resolve ? { resolve: webhooks.resolve } : {}),
  });
  registerAutomationRoutes(app, backend, egress);
  if (webhooks) {
    const relay = new WebhookRelay(backend.automations, egress, app.log, webhooks, () =>
      backend.sweepCrashedRuns(),
    );
    app.addHook('onReady', async () => relay.start());
    app.addHook('onClose', async () => relay.stop());
  }

  app.get(`${API_PREFIX}/events`, async (request) => {
    const query = request.query as Record<string, unknown>;
    const topic = query.topic;
    if (topic !== undefined && topic !== 'registry' && topic !== 'artifacts' && topic !== 'runs')
      throw new QuiverError('E_INVALID_REQUEST', 'topic is one of registry, artifacts, runs.');
    const after = query.after === undefined ? 0 : Number(query.after);
    const limit = query.limit === undefined ? 1000 : Number(query.limit);
    if (!Number.isSafeInteger(after) || after < 0)
      throw new QuiverError('E_INVALID_REQUEST', 'after is a whole number ≥ 0.');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
      throw new QuiverError('E_INVALID_REQUEST', 'limit is a whole number from 1 to 10000.');
    const identity = request.identity!;
    // Only events of entities the user can read; read on past others' so a page is empty only at the end.
    const visible: QuiverEvent[] = [];
    let cursor = after;
    for (;;) {
      const batch = await backend.events.read({ after: cursor, limit, ...(topic ? { topic } : {}) });
      for (const event of batch) if (roleIn(identity, event.entity) !== undefined) visible.push(event);
      if (batch.length < limit || visible.length >= limit) break;
      const last = batch[batch.length - 1]!;
      cursor = topic ? last.sequence : last.position;
    }
    return visible.slice(0, limit);
  });

  // Named consumers over HTTP: claim a batch under a lease, then acknowledge or release it. A
  // consumer's name is scoped to the entity it consumes for, and it sees that entity's events only.
  const consumerBody = z.strictObject({
    topic: z.enum(['registry', 'artifacts', 'runs']).optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
    lease: z.string().max(100).optional(),
  });
  const consumerKey = (request: FastifyRequest<{ Params: { consumer: string } }>): string => {
    const name = request.params.consumer;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name))
      throw new QuiverError('E_INVALID_NAME', 'A consumer name is 1–100 letters, digits, ., _ or -.');
    return `${request.entity!}:${name}`;
  };
  const parseConsumer = (value: unknown) => {
    const parsed = consumerBody.safeParse(value ?? {});
    if (!parsed.success)
      throw new QuiverError(
        'E_INVALID_REQUEST',
        `Invalid consumer request: ${parsed.error.issues[0]?.message}.`,
      );
    return parsed.data;
  };
  app.post<{ Params: { consumer: string } }>(
    `${API_PREFIX}/events/consumers/:consumer/claim`,
    async (request) => {
      requireRole(request.identity!, request.entity!, 'member');
      const key = consumerKey(request);
      const body = parseConsumer(request.body);
      for (;;) {
        const claim = await backend.claimEvents(key, { ...body, leaseMs: CONSUMER_LEASE_MS });
        if (claim.lease === null) return { events: [], lease: null, busy: claim.busy };
        const events = claim.events.filter((event) => event.entity === request.entity);
        if (events.length > 0) return { events, lease: claim.lease, busy: false };
        // A batch of other entities' events only: past it, and on to the next.
        await backend.endEventLease(key, body.topic, claim.lease, 'ack');
      }
    },
  );
  for (const outcome of ['ack', 'release'] as const) {
    app.post<{ Params: { consumer: string } }>(
      `${API_PREFIX}/events/consumers/:consumer/${outcome}`,
      async (request) => {
        requireRole(request.identity!, request.entity!, 'member');
        const body = parseConsumer(request.body);
        if (!body.lease) throw new QuiverError('E_INVALID_REQUEST', 'Send the lease token the claim gave.');
        return backend.endEventLease(consumerKey(request), body.topic, body.lease, outcome);
      },
    );
  }
  app.get<{ Params: { consumer: string } }>(`${API_PREFIX}/events/consumers/:consumer`, async (request) => {
    requireRole(request.identity!, request.entity!, 'viewer');
    const query = request.query as { topic?: string };
    const topic = query.topic === undefined ? undefined : parseConsumer({ topic: query.topic }).topic;
    return backend.consumerCursor(consumerKey(request), topic);
  });

  await app.register(async (blobs) => {
    // Blob bodies are streamed to the store as they come, never buffered or parsed.
    blobs.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    blobs.put<{ Params: { sha256: string } }>(`${API_PREFIX}/blobs/:sha256`, async (request, reply) => {
      requireRole(request.identity!, request.entity!, 'member');
      if (!String(request.headers['content-type']).startsWith('application/octet-stream'))
        throw new QuiverError(
          'E_UNSUPPORTED_MEDIA_TYPE',
          'A blob upload is the raw bytes: Content-Type: application/octet-stream.',
        );
      const { sha256 } = request.params;
      if (!SHA256.test(sha256))
        throw new QuiverError('E_INVALID_REQUEST', 'A blob is named by its sha256: 64 lowercase hex digits.');
      const length = request.headers['content-length'];
      const stated = request.headers[SIZE_HEADER];
      if (length !== undefined && typeof stated === 'string' && stated !== length)
        throw new QuiverError(
          'E_INVALID_REQUEST',
          `Content-Length and ${SIZE_HEADER} disagree; send one size.`,
        );
      const declared = Number(length ?? stated);
      if ((length ?? stated) === undefined || !Number.isSafeInteger(declared) || declared < 0)
        throw new QuiverError(
          'E_INVALID_REQUEST',
          `An upload declares its size: a Content-Length, or ${SIZE_HEADER} when the body is chunked.`,
        );
      if (declared > maxBlobBytes)
        throw new QuiverError(
          'E_TOO_LARGE',
          `A blob may hold at most ${maxBlobBytes} bytes; this one says ${declared}.`,
        );
      const body = request.body as IncomingMessage;
      const staged = await backend.blobs.stage({
        stream: counted(body, declared),
        sizeHint: declared,
        expectedSha256: sha256,
      });
      if (staged.sha256 !== sha256 || staged.size !== declared) {
        await backend.blobs.discard([staged]);
        throw new QuiverError(
          'E_CHECKSUM_MISMATCH',
          `The uploaded bytes hash to ${staged.sha256} (${staged.size} bytes), not to ${sha256}; nothing was stored.`,
          { details: { expected: sha256, actual: staged.sha256 } },
        );
      }
      await backend.blobs.publish([staged]);
      return reply.status(204).send();
    });
  });

  app.route<{ Params: { sha256: string } }>({
    method: ['GET', 'HEAD'],
    url: `${API_PREFIX}/blobs/:sha256`,
    handler: async (request, reply) => {
      requireRole(request.identity!, request.entity!, 'viewer');
      const { sha256 } = request.params;
      if (!SHA256.test(sha256))
        throw new QuiverError('E_INVALID_REQUEST', 'A blob is named by its sha256: 64 lowercase hex digits.');
      const info = await backend.blobs.info(sha256);
      if (!info) throw new QuiverError('E_NOT_FOUND', `No blob ${sha256} on this server.`);
      reply.header('accept-ranges', 'bytes').header('content-type', 'application/octet-stream');
      // A stored file never runs as a page of this origin, whatever it holds.
      reply
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'");
      const download = (request.query as Record<string, unknown>).download;
      if (typeof download === 'string') reply.header('content-disposition', attachment(download));
      reply.header('last-modified', info.modifiedAt.toUTCString()).header('etag', `"${sha256}"`);
      const range = parseRange(request.headers.range, info.size);
      if (range === 'invalid') {
        reply.header('content-range', `bytes */${info.size}`);
        throw new QuiverError(
          'E_RANGE_NOT_SATISFIABLE',
          `The range asked for is outside the blob's ${info.size} bytes.`,
        );
      }
      const { start, end } = range ?? { start: 0, end: info.size };
      reply.header('content-length', String(end - start));
      if (range) reply.status(206).header('content-range', `bytes ${start}-${end - 1}/${info.size}`);
      if (request.method === 'HEAD') return reply.send();
      if (directSeconds > 0 && backend.blobs.presignedUrl && request.headers[DIRECT_HEADER] === '1') {
        // Checked above: the caller may read this entity and the blob is stored (and sealed).
        const location = await backend.blobs.presignedUrl(sha256, {
          method: 'GET',
          expiresInSeconds: directSeconds,
        });
        reply.header('content-length', '0').header('cache-control', 'no-store');
        return reply.status(307).header('location', location).send();
      }
      const stream = await backend.blobs.open(sha256, range ?? undefined);
      return reply.send(stream instanceof Readable ? stream : Readable.from(stream));
    },
  });

  return app;
}

/** A Content-Disposition that saves a file as `name` (only its last segment; RFC 6266 with an RFC 5987 UTF-8 form). */
function attachment(name: string): string {
  // By code point, so a cut never splits a surrogate pair (encodeURIComponent would throw).
  const base = Array.from(name.split(/[\\/]/).pop()!).slice(0, 255).join('') || 'file';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** The entity a lineage node belongs to. */
function entityOfNode(node: LineageNode): string {
  if (node.kind === 'run') return node.run.entity;
  if (node.kind === 'artifact') return node.version.entity;
  return node.registryVersion.entity;
}

/**
 * A lineage graph without what the user may not read: another team's runs that used a shared
 * version, its versions and registry links, and every edge to them.
 */
function visibleLineage(graph: LineageGraph, identity: Identity): LineageGraph {
  const nodes = graph.nodes.filter((node) => roleIn(identity, entityOfNode(node)) !== undefined);
  const kept = new Set(nodes.map((node) => node.id));
  return {
    root: graph.root,
    nodes,
    edges: graph.edges.filter((edge) => kept.has(edge.from) && kept.has(edge.to)),
  };
}

export type { FastifyInstance, FastifyReply };
