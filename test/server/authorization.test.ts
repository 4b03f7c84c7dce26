import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_PREFIX,
  type EmbeddedBackend,
  openEmbeddedStore,
  type Store,
  wireOperations,
} from '@quiver/core';
import { buildServer, type FastifyInstance, needsOf } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The server in process (fastify's inject: the real router, hooks and handlers, no socket).
let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
const keys: Record<string, string> = {};
let revokedKey: string;

type Answer = { status: number; body: Record<string, unknown> & { code?: string } };

async function call(
  key: string | undefined,
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string>; entity?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (options.entity) headers['x-quiver-entity'] = options.entity;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await app.inject({
    method: method as 'GET',
    url: path,
    headers,
    ...(options.query ? { query: options.query } : {}),
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
  let body: Answer['body'] = {};
  try {
    body = response.json();
  } catch {
    body = {};
  }
  return { status: response.statusCode, body };
}

const api = (path: string) => `${API_PREFIX}${path}`;
/** A public address (no DNS needed) for the automations of the role matrix. */
const HOOK_URL = 'http://93.184.216.34/hook';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-authz-'));
  store = await openEmbeddedStore({ dir, entity: 'server', actor: 'server' });
  const { accounts } = store.backend;
  await accounts.createUser('root', { admin: true });
  for (const user of ['vic', 'mia', 'ada', 'otto']) await accounts.createUser(user);
  await accounts.createTeam('vision', 'root');
  await accounts.setMember('vision', 'vic', 'viewer');
  await accounts.setMember('vision', 'mia', 'member');
  await accounts.setMember('vision', 'ada', 'admin');
  await accounts.createUser('zed'); // no key: a team admin adds and removes zed
  for (const user of ['root', 'vic', 'mia', 'ada', 'otto'])
    keys[user] = (await accounts.createKey(user, 'tests')).key;
  const revoked = await accounts.createKey('mia', 'old laptop');
  await accounts.revokeKey(revoked.id);
  revokedKey = revoked.key;
  // No relay: the automations' webhooks (to a documentation address) are never sent here.
  app = await buildServer({ backend: store.backend, logger: false, webhooks: false });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A URL for a route pattern, with a placeholder for each parameter. */
const fill = (url: string) =>
  url.replace(/:([A-Za-z0-9]+)/g, (_m, name: string) => (name === 'sha256' ? 'a'.repeat(64) : 'x1'));

describe('server authorization', () => {
  it('has an access rule for every operation of the wire table: reads need viewer, writes member or admin', async () => {
    const operations = wireOperations();
    expect(operations.length).toBeGreaterThan(35);
    for (const { api, method, operation } of operations) {
      const name = `${api}.${method}`;
      if (operation.verb === 'GET') expect(operation.role, name).toBe('viewer');
      else expect(['member', 'admin'], name).toContain(operation.role);
      // A rule that names at least one entity for everything but server maintenance (admins only).
      const needs = await needsOf(
        store.backend,
        api,
        method,
        ['x/y/z', { model: 'm', project: 'p' }, {}],
        'vision',
        operation.role,
      ).catch((error: { code?: string }) => error);
      if (Array.isArray(needs)) {
        if (api === 'maintenance') expect(needs, name).toEqual([]);
        else expect(needs.length, name).toBeGreaterThan(0);
      } else expect((needs as { code?: string }).code, name).toBe('E_NOT_FOUND'); // a run or version id that does not exist
    }
    await expect(needsOf(store.backend, 'runs', 'brandNew', [], 'vision', 'viewer')).rejects.toMatchObject({
      code: 'E_INTERNAL',
    });
  });

  it('answers 401 on every API route without a key, with a malformed one and with a revoked one', async () => {
    const routes = app.quiverRoutes.filter(
      (route) => route.url.startsWith(`${API_PREFIX}/`) && route.method !== 'HEAD',
    );
    const open = routes.filter((route) => route.url === `${API_PREFIX}/openapi.json`);
    expect(open).toHaveLength(1); // the API's description is public; nothing else under the prefix is
    // …but the sign-in, which authenticates the credentials in its body (test/server/web-ui.test.ts).
    const signIn = `${API_PREFIX}/session`;
    const guarded = routes.filter(
      (route) =>
        route.url !== `${API_PREFIX}/openapi.json` && !(route.method === 'POST' && route.url === signIn),
    );
    expect(guarded.length).toBeGreaterThan(45);
    for (const route of guarded) {
      for (const key of [undefined, 'qvr_not-a-real-key', revokedKey, `${keys.mia}x`]) {
        const answer = await call(
          key,
          route.method,
          fill(route.url),
          route.method === 'GET' ? {} : { body: {} },
        );
        expect(
          answer.status,
          `${route.method} ${route.url} with ${key === undefined ? 'no key' : 'a bad key'}`,
        ).toBe(401);
        expect(answer.body.code).toBe('E_UNAUTHORIZED');
      }
    }
    // The probes above changed nothing.
    expect((await store.backend.runs.list({})).items).toEqual([]);
    // Other spellings of a path do not get past the key either.
    for (const path of [
      `/${API_PREFIX}/runs`,
      `${API_PREFIX}/openapi.json/../runs`,
      `${API_PREFIX.toUpperCase()}/runs`,
      `${API_PREFIX}/runs/`,
      '/nowhere',
    ])
      expect((await call(undefined, 'GET', path)).status, path).toBe(401);
    // What is public: health and the API's description.
    for (const path of ['/healthz', '/readyz', `${API_PREFIX}/openapi.json`])
      expect((await call(undefined, 'GET', path)).status, path).toBe(200);
  });

  it('stores keys only as their sha256, never the key, and shows only a hint of it', async () => {
    const rows = await store.backend.connection.db.selectFrom('api_keys').selectAll().execute();
    expect(rows.length).toBe(6);
    const dump = JSON.stringify(rows);
    for (const key of [...Object.values(keys), revokedKey]) {
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(key.slice(4, 20));
    }
    expect(rows.map((row) => row.hash)).toContain(createHash('sha256').update(keys.mia!).digest('hex'));
    const listed = await call(keys.root, 'GET', api('/admin/keys'));
    expect(JSON.stringify(listed.body)).not.toContain(keys.mia);
  });

  it('lets viewers read, members write and admins manage; protected aliases need a registry admin', async () => {
    const asVision = { entity: 'vision' };
    // mia (member) creates a run and commits a version in the team, and links it.
    const run = await call(keys.mia, 'POST', api('/runs'), {
      ...asVision,
      body: {
        id: 'run00001',
        project: 'mnist',
        jobType: null,
        group: null,
        tags: [],
        notes: null,
        config: {},
        host: 'h',
        pid: 1,
      },
    });
    expect(run.status).toBe(200);
    expect(run.body.entity).toBe('vision');
    const blob = Buffer.from('weights of mia');
    const sha256 = createHash('sha256').update(blob).digest('hex');
    const upload = await app.inject({
      method: 'PUT',
      url: api(`/blobs/${sha256}`),
      headers: {
        authorization: `Bearer ${keys.mia}`,
        'content-type': 'application/octet-stream',
        'x-quiver-entity': 'vision',
      },
      payload: blob,
    });
    expect(upload.statusCode).toBe(204);
    const commit = (key: string) =>
      call(key, 'POST', api('/versions'), {
        ...asVision,
        body: {
          project: 'mnist',
          name: 'mlp',
          type: 'model',
          description: null,
          metadata: {},
          manifest: [{ path: 'w.bin', sha256, size: blob.length }],
          runId: null,
          aliases: [],
          tags: [],
        },
      });
    expect((await commit(keys.mia!)).status).toBe(200);
    // vic (viewer) reads but cannot write.
    const resolved = await call(keys.vic, 'GET', api('/refs/resolve'), {
      ...asVision,
      query: { ref: 'vision/mnist/mlp:v0' },
    });
    expect(resolved.status).toBe(200);
    const refused = await commit(keys.vic!);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('E_FORBIDDEN');
    const viewerUpload = await app.inject({
      method: 'PUT',
      url: api(`/blobs/${sha256}`),
      headers: {
        authorization: `Bearer ${keys.vic}`,
        'content-type': 'application/octet-stream',
        'x-quiver-entity': 'vision',
      },
      payload: blob,
    });
    expect(viewerUpload.statusCode).toBe(403);
    const link = await call(keys.mia, 'POST', api('/registry/links'), {
      ...asVision,
      body: {
        source: 'vision/mnist/mlp:v0',
        target: { entity: 'vision', model: 'digits' },
        options: { create: true },
      },
    });
    expect(link.status).toBe(200);
    const production = (key: string, force: boolean) =>
      call(key, 'POST', api('/registry/aliases'), {
        ...asVision,
        body: {
          ref: { entity: 'vision', registry: 'model', model: 'digits', version: 0 },
          alias: 'production',
          force,
        },
      });
    // A member may not move production, even with force; without force the guard refuses anyone.
    expect((await production(keys.mia!, true)).body.code).toBe('E_FORBIDDEN');
    expect((await production(keys.ada!, false)).body.code).toBe('E_ALIAS_PROTECTED');
    const moved = await production(keys.ada!, true);
    expect(moved.status).toBe(200);
    expect(moved.body.aliases).toContain('production');
    // Creating a registry is for admins of the entity.
    const registry = (key: string) =>
      call(key, 'POST', api('/registries'), { ...asVision, body: { name: 'edge', entity: 'vision' } });
    expect((await registry(keys.mia!)).status).toBe(403);
    expect((await registry(keys.ada!)).status).toBe(200);
    // The audit history records the authenticated users.
    const history = await call(keys.vic, 'GET', api('/registry/history'), {
      ...asVision,
      query: { entity: 'vision', model: 'digits' },
    });
    const actors = (history.body as unknown as Array<{ actor: string; action: string }>).map((event) => [
      event.action,
      event.actor,
    ]);
    expect(actors).toContainEqual(['link', 'mia']);
    expect(actors).toContainEqual(['alias.set', 'ada']);
    // Server maintenance and accounts are for server admins only.
    expect((await call(keys.ada, 'POST', api('/admin/gc'), { body: { dryRun: true } })).status).toBe(403);
    expect((await call(keys.ada, 'GET', api('/admin/users'))).status).toBe(403);
    expect((await call(keys.root, 'POST', api('/admin/gc'), { body: { dryRun: true } })).status).toBe(200);
  });

  it('runs every write route as each role: viewers are refused and change nothing, members write, admins manage', async () => {
    // Signing in and out are no writes of the store; test/server/web-ui.test.ts covers them.
    const routes = app.quiverRoutes.filter(
      (route) =>
        route.url.startsWith(`${API_PREFIX}/`) &&
        !['GET', 'HEAD'].includes(route.method) &&
        !route.url.startsWith(`${API_PREFIX}/session`),
    );
    // One fresh fixture per call (run, blob, v0 linked into the registry, v1 with an alias), made by ada.
    let counter = 0;
    const fixture = async () => {
      const n = `m${++counter}`;
      const project = `p-${n}`;
      const ok = async (answer: Promise<Answer>) => {
        const { status, body } = await answer;
        expect(status, JSON.stringify(body)).toBeLessThan(300);
        return body;
      };
      await ok(
        call(keys.ada, 'POST', api('/runs'), {
          entity: 'vision',
          body: {
            id: `r${n.padStart(8, '0')}`,
            project,
            jobType: null,
            group: null,
            tags: [],
            notes: null,
            config: {},
            host: 'h',
            pid: 1,
          },
        }),
      );
      const blob = Buffer.from(`weights of ${n}`);
      const sha256 = createHash('sha256').update(blob).digest('hex');
      const put = await app.inject({
        method: 'PUT',
        url: api(`/blobs/${sha256}`),
        headers: {
          authorization: `Bearer ${keys.ada}`,
          'content-type': 'application/octet-stream',
          'x-quiver-entity': 'vision',
        },
        payload: blob,
      });
      expect(put.statusCode).toBe(204);
      const manifest = (tag: string) => [{ path: `${tag}.bin`, sha256, size: blob.length }];
      const commit = (tag: string, aliases: string[]) => ({
        entity: 'vision',
        project,
        name: 'mlp',
        type: 'model',
        description: null,
        metadata: {},
        manifest: manifest(tag),
        runId: null,
        aliases,
        tags: [],
      });
      await ok(call(keys.ada, 'POST', api('/versions'), { entity: 'vision', body: commit('a', []) }));
      await ok(call(keys.ada, 'POST', api('/versions'), { entity: 'vision', body: commit('b', ['matrix']) }));
      const model = `model-${n}`;
      await ok(
        call(keys.ada, 'POST', api('/registry/links'), {
          entity: 'vision',
          body: {
            source: `vision/${project}/mlp:v0`,
            target: { entity: 'vision', model },
            options: { create: true, aliases: ['staging'] },
          },
        }),
      );
      const lease = (
        await call(keys.ada, 'POST', api(`/events/consumers/c2-${n}/claim`), { entity: 'vision', body: {} })
      ).body.lease as string;
      await store.backend.accounts.setMember('vision', 'zed', 'viewer');
      const zedKey = await store.backend.accounts.createKey('zed', `spare-${n}`);
      const automations = store.backend.withPrincipal({ actor: 'ada', entity: 'vision' }).automations;
      const automation = await automations.create({
        name: `hook-${n}`,
        trigger: 'registry.link',
        url: HOOK_URL,
      });
      const delivery = await automations.test(automation.id);
      return {
        automation: automation.id,
        delivery: delivery.id,
        n,
        project,
        model,
        sha256,
        blob,
        commit,
        lease,
        zedKeyId: zedKey.id,
      };
    };
    type Fixture = Awaited<ReturnType<typeof fixture>>;
    const locator = (f: Fixture) => ({ entity: 'vision', model: f.model });
    const registryRef = (f: Fixture) => ({ entity: 'vision', registry: 'model', model: f.model, version: 0 });
    const v0 = (f: Fixture) => `vision/${f.project}/mlp:v0`;
    const v1 = (f: Fixture) => `vision/${f.project}/mlp:v1`;
    // Every write route, with a call that succeeds for a role that may make it. A route without an
    // entry fails this test, so a new route cannot escape the matrix.
    type Sample = { path: (f: Fixture) => string; body: (f: Fixture) => unknown; raw?: boolean };
    const samples: Record<string, Sample> = {
      'POST /runs': {
        path: () => '/runs',
        body: (f) => ({
          id: `n${f.n.padStart(8, '0')}`,
          project: f.project,
          jobType: null,
          group: null,
          tags: [],
          notes: null,
          config: {},
          host: 'h',
          pid: 2,
        }),
      },
      'POST /runs/:runId/heartbeat': {
        path: (f) => `/runs/r${f.n.padStart(8, '0')}/heartbeat`,
        body: () => ({}),
      },
      'POST /runs/:runId/history': {
        path: (f) => `/runs/r${f.n.padStart(8, '0')}/history`,
        body: () => ({
          rows: [{ step: 0, metrics: { loss: 1 } }],
          summary: { loss: { last: 1, min: 1, max: 1, step: 0 } },
        }),
      },
      'POST /runs/:runId/finish': {
        path: (f) => `/runs/r${f.n.padStart(8, '0')}/finish`,
        body: () => ({ exitCode: 0 }),
      },
      'POST /runs/:runId/uses': {
        path: (f) => `/runs/r${f.n.padStart(8, '0')}/uses`,
        body: (f) => ({ ref: v0(f) }),
      },
      'POST /blobs/missing': {
        path: () => '/blobs/missing',
        body: (f) => ({ blobs: [{ sha256: f.sha256, size: f.blob.length }] }),
      },
      'POST /versions': { path: () => '/versions', body: (f) => f.commit('c', []) },
      'POST /refs/aliases': { path: () => '/refs/aliases', body: (f) => ({ ref: v0(f), alias: 'best' }) },
      'POST /refs/aliases/remove': {
        path: () => '/refs/aliases/remove',
        body: (f) => ({ ref: v1(f), alias: 'matrix' }),
      },
      'POST /refs/tags': {
        path: () => '/refs/tags',
        body: (f) => ({ ref: v0(f), add: ['good'], remove: [] }),
      },
      'POST /refs/delete': { path: () => '/refs/delete', body: (f) => ({ ref: v1(f), force: true }) },
      'POST /registries': {
        path: () => '/registries',
        body: (f) => ({ name: `reg-${f.n}`, entity: 'vision' }),
      },
      'POST /registry/models': {
        path: () => '/registry/models',
        body: (f) => ({ entity: 'vision', model: `new-${f.n}` }),
      },
      'POST /registry/model/rename': {
        path: () => '/registry/model/rename',
        body: (f) => ({ locator: locator(f), name: `renamed-${f.n}` }),
      },
      'PUT /registry/model/card': {
        path: () => '/registry/model/card',
        body: (f) => ({ locator: locator(f), card: '# card' }),
      },
      'POST /registry/model/tags': {
        path: () => '/registry/model/tags',
        body: (f) => ({ locator: locator(f), add: ['vision'], remove: [] }),
      },
      'POST /registry/model/delete': {
        path: () => '/registry/model/delete',
        body: (f) => ({ locator: locator(f), force: true }),
      },
      'POST /registry/links': {
        path: () => '/registry/links',
        body: (f) => ({ source: v1(f), target: locator(f), options: {} }),
      },
      'POST /registry/unlink': { path: () => '/registry/unlink', body: (f) => ({ ref: registryRef(f) }) },
      'POST /registry/aliases': {
        path: () => '/registry/aliases',
        body: (f) => ({ ref: registryRef(f), alias: 'candidate' }),
      },
      'POST /registry/aliases/remove': {
        path: () => '/registry/aliases/remove',
        body: (f) => ({ locator: locator(f), alias: 'staging' }),
      },
      'POST /admin/verify': { path: () => '/admin/verify', body: () => ({}) },
      'POST /admin/gc': { path: () => '/admin/gc', body: () => ({ dryRun: true }) },
      'POST /events/consumers/:consumer/claim': {
        path: (f) => `/events/consumers/c3-${f.n}/claim`,
        body: () => ({}),
      },
      'POST /events/consumers/:consumer/ack': {
        path: (f) => `/events/consumers/c2-${f.n}/ack`,
        body: (f) => ({ lease: f.lease }),
      },
      'POST /events/consumers/:consumer/release': {
        path: (f) => `/events/consumers/c2-${f.n}/release`,
        body: (f) => ({ lease: f.lease }),
      },
      'PUT /blobs/:sha256': {
        path: (f) => `/blobs/${createHash('sha256').update(`${f.n}!`).digest('hex')}`,
        body: (f) => Buffer.from(`${f.n}!`),
        raw: true,
      },
      'POST /admin/users': { path: () => '/admin/users', body: (f) => ({ name: `user-${f.n}` }) },
      'PUT /admin/users/:user/password': {
        path: () => '/admin/users/zed/password',
        body: (f) => ({ password: `a long passphrase ${f.n}` }),
      },
      'POST /admin/teams': { path: () => '/admin/teams', body: (f) => ({ name: `team-${f.n}` }) },
      'PUT /admin/teams/:team/members/:user': {
        path: () => '/admin/teams/vision/members/zed',
        body: () => ({ role: 'member' }),
      },
      'DELETE /admin/teams/:team/members/:user': {
        path: () => '/admin/teams/vision/members/zed',
        body: () => undefined,
      },
      'POST /admin/keys': { path: () => '/admin/keys', body: (f) => ({ user: 'zed', name: `ci-${f.n}` }) },
      'POST /admin/keys/:id/revoke': { path: (f) => `/admin/keys/${f.zedKeyId}/revoke`, body: () => ({}) },
      'POST /automations': {
        path: () => '/automations',
        body: (f) => ({
          name: `new-${f.n}`,
          trigger: 'registry.link',
          url: HOOK_URL,
          scope: { entity: 'vision' },
        }),
      },
      'DELETE /automations/:id': { path: (f) => `/automations/${f.automation}`, body: () => undefined },
      'POST /automations/:id/pause': { path: (f) => `/automations/${f.automation}/pause`, body: () => ({}) },
      'POST /automations/:id/resume': {
        path: (f) => `/automations/${f.automation}/resume`,
        body: () => ({}),
      },
      'POST /automations/:id/rotate-secret': {
        path: (f) => `/automations/${f.automation}/rotate-secret`,
        body: () => ({}),
      },
      'POST /automations/:id/test': { path: (f) => `/automations/${f.automation}/test`, body: () => ({}) },
      'POST /automations/:id/deliveries/:delivery/redeliver': {
        path: (f) => `/automations/${f.automation}/deliveries/${f.delivery}/redeliver`,
        body: () => ({}),
      },
    };
    // Who may make each call: the least role in 'vision', or 'server' for server admins only.
    const least: Record<string, 'member' | 'admin' | 'server'> = {};
    for (const { operation } of wireOperations())
      least[`${operation.verb} ${API_PREFIX}${operation.path}`] = operation.path.startsWith('/admin/')
        ? 'server'
        : (operation.role as 'member' | 'admin');
    const rest: Record<string, 'member' | 'admin' | 'server'> = {
      'POST /events/consumers/:consumer/claim': 'member',
      'POST /events/consumers/:consumer/ack': 'member',
      'POST /events/consumers/:consumer/release': 'member',
      'PUT /blobs/:sha256': 'member',
      'POST /admin/users': 'server',
      'PUT /admin/users/:user/password': 'server', // another user's; everyone may set their own
      'POST /admin/teams': 'server',
      'PUT /admin/teams/:team/members/:user': 'admin',
      'DELETE /admin/teams/:team/members/:user': 'admin',
      'POST /admin/keys': 'server', // for another user (zed); everyone may make their own, below
      'POST /admin/keys/:id/revoke': 'server', // of another user's key; everyone may revoke their own
      'POST /automations': 'admin',
      'DELETE /automations/:id': 'admin',
      'POST /automations/:id/pause': 'admin',
      'POST /automations/:id/resume': 'admin',
      'POST /automations/:id/rotate-secret': 'admin',
      'POST /automations/:id/test': 'member',
      'POST /automations/:id/deliveries/:delivery/redeliver': 'admin',
    };
    for (const [route, role] of Object.entries(rest))
      least[`${route.split(' ')[0]} ${API_PREFIX}${route.split(' ')[1]}`] = role;
    const send = async (key: string, route: { method: string; url: string }, f: Fixture) => {
      const sample = samples[`${route.method} ${route.url.slice(API_PREFIX.length)}`]!;
      const body = sample.body(f);
      if (sample.raw) {
        const response = await app.inject({
          method: route.method as 'PUT',
          url: api(sample.path(f)),
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/octet-stream',
            'x-quiver-entity': 'vision',
          },
          payload: body as Buffer,
        });
        return {
          status: response.statusCode,
          body: (response.body ? response.json() : {}) as Answer['body'],
        };
      }
      return call(key, route.method, api(sample.path(f)), {
        entity: 'vision',
        ...(body !== undefined ? { body } : {}),
      });
    };
    const dump = async () => {
      const db = store.backend.connection.db;
      const tables = [
        'aliases',
        'api_keys',
        'artifact_usage',
        'artifact_versions',
        'artifacts',
        'automations',
        'event_consumers',
        'event_heads',
        'events',
        'manifest_entries',
        'memberships',
        'registered_model_tags',
        'registered_models',
        'registries',
        'registry_aliases',
        'registry_links',
        'registry_usage',
        'run_history',
        'runs',
        'sessions',
        'teams',
        'users',
        'version_tags',
        'webhook_attempts',
        'webhook_deliveries',
      ];
      // Rows as JSON per table (a key's last-used time aside: using a key is not a write), and blobs.
      const rows: Record<string, string> = {};
      for (const table of tables) {
        const all = await db
          .selectFrom(table as 'runs')
          .selectAll()
          .execute();
        rows[table] = JSON.stringify(all.map((row) => ({ ...row, last_used_at: undefined })));
      }
      const blobs: string[] = [];
      for await (const blob of store.backend.blobs.list()) blobs.push(blob.sha256);
      rows.blobs = blobs.sort().join();
      return rows;
    };
    /** The names of the tables a call changed. */
    const changed = (before: Record<string, string>, after: Record<string, string>) =>
      Object.keys(after).filter((table) => after[table] !== before[table]);
    const ranks = { viewer: 0, member: 1, admin: 2, server: 3 } as const;
    const actors = [
      ['vic', 'viewer'],
      ['mia', 'member'],
      ['ada', 'admin'],
      ['root', 'server'],
    ] as const;
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) {
      const name = `${route.method} ${route.url}`;
      expect(
        samples[`${route.method} ${route.url.slice(API_PREFIX.length)}`],
        `a sample call for ${name}`,
      ).toBeDefined();
      expect(least[name], `a least role for ${name}`).toBeDefined();
      for (const [user, held] of actors) {
        const f = await fixture();
        const before = await dump();
        const answer = await send(keys[user]!, route, f);
        const label = `${name} as ${user} (${held}): ${JSON.stringify(answer.body)}`;
        if (ranks[held] < ranks[least[name]!]) {
          // Another user's key is not found rather than forbidden: key ids are not for others to learn.
          const revoking = route.url.endsWith('/revoke') && route.url.includes('/keys/');
          expect(answer.status, label).toBe(revoking ? 404 : 403);
          expect(answer.body.code, label).toBe(revoking ? 'E_NOT_FOUND' : 'E_FORBIDDEN');
          expect(changed(before, await dump()), `${label} changed the store`).toEqual([]);
        } else expect(answer.status, label).toBeLessThan(300);
      }
      // An outsider is told the team does not exist, for every write.
      const f = await fixture();
      const before = await dump();
      const outsider = await send(keys.otto!, route, f);
      expect(outsider.status, `${name} as otto`).toBe(404);
      expect(changed(before, await dump()), `${name} as otto changed the store`).toEqual([]);
    }
    // Everyone makes, lists and revokes their own keys; another user's key is out of reach.
    const made = await call(keys.vic, 'POST', api('/admin/keys'), { body: { name: 'laptop' } });
    expect(made.status).toBe(201);
    expect(made.body.user).toBe('vic');
    const mine = await call(keys.vic, 'GET', api('/admin/keys'));
    expect((mine.body as unknown as Array<{ user: string }>).every((key) => key.user === 'vic')).toBe(true);
    expect((await call(keys.vic, 'GET', api('/admin/keys'), { query: { user: 'mia' } })).status).toBe(403);
    const revoked = await call(keys.vic, 'POST', api(`/admin/keys/${made.body.id}/revoke`), { body: {} });
    expect(revoked.status).toBe(200);
    expect((await call(made.body.key as string, 'GET', api('/whoami'))).status).toBe(401);
    const [miaKey] = await store.backend.accounts.keys('mia');
    const stolen = await call(keys.vic, 'POST', api(`/admin/keys/${miaKey!.id}/revoke`), { body: {} });
    expect(stolen.status).toBe(404);
    expect((await call(keys.mia, 'GET', api('/whoami'))).status).toBe(200);
  }, 300_000);

  it("gives an outsider nothing of a team's artifacts, runs or registry, and no hint that they exist", async () => {
    const notFound = (answer: Answer) => {
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('E_NOT_FOUND');
    };
    const versionId = (
      (
        await call(keys.mia, 'GET', api('/refs/resolve'), {
          entity: 'vision',
          query: { ref: 'vision/mnist/mlp:v0' },
        })
      ).body.version as { id: string }
    ).id;
    // By name, by ref, by id, by listing — and as a default entity.
    notFound(await call(keys.otto, 'GET', api('/refs/resolve'), { query: { ref: 'vision/mnist/mlp:v0' } }));
    notFound(await call(keys.otto, 'GET', api(`/versions/${versionId}/entries`)));
    notFound(await call(keys.otto, 'GET', api('/runs/run00001')));
    notFound(await call(keys.otto, 'GET', api('/runs'), { query: { entity: 'vision' } }));
    notFound(await call(keys.otto, 'GET', api('/artifacts'), { query: { entity: 'vision' } }));
    notFound(
      await call(keys.otto, 'GET', api('/registry/model'), { query: { entity: 'vision', model: 'digits' } }),
    );
    notFound(await call(keys.otto, 'GET', api('/registry/models'), { query: { entity: 'vision' } }));
    notFound(await call(keys.otto, 'GET', api('/whoami'), { entity: 'vision' }));
    notFound(
      await call(keys.otto, 'POST', api('/registry/links'), {
        body: { source: 'vision/mnist/mlp:v0', target: { model: 'stolen' }, options: { create: true } },
      }),
    );
    // A name that exists and one that does not get the same answer.
    const missing = await call(keys.otto, 'GET', api('/runs'), { query: { entity: 'no-such-team' } });
    const hidden = await call(keys.otto, 'GET', api('/runs'), { query: { entity: 'vision' } });
    expect(missing.status).toBe(hidden.status);
    expect(missing.body.message!.toString().replace('no-such-team', 'X')).toBe(
      hidden.body.message!.toString().replace('vision', 'X'),
    );
    // The event log shows otto nothing of the team.
    const events = await call(keys.otto, 'GET', api('/events'));
    expect(events.body).toEqual([]);
    const teamEvents = await call(keys.vic, 'GET', api('/events'));
    expect((teamEvents.body as unknown as unknown[]).length).toBeGreaterThan(0);
    // otto's own entity works.
    const own = await call(keys.otto, 'GET', api('/runs'));
    expect(own.status).toBe(200);
  });

  it("shows no run, version or link of an entity the user cannot read in a shared version's lineage", async () => {
    // mia, in her own entity, trains a run that uses the team's version.
    const run = await call(keys.mia, 'POST', api('/runs'), {
      body: {
        id: 'private01',
        project: 'side',
        jobType: null,
        group: null,
        tags: [],
        notes: null,
        config: {},
        host: 'h',
        pid: 1,
      },
    });
    expect(run.body.entity).toBe('mia');
    expect(
      (await call(keys.mia, 'POST', api('/runs/private01/uses'), { body: { ref: 'vision/mnist/mlp:v0' } }))
        .status,
    ).toBeLessThan(300);
    const lineage = async (key: string) =>
      (
        await call(key, 'GET', api('/refs/lineage'), {
          entity: 'vision',
          query: { ref: 'vision/mnist/mlp:v0', depth: '3' },
        })
      ).body as unknown as {
        nodes: Array<{ kind: string; id: string }>;
        edges: Array<{ from: string; to: string }>;
      };
    // mia sees her run beside the team's version; vic, a viewer of the team only, does not.
    const mias = await lineage(keys.mia!);
    expect(mias.nodes.some((node) => node.kind === 'run' && node.id.includes('private01'))).toBe(true);
    const vics = await lineage(keys.vic!);
    expect(vics.nodes.length).toBeGreaterThan(0);
    expect(JSON.stringify(vics)).not.toContain('private01');
    const ids = new Set(vics.nodes.map((node) => node.id));
    for (const edge of vics.edges) expect(ids.has(edge.from) && ids.has(edge.to)).toBe(true);
  });

  it('logs every request with its id as JSON lines, and never a key', async () => {
    const lines: string[] = [];
    const logged = await buildServer({
      backend: store.backend,
      logger: { level: 'info', stream: { write: (line) => void lines.push(line) } },
    });
    try {
      const answer = await logged.inject({
        method: 'GET',
        url: `${API_PREFIX}/runs?token=${keys.mia}`,
        headers: { authorization: `Bearer ${keys.mia}`, 'x-request-id': 'trace-42' },
      });
      expect(answer.headers['x-request-id']).toBe('trace-42');
      await logged.inject({
        method: 'GET',
        url: `${API_PREFIX}/runs`,
        headers: { authorization: `Bearer ${keys.vic}x` },
      });
    } finally {
      await logged.close();
    }
    const records = lines.map((line) => JSON.parse(line) as { reqId?: string; msg: string });
    expect(records.some((record) => record.reqId === 'trace-42' && record.msg === 'incoming request')).toBe(
      true,
    );
    const text = lines.join('');
    for (const key of [keys.mia!, keys.vic!]) expect(text).not.toContain(key.slice(4));
  });
});
