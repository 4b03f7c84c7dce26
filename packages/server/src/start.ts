import { join } from 'node:path';
import { type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';

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
  logger?: boolean | { level?: string };
}

/** A started server: its URL, the first admin key when this start created it, and `close()`. */
export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store<EmbeddedBackend>;
  /** Set on the first start only: the admin's API key, shown this once. */
  adminKey?: string;
  /** Stops taking requests, lets those in flight finish, then closes the store. */
  close(): Promise<void>;
}

/** Opens the store (migrating it), creates the admin on first start, and listens. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? join(process.cwd(), 'quiver-data');
  const databaseUrl = options.databaseUrl ?? process.env.QUIVER_DATABASE_URL;
  const store = await openEmbeddedStore({
    dir: dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    entity: 'server',
    actor: 'server',
  });
  const backend = store.backend;
  let adminKey: string | undefined;
  if (await backend.accounts.empty()) {
    await backend.accounts.createUser('admin', { admin: true });
    adminKey = (await backend.accounts.createKey('admin', 'first start')).key;
  }
  const app = await buildServer({
    backend,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  let closed: Promise<void> | undefined;
  return {
    url: address,
    app,
    store,
    ...(adminKey ? { adminKey } : {}),
    close() {
      closed ??= (async () => {
        await app.close();
        await store.close();
      })();
      return closed;
    },
  };
}
