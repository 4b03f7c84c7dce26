import { QuiverError } from './errors.js';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, as stored for metadata and config. */
export type JsonObject = { [key: string]: JsonValue };

/** Largest metadata or config object accepted, serialised. */
export const MAX_METADATA_BYTES = 1024 * 1024;

function fail(what: string, reason: string, path: string): never {
  throw new QuiverError('E_INVALID_METADATA', `Invalid ${what}${path ? ` at ${path}` : ''}: ${reason}`, {
    details: { what, path },
  });
}

function check(value: unknown, what: string, path: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      fail(what, `${value} is not a JSON number; store it as a string or leave it out.`, path);
    return;
  }
  if (typeof value !== 'object')
    fail(
      what,
      `a ${typeof value} cannot be stored as JSON; use strings, numbers, booleans, arrays and plain objects.`,
      path,
    );
  if (seen.has(value))
    fail(what, 'it refers to itself (a circular reference); pass a plain tree of values.', path);
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) check(item, what, `${path}[${index}]`, seen);
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      fail(
        what,
        `a ${value.constructor?.name ?? 'class instance'} is not a plain object; convert it to plain JSON first.`,
        path,
      );
    }
    for (const [key, item] of Object.entries(value)) check(item, what, path ? `${path}.${key}` : key, seen);
  }
  seen.delete(value);
}

/**
 * Checks that `value` is a plain JSON object (no cycles, functions, class instances, NaN or
 * Infinity) of at most 1 MiB serialised, and returns its canonical JSON text.
 */
export function serializeJsonObject(value: unknown, what: string): string {
  if (value === undefined) return '{}';
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new QuiverError(
        'E_INVALID_METADATA',
        `Invalid ${what}: the text is not JSON (${(error as Error).message}).`,
        { cause: error },
      );
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(what, 'it must be a JSON object such as {"epoch": 3}.', '');
  }
  check(value, what, '', new Set());
  const text = JSON.stringify(value);
  const size = Buffer.byteLength(text);
  if (size > MAX_METADATA_BYTES) {
    fail(
      what,
      `it is ${size} bytes serialised; the limit is ${MAX_METADATA_BYTES}. Store large data as an artifact file instead.`,
      '',
    );
  }
  return text;
}
