import {
  Artifact,
  type BlobStore,
  codeOfHttpStatus,
  httpStatusOf,
  init,
  isQuiverErrorCode,
  type QuiverBackendV1,
  QuiverError,
  type QuiverErrorCode,
  type QuiverEvent,
} from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore } from './support/backends.js';
import { isJsonRoundTrip, jsonRoundTrip } from './support/json-backend.js';

// Every error code. The code→status table is not exported as a value, so the list is typed total
// instead: TypeScript fails here when the contract gains a code this list lacks (or loses one).
const EVERY_CODE = {
  E_INVALID_NAME: true,
  E_INVALID_TYPE: true,
  E_INVALID_ALIAS: true,
  E_INVALID_TAG: true,
  E_INVALID_REF: true,
  E_INVALID_PATH: true,
  E_INVALID_METADATA: true,
  E_INVALID_OPTION: true,
  E_INVALID_ENV: true,
  E_INVALID_STEP: true,
  E_INVALID_METRIC: true,
  E_DUPLICATE_ENTRY: true,
  E_FILE_NOT_FOUND: true,
  E_NOT_A_FILE: true,
  E_NOT_A_DIRECTORY: true,
  E_SYMLINK_LOOP: true,
  E_UNSAFE_DESTINATION: true,
  E_EMPTY_ARTIFACT: true,
  E_TYPE_MISMATCH: true,
  E_NOT_FOUND: true,
  E_ALIAS_HELD: true,
  E_ALIAS_RESERVED: true,
  E_CHECKSUM_MISMATCH: true,
  E_BLOB_MISSING: true,
  E_REFERENCE_SCHEME: true,
  E_REFERENCE_FAILED: true,
  E_RUN_FINISHED: true,
  E_DISABLED: true,
  E_DATABASE: true,
  E_ALIAS_PROTECTED: true,
  E_TYPE_NOT_ACCEPTED: true,
  E_VERSION_LINKED: true,
  E_ALREADY_EXISTS: true,
  E_UNSUPPORTED_LAYER: true,
  E_PARITY_MISMATCH: true,
  E_INVALID_MODEL: true,
  E_HUB_UNAUTHORIZED: true,
  E_HUB_FORBIDDEN: true,
  E_HUB_NOT_FOUND: true,
  E_HUB_CONFLICT: true,
  E_HUB_FAILED: true,
  E_PERMISSION_DENIED: true,
  E_READ_ONLY: true,
  E_DISK_FULL: true,
  E_IO: true,
  E_CORRUPT_MANIFEST: true,
  E_CONCURRENT_GC: true,
  E_USAGE: true,
  E_UNAUTHORIZED: true,
  E_FORBIDDEN: true,
  E_TOO_LARGE: true,
  E_INTERNAL: true,
  E_UNPROCESSABLE: true,
  E_UNAVAILABLE: true,
  E_INVALID_REQUEST: true,
  E_UNSUPPORTED_MEDIA_TYPE: true,
  E_RANGE_NOT_SATISFIABLE: true,
  E_IDEMPOTENCY_KEY_REUSED: true,
  E_TARGET_REFUSED: true,
  E_INVALID_BUNDLE: true,
  E_NOT_CACHED: true,
} as const satisfies Record<QuiverErrorCode, true>;
const CODES = Object.keys(EVERY_CODE) as QuiverErrorCode[];

/** A backend with only the parts a test gives it; the rest is never reached. */
function fakeBackend(parts: Record<string, unknown>): QuiverBackendV1 {
  return {
    specificationVersion: 'v1',
    principal: { actor: 'alice', entity: 'team' },
    withPrincipal: () => {
      throw new Error('not faked');
    },
    close: async () => {},
    ...parts,
  } as unknown as QuiverBackendV1;
}

