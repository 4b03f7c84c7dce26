import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_PREFIX, type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import { buildServer, CSRF_HEADER, type FastifyInstance, SESSION_COOKIE } from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Signing in to the web UI (sessions, CSRF), `quiver ui`'s local mode and the app's files, through
// the server's real router and hooks (fastify's inject).
let dir: string;
let uiDir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let local: FastifyInstance;
const keys: Record<string, string> = {};
const PASSWORD = 'correct horse battery staple';

type Answer = {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
  raw: string;
};

async function send(
  server: FastifyInstance,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await server.inject({
    method: method as 'GET',
    url: path,
    headers: {
      host: '127.0.0.1:5959',
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
  let body: Record<string, unknown> = {};
  try {
    body = response.json();
  } catch {}
  return { status: response.statusCode, body, headers: response.headers, raw: response.body };
}

const api = (path: string) => `${API_PREFIX}${path}`;

/** Signs in and returns the session cookie (as a Cookie header) and the CSRF token. */
async function signIn(
  credentials: Record<string, string>,
): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await send(app, 'POST', api('/session'), { body: credentials });
  const setCookie = String(answer.headers['set-cookie'] ?? '');
  return { cookie: setCookie.split(';')[0]!, csrf: String(answer.body.csrfToken ?? ''), answer };
}

/** A write a member may make: an alias on a version of the team's. */
const aliasWrite = (alias: string) => ({ ref: 'vision/demo/model:v0', alias });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-webui-'));
  uiDir = join(dir, 'ui');
  mkdirSync(join(uiDir, 'assets'), { recursive: true });
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>Quiver</title><div id="root"></div>');
  writeFileSync(
    join(uiDir, 'assets', 'index-abc123.js'),
    `console.log(${JSON.stringify('x'.repeat(4000))});`,
  );
  writeFileSync(join(dir, 'secret.txt'), 'not for the web');
  store = await openEmbeddedStore({ dir: join(dir, 'store'), entity: 'server', actor: 'server' });
  const { accounts } = store.backend;
  await accounts.createUser('root', { admin: true });
  for (const user of ['vic', 'mia', 'pat', 'sam']) await accounts.createUser(user);
  await accounts.createTeam('vision', 'root');
  await accounts.setMember('vision', 'vic', 'viewer');
  await accounts.setMember('vision', 'mia', 'member');
  for (const user of ['root', 'vic', 'mia', 'pat', 'sam'])
    keys[user] = (await accounts.createKey(user, 'tests')).key;
  for (const user of ['mia', 'vic', 'pat', 'sam']) await accounts.setPassword(user, PASSWORD);
  // A version in the team for the writes below.
  const team = store.backend.withPrincipal({ actor: 'mia', entity: 'vision' });
  const blob = Buffer.from('weights');
  const sha256 = createHash('sha256').update(blob).digest('hex');
  const staged = await team.blobs.stage({
    stream: (async function* () {
      yield blob;
    })(),
    sizeHint: blob.length,
  });
  await team.blobs.publish([staged]);
  await team.artifacts.commit({
    entity: 'vision',
    project: 'demo',
    name: 'model',
    type: 'model',
    manifest: [{ path: 'weights "x".bin', sha256, size: blob.length }],
  } as never);
  app = await buildServer({ backend: store.backend, logger: false, webhooks: false, ui: { dir: uiDir } });
  local = await buildServer({
    backend: store.backend,
    logger: false,
    webhooks: false,
    ui: { dir: uiDir },
    local: { actor: 'me', entity: 'me' },
  });
  await app.ready();
  await local.ready();
});

