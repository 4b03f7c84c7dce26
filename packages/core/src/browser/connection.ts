import { forward, isPrincipal, type RemoteIdentity } from '../backends/remote/calls.js';
import { type Fetch, type RemoteParams, RemoteTransport, readJson } from '../backends/remote/transport.js';
import { QuiverError } from '../contract/errors.js';
import type {
  ArtifactsApiV1,
  EventsApiV1,
  MaintenanceApiV1,
  Principal,
  RegistryApiV1,
  RunsApiV1,
} from '../contract/index.js';
import { WIRE_CALLS, type WireCall } from '../wire/operations.js';
import { browserGlobals } from './dom.js';
import { assertWebCrypto, sha256Hex } from './hash.js';

/** How a page reaches a Quiver server. */
export interface ConnectOptions {
  /** The server's URL, such as `https://quiver.example.com`. */
  baseUrl: string;
  /**
   * An API key. Prefer `session`: a key held by a page can be read by every script on it, and a
   * page should never store one. Never put it in a URL.
   */
  apiKey?: string;
  /**
   * Use the session of a sign-in (`signIn()`, or the web UI's on the same site): an HttpOnly
   * cookie the page cannot read, so no secret is in the page at all.
   */
  session?: boolean;
  /** The entity to act in (default: the user's own). */
  entity?: string;
  /** For tests and proxies (default: the page's `fetch`). */
  fetch?: Fetch;
  /** Attempts of a call safe to repeat, on a dropped connection or a 502/503/504 (default 8). */
  maxAttempts?: number;
  /** The first retry's delay in milliseconds; each next one doubles, up to 5 s (default 200). */
  retryDelayMs?: number;
  /** The longest one attempt may take before it counts as a dropped connection (default 120 s). */
  timeoutMs?: number;
}

/** The contract's APIs a page uses, each method one request to the server. */
export interface BrowserBackend {
  readonly principal: Principal;
  readonly runs: RunsApiV1;
  readonly artifacts: ArtifactsApiV1;
  readonly registry: RegistryApiV1;
  readonly maintenance: MaintenanceApiV1;
  readonly events: EventsApiV1;
}

const unsupported = (): never => {
  throw new QuiverError(
    'E_FORBIDDEN',
    'The event log is not read from a browser page; use the server (quiver server …) or a Node client.',
  );
};

const DEFAULT_TIMEOUT_MS = 120_000;
/** The slowest transfer a blob's attempt allows for before it counts as a dropped connection: 64 KB/s. */
const SLOWEST_BYTES_PER_SECOND = 64 * 1024;

/** The longest one attempt may take: `timeoutMs`, plus the time a slow uplink needs for `bytes`. */
function attemptTimeout(options: ConnectOptions, bytes = 0): number {
  return (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + Math.ceil((bytes / SLOWEST_BYTES_PER_SECOND) * 1000);
}

function paramsOf(options: ConnectOptions, session?: { csrfToken: string }): RemoteParams {
  const base = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  // A stalled connection (a half-open socket, a captive proxy) must not hold the page's queue.
  const fetchImpl: Fetch = (input, init) =>
    base(input, init?.signal ? init : { ...init, signal: AbortSignal.timeout(attemptTimeout(options)) });
  return {
    baseUrl: options.baseUrl,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    ...(session ? { session } : {}),
    fetch: fetchImpl,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  };
}

/** Checks the options a page passes before anything is sent (said in a page's terms). */
function assertConnectOptions(options: ConnectOptions): void {
  assertBaseUrl(options.baseUrl);
  assertWebCrypto();
  for (const key of ['maxAttempts', 'retryDelayMs', 'timeoutMs'] as const) {
    const value = options[key];
    const least = key === 'retryDelayMs' ? 0 : 1;
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= least && value <= 3_600_000))
      throw new QuiverError(
        'E_INVALID_OPTION',
        `${key} must be a whole number from ${least} to 3600000, got ${String(value)}.`,
        { details: { option: key } },
      );
  }
}

