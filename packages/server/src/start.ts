import { join } from 'node:path';
import {
  type EmbeddedBackend,
  openEmbeddedStore,
  parseSecretKey,
  QuiverError,
  type Store,
} from '@quiver/core';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from './app.js';
import { corsOriginsFromEnv, parseCorsOrigins } from './cors.js';
import { allowListFromEnv } from './webhooks/egress.js';

/** Options of {@link startServer}. */
export interface StartOptions {
  /** The data folder: `quiver.db` and `blobs/` (default `./quiver-data`). */
  dataDir?: string;
  /** PostgreSQL for the metadata (default `QUIVER_DATABASE_URL`, else SQLite in `dataDir`). */
  databaseUrl?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** pino options (a level, and where the lines go), or false for no logs. Default: JSON logs at `info` on stdout. */
  logger?: ServerOptions['logger'];
  /** The key that encrypts stored webhook secrets (default `QUIVER_SECRET_KEY`, else `<dataDir>/secret.key`). */
  secretKey?: Uint8Array;
  /** Webhook delivery (default from `QUIVER_WEBHOOK_*`, see {@link webhookSettingsFromEnv}). */
  webhooks?: ServerOptions['webhooks'];
  /**
   * The origins whose browser pages may call the API (see {@link ServerOptions.corsOrigins});
   * default `QUIVER_CORS_ORIGINS` (comma-separated), else none. Given, it replaces the variable.
   */
  corsOrigins?: readonly string[];
}

function whole(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < min)
    throw new QuiverError('E_INVALID_ENV', `${name} must be a whole number ≥ ${min}; got '${value}'.`);
  return number;
}

/**
 * Webhook settings from the environment: `QUIVER_WEBHOOK_ALLOW` (addresses or CIDR ranges a
 * webhook may reach although private or loopback, comma-separated), `QUIVER_WEBHOOK_RETRY_BASE_MS`,
 * `QUIVER_WEBHOOK_MAX_ATTEMPTS`, `QUIVER_WEBHOOK_TIMEOUT_MS`, `QUIVER_WEBHOOK_POLL_MS`,
 * `QUIVER_WEBHOOK_LEASE_MS`, and
 * `QUIVER_WEBHOOKS=off` for a replica that runs no relay.
 */
export function webhookSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerOptions['webhooks'] {
  if (env.QUIVER_WEBHOOKS === 'off') return false;
  const settings = {
    allow: allowListFromEnv(env.QUIVER_WEBHOOK_ALLOW),
    retryBaseMs: whole(env, 'QUIVER_WEBHOOK_RETRY_BASE_MS', 1),
    maxAttempts: whole(env, 'QUIVER_WEBHOOK_MAX_ATTEMPTS', 1),
    timeoutMs: whole(env, 'QUIVER_WEBHOOK_TIMEOUT_MS', 1),
    pollMs: whole(env, 'QUIVER_WEBHOOK_POLL_MS', 1),
    leaseMs: whole(env, 'QUIVER_WEBHOOK_LEASE_MS', 1),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

/** A started server: its URL, the first admin key when this start created it, and `close()`. */
export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store<EmbeddedBackend>;
  /** Set on the first start only: the admin's API key, shown this once. */
  adminKey?: string;
  /** The origins whose browser pages may call the API (set when there are any). */
  corsOrigins?: string[];
  /** Stops taking requests, lets those in flight finish, then closes the store. */
  close(): Promise<void>;
}

/** Opens the store (migrating it), creates the admin on first start, and listens. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? join(process.cwd(), 'quiver-data');
  const databaseUrl = options.databaseUrl ?? process.env.QUIVER_DATABASE_URL;
  const webhooks = options.webhooks ?? webhookSettingsFromEnv();
  // Checked before the store opens, so a mistyped origin stops the start and creates nothing.
  const corsOrigins =
    options.corsOrigins !== undefined ? parseCorsOrigins(options.corsOrigins) : corsOriginsFromEnv();
  const secretKey =
    options.secretKey ??
    (process.env.QUIVER_SECRET_KEY
      ? parseSecretKey(process.env.QUIVER_SECRET_KEY, 'QUIVER_SECRET_KEY')
      : undefined);
  const store = await openEmbeddedStore({
    dir: dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(secretKey ? { secretKey } : {}),
    entity: 'server',
    actor: 'server',
  });
  const backend = store.backend;
  if (store.settings.s3 && !secretKey) {
    await store.close();
    throw new QuiverError(
      'E_INVALID_ENV',
      "A server with blobs in S3 needs QUIVER_SECRET_KEY, the same on every replica (it seals verified blobs and encrypts stored secrets); make one with 'openssl rand -hex 32'.",
    );
  }
  let adminKey: string | undefined;
  if (await backend.accounts.empty()) {
    try {
      await backend.accounts.createUser('admin', { admin: true });
      adminKey = (await backend.accounts.createKey('admin', 'first start')).key;
    } catch (error) {
      // Another replica started on the same empty database at the same moment and made the admin.
      const madeElsewhere = adminKey === undefined && !(await backend.accounts.empty().catch(() => true));
      if (!madeElsewhere) {
        await store.close();
        throw error;
      }
    }
  }
  const app = await buildServer({
    backend,
    webhooks,
    ...(corsOrigins && corsOrigins.length > 0 ? { corsOrigins } : {}),
    // Clients that cannot reach the bucket's endpoint: every download streams through a replica.
    ...(process.env.QUIVER_S3_DIRECT_DOWNLOADS === 'off' ? { directDownloadSeconds: 0 } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  let closed: Promise<void> | undefined;
  return {
    url: address,
    app,
    store,
    ...(adminKey ? { adminKey } : {}),
    ...(corsOrigins && corsOrigins.length > 0 ? { corsOrigins } : {}),
    close() {
      closed ??= (async () => {
        await app.close();
        await store.close();
      })();
      return closed;
    },
  };
}

/** Options of {@link startLocalUi}. */
export interface LocalUiOptions {
  /** Default 5959 (0 picks a free port). */
  port?: number;
  /** A loopback address (default 127.0.0.1): `quiver ui` has no accounts, so it is never exposed. */
  host?: string;
  logger?: boolean | { level?: string };
}

/**
 * `quiver ui`: the web UI and API over this machine's embedded store (`QUIVER_DIR`,
 * `QUIVER_DATABASE_URL`), on the loopback interface, with no sign-in — like `mlflow ui`. Every
 * request acts as the store's local user (`QUIVER_ACTOR`, in `QUIVER_ENTITY`).
 */
export async function startLocalUi(options: LocalUiOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(host))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `quiver ui has no accounts, so it listens only on a loopback address (127.0.0.1, ::1); got '${host}'. For a shared UI, run 'quiver server start'.`,
    );
  const store = await openEmbeddedStore();
  try {
    const app = await buildServer({
      backend: store.backend,
      webhooks: false,
      local: { actor: store.settings.actor, entity: store.settings.entity },
      logger: options.logger ?? false,
    });
    const address = await app.listen({ host, port: options.port ?? 5959 });
    let closed: Promise<void> | undefined;
    return {
      url: address,
      app,
      store,
      close() {
        closed ??= (async () => {
          await app.close();
          await store.close();
        })();
        return closed;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
