/**
 * A Hugging Face Hub stand-in for tests and benchmarks: a node:http server on 127.0.0.1 that
 * speaks the protocol of `@huggingface/hub` (repos, preupload, LFS batch with basic and
 * multipart transfers, NDJSON commits, tree, resolve) and lets tests inject faults and inspect
 * what was pushed.
 *
 * @example
 * ```ts
 * const hub = await startHubServer({ multipartThreshold: 1024 * 1024 });
 * const accessToken = hub.createToken({ user: 'alice' });
 * await createRepo({ repo: 'alice/model', accessToken, hubUrl: hub.url });
 * await uploadFiles({ repo: 'alice/model', files: [...], accessToken, hubUrl: hub.url });
 * expect(hub.commits('alice/model').at(-1)?.added).toContain('model.onnx');
 * await hub.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { commitHandlers } from './commit-handlers.js';
import { FaultInjector, matches } from './fault-injector.js';
import { DEFAULT_GITATTRIBUTES, lfsPatterns } from './git-objects.js';
import { AccessControl } from './hub-auth.js';
import { decideUploadMode, type Handler, type HubContext, resolveSettings } from './hub-context.js';
import { HubHttpError } from './hub-errors.js';
import { errorResponse, type HubResponse, json, writeResponse } from './hub-http.js';
import { parseRoute } from './hub-routes.js';
import type {
  CommitSummary,
  DelayHandle,
  DelayOptions,
  DropOptions,
  FailOptions,
  HubEndpoint,
  HubRepoSeed,
  HubRequestInfo,
  HubServerOptions,
  HubTokenOptions,
  RequestLogEntry,
  RequestMatcher,
  TamperOptions,
  TreeFile,
} from './hub-types.js';
import { lfsHandlers } from './lfs-handlers.js';
import { LfsStorage } from './lfs-storage.js';
import { readHandlers } from './read-handlers.js';
import { repoHandlers } from './repo-handlers.js';
import { parseRepoKey, type Repo, RepoStore } from './repo-store.js';
import { StoredBytes } from './stored-bytes.js';

const HANDLERS: Record<HubEndpoint, Handler> = {
  ...repoHandlers,
  ...commitHandlers,
  ...lfsHandlers,
  ...readHandlers,
  unknown: async () => json({ error: "Sorry, we can't find the page you are looking for." }, 404),
};

/** Starts a Hub stand-in on 127.0.0.1 (a random port unless `options.port`). */
export function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  return HubServer.start(options);
}

export class HubServer {
  readonly #http: Server;
  readonly #context: HubContext;
  readonly #faults = new FaultInjector();
  readonly #log: RequestLogEntry[] = [];

