/**
 * A `fetch` that retries what is safe to retry: answers 5xx (and 429) and dropped connections,
 * with exponential backoff. Requests whose body is a stream are sent once (a stream cannot be
 * replayed); strings, buffers and Blobs (including file-backed ones) are re-sent.
 */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** The first pause, doubled after each failure (default 200 ms). */
  baseDelayMs?: number;
  /** Called before each retry, e.g. to log it (never given credentials). */
  onRetry?: (info: { attempt: number; url: string; reason: string }) => void;
  /**
   * Whether a request whose connection dropped may be sent again (default: always). Say no for a
   * request that may have taken effect before the drop and must not take effect twice.
   */
  resendAfterDrop?: (url: string, method: string) => boolean;
}

const RETRIED_STATUS = new Set([429, 500, 502, 503, 504]);

function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  );
}

function urlOf(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Wraps `fetch` (default: the global one) with retries. */
export function retryingFetch(options: RetryOptions = {}, base: typeof fetch = fetch): typeof fetch {
  const attempts = Math.max(1, options.attempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 200;
  return async (input, init) => {
    const replayable = isReplayable(init?.body) && !(input instanceof Request && input.body !== null);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts || !replayable;
      let reason: string;
      try {
        const response = await base(input, init);
        if (!RETRIED_STATUS.has(response.status) || last) return response;
        reason = `HTTP ${response.status}`;
        await response.body?.cancel();
      } catch (error) {
        const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
        if (last || init?.signal?.aborted || options.resendAfterDrop?.(urlOf(input), method) === false)
          throw error;
        reason = (error as Error).message;
      }
      options.onRetry?.({ attempt, url: urlOf(input).split('?')[0] as string, reason });
      await sleep(baseDelayMs * 2 ** (attempt - 1));
    }
  };
}
