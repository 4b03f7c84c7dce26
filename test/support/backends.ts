import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EmbeddedBackend,
  openStore,
  type QuiverBackendV1,
  QuiverClient,
  type Store,
} from '@quiver/core';
import pg from 'pg';
import { isJsonRoundTrip, jsonRoundTrip } from './json-backend.js';
import { startTestServer, type TestServer } from './remote-server.js';
import { createBucket, deleteBucket, s3StoreEnv, type TestS3, testS3 } from './s3.js';

/** Creates a user on a test server (as its first admin) and returns a new API key of it. */
export async function createUserWithKey(
  server: TestServer,
  name: string,
  options: { admin?: boolean } = {},
): Promise<string> {
  const call = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}/api/v1/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  await call('/users', { name, admin: options.admin ?? false });
  return (await call('/keys', { user: name, name: 'tests' })).key as string;
}

/**
 * The store backends the suites run against (like Kysely's dialect matrix). `json` is SQLite
 * behind {@link jsonRoundTrip}: every backend call crosses JSON as it would over HTTP.
 */
export type BackendName = EmbeddedBackendName | 'json' | 'remote' | 'remote+s3' | 'sqlite+s3';
/** The embedded backends, whose stores white-box suites reach into (`store.backend.connection`). */
export type EmbeddedBackendName = 'sqlite' | 'postgres';

const EMBEDDED: EmbeddedBackendName[] = ['sqlite', 'postgres'];
/**
 * Every backend the conformance suites, which use only the SDK, run against. `remote` is a real
 * `quiver server start` process over PostgreSQL, reached over HTTP as a user `tester`.
 */
const CONFORMANCE: BackendName[] = [
  ...EMBEDDED,
  'json',
  'remote',
  ...withS3(),
  ...(testS3() ? (['sqlite+s3'] as const) : []),
];

/**
 * `remote+s3`: the same server with its blobs in a bucket of the test command's Ceph RGW — when
 * one runs (always under CI: {@link testS3} fails there without one).
 */
// The test process reads and writes the test S3 server as its owner (the AWS chain of the SDK).
const testS3Server = testS3();
if (testS3Server) {
  process.env.AWS_ACCESS_KEY_ID ??= testS3Server.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY ??= testS3Server.secretKey;
}

function withS3(): BackendName[] {
  return testS3() ? ['remote+s3'] : [];
}

/** Narrow with QUIVER_TEST_BACKENDS=sqlite (or postgres, json; comma-separated); default: all. */
function narrowed<Name extends BackendName>(backends: Name[]): Name[] {
  const wanted = process.env.QUIVER_TEST_BACKENDS?.split(',').map((name) => name.trim());
  return wanted ? backends.filter((name) => wanted.includes(name)) : backends;
}

/** SQLite and PostgreSQL: the backends of white-box suites. */
export function testBackends(): EmbeddedBackendName[] {
  return narrowed(EMBEDDED);
}

/**
 * SQLite, PostgreSQL and a server (`remote`): the matrix of suites that use only the SDK, the CLI
 * and the plugins (the CLI's, the plugins', the examples'), through every way a user stores.
 */
export function sdkBackends(): BackendName[] {
  return narrowed([...EMBEDDED, 'remote', ...withS3()]);
}

/** SQLite, PostgreSQL and JSON (SQLite with every call crossing JSON): the conformance matrix. */
export function conformanceBackends(): BackendName[] {
  return narrowed(CONFORMANCE);
}

/** The server the PostgreSQL backend uses (trust auth on this machine). */
export const POSTGRES_ADMIN_URL =
  process.env.QUIVER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, empty store of one backend: its own temp dir and, for PostgreSQL, its own database.
 * `env` points at the same store, but a child process or the CLI opens it without the JSON
 * wrapper (`json` stores are plain SQLite stores on disk).
 */