/** A page's open connection to a Quiver server: who it acts for, the contract, and blob transfers. */
export class Connection {
  readonly backend: BrowserBackend;

  /** @internal Use {@link connect}. */
  constructor(
    readonly transport: RemoteTransport,
    readonly identity: RemoteIdentity,
    private readonly options: ConnectOptions,
    /** The session's CSRF token, as the transport sends it (refreshed in place). */
    private readonly session?: { csrfToken: string },
  ) {
    const principal = { actor: identity.actor, entity: transport.entity ?? identity.entity };
    this.backend = {
      principal,
      runs: forward(transport, WIRE_CALLS.runs as Record<string, WireCall>),
      artifacts: forward(transport, WIRE_CALLS.artifacts as Record<string, WireCall>),
      registry: forward(transport, WIRE_CALLS.registry as Record<string, WireCall>),
      maintenance: forward(transport, WIRE_CALLS.maintenance as Record<string, WireCall>),
      events: { read: unsupported, consume: unsupported },
    };
  }

  /** True when the connection signs requests with the page's session. */
  get usesSession(): boolean {
    return this.session !== undefined;
  }

  /**
   * Reads the session's CSRF token again (another sign-in of this browser, in another tab or the
   * web UI, replaced the session). Returns false when the page is not signed in any more.
   */
  async refreshSession(): Promise<boolean> {
    if (!this.session) return false;
    let current: SessionAnswer;
    try {
      current = await readSession(this.options);
    } catch {
      return false;
    }
    // Another user signed in to this browser: their session must not send this user's work (the
    // server would refuse it, and the page would drop it). Kept until this user signs in again.
    if (current.actor !== this.identity.actor)
      throw new QuiverError(
        'E_UNAUTHORIZED',
        `This browser is now signed in to ${this.transport.baseUrl.origin} as ${current.actor}, not as ${this.identity.actor}, who made this page's work. Sign in as ${this.identity.actor} again to send it; it is kept until then.`,
        { details: { actor: this.identity.actor } },
      );
    this.session.csrfToken = current.csrfToken;
    return true;
  }

  /** What serialising a connection shows: the server and the user, never a credential. */
  toJSON(): { server: string; actor: string } {
    return { server: this.server, actor: this.identity.actor };
  }

  /** The server's address, as the outbox files pending work under it. */
  get server(): string {
    return `${this.transport.baseUrl.origin}${this.transport.baseUrl.pathname}`;
  }

  /** Stores bytes under their sha256 (the server hashes them again and refuses a mismatch). */
  async upload(sha256: string, bytes: Uint8Array): Promise<void> {
    const response = await this.transport.send(
      this.transport.url('/blobs/:sha256', { params: { sha256 } }),
      () => ({
        method: 'PUT',
        headers: this.transport.headers({ 'content-type': 'application/octet-stream' }),
        body: bytes as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(attemptTimeout(this.options, bytes.length)),
      }),
      // The same bytes under the same digest: sending them again is safe, even while the first
      // attempt may still be arriving.
      true,
      { repeatable: true },
    );
    await response.body?.cancel().catch(() => undefined);
  }