/** A backend whose `runs.get` answers with `answer()`. */
function answering(answer: () => unknown): QuiverBackendV1 {
  return fakeBackend({ runs: { get: async () => answer() } });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const EVENT: QuiverEvent = {
  id: '01J0000000000000000000000',
  position: 1,
  topic: 'registry',
  sequence: 1,
  action: 'model.create',
  entity: 'team',
  actor: 'alice',
  at: '2024-01-01T00:00:00.000Z',
  subject: 'team/model/digits',
  registry: 'model',
  modelId: '01J0000000000000000000001',
  model: 'digits',
  before: null,
  after: { card: '' },
};

describe('errors across the JSON backend', () => {
  it('lists codes the contract knows', () => {
    expect(CODES.filter((code) => !isQuiverErrorCode(code))).toEqual([]);
  });

  it.each(CODES)('%s crosses as a QuiverError with its code, message, details and status', async (code) => {
    const thrown = new QuiverError(code, `what went wrong with ${code}; what to do`, {
      details: { path: 'a/b.bin', nested: { n: 1, list: [1, 'x', null] } },
      cause: new Error('stays on the server'),
    });
    const backend = jsonRoundTrip(
      answering(() => {
        throw thrown;
      }),
    );
    const error = await rejectionOf(backend.runs.get('r1'));
    expect(error).toBeInstanceOf(QuiverError);
    expect(error).not.toBe(thrown);
    const crossed = error as QuiverError;
    expect(crossed.code).toBe(code);
    expect(crossed.message).toBe(thrown.message);
    expect(crossed.details).toEqual(thrown.details);
    expect(crossed.details).not.toBe(thrown.details);
    expect(crossed.cause).toBeUndefined();
    expect(crossed.status).toBe(httpStatusOf(code));
    // An answer whose code this client does not know (a newer server's) still maps back by status.
    const unknown = QuiverError.fromJSON({ code: 'E_FROM_A_NEWER_SERVER', message: 'm' }, crossed.status);
    expect(unknown.code).toBe(codeOfHttpStatus(crossed.status));
  });

  it('maps every status a code crosses as back to a code of that status', () => {
    const statuses = [...new Set(CODES.map((code) => httpStatusOf(code)))].sort();
    const elsewhere = Object.fromEntries(
      statuses
        .filter((status) => httpStatusOf(codeOfHttpStatus(status)) !== status)
        .map((status) => [status, codeOfHttpStatus(status)]),
    );
    expect(elsewhere).toEqual({});
  });

  it('turns any other error into what a server answers: E_INTERNAL, status 500, never the original', async () => {
    const thrown = new TypeError('cannot read properties of undefined');
    const error = await rejectionOf(
      jsonRoundTrip(
        answering(() => {
          throw thrown;
        }),
      ).runs.get('r1'),
    );
    expect(error).toBeInstanceOf(QuiverError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'E_INTERNAL', status: 500, message: thrown.message });
    const odd = await rejectionOf(
      jsonRoundTrip(
        answering(() => {
          throw 'a string';
        }),
      ).runs.get('r1'),
    );
    expect(odd).toBeInstanceOf(QuiverError);
    expect(odd).toMatchObject({ code: 'E_INTERNAL', status: 500 });
  });
});

class WithMethods {
  id = 'r1';
  describe(): string {
    return this.id;
  }
}