export interface TestStore<Backend extends QuiverBackendV1 = QuiverBackendV1> extends AsyncDisposable {
  backend: BackendName;
  /** A scratch folder of the test (the store's data and the client's caches are inside). */
  dir: string;
  /** Where the store keeps its data (`blobs/`, `quiver.db`): the server's folder for `remote`. */
  dataDir: string;
  /** Where the client caches downloads (`<QUIVER_DIR>/cache`). */
  cacheDir: string;
  /** Environment that points a child process or the CLI at this store. */
  env: Record<string, string>;
  /** For `remote+s3`: the test S3 server and the bucket the server keeps its blobs in. */
  s3?: { server: TestS3; bucket: string; url: string };
  /** For `remote` and `remote+s3`: the server process and its first admin's key. */
  server?: TestServer;
  open(): Promise<Store<Backend>>;
  /** A client on its own connection (closed by cleanup). */
  client(): Promise<QuiverClient>;
  cleanup(): Promise<void>;
}

/** A store of an embedded backend has the embedded backend's internals; a `json` one only the contract. */
export async function createTestStore(backend: EmbeddedBackendName): Promise<TestStore<EmbeddedBackend>>;
export async function createTestStore(backend: BackendName): Promise<TestStore>;
export async function createTestStore(backend: BackendName): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), `quiver-${backend}-`));
  const env: Record<string, string> = { QUIVER_DIR: dir, QUIVER_ENTITY: 'tester' };
  let database: string | undefined;
  const remoteServer = backend === 'remote' || backend === 'remote+s3';
  if (backend === 'postgres' || remoteServer) {
    database = `quiver_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${database}`;
    env.QUIVER_DATABASE_URL = url.href;
  }
  let server: TestServer | undefined;
  let remote: { baseUrl: string; apiKey: string } | undefined;
  let bucket: string | undefined;
  const s3 = backend === 'remote+s3' || backend === 'sqlite+s3' ? testS3() : undefined;
  if (backend === 'sqlite+s3' && s3) {
    // The embedded store (SQLite) with its blobs in a bucket: the SDK writes S3 itself.
    bucket = await createBucket(s3);
    Object.assign(env, s3StoreEnv(s3, bucket));
  }
  if (remoteServer) {
    let serverEnv: Record<string, string> = {};
    if (s3) {
      bucket = await createBucket(s3);
      serverEnv = { ...s3StoreEnv(s3, bucket), QUIVER_SECRET_KEY: randomBytes(32).toString('hex') };
    }
    server = await startTestServer({
      dataDir: join(dir, 'server'),
      databaseUrl: env.QUIVER_DATABASE_URL!,
      env: serverEnv,
    });
    const apiKey = await createUserWithKey(server, 'tester', { admin: true });
    remote = { baseUrl: server.url, apiKey };
    delete env.QUIVER_DATABASE_URL;
    env.QUIVER_DIR = join(dir, 'client');
    env.QUIVER_BASE_URL = server.url;
    env.QUIVER_API_KEY = apiKey;
  }
  const opened: Store[] = [];
  // Typed through Pick so that this fails to compile, rather than silently runs unwrapped, if
  // openStore has no `wrapBackend` option.
  const wrap: Pick<NonNullable<Parameters<typeof openStore>[0]>, 'wrapBackend'> = backend === 'json'
    ? { wrapBackend: jsonRoundTrip }
    : {};
  const open = async (): Promise<Store> => {
    const store = await openStore({
      dir: env.QUIVER_DIR!,
      entity: 'tester',
      ...(env.QUIVER_DATABASE_URL ? { databaseUrl: env.QUIVER_DATABASE_URL } : {}),
      ...(backend === 'sqlite+s3'
        ? { s3: { bucket: bucket!, endpoint: s3!.endpoint, region: 'us-east-1' } }
        : {}),
      ...(remote ?? { remote: null }),
      ...wrap,
    });
    opened.push(store);
    if (backend === 'json' && !isJsonRoundTrip(store.backend)) {
      throw new Error('openStore did not use wrapBackend: the json backend would run unwrapped');
    }
    return store;
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all(opened.map((store) => store.close()));
    await server?.stop();
    if (s3 && bucket) await deleteBucket(s3, bucket);
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
    dataDir: remoteServer ? join(dir, 'server') : dir,
    cacheDir: join(env.QUIVER_DIR!, 'cache'),
    env,
    open,
    async client() {
      return new QuiverClient(await open());
    },
    cleanup,
    [Symbol.asyncDispose]: cleanup,
    ...(s3 && bucket && server ? { s3: { server: s3, bucket, url: server.url } } : {}),
    ...(server ? { server } : {}),
  };
}