  /** Reads a blob whole and checks its size and sha256 before anything sees it. */
  async read(sha256: string, size: number, what: string): Promise<Uint8Array> {
    const response = await this.transport.send(
      this.transport.url('/blobs/:sha256', { params: { sha256 } }),
      () => ({
        method: 'GET',
        headers: this.transport.headers({ accept: 'application/octet-stream' }),
        signal: AbortSignal.timeout(attemptTimeout(this.options, size)),
      }),
      true,
      { repeatable: true },
    );
    const announced = response.headers.get('content-length');
    if (announced !== null && Number(announced) !== size) {
      await response.body?.cancel().catch(() => undefined);
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The server sent ${what} with ${announced} bytes where its manifest records ${size}; nothing was used. Run 'quiver verify' on the server.`,
        { details: { sha256, expected: size, actual: Number(announced) } },
      );
    }
    const bytes = await this.readBody(response, size, what);
    if (bytes.length !== size || (await sha256Hex(bytes)) !== sha256)
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `The server sent ${what} with other content than its manifest records (${bytes.length} of ${size} bytes); nothing was used. Run 'quiver verify' on the server.`,
        { details: { sha256, expected: size, actual: bytes.length } },
      );
    return bytes;
  }

  /**
   * A blob's body, read no further than one byte past `size` (a server that sends more is
   * refused without the page holding it all); a connection lost midway is a `QuiverError`.
   */
  private async readBody(response: Response, size: number, what: string): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(size);
    } catch {
      await response.body?.cancel().catch(() => undefined);
      throw new QuiverError(
        'E_UNPROCESSABLE',
        `${what} is ${size} bytes: more than this page can hold in memory. Read it with the Node SDK or 'quiver get'.`,
        { details: { size } },
      );
    }
    const reader = response.body?.getReader();
    let length = 0;
    try {
      for (;;) {
        const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
        if (done) break;
        if (length + value.length > size) {
          await reader!.cancel().catch(() => undefined);
          throw new QuiverError(
            'E_CHECKSUM_MISMATCH',
            `The server sent ${what} with more than the ${size} bytes its manifest records; nothing was used. Run 'quiver verify' on the server.`,
            { details: { expected: size } },
          );
        }
        bytes.set(value, length);
        length += value.length;
      }
    } catch (error) {
      if (error instanceof QuiverError) throw error;
      throw new QuiverError(
        'E_UNAVAILABLE',
        `The connection to ${this.transport.baseUrl.origin} broke while ${what} was read (${(error as Error)?.message ?? String(error)}); nothing was used. Try again.`,
      );
    }
    return bytes.subarray(0, length);
  }
}

/** The server's address must be an http(s) URL without credentials (said in a page's terms). */
function assertBaseUrl(baseUrl: string): void {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `baseUrl '${url ? `${url.protocol}//${url.host}` : String(baseUrl).slice(0, 100)}' is not the server's http:// or https:// address without credentials, such as https://quiver.example.com.`,
    );
}

/** What `GET /session` answers that a page uses: who is signed in, and the token for writes. */
interface SessionAnswer {
  actor: string;
  csrfToken: string;
}

async function readSession(options: ConnectOptions): Promise<SessionAnswer> {
  const transport = new RemoteTransport(paramsOf(options, { csrfToken: '' }));
  let answer: unknown;
  try {
    answer = await readJson(
      await transport.send(
        transport.url('/session'),
        () => ({ method: 'GET', headers: transport.headers() }),
        true,
        { repeatable: true },
      ),
    );
  } catch (error) {
    if (error instanceof QuiverError && error.code === 'E_UNAUTHORIZED')
      throw new QuiverError(
        'E_UNAUTHORIZED',
        `This page is not signed in to ${transport.baseUrl.origin}: call signIn({ baseUrl, username, password }) first (or sign in to its web UI on the same site).`,
        { cause: error },
      );
    throw error;
  }
  const { csrfToken, actor } = (answer ?? {}) as { csrfToken?: unknown; actor?: unknown };
  if (
    typeof csrfToken !== 'string' ||
    csrfToken.length === 0 ||
    csrfToken.length > 256 ||
    typeof actor !== 'string' ||
    actor.length === 0 ||
    actor.length > 256
  )
    throw new QuiverError(
      'E_INTERNAL',
      `${transport.baseUrl.origin} did not answer /session as a Quiver server does.`,
    );
  return { csrfToken, actor };
}

/**
 * Connects a page to a Quiver server with an API key or the page's session, checks who it acts
 * for (`GET /whoami`), and returns the connection.
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
  // The address first: a URL holding a key must be refused before any message repeats it.
  assertConnectOptions(options);
  if (options.session && options.apiKey !== undefined)
    throw new QuiverError('E_INVALID_OPTION', 'Give either apiKey or session: true, not both.');
  if (!options.session && !options.apiKey?.trim())
    throw new QuiverError(
      'E_UNAUTHORIZED',
      `No credentials for ${new URL(options.baseUrl).origin}: pass session: true after signIn({ baseUrl, username, password }), or an apiKey.`,
    );
  const session = options.session
    ? { csrfToken: (await readSession(options).catch(explainUnreachable)).csrfToken }
    : undefined;
  const transport = new RemoteTransport(paramsOf(options, session), options.entity);
  const identity = await readJson(
    await transport
      .send(transport.url('/whoami'), () => ({ method: 'GET', headers: transport.headers() }), true, {
        repeatable: true,
      })
      .catch(explainUnreachable),
  );
  if (!isPrincipal(identity))
    throw new QuiverError(
      'E_INTERNAL',
      `${transport.baseUrl.origin} did not answer /whoami as a Quiver server does.`,
    );
  if (options.entity !== undefined && !identity.memberships.some((m) => m.entity === options.entity))
    throw new QuiverError(
      'E_FORBIDDEN',
      `${identity.actor} is not a member of ${options.entity}; act in one of ${identity.memberships.map((m) => m.entity).join(', ')}.`,
    );
  return new Connection(transport, identity, options, session);
}

/**
 * In a page, "could not reach" also means the server did not allow this page's origin: the
 * browser hides that answer from the page. Says so.
 */
function explainUnreachable(error: unknown): never {
  if (error instanceof QuiverError && error.code === 'E_UNAVAILABLE' && browserGlobals.location)
    throw new QuiverError(
      'E_UNAVAILABLE',
      `${error.message} From a web page this also happens when the server does not allow the page's origin (${browserGlobals.location.origin}): start it with --cors-origin ${browserGlobals.location.origin}.`,
      { cause: error, details: error.details },
    );
  throw error;
}

/** What to sign in with: a user's password, or an API key traded once for a session. */
export type SignInOptions = Pick<ConnectOptions, 'baseUrl' | 'fetch'> &
  ({ username: string; password: string } | { apiKey: string });

/**
 * Signs the page in to a server: the server sets its session cookie (HttpOnly: no script reads
 * it) and the page keeps no secret. Then `init({ baseUrl, session: true, … })`. The server must
 * allow this page's origin (its CORS origins) and be on the same site.
 */
export async function signIn(options: SignInOptions): Promise<{ actor: string; entity: string }> {
  const { baseUrl, fetch: fetchImpl, ...credentials } = options;
  assertBaseUrl(baseUrl);
  const transport = new RemoteTransport(
    paramsOf({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) }, { csrfToken: '' }),
  );
  const answer = await readJson(
    await transport.send(
      transport.url('/session'),
      () => ({
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(credentials),
      }),
      false,
    ),
  );
  if (!isPrincipal({ memberships: [], ...(answer as object) }))
    throw new QuiverError(
      'E_INTERNAL',
      `${transport.baseUrl.origin} did not answer the sign-in as a Quiver server does.`,
    );
  const { actor, entity } = answer as { actor: string; entity: string };
  return { actor, entity };
}

/** Ends the page's session on the server (the cookie is cleared). */
export async function signOut(options: Pick<ConnectOptions, 'baseUrl' | 'fetch'>): Promise<void> {
  const { csrfToken } = await readSession(options);
  const transport = new RemoteTransport(paramsOf(options, { csrfToken }));
  await readJson(
    await transport.send(
      transport.url('/session/end'),
      () => ({
        method: 'POST',
        headers: transport.headers({ 'content-type': 'application/json' }),
        body: '{}',
      }),
      false,
    ),
  );
}