afterAll(async () => {
  await app?.close();
  await local?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('web UI sign-in', () => {
  it('signs in with a password into an HttpOnly, SameSite=Strict cookie whose token is stored only as a hash', async () => {
    const { cookie, csrf, answer } = await signIn({ username: 'mia', password: PASSWORD });
    expect(answer.status).toBe(200);
    const setCookie = String(answer.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=qvs_[A-Za-z0-9_-]{43}; `));
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/']) expect(setCookie).toContain(attribute);
    expect(answer.headers['cache-control']).toBe('no-store');
    const token = cookie.split('=')[1]!;
    // The page gets who it is and the CSRF token, never the session token.
    expect(answer.body).toMatchObject({ actor: 'mia', mode: 'team' });
    expect(answer.raw).not.toContain(token);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Stored: the token's sha256 and the password's scrypt hash, never either in clear.
    const rows = JSON.stringify([
      await store.backend.connection.db.selectFrom('sessions').selectAll().execute(),
      await store.backend.connection.db.selectFrom('users').selectAll().execute(),
    ]);
    expect(rows).not.toContain(token);
    expect(rows).toContain(createHash('sha256').update(token).digest('hex'));
    expect(rows).not.toContain(PASSWORD);
    expect(rows).toMatch(/scrypt\$32768\$8\$1\$/);
    // The cookie reads; GET /session hands the same CSRF token again after a reload.
    const whoami = await send(app, 'GET', api('/whoami'), { headers: { cookie } });
    expect(whoami.body).toMatchObject({ actor: 'mia' });
    expect((await send(app, 'GET', api('/session'), { headers: { cookie } })).body.csrfToken).toBe(csrf);
  });

  it('behind HTTPS names the cookie __Host- and Secure, and takes no plain one a subdomain could plant', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const answer = await send(app, 'POST', api('/session'), { body: { apiKey: keys.mia! }, headers: https });
    const setCookie = String(answer.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-quiver_session=qvs_[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('Secure');
    const token = setCookie.split(';')[0]!.split('=')[1]!;
    expect(
      (
        await send(app, 'GET', api('/whoami'), {
          headers: { ...https, cookie: `__Host-quiver_session=${token}` },
        })
      ).status,
    ).toBe(200);
    // The same token under the plain name (as a sibling subdomain could set it) is not read.
    expect(
      (
        await send(app, 'GET', api('/whoami'), {
          headers: { ...https, cookie: `${SESSION_COOKIE}=${token}` },
        })
      ).status,
    ).toBe(401);
  });

  it('gives a wrong password and an unknown user the same answer, and locks a name out after ten failures', async () => {
    const wrong = await signIn({ username: 'vic', password: 'not the password' });
    const unknown = await signIn({ username: 'nobody', password: PASSWORD });
    expect(wrong.answer.status).toBe(401);
    expect(unknown.answer.status).toBe(401);
    expect(wrong.answer.body.message).toBe(unknown.answer.body.message);
    expect(wrong.answer.headers['set-cookie']).toBeUndefined();
    for (let attempt = 0; attempt < 9; attempt++)
      await signIn({ username: 'vic', password: `guess ${attempt}` });
    // The right password no longer gets in: the name is locked for 15 minutes.
    const locked = await signIn({ username: 'vic', password: PASSWORD });
    expect(locked.answer.status).toBe(401);
    expect(String(locked.answer.body.message)).toContain('Too many failed sign-ins');
    // A key still signs vic in.
    expect((await signIn({ apiKey: keys.vic! })).answer.status).toBe(200);
    // Malformed bodies are refused with what to send.
    const bad = await send(app, 'POST', api('/session'), { body: { username: 'mia' } });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('apiKey');
  });

  it('refuses a cookie-authenticated write without the CSRF token, with a wrong one, or from another origin, and changes nothing', async () => {
    const { cookie, csrf } = await signIn({ username: 'mia', password: PASSWORD });
    const aliases = async () =>
      (await store.backend.artifacts.resolve('vision/demo/model:v0')).version.aliases.filter(
        (a) => a !== 'latest',
      );
    const attempts: Array<Record<string, string>> = [
      { cookie, 'x-quiver-entity': 'vision' },
      { cookie, 'x-quiver-entity': 'vision', [CSRF_HEADER]: 'forged' },
      { cookie, 'x-quiver-entity': 'vision', [CSRF_HEADER]: `${csrf.slice(0, -1)}A` },
      { cookie, 'x-quiver-entity': 'vision', [CSRF_HEADER]: csrf, origin: 'https://evil.example' },
    ];
    for (const headers of attempts) {
      const answer = await send(app, 'POST', api('/refs/aliases'), { body: aliasWrite('csrf'), headers });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(answer.body.code).toBe('E_FORBIDDEN');
    }
    expect(await aliases()).toEqual([]);
    // With the token, from the page's own origin, the write goes through.
    const ok = await send(app, 'POST', api('/refs/aliases'), {
      body: aliasWrite('staging'),
      headers: { cookie, 'x-quiver-entity': 'vision', [CSRF_HEADER]: csrf, origin: 'http://127.0.0.1:5959' },
    });
    expect(ok.status).toBe(200);
    expect(await aliases()).toEqual(['staging']);
  });

  it('lets a viewer signed in by cookie read but not write, CSRF token or not', async () => {
    const { cookie, csrf } = await signIn({ apiKey: keys.vic! });
    const headers = { cookie, 'x-quiver-entity': 'vision', [CSRF_HEADER]: csrf };
    expect(
      (await send(app, 'GET', `${api('/refs/resolve')}?ref=vision/demo/model:v0`, { headers })).status,
    ).toBe(200);
    const write = await send(app, 'POST', api('/refs/aliases'), {
      body: aliasWrite('viewer-was-here'),
      headers,
    });
    expect(write.status).toBe(403);
    expect(String(write.body.message)).toContain('member');
    expect((await store.backend.artifacts.resolve('vision/demo/model:v0')).version.aliases).not.toContain(
      'viewer-was-here',
    );
  });

  it('ends sessions on sign-out, on a new password, and when the key they were made from is revoked', async () => {
    const out = await signIn({ username: 'mia', password: PASSWORD });
    const end = await send(app, 'POST', api('/session/end'), {
      body: {},
      headers: { cookie: out.cookie, [CSRF_HEADER]: out.csrf },
    });
    expect(end.status).toBe(204);
    expect(String(end.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await send(app, 'GET', api('/whoami'), { headers: { cookie: out.cookie } })).status).toBe(401);

    const before = await signIn({ username: 'mia', password: PASSWORD });
    await store.backend.accounts.setPassword('mia', 'a brand new passphrase');
    expect((await send(app, 'GET', api('/whoami'), { headers: { cookie: before.cookie } })).status).toBe(401);
    expect((await signIn({ username: 'mia', password: PASSWORD })).answer.status).toBe(401);

    const key = await store.backend.accounts.createKey('mia', 'browser');
    const byKey = await signIn({ apiKey: key.key });
    expect((await send(app, 'GET', api('/whoami'), { headers: { cookie: byKey.cookie } })).status).toBe(200);
    await store.backend.accounts.revokeKey(key.id);
    const after = await send(app, 'GET', api('/whoami'), { headers: { cookie: byKey.cookie } });
    expect(after.status).toBe(401);
    expect(String(after.body.message)).toContain('sign in again');
    // A made-up session token gets nothing either.
    const forged = `${SESSION_COOKIE}=qvs_${'A'.repeat(43)}`;
    expect((await send(app, 'GET', api('/whoami'), { headers: { cookie: forged } })).status).toBe(401);
  });

  it("sets passwords by the admin route: anyone's as a server admin, one's own only with the current one", async () => {
    const path = api('/admin/users/pat/password');
    const put = (key: string, body: Record<string, string>) =>
      send(app, 'PUT', path, { body, headers: { authorization: `Bearer ${key}` } });
    expect((await put(keys.mia!, { password: 'mia sets pat password' })).status).toBe(403);
    // pat's key alone (a leaked one, say) cannot plant a password that would outlive the key.
    const keyOnly = await put(keys.pat!, { password: 'pat chose this one' });
    expect(keyOnly.status).toBe(403);
    expect(String(keyOnly.body.message)).toContain('currentPassword');
    expect(
      (await put(keys.pat!, { password: 'pat chose this one', currentPassword: 'a wrong guess!' })).status,
    ).toBe(403);
    expect((await put(keys.pat!, { password: 'pat chose this one', currentPassword: PASSWORD })).status).toBe(
      204,
    );
    expect((await signIn({ username: 'pat', password: 'pat chose this one' })).answer.status).toBe(200);
    expect((await put(keys.root!, { password: 'short' })).status).toBe(400);
    expect((await put(keys.root!, { password: 'the admin resets it' })).status).toBe(204);
    expect((await signIn({ username: 'pat', password: 'the admin resets it' })).answer.status).toBe(200);
  });

  it('refuses a sign-in against a tampered password hash at once, whatever cost or shape it claims', async () => {
    const db = store.backend.connection.db;
    await store.backend.accounts.createUser('tam');
    const salt = Buffer.alloc(16).toString('base64url');
    const key = Buffer.alloc(32).toString('base64url');
    for (const stored of [
      `scrypt$${2 ** 30}$8$1$${salt}$${key}`, // a cost that would take minutes and gigabytes
      `scrypt$32768$64$1$${salt}$${key}`,
      'scrypt$32768$8$1$short$short',
      'plain text',
    ]) {
      await db.updateTable('users').set({ password_hash: stored }).where('name', '=', 'tam').execute();
      const started = performance.now();
      const answer = await signIn({ username: 'tam', password: PASSWORD });
      expect(answer.answer.status, stored).toBe(401);
      expect(performance.now() - started, stored).toBeLessThan(5000);
    }
  });

  it('counts a burst of parallel guesses whole: the name locks, the right password then fails too', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        signIn({ username: 'sam', password: `parallel guess ${index}` }),
      ),
    );
    expect(guesses.every((guess) => guess.answer.status === 401)).toBe(true);
    const right = await signIn({ username: 'sam', password: PASSWORD });
    expect(right.answer.status).toBe(401);
    expect(String(right.answer.body.message)).toContain('Too many failed sign-ins');
  });
});

describe('quiver ui (local mode)', () => {
  it('acts as the local admin without sign-in, but only for a loopback Host and, for writes, with the CSRF token', async () => {
    const session = await send(local, 'GET', api('/session'));
    expect(session.body).toMatchObject({ actor: 'me', mode: 'local', admin: true });
    const csrf = String(session.body.csrfToken);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host.
    const rebound = await send(local, 'GET', api('/session'), { headers: { host: 'evil.example:5959' } });
    expect(rebound.status).toBe(403);
    expect(rebound.raw).not.toContain(csrf);
    const headers = { 'x-quiver-entity': 'vision' };
    const noToken = await send(local, 'POST', api('/refs/aliases'), { body: aliasWrite('local'), headers });
    expect(noToken.status).toBe(403);
    const withToken = await send(local, 'POST', api('/refs/aliases'), {
      body: aliasWrite('local'),
      headers: { ...headers, [CSRF_HEADER]: csrf },
    });
    expect(withToken.status).toBe(200);
    await store.backend.artifacts.removeAlias('vision/demo/model:v0', 'local');
  });
});

describe("the app's files", () => {
  it('serves the app with a strict CSP at its pages, its assets cached forever, and nothing else without a key', async () => {
    for (const path of [
      '/',
      '/signin',
      '/projects/vision',
      '/projects/vision/demo/artifacts/model/v0',
      '/registry',
    ]) {
      const page = await send(app, 'GET', path);
      expect(page.status, path).toBe(200);
      expect(page.raw).toContain('<div id="root">');
      expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
      expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
    }
    const asset = await send(app, 'GET', '/assets/index-abc123.js', {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.headers['cache-control']).toContain('immutable');
    // Only the build's own files: no path leaves its folder, and other paths still need a key.
    for (const path of [
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/secret.txt',
      '/nowhere',
      '/assets/nope.js',
    ])
      expect((await send(app, 'GET', path)).status, path).toBe(401);
    // A server without a build says how to make one.
    const bare = await buildServer({
      backend: store.backend,
      logger: false,
      webhooks: false,
      ui: { dir: join(dir, 'none') },
    });
    const notBuilt = await send(bare, 'GET', '/');
    expect(notBuilt.raw).toContain('pnpm --filter @quiver/ui build');
    await bare.close();
  });

  it('downloads a file as an attachment that never runs as a page of the origin', async () => {
    const resolved = await store.backend.artifacts.resolve('vision/demo/model:v0');
    const [entry] = await store.backend.artifacts.entries(resolved.version.id);
    const answer = await send(
      app,
      'GET',
      `${api(`/blobs/${entry!.sha256}`)}?download=${encodeURIComponent('../weights "x";\r\n.bin')}`,
      {
        headers: { authorization: `Bearer ${keys.mia}` },
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.raw).toBe('weights');
    expect(answer.headers['content-disposition']).toBe(
      `attachment; filename="weights _x____.bin"; filename*=UTF-8''weights%20%22x%22%3B%0D%0A.bin`,
    );
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(String(answer.headers['content-security-policy'])).toContain('sandbox');
  });
});
