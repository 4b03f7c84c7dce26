import { QuiverError } from '../../contract/errors.js';
import { API_PREFIX, type WireCall, type WireRequest } from '../../wire/operations.js';

/** A `fetch` as undici and Node's global one have it (tests and proxies pass their own). */
export type Fetch = (input: string | URL, init?: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/** How the remote backend reaches a server: one params object, in the huggingface.js style. */
export interface RemoteParams {
  /** The server's URL, such as `https://quiver.example.com` (no path, or the path it is mounted at). */
  baseUrl: string;
  /**
   * An API key (`quiver server key create`, or `quiver login`). Never logged, never in an error.
   * Required unless `session` is given.
   */
  apiKey?: string;
  /**
   * In a browser, instead of a key: the session of the server's sign-in (an HttpOnly cookie the
   * page cannot read), sent with `credentials: 'include'`; writes carry its CSRF token.
   */
  session?: SessionCredentials;
  /**
   * For the JSON calls (default: Node's fetch). Blob bytes go through undici's `request`, whose Node
   * streams cost far less per byte than fetch's web streams.
   */
  fetch?: Fetch;
  /** Attempts of an idempotent call on a dropped connection or a 502/503/504 (default 8: about 8–16 s of waiting in all). */
  maxAttempts?: number;
  /** The first retry's delay; each next one doubles, up to 5 s (default 200 ms). */
  retryDelayMs?: number;
}

/** A signed-in browser session: the CSRF token the server's `GET /api/v1/session` answers. */
export interface SessionCredentials {
  csrfToken: string;
}

/** How `send` may repeat a request. */
export interface SendOptions {
  /**
   * The request may run twice at once without harm (a read, a blob sent by its digest): an
   * attempt that ran out of time is tried again too (other calls only on a dropped connection).
   */
  repeatable?: boolean;
}

/** The header a session's writes carry their CSRF token in. */
export const CSRF_HEADER = 'x-quiver-csrf';

/** The header naming the entity a request acts in (the principal's default entity). */
export const ENTITY_HEADER = 'x-quiver-entity';

/** The header a write is named by, so that the server answers its retries once (`Idempotency-Key`). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Answers that mean "try again later" (a proxy or a restarting server). */
export const RETRIED_STATUSES = new Set([502, 503, 504]);

/** True for fetch's failures that mean the connection broke or was never made (no answer). */
export function isConnectionError(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    (error instanceof Error &&
      /ECONN|EPIPE|socket|UND_ERR/i.test(`${error.message} ${String((error as { code?: unknown }).code)}`))
  );
}

/** An attempt that ran out of time (`AbortSignal.timeout`): the server may still be working on it. */
function isTimeout(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** Connection refused: nothing was sent, so even a call that is not idempotent may be retried. */
function wasRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return cause?.code === 'ECONNREFUSED';
}

