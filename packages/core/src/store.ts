import { hostname } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedBackend, openEmbeddedBackend, parseSecretKey } from './backends/embedded/index.js';
import { openRemoteBackend } from './backends/remote/index.js';
import type { QuiverBackendV1 } from './contract/index.js';
import { CLIENT_DATABASE, DigestCache } from './file-digest-cache.js';
import { ensureFolder } from './folders.js';
import { withOfflineReads } from './offline/offline-reads.js';
import { type QuiverMode, resolveMode, resolveStoreSettings, type StoreSettings } from './settings.js';

/**
 * An open store as the SDK sees it: a backend (bound to who acts) and this client's own state —
 * its settings, the file-digest cache and the download cache — in the client's folder.
 */
export interface Store<Backend extends QuiverBackendV1 = QuiverBackendV1> {
  readonly settings: StoreSettings;
  /** The backend every call goes to; the SDK and plugins use nothing else of the store. */
  readonly backend: Backend;
  /** Where this client caches downloaded models (`<dir>/cache`). */
  readonly cacheDir: string;
  readonly host: string;
  /** This machine's file-digest cache (`<dir>/client.db`), not part of the shared metadata. */
  readonly digests: DigestCache;
  /**
   * How long logged metrics may wait in memory before they are written (default 2 s). An offline
   * bundle writes to a local file, so it keeps them for less: a killed run loses less.
   */
  readonly metricsFlushMs?: number;
  /** True once `close()` was called; objects that outlive the store reopen one when needed. */
  readonly closed: boolean;
  close(): Promise<void>;
}

/** Options of {@link openStore}. */
export type OpenStoreOptions = Parameters<typeof resolveStoreSettings>[0] & {
  mode?: QuiverMode;
  /** Decorates the backend before the SDK uses it (tracing, tests that route calls through JSON). */
  wrapBackend?: (backend: QuiverBackendV1) => QuiverBackendV1;
};

/**
 * Opens the store described by `options` and the environment: a Quiver server when
 * `QUIVER_BASE_URL` (or a `quiver login`) says so, else the embedded store (`QUIVER_DIR`,
 * `QUIVER_DATABASE_URL`), created on first use. With `QUIVER_MODE=offline` no server is
 * contacted: the embedded store, and for refs it lacks, the versions this machine fetched online. `QUIVER_ENTITY` and `QUIVER_ACTOR` say who acts
 * (on a server, the API key's user acts, in `QUIVER_ENTITY` when it is one of the user's teams).
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const { wrapBackend, ...rest } = options;
  if (resolveMode(rest.mode) === 'offline') {
    // Offline: no server is contacted. The local store, and what this machine fetched online.
    const settings = resolveStoreSettings({ ...rest, remote: null });
    ensureFolder(settings.dir, { side: 'store' });
    const local = withOfflineReads(await openEmbedded(settings), join(settings.dir, 'cache'), undefined);
    return storeOver(wrapBackend ? wrapBackend(local) : local, settings);
  }
  const settings = resolveStoreSettings(rest);
  ensureFolder(settings.dir, { side: 'store' });
  if (settings.remote) {
    const remote = await openRemoteBackend({
      baseUrl: settings.remote.baseUrl,
      apiKey: settings.remote.apiKey,
      ...(settings.remote.entity ? { entity: settings.remote.entity } : {}),
    });
    const backend = wrapBackend ? wrapBackend(remote) : remote;
    return storeOver(backend, {
      ...settings,
      entity: backend.principal.entity,
      actor: backend.principal.actor,
    });
  }
  const embedded = await openEmbedded(settings);
  return storeOver(wrapBackend ? wrapBackend(embedded) : embedded, settings);
}

/**
 * Opens the embedded store whatever the environment says about servers (for white-box tests,
 * benchmarks and the server itself, which need the embedded backend's internals).
 */
export async function openEmbeddedStore(
  options: Partial<Omit<StoreSettings, 'remote'>> & {
    mode?: QuiverMode;
    /** The key that encrypts stored secrets (a server's webhook secrets); default `<dir>/secret.key`. */
    secretKey?: Uint8Array;
  } = {},
): Promise<Store<EmbeddedBackend>> {
  const { secretKey, ...rest } = options;
  const settings = resolveStoreSettings({ ...rest, remote: null });
  ensureFolder(settings.dir, { side: 'store' });
  return storeOver(await openEmbedded(settings, secretKey), settings);
}

/**
 * The embedded backend of `settings`. The secret key (stored secrets, seals of verified blobs in a
 * bucket) is `secretKey`, else `QUIVER_SECRET_KEY`, else `<dir>/secret.key` — machines that share
 * a bucket need the same one, or each re-uploads what another stored.
 */
function openEmbedded(settings: StoreSettings, secretKey?: Uint8Array): Promise<EmbeddedBackend> {
  const fromEnv = process.env.QUIVER_SECRET_KEY?.trim();
  const key = secretKey ?? (fromEnv ? parseSecretKey(fromEnv, 'QUIVER_SECRET_KEY') : undefined);
  return openEmbeddedBackend({
    dir: settings.dir,
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    ...(settings.s3 ? { s3: settings.s3 } : {}),
    ...(key ? { secretKey: key } : {}),
    principal: { actor: settings.actor, entity: settings.entity },
  });
}

/** A store over any backend, with this client's state in `settings.dir`; closing it closes the backend. */
export function storeOver<Backend extends QuiverBackendV1>(
  backend: Backend,
  settings: StoreSettings,
  options: { metricsFlushMs?: number } = {},
): Store<Backend> {
  const digests = new DigestCache(join(settings.dir, CLIENT_DATABASE));
  let closed = false;
  return {
    settings,
    backend,
    cacheDir: join(settings.dir, 'cache'),
    host: hostname(),
    digests,
    ...(options.metricsFlushMs !== undefined ? { metricsFlushMs: options.metricsFlushMs } : {}),
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      digests.close();
      await backend.close();
    },
  };
}