describe('results across the JSON backend', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['a Date', () => new Date(0), /\.createdAt is a Date/],
    ['undefined inside an array', () => ['a', undefined], /\.createdAt\[1\] is undefined/],
    ['a Map', () => new Map([['a', 1]]), /\.createdAt is a Map/],
    ['a class instance with methods', () => new WithMethods(), /\.createdAt is a WithMethods/],
    ['a bigint', () => 1n, /\.createdAt is a bigint/],
    ['NaN', () => Number.NaN, /\.createdAt is NaN/],
    ['a function', () => () => 1, /\.createdAt is a function/],
    ['an enumerable symbol key', () => ({ [Symbol('s')]: 1 }), /\.createdAt has symbol keys \(Symbol\(s\)\)/],
  ])('refuses a result holding %s, naming the method', async (_what, value, where) => {
    const backend = jsonRoundTrip(answering(() => ({ id: 'r1', createdAt: value() })));
    const error = await rejectionOf(backend.runs.get('r1'));
    expect(error).not.toBeInstanceOf(QuiverError);
    expect((error as Error).message).toMatch(/^runs\.get result is not JSON-safe/);
    expect((error as Error).message).toMatch(where);
  });

  it('passes JSON data as a copy, undefined properties (and hidden symbols) counting as absent', async () => {
    const answer = { id: 'r1', notes: undefined, tags: ['a'], config: { lr: 0.1, nested: [null, true] } };
    Object.defineProperty(answer, Symbol('row key'), { value: 7, enumerable: false });
    const result = await jsonRoundTrip(answering(() => answer)).runs.get('r1');
    expect(result).toEqual({ id: 'r1', tags: ['a'], config: { lr: 0.1, nested: [null, true] } });
    expect(result).not.toBe(answer);
    expect('notes' in result).toBe(false);
  });

  it('passes a void result as nothing and arguments as copies', async () => {
    const received: unknown[][] = [];
    const backend = jsonRoundTrip(
      fakeBackend({
        runs: {
          appendHistory: async (...args: unknown[]) => {
            received.push(args);
          },
        },
      }),
    );
    const input = { rows: [{ step: 0, metrics: { loss: 1 } }], summary: {} };
    expect(await backend.runs.appendHistory('r1', input)).toBeUndefined();
    expect(received).toEqual([['r1', input]]);
    expect(received[0]![1]).not.toBe(input);
  });

  it('refuses an argument JSON would change', async () => {
    const backend = jsonRoundTrip(fakeBackend({ runs: { appendHistory: async () => {} } }));
    const error = await rejectionOf(
      backend.runs.appendHistory('r1', {
        rows: [{ step: 0, metrics: { loss: Number.POSITIVE_INFINITY } }],
        summary: {},
      }),
    );
    expect((error as Error).message).toMatch(
      /^runs\.appendHistory argument 1 is not JSON-safe: \.rows\[0\]\.metrics\.loss/,
    );
  });
});

describe('callbacks across the JSON backend', () => {
  it('hands the handler a JSON copy of the events, and the backend what the handler throws, as JSON', async () => {
    const handed: QuiverEvent[][] = [];
    const caught: unknown[] = [];
    const inner = fakeBackend({
      events: {
        consume: async (
          _consumer: string,
          handler: (events: QuiverEvent[]) => Promise<void>,
          options: { limit?: number },
        ) => {
          const events = [EVENT];
          try {
            await handler(events);
          } catch (error) {
            caught.push(error);
            throw error;
          }
          return { delivered: events.length, cursor: options.limit ?? 0 };
        },
      },
    });
    const backend = jsonRoundTrip(inner);
    expect(
      await backend.events.consume(
        'webhooks',
        async (events) => {
          handed.push(events);
        },
        { limit: 7 },
      ),
    ).toEqual({ delivered: 1, cursor: 7 });
    expect(handed).toEqual([[EVENT]]);
    expect(handed[0]![0]).not.toBe(EVENT);

    const failure = new Error('endpoint down');
    const error = await rejectionOf(
      backend.events.consume('webhooks', async () => {
        throw failure;
      }),
    );
    expect(caught).toHaveLength(1);
    expect(caught[0]).toBeInstanceOf(QuiverError);
    expect(caught[0]).not.toBe(failure);
    expect(caught[0]).toMatchObject({ code: 'E_INTERNAL', message: 'endpoint down' });
    expect(error).toBeInstanceOf(QuiverError);
    expect(error).toMatchObject({ code: 'E_INTERNAL', message: 'endpoint down' });
  });

  it('refuses events that are not JSON-safe before the handler sees them', async () => {
    const inner = fakeBackend({
      events: {
        consume: async (_consumer: string, handler: (events: unknown[]) => Promise<void>) => {
          await handler([{ ...EVENT, at: new Date(0) }]);
          return { delivered: 1, cursor: 1 };
        },
      },
    });
    let called = false;
    const error = await rejectionOf(
      jsonRoundTrip(inner).events.consume('webhooks', async () => {
        called = true;
      }),
    );
    expect(called).toBe(false);
    expect((error as Error).message).toMatch(
      /events\.consume argument 1 \(callback\) argument 0 is not JSON-safe: \[0\]\.at is a Date/,
    );
  });

  it('calls a progress callback with JSON numbers, synchronously', async () => {
    const inner = fakeBackend({
      maintenance: {
        verify: async (options: { onBlob?: (done: number) => void }) => {
          for (let done = 1; done <= 3; done++) options.onBlob?.(done);
          return { ok: true, blobsChecked: 3, entriesChecked: 3, problems: [] };
        },
      },
    });
    const seen: number[] = [];
    const report = await jsonRoundTrip(inner).maintenance.verify({ onBlob: (done) => seen.push(done) });
    expect(seen).toEqual([1, 2, 3]);
    expect(report).toEqual({ ok: true, blobsChecked: 3, entriesChecked: 3, problems: [] });
  });
});

