import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ArtifactVersionInfo,
  openStore,
  type QuiverClient,
  type RunInfo,
  type Store,
  type SyncReport,
} from '@quiver/core';
import { afterAll, beforeAll } from 'vitest';
import { createUserWithKey } from '../support/backends.js';
import { runCli } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/remote-server.js';

/** A real server process on its own data folder, with a member and an admin key. */
export interface SyncServer {
  server: TestServer;
  /** Replaced when a test restarts the server. */
  url: string;
  memberKey: string;
  adminKey: string;
  /** A store on the server as `key`'s user, for checks. */
  store(key?: string, dir?: string): Promise<Store>;
  stop(): Promise<void>;
}

export async function startSyncServer(root: string, env: Record<string, string> = {}): Promise<SyncServer> {
  const server = await startTestServer({ dataDir: join(root, 'server'), env });
  const memberKey = await createUserWithKey(server, 'mia');
  const adminKey = await createUserWithKey(server, 'ada', { admin: true });
  // A team both write into, mia as a member and ada as an admin.
  const call = async (path: string, body: unknown, method = 'POST') => {
    const response = await fetch(`${server.url}/api/v1/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  };
  await call('/teams', { name: 'vision' });
  await call('/teams/vision/members/mia', { role: 'member' }, 'PUT');
  await call('/teams/vision/members/ada', { role: 'admin' }, 'PUT');
  const handle: SyncServer = {
    server,
    url: server.url,
    memberKey,
    adminKey,
    store: (key = memberKey, dir = join(root, 'checker')) =>
      openStore({ baseUrl: server.url, apiKey: key, entity: 'vision', dir }),
    stop: () => handle.server.stop(),
  };
  return handle;
}

/** A run as the server holds it, in the fields a user compares (not ids, names or times). */
export async function serverView(client: QuiverClient, runId: string, model: string) {
  const backend = client.store.backend;
  const run: RunInfo = await backend.runs.get(runId);
  const history = (await backend.runs.history(runId, { limit: 1000 })).items;
  const outputs = await backend.runs.outputs(runId);
  const versions = (
    await backend.artifacts.versions({ entity: run.entity, project: run.project, name: `model-${runId}` })
  ).items;
  const registry = await backend.registry.model({ entity: run.entity, model });
  const lineage = await backend.artifacts.lineage(versions.find((v) => v.aliases.includes('best'))!.ref, 2);
  // Layer names get a process-wide suffix (`classes_1`) in the second model a process builds, so
  // model.json and the tensor names in the metadata differ by it; weights.bin holds the numbers.
  const unsuffixed = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replace(/_1"/g, '"'));
  const version = async (info: ArtifactVersionInfo) => ({
    version: info.version,
    type: info.type,
    fileCount: info.fileCount,
    description: info.description,
    metadata: unsuffixed(info.metadata),
    aliases: [...info.aliases].sort(),
    tags: [...info.tags].sort(),
    producedBy: info.producedBy === runId ? 'this run' : info.producedBy,
    files: (await backend.artifacts.entries(info.id)).map((entry) => ({
      path: entry.path,
      sha256: entry.path === 'model.json' ? 'model.json' : entry.sha256,
    })),
  });
  return {
    run: {
      entity: run.entity,
      project: run.project,
      jobType: run.jobType,
      tags: run.tags,
      config: run.config,
      summary: run.summary,
      state: run.state,
      exitCode: run.exitCode,
    },
    history,
    versions: (await Promise.all(versions.map(version))).sort((a, b) => a.version - b.version),
    outputs: outputs.map((info) => info.version).sort(),
    registry: {
      card: registry.card,
      aliases: registry.aliases,
      versions: registry.versions.map((entry) => ({
        version: entry.version,
        aliases: [...entry.aliases].sort(),
        source: entry.source.version,
      })),
    },
    lineage: {
      nodes: lineage.nodes.map((node) => node.kind).sort(),
      edges: lineage.edges.map((edge) => edge.relation).sort(),
    },
  };
}

/** A temporary folder, removed by `dispose()`. */
export function temporaryRoot(prefix: string): { root: string; dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** A real server for one test file, in a temporary folder: started before its tests, stopped after. */
export function syncServerFixture(prefix: string): { readonly root: string; readonly srv: SyncServer } {
  const tmp = temporaryRoot(prefix);
  let srv: SyncServer | undefined;
  beforeAll(async () => {
    srv = await startSyncServer(tmp.root);
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
    tmp.dispose();
  });
  return {
    root: tmp.root,
    get srv() {
      return srv!;
    },
  };
}

/** `quiver sync --json` as a user runs it, against `srv` as `key`'s user (the member by default). */
export async function cliSync(
  srv: SyncServer,
  dir: string,
  args: string[] = [],
  key = srv.memberKey,
): Promise<{ reports: SyncReport[]; failures: Array<{ bundle: string; code: string; message: string }> }> {
  const result = await runCli(['sync', '--json', ...args], {
    QUIVER_DIR: dir,
    QUIVER_BASE_URL: srv.url,
    QUIVER_API_KEY: key,
    QUIVER_MODE: '',
  });
  if (result.code !== 0)
    throw new Error(`quiver sync exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout);
}

export { trainWithCallback, VAL_LOSS } from './training.js';