/** The HTTP side of the remote backend: URLs, the key, retries, and errors as `QuiverError`s. */
export class RemoteTransport {
  readonly baseUrl: URL;
  private readonly apiKey: string;
  private readonly fetchImpl: Fetch;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly params: RemoteParams,
    /** The entity unqualified refs and new runs belong to (default: the key's user). */
    readonly entity?: string,
  ) {
    let url: URL;
    try {
      url = new URL(params.baseUrl);
    } catch {
      throw new QuiverError(
        'E_INVALID_ENV',
        `QUIVER_BASE_URL is not a URL: give the server's address, such as http://localhost:8080.`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new QuiverError(
        'E_INVALID_ENV',
        `QUIVER_BASE_URL must be an http:// or https:// URL, got ${url.protocol}//.`,
      );
    if (url.username || url.password)
      throw new QuiverError(
        'E_INVALID_ENV',
        'QUIVER_BASE_URL must not hold credentials; give the key as QUIVER_API_KEY.',
      );
    if (!params.session && (typeof params.apiKey !== 'string' || params.apiKey.trim() === ''))
      throw new QuiverError(
        'E_UNAUTHORIZED',
        `No API key for ${url.origin}: set QUIVER_API_KEY, or run 'quiver login ${url.origin}'.`,
      );
    url.pathname = url.pathname.replace(/\/+$/, '');
    this.baseUrl = url;
    this.apiKey = params.session ? '' : (params.apiKey ?? '').trim();
    this.fetchImpl = params.fetch ?? (globalThis.fetch as Fetch);
    this.maxAttempts = Math.max(1, params.maxAttempts ?? 8);
    this.retryDelayMs = params.retryDelayMs ?? 200;
  }

  /** The URL of a route under the API prefix, with its path parameters and query. */
  url(path: string, request: Partial<WireRequest> = {}): URL {
    const filled = path.replace(/:([A-Za-z0-9]+)/g, (_match, name: string) => {
      const value = request.params?.[name];
      if (value === undefined) throw new Error(`no value for :${name} of ${path}`);
      return encodeURIComponent(value);
    });
    const url = new URL(
      `${this.baseUrl.pathname.replace(/\/+$/, '')}${API_PREFIX}${filled}`,
      this.baseUrl.origin,
    );
    for (const [key, value] of Object.entries(request.query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
    }
    return url;
  }

  /** Calls one operation of the wire table and returns its JSON answer (undefined for 204). */
  async call(operation: WireCall, args: unknown[]): Promise<unknown> {
    const request = (operation.encode as (...a: unknown[]) => Partial<WireRequest>)(...args);
    const url = this.url(operation.path, request);
    // Every write carries one idempotency key for all its attempts: the server answers a retry of
    // a write it already made with that write's answer, so even writes that are not idempotent
    // by themselves (a commit, a new run) retry safely.
    const write =
      operation.verb === 'GET'
        ? undefined
        : { 'content-type': 'application/json', [IDEMPOTENCY_HEADER]: globalThis.crypto.randomUUID() };
    const response = await this.send(
      url,
      () => ({
        method: operation.verb,
        headers: this.headers(write),
        ...(operation.verb === 'GET' ? {} : { body: JSON.stringify(request.body ?? {}) }),
      }),
      true,
      { repeatable: operation.verb === 'GET' },
    );
    return readJson(response);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const session = this.params.session;
    return {
      ...(session ? { [CSRF_HEADER]: session.csrfToken } : { authorization: `Bearer ${this.apiKey}` }),
      accept: 'application/json',
      ...(this.entity ? { [ENTITY_HEADER]: this.entity } : {}),
      ...extra,
    };
  }

  /** What serialising a transport shows: where it goes, never its key. */
  toJSON(): { baseUrl: string; entity?: string } {
    return { baseUrl: this.baseUrl.href, ...(this.entity ? { entity: this.entity } : {}) };
  }

  /** The same server and key, acting in another entity. */
  inEntity(entity: string): RemoteTransport {
    return new RemoteTransport(this.params, entity);
  }

  /**
   * Sends a request, retrying a dropped connection or a 502/503/504 with backoff when `retry`
   * (idempotent calls); a refused connection is retried always (nothing was sent). Answers of
   * 4xx and other 5xx become the `QuiverError` their body names.
   */
  send(
    url: URL,
    init: () => RequestInit & { duplex?: 'half' },
    retry: boolean,
    options: SendOptions = {},
  ): Promise<Response> {
    return this.retrying(
      url,
      retry && options.repeatable ? 'repeatable' : retry,
      () =>
        this.fetchImpl(url, {
          ...init(),
          // A session's cookie goes with the request (to the server's origin only).
          ...(this.params.session ? { credentials: 'include' as const } : {}),
        }),
      async (response, canRetry) => {
        if (response.ok) return 'done';
        if (canRetry && RETRIED_STATUSES.has(response.status)) {
          await response.body?.cancel().catch(() => undefined);
          return 'again';
        }
        throw errorFromText(await response.text().catch(() => ''), response.status);
      },
    );
  }

  /**
   * The retry loop of `send` and of blob transfers: `exchange` makes one attempt; `judge` says whether
   * its answer is the result or worth another attempt (`canRetry`: retries are allowed and left),
   * or throws the error it stands for.
   */
  /** @internal */
  async retrying<R>(
    url: URL,
    retry: boolean | 'repeatable',
    exchange: () => Promise<R>,
    judge: (answer: R, canRetry: boolean) => Promise<'done' | 'again'>,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      let answer: R;
      try {
        answer = await exchange();
      } catch (error) {
        // A timed-out write may still be running on the server: only a repeatable call goes again.
        const timedOut = isTimeout(error);
        const again =
          (retry !== false && isConnectionError(error)) ||
          (retry === 'repeatable' && timedOut) ||
          wasRefused(error);
        if (again && attempt < this.maxAttempts) {
          await this.backoff(attempt);
          continue;
        }
        const unchanged = retry === 'repeatable' || (retry && !timedOut);
        throw new QuiverError(
          'E_UNAVAILABLE',
          `Could not reach the Quiver server at ${this.baseUrl.origin} (${describe(error)}). Check that it runs and that QUIVER_BASE_URL is right; nothing was changed by this call${unchanged ? '' : ' unless it reached the server'}.`,
          { details: { url: url.origin + url.pathname } },
        );
      }
      if ((await judge(answer, retry !== false && attempt < this.maxAttempts)) === 'done') return answer;
      await this.backoff(attempt);
    }
  }

  private async backoff(attempt: number): Promise<void> {
    const delay = Math.min(5000, this.retryDelayMs * 2 ** (attempt - 1));
    await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** The error a non-2xx answer stands for, from its `{ code, message, details }` body. */
export function errorFromText(text: string, status: number): QuiverError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = QuiverError.fromJSON(body, status);
  // For callers that decide by status whether to send again (not enumerable: not in its JSON).
  Object.defineProperty(error, 'httpStatus', { value: status });
  return error;
}

/** The HTTP status of an error made from a server's answer (undefined when none came). */
export function httpStatusOfError(error: unknown): number | undefined {
  const status = (error as { httpStatus?: unknown } | null)?.httpStatus;
  return typeof status === 'number' ? status : undefined;
}

/** A 2xx answer's JSON body (undefined for 204), refused when it is not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new QuiverError(
      'E_INTERNAL',
      `The server's answer to ${new URL(response.url || 'http://server').pathname} is not JSON; is QUIVER_BASE_URL a Quiver server?`,
    );
  }
}
