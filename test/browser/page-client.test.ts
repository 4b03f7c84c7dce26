import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, connect, init, QuiverClient, signIn } from '@quiver/core/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncServer, startSyncServer } from '../offline/support.js';

// The page client (`@quiver/core/browser`) against a real server process, run here in Node (whose
// fetch and WebCrypto are the browser's APIs; there is no IndexedDB, so no outbox): the same
// options and errors as the Node SDK, and what it reads back from the server checked again.
let root: string;
let server: SyncServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'quiver-page-client-'));
  server = await startSyncServer(root);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A fetch that changes the server's answers to one path, as a compromised proxy would. */
function tampering(
  match: RegExp,
  change: (body: ArrayBuffer) => Uint8Array<ArrayBuffer> | string,
): typeof fetch {
  return async (input, requestInit) => {
    const response = await fetch(input, requestInit);
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (requestInit?.method !== undefined && requestInit.method !== 'GET') return response;
    if (!match.test(url.pathname)) return response;
    return new Response(change(await response.arrayBuffer()), {
      status: response.status,
      headers: response.headers,
    });
  };
}

describe('the page client', () => {
  it('logs a run with metrics and a version with an API key, and reads it back verified', async () => {
    const run = await init({
      baseUrl: server.url,
      apiKey: server.memberKey,
      project: 'page-client',
      config: { lr: 0.1 },
      timeoutMs: 30_000,
    });
    expect(run.resumed).toEqual({ sent: 0, kept: 0, dropped: 0 });
    run.log({ loss: 0.5 });
    run.log({ loss: 0.25 });
    const version = await run.logArtifact(
      new Artifact('weights', 'model', { metadata: { epoch: 2 } })
        .addBytes('w.bin', new Uint8Array([1, 2, 3]))
        .addBytes('notes.md', '# hi'),
      { aliases: ['best'] },
    );
    expect(version).toMatchObject({
      ref: `mia/page-client/weights:v0`,
      aliases: expect.arrayContaining(['best', 'latest']),
      fileCount: 2,
    });
    const info = await run.finish();
    expect(info.state).toBe('finished');
    const client = run.client();
    const history = await client.history(run.id);
    expect(history.map((row) => row.loss)).toEqual([0.5, 0.25]);
    const again = await client.artifact('mia/page-client/weights:best');
    expect([...(await again.read('w.bin'))]).toEqual([1, 2, 3]);
    expect(new TextDecoder().decode(await again.read('notes.md'))).toBe('# hi');
    // Equal content again: the same version, as in Node.
    const same = await client.commit(
      new Artifact('weights', 'model', { metadata: { epoch: 2 } })
        .addBytes('w.bin', new Uint8Array([1, 2, 3]))
        .addBytes('notes.md', '# hi'),
      {
        project: 'page-client',
      },
    );
    expect(same).toMatchObject({ version: 0, deduplicated: true });
  });

  it('refuses bad options and missing credentials with the errors of the Node SDK', async () => {
    await expect(
      init({ baseUrl: server.url, apiKey: server.memberKey, project: 'page-client', dir: '/tmp' } as never),
    ).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      message: "init(): option 'dir' is invalid: not an option of init() in a browser.",
    });
    await expect(init({ baseUrl: server.url, project: 'page-client' })).rejects.toMatchObject({
      code: 'E_UNAUTHORIZED',
      message: expect.stringContaining('pass session: true after signIn'),
    });
    await expect(init({ baseUrl: server.url, session: true, project: 'page-client' })).rejects.toMatchObject({
      code: 'E_UNAUTHORIZED',
      message: expect.stringContaining('not signed in'),
    });
    await expect(init({ baseUrl: 'ftp://example.com', apiKey: 'k', project: 'x' })).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      message: expect.stringContaining(
        "baseUrl 'ftp://example.com' is not the server's http:// or https:// address",
      ),
    });
    // A key in the URL is refused, and not repeated in the error.
    const keyed = init({ baseUrl: 'https://user:qvr_secret@example.com', apiKey: 'k', project: 'x' });
    await expect(keyed).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
    await expect(keyed).rejects.not.toThrow(/qvr_secret/);
    // …also when no other credential is given (the address is checked first).
    const bare = init({ baseUrl: 'https://user:qvr_secret@example.com', project: 'x' });
    await expect(bare).rejects.toMatchObject({ code: 'E_INVALID_OPTION' });
    await expect(bare).rejects.not.toThrow(/qvr_secret/);
    for (const timeoutMs of [0, Number.POSITIVE_INFINITY, 2.5])
      await expect(
        init({ baseUrl: server.url, apiKey: server.memberKey, project: 'x', timeoutMs }),
      ).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        message: `timeoutMs must be a whole number from 1 to 3600000, got ${timeoutMs}.`,
      });
    await expect(
      init({ baseUrl: server.url, apiKey: 'qvr_wrong', project: 'page-client' }),
    ).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(
      signIn({ baseUrl: server.url, username: 'mia', password: 'wrong password' }),
    ).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    const run = await init({ baseUrl: server.url, apiKey: server.memberKey, project: 'page-client' });
    expect(() => run.log({ loss: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_METRIC' }),
    );
    await expect(run.logArtifact(new Artifact('empty', 'model'))).rejects.toMatchObject({
      code: 'E_EMPTY_ARTIFACT',
    });
    expect(() => new Artifact('bad name!', 'model')).toThrow(
      expect.objectContaining({ code: 'E_INVALID_NAME' }),
    );
    expect(() => new Artifact('x', 'model').addBytes('../escape', 'x')).toThrow(
      expect.objectContaining({ code: 'E_INVALID_PATH' }),
    );
    expect(() => new Artifact('x', 'model').addFile('/etc/passwd')).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    );
    await run.finish();
  });

  it('tries a timed-out read or blob upload again, but not a timed-out write (it may still be running)', async () => {
    const attempts: string[] = [];
    let timeouts = 0;
    const timingOut =
      (match: (method: string, path: string) => boolean, times: number): typeof fetch =>
      async (input, requestInit) => {
        const method = requestInit?.method ?? 'GET';
        const path = new URL(String(input)).pathname;
        attempts.push(`${method} ${path}`);
        if (match(method, path) && timeouts < times) {
          timeouts++;
          throw new DOMException('The operation timed out.', 'TimeoutError');
        }
        return fetch(input, requestInit);
      };
    const uploads = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        retryDelayMs: 1,
        fetch: timingOut((method, path) => method === 'PUT' && path.startsWith('/api/v1/blobs/'), 2),
      }),
    );
    const content = new TextEncoder().encode(`timed out twice ${Date.now()}`);
    const version = await uploads.commit(new Artifact('timeouts', 'dataset').addBytes('a.bin', content), {
      project: 'page-client',
    });
    expect(timeouts).toBe(2);
    expect(attempts.filter((attempt) => attempt.startsWith('PUT /api/v1/blobs/'))).toHaveLength(3);
    expect(new TextDecoder().decode(await version.read('a.bin'))).toContain('timed out twice');

    attempts.length = 0;
    timeouts = 0;
    const writes = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        retryDelayMs: 1,
        fetch: timingOut((method, path) => method === 'POST' && path === '/api/v1/versions', 5),
      }),
    );
    await expect(
      writes.commit(new Artifact('timeouts', 'dataset').addBytes('b.bin', 'b'), { project: 'page-client' }),
    ).rejects.toMatchObject({
      code: 'E_UNAVAILABLE',
      message: expect.stringContaining('unless it reached the server'),
    });
    expect(attempts.filter((attempt) => attempt === 'POST /api/v1/versions')).toHaveLength(1);
  });

  it('refuses bytes or a manifest the server (or a proxy) changed, before anything uses them', async () => {
    const connection = await connect({ baseUrl: server.url, apiKey: server.memberKey });
    const client = new QuiverClient(connection);
    await client.commit(new Artifact('tampered', 'model').addBytes('w.bin', new Uint8Array([9, 9, 9])), {
      project: 'page-client',
    });

    const flipped = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        fetch: tampering(/^\/api\/v1\/blobs\//, (body) => new Uint8Array(body).map((byte) => byte ^ 1)),
      }),
    );
    await expect((await flipped.artifact('page-client/tampered:latest')).read('w.bin')).rejects.toMatchObject(
      { code: 'E_CHECKSUM_MISMATCH' },
    );

    // A blob answered without a length and without end: refused after its size, not read on.
    let streamed = 0;
    const endless = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        fetch: async (input, requestInit) => {
          const response = await fetch(input, requestInit);
          if (!new URL(String(input)).pathname.startsWith('/api/v1/blobs/')) return response;
          await response.body?.cancel();
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              streamed += 65_536;
              controller.enqueue(new Uint8Array(65_536));
            },
          });
          return new Response(body, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
        },
      }),
    );
    await expect((await endless.artifact('page-client/tampered:latest')).read('w.bin')).rejects.toMatchObject(
      {
        code: 'E_CHECKSUM_MISMATCH',
        message: expect.stringContaining('more than the 3 bytes'),
      },
    );
    expect(streamed).toBeLessThan(1_000_000);

    const rewritten = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        fetch: tampering(/\/entries$/, (body) => {
          const entries = JSON.parse(new TextDecoder().decode(body)) as Array<{ path: string }>;
          return JSON.stringify(entries.map((entry) => ({ ...entry, path: '../../outside' })));
        }),
      }),
    );
    await expect(
      (await rewritten.artifact('page-client/tampered:latest')).read('w.bin'),
    ).rejects.toMatchObject({ code: 'E_CORRUPT_MANIFEST' });

    const swapped = new QuiverClient(
      await connect({
        baseUrl: server.url,
        apiKey: server.memberKey,
        fetch: tampering(/\/entries$/, (body) => {
          const entries = JSON.parse(new TextDecoder().decode(body)) as Array<{ size: number }>;
          return JSON.stringify(entries.map((entry) => ({ ...entry, size: entry.size + 1 })));
        }),
      }),
    );
    await expect((await swapped.artifact('page-client/tampered:latest')).entries()).rejects.toMatchObject({
      code: 'E_CORRUPT_MANIFEST',
    });
  });
});
