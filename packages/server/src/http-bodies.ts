/** Request bodies and ranges, as every byte route of the server reads them. */
import { QuiverError } from '@quiver/core';

/** A body that fails when it holds more or fewer bytes than declared (the declared size is counted, not trusted). */
export async function* counted(body: AsyncIterable<Uint8Array>, declared: number): AsyncIterable<Uint8Array> {
  let received = 0;
  for await (const chunk of body) {
    received += chunk.length;
    if (received > declared)
      throw new QuiverError(
        'E_INVALID_REQUEST',
        `The upload sent more bytes than its Content-Length (${declared}).`,
      );
    yield chunk;
  }
  if (received !== declared)
    throw new QuiverError(
      'E_INVALID_REQUEST',
      `The upload ended after ${received} of the ${declared} bytes its Content-Length declared; nothing was stored.`,
    );
}

/** One `bytes=a-b` range (or `a-`, `-n`) within `size`; undefined without a header. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size : Math.min(size, Number(match[2]) + 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= size || end <= start)
    return 'invalid';
  return { start, end };
}
