import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, QuiverClient, type Store } from '@quiver/core';
import pg from 'pg';

/** The store backends every conformance suite runs against (like Kysely's dialect matrix). */
export type BackendName = 'sqlite' | 'postgres';

const ALL: BackendName[] = ['sqlite', 'postgres'];

/** Narrow with QUIVER_TEST_BACKENDS=sqlite (or postgres); default: both. */
export function testBackends(): BackendName[] {
  const wanted = process.env.QUIVER_TEST_BACKENDS?.split(',').map((name) => name.trim());
  return wanted ? ALL.filter((name) => wanted.includes(name)) : ALL;
}

/** The server the PostgreSQL backend uses (trust auth on this machine). */
export const POSTGRES_ADMIN_URL =
  process.env.QUIVER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty store of one backend: its own temp dir and, for PostgreSQL, its own database. */
export interface TestStore extends AsyncDisposable {
  backend: BackendName;
  dir: string;
  /** Environment that points a child process or the CLI at this store. */
  env: Record<string, string>;
  open(): Promise<Store>;
  /** A client on its own connection (closed by cleanup). */
  client(): Promise<QuiverClient>;
  cleanup(): Promise<void>;
}

export async function createTestStore(backend: BackendName): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), `quiver-${backend}-`));
  const env: Record<string, string> = { QUIVER_DIR: dir, QUIVER_ENTITY: 'tester' };
  let database: string | undefined;
  if (backend === 'postgres') {
    database = `quiver_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${database}`;
    env.QUIVER_DATABASE_URL = url.href;
  }
  const opened: Store[] = [];
  const open = async (): Promise<Store> => {
    const store = await openStore({
      dir,
      entity: 'tester',
      ...(env.QUIVER_DATABASE_URL ? { databaseUrl: env.QUIVER_DATABASE_URL } : {}),
    });
    opened.push(store);
    return store;
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all(opened.map((store) => store.close()));
    rmSync(dir, { recursive: true, force: true });
    if (database) {
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  };
  return {
    backend,
    dir,
    env,
    open,
    async client() {
      return new QuiverClient(await open());
    },
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}
