/**
 * HTTP plumbing of the stand-in: handlers return a {@link HubResponse} value (so faults can
 * be applied in one place), bodies are read with a size limit, content is streamed with
 * backpressure, and byte ranges are parsed as the Hub (and S3) parse them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HubHttpError } from './hub-errors.js';
import type { StoredBytes } from './stored-bytes.js';

/** What a handler answers. `body` is text, bytes, or a byte range of stored content. */
export interface HubResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | { content: StoredBytes; start: number; end: number };
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): HubResponse {
  return { status, headers: { 'Content-Type': JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

/** An error as the Hub answers it: `{ "error": … }`, plus `X-Error-Code` / `X-Error-Message`. */
export function errorResponse(error: HubHttpError): HubResponse {
  return json({ error: error.message }, error.status, {
    'X-Error-Message': encodeURI(error.message),
    ...(error.errorCode && { 'X-Error-Code': error.errorCode }),
  });
}

/** The whole request body, refused with a 413 past `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw new HubHttpError(413, `Request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The request body parsed as JSON (a 400 when it is not). */
export async function readJson(request: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = (await readBody(request, limit)).toString('utf8');
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw badRequest('Invalid JSON body');
  }
}

/**
 * A single `Range: bytes=…` against content of `size` bytes: the [start, end) to serve,
 * `unsatisfiable` (416), or undefined to serve everything (no header, several ranges, or an
 * empty file).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header === undefined || size === 0 ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '') return { start: Math.max(0, size - Number(last)), end: size };
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  return start >= size || end <= start ? 'unsatisfiable' : { start, end };
}

/**
 * Writes a response. `truncate` sends the headers and half of the body, then destroys the
 * connection (a transfer cut short). HEAD requests get the headers only.
 */
export async function writeResponse(
  request: IncomingMessage,
  response: ServerResponse,
  answer: HubResponse,
  options: { truncate?: boolean } = {},
): Promise<void> {
  const body = answer.body;
  const length =
    body === undefined
      ? 0
      : typeof body === 'string'
        ? Buffer.byteLength(body)
        : Buffer.isBuffer(body)
          ? body.byteLength
          : body.end - body.start;
  response.writeHead(answer.status, { 'Content-Length': String(length), ...answer.headers });
  if (request.method === 'HEAD' || body === undefined) {
    if (options.truncate) response.socket?.destroy();
    else response.end();
    return;
  }
  const chunks =
    typeof body === 'string'
      ? [Buffer.from(body)]
      : Buffer.isBuffer(body)
        ? [body]
        : body.content.range(body.start, body.end);
  let budget = options.truncate ? Math.floor(length / 2) : Number.POSITIVE_INFINITY;
  for (const chunk of chunks) {
    if (response.destroyed) return;
    if (chunk.byteLength >= budget) {
      // The last bytes before the cut: wait until they are flushed, then cut.
      await new Promise<void>((resolve) => response.write(chunk.subarray(0, budget), () => resolve()));
      response.socket?.destroy();
      return;
    }
    budget -= chunk.byteLength;
    if (!response.write(chunk)) await drained(response);
  }
  response.end();
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
