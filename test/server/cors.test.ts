import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_PREFIX, type EmbeddedBackend, openEmbeddedStore, type Store } from '@quiver/core';
import {
  buildServer,
  CSRF_HEADER,
  corsOriginsFromEnv,
  type FastifyInstance,
  parseCorsOrigin,
  SESSION_COOKIE,
  startServer,
} from '@quiver/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeOf, spawnScript } from '../support/processes.js';

// The server's CORS policy for browser pages on other origins (a training page on
// http://127.0.0.1:5173 calling the server), over real HTTP (fetch against a listening server):
// the exact headers an allowed origin gets, and every way a page of another origin might try to
// read or write — preflighted, "simple" (no preflight), with a key or with a session cookie.

const ALLOWED = 'http://127.0.0.1:5173';
/** The same site as the server and the allowed page, another port: not allowed. */
const SAME_SITE_OTHER = 'http://127.0.0.1:5174';
const ATTACKERS = [
  'https://evil.example',
  SAME_SITE_OTHER,
  'https://127.0.0.1:5173', // the allowed host and port with another scheme
  'http://127.0.0.1:51730',
  'http://127.0.0.1:5173.evil.example',
  'null', // a sandboxed frame, a file:// page, a redirect across origins
];
const PASSWORD = 'correct horse battery staple';

let dir: string;
let store: Store<EmbeddedBackend>;
let app: FastifyInstance;
let base: string;
let key: string;
const logs: string[] = [];

type Answer = { status: number; headers: Headers; body: Record<string, unknown>; text: string };

async function http(
  method: string,
  path: string,
  options: { origin?: string; headers?: Record<string, string>; body?: string; json?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.origin !== undefined) headers.origin = options.origin;
  if (options.json !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body, text };
}

const api = (path: string) => `${API_PREFIX}${path}`;

function valid(id: string): string {
  expect(id).toMatch(/^[0-9a-z]{8,32}$/);
  return id;
}
const bearer = { authorization: '' };

/** A run mia may create (a valid id: were it refused for its shape, "nothing was created" would prove nothing). */
const runBody = (id: string) => ({
  id: valid(id),
  project: 'cors',
  jobType: null,
  group: null,
  tags: [],
  notes: null,
  config: {},
  host: 'browser',
  pid: 1,
});

/** The ids of mia's runs in the project, read as a Node client (no Origin). */
async function runIds(): Promise<string[]> {
  const answer = await http('GET', api('/runs?project=cors'), { headers: bearer });
  expect(answer.status, answer.text).toBe(200);
  return (answer.body as unknown as { items: Array<{ id: string }> }).items.map((run) => run.id);
}

/** Every Access-Control-* header of an answer. */
function corsHeaders(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => name.startsWith('access-control-')));
}