describe('the rest of the JSON backend', () => {
  it('reads the principal through and wraps the views withPrincipal makes', async () => {
    const asked: unknown[] = [];
    const view = fakeBackend({
      principal: { actor: 'bob', entity: 'team' },
      runs: { get: async () => ({ createdAt: new Date(0) }) },
    });
    const inner = fakeBackend({
      withPrincipal: (principal: unknown) => {
        asked.push(principal);
        return view;
      },
    });
    const backend = jsonRoundTrip(inner);
    expect(backend.specificationVersion).toBe('v1');
    expect(backend.principal).toEqual({ actor: 'alice', entity: 'team' });
    const principal = { actor: 'bob', entity: 'team' };
    const bob = backend.withPrincipal(principal);
    expect(asked).toEqual([principal]);
    expect(asked[0]).not.toBe(principal);
    expect(bob.principal).toEqual({ actor: 'bob', entity: 'team' });
    await expect(bob.runs.get('r1')).rejects.toThrow(/runs\.get result is not JSON-safe/); // wrapped too
  });

  it('forwards blob methods unchanged but offers no fast paths', async () => {
    const listed = [{ sha256: 'a'.repeat(64), size: 1, modifiedAt: new Date(0) }];
    const blobs = {
      location: '/store/blobs',
      prefix: 'held',
      async has(this: { prefix: string }, sha256: string) {
        return `${this.prefix}:${sha256}`;
      },
      async *list() {
        yield* listed;
      },
      localPath: () => '/somewhere',
      presignedUrl: async () => 'https://example.invalid/blob',
    };
    const backend = jsonRoundTrip(fakeBackend({ blobs: blobs as unknown as BlobStore }));
    expect(backend.blobs.localPath).toBeUndefined();
    expect(backend.blobs.presignedUrl).toBeUndefined();
    expect('localPath' in backend.blobs || 'presignedUrl' in backend.blobs).toBe(false);
    expect(backend.blobs.location).toBe('/store/blobs');
    expect(await backend.blobs.has('abc')).toBe('held:abc');
    const seen: unknown[] = [];
    for await (const blob of backend.blobs.list()) seen.push(blob);
    expect(seen[0]).toBe(listed[0]); // bytes and blob facts are not JSON: passed as they are
  });
});

describe('a SQLite store behind the JSON backend', () => {
  it('commits, lists and resolves', async () => {
    await using testStore = await createTestStore('json');
    const store = await testStore.open();
    expect(isJsonRoundTrip(store.backend)).toBe(true);
    expect(store.backend.blobs.localPath).toBeUndefined();
    const run = await init({ project: 'smoke', store, config: { lr: 0.01 } });
    const logged = await run.logArtifact(
      new Artifact('data', 'dataset', { metadata: { rows: 2 } })
        .addBytes('a.txt', 'hello')
        .addBytes('dir/b.txt', 'world'),
      { aliases: ['best'] },
    );
    await run.finish();
    expect(logged.ref).toBe('tester/smoke/data:v0');

    const client = await testStore.client();
    expect((await client.artifacts({ project: 'smoke' })).map((summary) => summary.name)).toEqual(['data']);
    const resolved = await client.artifact('smoke/data:best');
    expect(resolved.ref).toBe('tester/smoke/data:v0');
    expect(resolved.metadata).toEqual({ rows: 2 });
    expect((await resolved.entries()).map((entry) => entry.path)).toEqual(['a.txt', 'dir/b.txt']);
    expect(new TextDecoder().decode(await resolved.read('dir/b.txt'))).toBe('world');
    expect((await client.run(run.id)).state).toBe('finished');
    const missing = await rejectionOf(client.artifact('smoke/nothing'));
    expect(missing).toBeInstanceOf(QuiverError);
    expect(missing).toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