  private constructor(options: HubServerOptions) {
    this.#context = {
      store: new RepoStore(),
      access: new AccessControl(),
      lfs: new LfsStorage(),
      settings: resolveSettings(options),
      baseUrl: '',
    };
    this.#http = createServer((request, response) => void this.#serve(request, response));
  }

  /** See {@link startHubServer}. */
  static async start(options: HubServerOptions): Promise<HubServer> {
    const server = new HubServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    server.#context.baseUrl = `http://127.0.0.1:${(server.#http.address() as AddressInfo).port}`;
    for (const token of options.tokens ?? []) server.createToken(token);
    for (const repo of options.repos ?? []) server.createRepo(repo);
    return server;
  }

  /** `http://127.0.0.1:<port>`: pass it as the client's `hubUrl`. */
  get url(): string {
    return this.#context.baseUrl;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Stops the server: held requests are released and open connections closed. */
  async close(): Promise<void> {
    this.#faults.clear();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  /** Registers a token (`hf_…`, random unless given) for `user`, `write` unless `role: 'read'`. */
  createToken(options: HubTokenOptions): string {
    return this.#context.access.addToken(options);
  }

  /**
   * Creates a repo owned by its namespace, with a first commit holding the Hub's default
   * `.gitattributes` and `files` (routed to LFS by the preupload rule). Returns that commit.
   */
  createRepo(seed: HubRepoSeed): { repo: string; commit: string } {
    const { type, name } = parseRepoKey(seed.repo);
    const { store, settings } = this.#context;
    const patterns = lfsPatterns(DEFAULT_GITATTRIBUTES);
    const files = Object.entries(seed.files ?? {}).map(([path, value]) => {
      const content = Buffer.from(value);
      const sample = content.subarray(0, 512);
      const mode = decideUploadMode(
        settings,
        { repo: seed.repo, path, size: content.byteLength, sample },
        patterns,
      );
      return { path, content, lfs: mode === 'lfs' };
    });
    const repo = store.create({
      type,
      name,
      private: seed.private ?? false,
      author: name.split('/')[0] as string,
      files,
    });
    return { repo: repo.key, commit: repo.refs.get('main') as string };
  }

  /** Answers the next `count` (default 1) matching requests with `status` and a Hub-style error body. */
  failNext(options: FailOptions): void {
    this.#faults.failNext(options);
  }

  /** Destroys the connection of the next `count` (default 1) matching requests (see {@link DropOptions.when}). */
  dropNext(options: DropOptions = {}): void {
    this.#faults.dropNext(options);
  }

  /** Holds matching requests `ms` before reading them; the handle tells when one arrives and releases them. */
  delay(options: DelayOptions): DelayHandle {
    return this.#faults.delay(options);
  }

  /** Forgets pending faults and releases held requests. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Changes the stored bytes of a file (by default flips its first byte) without changing its
   * recorded oid, sha256 or size, as storage corruption would. Other commits sharing the same
   * content are affected too, as they share the stored object.
   */
  tamper(repo: string, path: string, options: TamperOptions = {}): void {
    const target = this.#repo(repo);
    const file = this.#context.store.resolve(target, options.revision ?? 'main').files.get(path);
    const original = file && this.#context.store.content(target, file);
    if (!file || !original) throw new Error(`No file ${path} in ${repo}`);
    const before = original.toBuffer();
    let after: Uint8Array;
    if (typeof options.bytes === 'function') after = options.bytes(Buffer.from(before));
    else if (options.bytes) after = options.bytes;
    else {
      const flipped = Buffer.from(before.byteLength > 0 ? before : Buffer.alloc(1));
      flipped[0] = (flipped[0] as number) ^ 0xff;
      after = flipped;
    }
    this.#context.store.tamper(target, file, StoredBytes.of(Buffer.from(after)));
  }

  /** Every commit of a repo, oldest first, whichever ref it is on. */
  commits(repo: string): CommitSummary[] {
    const target = this.#repo(repo);
    return [...target.commits.values()].map((commit) => ({
      oid: commit.oid,
      parents: [...commit.parents],
      summary: commit.summary,
      description: commit.description,
      author: commit.author,
      date: commit.date,
      added: [...commit.added],
      deleted: [...commit.deleted],
      refs: [...target.refs].filter(([, oid]) => oid === commit.oid).map(([ref]) => ref),
    }));
  }

  /** The files of a repo at a revision (branch, `refs/pr/N` or commit oid), by path. */
  tree(repo: string, revision = 'main'): TreeFile[] {
    const commit = this.#context.store.resolve(this.#repo(repo), revision);
    return [...commit.files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((file) => ({
        path: file.path,
        size: file.size,
        oid: file.oid,
        sha256: file.sha256,
        ...(file.lfs && { lfs: { ...file.lfs } }),
      }));
  }

  /** The stored bytes of a file at a revision, or undefined if there is no such file. */
  readFile(repo: string, path: string, revision = 'main'): Buffer | undefined {
    const target = this.#repo(repo);
    const file = this.#context.store.resolve(target, revision).files.get(path);
    return file && this.#context.store.content(target, file)?.toBuffer();
  }

  /** Branches and PR refs of a repo, each with the commit it points at. */
  refs(repo: string): Record<string, string> {
    return Object.fromEntries(this.#repo(repo).refs);
  }

  /** Whether a repo exists (`ns/name`, `datasets/ns/name`, `spaces/ns/name`). */
  hasRepo(repo: string): boolean {
    return this.#context.store.get(repo) !== undefined;
  }

  /** Requests received so far (oldest first), optionally only those `match` accepts. */
  requests(match?: RequestMatcher): RequestLogEntry[] {
    return this.#log.filter((entry) => matches(match, entry)).map((entry) => ({ ...entry }));
  }

  clearRequests(): void {
    this.#log.length = 0;
  }

  #repo(designation: string): Repo {
    const repo = this.#context.store.get(designation);
    if (!repo) throw new Error(`No repo ${designation} on this Hub stand-in`);
    return repo;
  }

  /** One request: log it, apply faults, dispatch it, write the answer. */
  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A client going away mid-request shows in the log as a dropped request, not as an error.
    request.on('error', () => {});
    response.on('error', () => {});
    const url = new URL(request.url ?? '/', this.url);
    const route = parseRoute(request.method ?? 'GET', url.pathname);
    const repoKey = route.repo?.key ?? (route.ticket ? this.#context.lfs.repoOf(route.ticket) : undefined);
    const info: HubRequestInfo = {
      method: request.method ?? 'GET',
      path: url.pathname,
      endpoint: route.endpoint,
      ...(repoKey && { repo: repoKey }),
    };
    const entry = this.#logRequest(info, url, response);
    const faults = this.#faults.take(info);
    try {
      if (faults.drop?.when === 'request') {
        entry.fault = 'drop';
        request.socket.destroy();
        return;
      }
      if (faults.delay) {
        entry.fault = 'delay';
        await faults.delay();
      }
      if (faults.fail) entry.fault = 'fail';
      const answer = faults.fail ? failure(faults.fail) : await this.#dispatch(route, request, url, entry);
      if (faults.drop) entry.fault = 'drop';
      if (faults.drop?.when === 'response' || request.socket.destroyed) {
        request.socket.destroy();
        return;
      }
      entry.status = answer.status;
      answer.headers = { ...answer.headers, 'X-Request-Id': entry.id };
      await writeResponse(request, response, answer, { truncate: faults.drop?.when === 'mid-response' });
      if (!request.complete) request.resume();
    } catch {
      request.socket.destroy();
    }
  }

  /** Adds a request to the log; its state and duration are filled in when the response closes. */
  #logRequest(info: HubRequestInfo, url: URL, response: ServerResponse): RequestLogEntry {
    const entry: RequestLogEntry = {
      id: randomUUID(),
      ...info,
      query: url.search,
      state: 'in-flight',
      status: 0,
      startedAt: new Date(),
    };
    this.#log.push(entry);
    response.on('close', () => {
      entry.durationMs = Date.now() - entry.startedAt.getTime();
      entry.state = response.writableFinished ? 'answered' : 'dropped';
      if (entry.state === 'dropped') entry.status = 0;
    });
    return entry;
  }

  async #dispatch(
    route: ReturnType<typeof parseRoute>,
    request: IncomingMessage,
    url: URL,
    entry: RequestLogEntry,
  ): Promise<HubResponse> {
    try {
      const caller = this.#context.access.authenticate(request.headers.authorization);
      if (!caller.anonymous) entry.user = caller.user;
      return await HANDLERS[route.endpoint](this.#context, { route, request, url, caller });
    } catch (error) {
      if (error instanceof HubHttpError) return errorResponse(error);
      return errorResponse(new HubHttpError(500, `Internal error: ${(error as Error).message}`));
    }
  }
}

function failure(fault: FailOptions): HubResponse {
  const message = fault.message ?? `Injected failure: ${fault.status}`;
  return json({ error: message }, fault.status, fault.errorCode ? { 'X-Error-Code': fault.errorCode } : {});
}