/** Signs mia in with her password from `origin`: the session cookie (as a Cookie header) and the answer. */
async function signIn(origin: string): Promise<{ cookie: string; answer: Answer }> {
  const answer = await http('POST', api('/session'), {
    origin,
    json: { username: 'mia', password: PASSWORD },
  });
  const setCookie = answer.headers.getSetCookie();
  return { cookie: (setCookie[0] ?? '').split(';')[0]!, answer };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-cors-'));
  store = await openEmbeddedStore({ dir: join(dir, 'store'), entity: 'server', actor: 'server' });
  await store.backend.accounts.createUser('mia');
  key = (await store.backend.accounts.createKey('mia', 'browser')).key;
  bearer.authorization = `Bearer ${key}`;
  await store.backend.accounts.setPassword('mia', PASSWORD);
  app = await buildServer({
    backend: store.backend,
    webhooks: false,
    ui: false,
    corsOrigins: [ALLOWED, 'https://train.example.com'],
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CORS for an allowed origin', () => {
  it('answers a preflight with exactly the origin, credentials, methods, headers and max-age', async () => {
    const answer = await http('OPTIONS', api('/runs'), {
      origin: ALLOWED,
      headers: {
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key,x-quiver-csrf',
      },
    });
    expect(answer.status).toBe(204);
    expect(corsHeaders(answer.headers)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE',
      'access-control-allow-headers':
        'authorization, content-type, idempotency-key, x-quiver-entity, x-quiver-csrf, x-quiver-size, x-quiver-direct, range',
      'access-control-expose-headers':
        'content-length, content-range, content-disposition, accept-ranges, etag, last-modified, idempotent-replayed, x-request-id',
      'access-control-max-age': '600',
    });
    expect(answer.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('lets a page create a run with a Bearer key, and read the answer (its origin and credentials: true)', async () => {
    const created = await http('POST', api('/runs'), {
      origin: ALLOWED,
      headers: { ...bearer, 'idempotency-key': 'cors-allowed-1' },
      json: runBody('allowed1'),
    });
    expect(created.status, created.text).toBe(200);
    expect(created.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(created.headers.get('access-control-allow-credentials')).toBe('true');
    expect(created.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(created.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(await runIds()).toContain('allowed1');
    // The second allowed origin too; its errors are readable by the page (the CORS headers stay).
    const refused = await http('GET', api('/runs?project=cors'), { origin: 'https://train.example.com' });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('E_UNAUTHORIZED');
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://train.example.com');
  });

  it('signs a page in with a password (cookie), hands it the CSRF token, and takes its writes', async () => {
    const preflight = await http('OPTIONS', api('/session'), {
      origin: ALLOWED,
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    const { cookie, answer } = await signIn(ALLOWED);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    // The cookie's flags are those of the server's own pages.
    const setCookie = answer.headers.getSetCookie()[0] ?? '';
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const session = await http('GET', api('/session'), { origin: ALLOWED, headers: { cookie } });
    expect(session.status).toBe(200);
    expect(session.body.actor).toBe('mia');
    expect(session.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const csrf = String(session.body.csrfToken);
    expect(csrf).toBe(answer.body.csrfToken);
    const written = await http('POST', api('/runs'), {
      origin: ALLOWED,
      headers: { cookie, [CSRF_HEADER]: csrf },
      json: runBody('session1'),
    });
    expect(written.status, written.text).toBe(200);
    expect(written.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    // Without the CSRF token the cookie alone writes nothing, from an allowed origin too.
    const forged = await http('POST', api('/runs'), {
      origin: ALLOWED,
      headers: { cookie },
      json: runBody('session2'),
    });
    expect(forged.status).toBe(403);
    expect(forged.body.code).toBe('E_FORBIDDEN');
    const ids = await runIds();
    expect(ids).toContain('session1');
    expect(ids).not.toContain('session2');
  });

  it('leaves the server’s own pages and Node clients as they were', async () => {
    // The server's own origin (the web UI): no CORS headers needed or sent, writes work.
    const { cookie, answer } = await signIn(base);
    expect(answer.status, answer.text).toBe(200);
    expect(corsHeaders(answer.headers)).toEqual({});
    const csrf = String(answer.body.csrfToken);
    const own = await http('POST', api('/runs'), {
      origin: base,
      headers: { cookie, [CSRF_HEADER]: csrf },
      json: runBody('ownorigin1'),
    });
    expect(own.status, own.text).toBe(200);
    expect(corsHeaders(own.headers)).toEqual({});
    // No Origin at all (curl, the Node SDK): as ever.
    const node = await http('POST', api('/runs'), { headers: bearer, json: runBody('nodeclient1') });
    expect(node.status, node.text).toBe(200);
    expect(corsHeaders(node.headers)).toEqual({});
    expect(await runIds()).toEqual(expect.arrayContaining(['ownorigin1', 'nodeclient1']));
  });
});

describe('CORS for any other origin', () => {
  it('refuses its preflights (403) with no CORS header', async () => {
    for (const origin of ATTACKERS)
      for (const path of [api('/runs'), api('/session'), '/healthz', '/nowhere']) {
        const answer = await http('OPTIONS', path, {
          origin,
          headers: {
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type',
          },
        });
        expect(answer.status, `${origin} ${path}`).toBe(403);
        expect(answer.body.code).toBe('E_FORBIDDEN');
        expect(typeof answer.body.message).toBe('string');
        expect(corsHeaders(answer.headers), `${origin} ${path}`).toEqual({});
      }
  });

  it('refuses a "simple" text/plain POST that creates a run, even with a valid key, and nothing is made', async () => {
    for (const [index, origin] of ATTACKERS.entries()) {
      const id = `attackrun${index}`;
      // What a page's fetch(url, { method: 'POST', body }) sends without a preflight (the key
      // stands for one the attacker got hold of: a browser could not add it without a preflight).
      const simple = await http('POST', api('/runs'), {
        origin,
        headers: { ...bearer, 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify(runBody(id)),
      });
      expect(simple.status, `${origin}: ${simple.text}`).toBe(403);
      expect(simple.body.code).toBe('E_FORBIDDEN');
      expect(corsHeaders(simple.headers)).toEqual({});
      // The same as JSON, as a client that skips the preflight would send it.
      const json = await http('POST', api('/runs'), {
        origin,
        headers: bearer,
        json: runBody(`${id}json`),
      });
      expect(json.status).toBe(403);
      expect(json.body.code).toBe('E_FORBIDDEN');
      // Nor may it read.
      const read = await http('GET', api('/runs?project=cors'), { origin, headers: bearer });
      expect(read.status).toBe(403);
      expect(read.text).not.toContain('allowed1');
      expect(corsHeaders(read.headers)).toEqual({});
    }
    const ids = await runIds();
    for (const index of ATTACKERS.keys()) {
      expect(ids).not.toContain(`attackrun${index}`);
      expect(ids).not.toContain(`attackrun${index}json`);
    }
  });

  it('refuses its sign-in, and the writes of a session cookie it rides on (with or without the CSRF token)', async () => {
    for (const origin of ATTACKERS) {
      const { cookie, answer } = await signIn(origin);
      expect(answer.status).toBe(403);
      expect(answer.body.code).toBe('E_FORBIDDEN');
      expect(cookie).toBe('');
      expect(corsHeaders(answer.headers)).toEqual({});
    }
    // A real session (signed in from the allowed page), and a page of another origin riding on it.
    const { cookie, answer } = await signIn(ALLOWED);
    const csrf = String(answer.body.csrfToken);
    for (const [index, origin] of ATTACKERS.entries()) {
      const simple = await http('POST', api('/runs'), {
        origin,
        headers: { cookie, 'content-type': 'text/plain' },
        body: JSON.stringify(runBody(`riderun${index}`)),
      });
      expect(simple.status).toBe(403);
      const withToken = await http('POST', api('/runs'), {
        origin,
        headers: { cookie, [CSRF_HEADER]: csrf },
        json: runBody(`riderun${index}csrf`),
      });
      expect(withToken.status).toBe(403);
      expect(withToken.body.code).toBe('E_FORBIDDEN');
      const session = await http('GET', api('/session'), { origin, headers: { cookie } });
      expect(session.status).toBe(403);
      expect(session.text).not.toContain(csrf);
      const end = await http('POST', api('/session/end'), { origin, headers: { cookie }, json: {} });
      expect(end.status).toBe(403);
    }
    // The session still works from the allowed page (the attacks did not end it), and wrote nothing.
    expect((await http('GET', api('/session'), { origin: ALLOWED, headers: { cookie } })).status).toBe(200);
    const ids = await runIds();
    expect(ids.filter((id) => id.startsWith('riderun'))).toEqual([]);
  });
});

describe('CORS settings', () => {
  it('takes exact origins only, and says what to give for anything else', async () => {
    expect(parseCorsOrigin('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173');
    expect(parseCorsOrigin(' HTTPS://Train.Example.com:443 ')).toBe('https://train.example.com');
    expect(parseCorsOrigin('http://[::1]:5173')).toBe('http://[::1]:5173');
    for (const bad of [
      '*',
      'http://*.example.com',
      '',
      'localhost:5173',
      '127.0.0.1:5173',
      'ftp://example.com',
      'file:///tmp/page.html',
      'null',
      'http://127.0.0.1:5173/',
      'http://127.0.0.1:5173/train',
      'http://127.0.0.1:5173?x=1',
      'http://127.0.0.1:5173#top',
      'http://user:secret@127.0.0.1:5173',
      'http://',
      'http://127.0.0.1:99999',
    ]) {
      await expect(
        buildServer({
          backend: store.backend,
          logger: false,
          webhooks: false,
          ui: false,
          corsOrigins: [bad],
        }),
        bad,
      ).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: expect.stringMatching(
          /^corsOrigins: '.*' .*scheme:\/\/host\[:port\].*http:\/\/127\.0\.0\.1:5173/,
        ),
      });
    }
    expect(() => parseCorsOrigin('*')).toThrow(/wildcard/);
    expect(() => parseCorsOrigin('http://127.0.0.1:5173/')).toThrow(/trailing \//);
    expect(() => parseCorsOrigin('http://u:p@a.example')).toThrow(/credentials/);
  });

  it('reads QUIVER_CORS_ORIGINS (comma-separated) and refuses a bad one before the server opens its store', async () => {
    expect(corsOriginsFromEnv({})).toBeUndefined();
    expect(corsOriginsFromEnv({ QUIVER_CORS_ORIGINS: '' })).toBeUndefined();
    expect(
      corsOriginsFromEnv({ QUIVER_CORS_ORIGINS: 'http://127.0.0.1:5173, https://train.example.com,' }),
    ).toEqual(['http://127.0.0.1:5173', 'https://train.example.com']);
    expect(() => corsOriginsFromEnv({ QUIVER_CORS_ORIGINS: 'http://127.0.0.1:5173,*' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ENV',
        message: expect.stringMatching(/^QUIVER_CORS_ORIGINS: '\*'/),
      }),
    );
    const dataDir = join(dir, 'never-made');
    const saved = process.env.QUIVER_CORS_ORIGINS;
    process.env.QUIVER_CORS_ORIGINS = 'http://127.0.0.1:5173/';
    try {
      await expect(startServer({ dataDir, port: 0, logger: false, webhooks: false })).rejects.toMatchObject({
        code: 'E_INVALID_ENV',
      });
    } finally {
      if (saved === undefined) delete process.env.QUIVER_CORS_ORIGINS;
      else process.env.QUIVER_CORS_ORIGINS = saved;
    }
    expect(existsSync(dataDir)).toBe(false);
    // Given as an option, it replaces the variable.
    await expect(
      startServer({ dataDir, port: 0, logger: false, webhooks: false, corsOrigins: ['https://x.example/'] }),
    ).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('quiver server start --cors-origin (repeatable) allows those origins, a bad one is a usage error; its --json log goes to stderr', {
    timeout: 120_000,
  }, async () => {
    const env = { QUIVER_BASE_URL: '', QUIVER_API_KEY: '', QUIVER_CORS_ORIGINS: 'https://from-env.example' };
    const bad = await outcomeOf(
      spawnScript(
        'packages/cli/src/bin.ts',
        [
          'server',
          'start',
          '--port',
          '0',
          '--json',
          '--data',
          join(dir, 'cli-bad'),
          '--cors-origin',
          'http://127.0.0.1:5173/',
        ],
        env,
      ),
    );
    expect(bad.code).toBe(2);
    const error = JSON.parse(bad.stdout).error;
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toMatch(/^--cors-origin: 'http:\/\/127\.0\.0\.1:5173\/' has a path/);
    expect(existsSync(join(dir, 'cli-bad'))).toBe(false);

    const child = spawnScript(
      'packages/cli/src/bin.ts',
      [
        'server',
        'start',
        '--port',
        '0',
        '--json',
        '--data',
        join(dir, 'cli'),
        '--cors-origin',
        ALLOWED,
        '--cors-origin',
        'https://train.example.com',
        '--log-level',
        'info',
      ],
      env,
    );
    const ended = outcomeOf(child);
    try {
      const first = await new Promise<{ url: string; adminKey: string }>((resolve, reject) => {
        let stdout = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const newline = stdout.indexOf('\n');
          if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)));
        });
        void ended.then((outcome) => reject(new Error(`the server exited: ${outcome.stderr}`)));
      });
      const preflight = (origin: string) =>
        fetch(`${first.url}${api('/whoami')}`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      for (const origin of [ALLOWED, 'https://train.example.com']) {
        const answer = await preflight(origin);
        expect(answer.status).toBe(204);
        expect(answer.headers.get('access-control-allow-origin')).toBe(origin);
      }
      // The flags replace QUIVER_CORS_ORIGINS.
      const fromEnv = await preflight('https://from-env.example');
      expect(fromEnv.status).toBe(403);
      expect(fromEnv.headers.get('access-control-allow-origin')).toBeNull();
      const whoami = await fetch(`${first.url}${api('/whoami')}`, {
        headers: { origin: ALLOWED, authorization: `Bearer ${first.adminKey}` },
      });
      expect(whoami.status).toBe(200);
      expect(whoami.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      child.kill('SIGTERM');
      const outcome = await ended;
      // With --json the request log goes to standard error (standard output is the one line).
      expect(outcome.stdout.trim().split('\n')).toHaveLength(1);
      expect(outcome.stderr).toContain('"url":"/api/v1/whoami"');
      expect(outcome.stderr).toContain('"statusCode":403');
      expect(outcome.stderr).not.toContain(first.adminKey);
    } finally {
      child.kill('SIGTERM');
      await ended;
    }
  });
});

describe('the request log', () => {
  it('holds no key, cookie, CSRF token, password or secret query value', async () => {
    const { cookie, answer } = await signIn(ALLOWED);
    const csrf = String(answer.body.csrfToken);
    await http('GET', api(`/runs?project=cors&token=${key}&api_key=hunter2`), {
      origin: ALLOWED,
      headers: { ...bearer, cookie, [CSRF_HEADER]: csrf, 'x-api-key': key },
    });
    await http('GET', api('/whoami'), { origin: 'https://evil.example', headers: bearer });
    const session = cookie.split('=')[1]!;
    const text = logs.join('');
    expect(text).toContain('"url":"/api/v1/runs?project=cors&token=***&api_key=***"');
    expect(session.length).toBeGreaterThan(20);
    for (const secret of [key, key.slice(4), session, csrf, PASSWORD, 'hunter2'])
      expect(text, secret).not.toContain(secret);
    expect(text).not.toMatch(/authorization|set-cookie|"cookie"/i);
  });
});
