import { QuiverError } from './contract/errors.js';
import type { JsonObject } from './contract/index.js';

/** Largest metadata or config object accepted, serialised. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * Deepest nesting accepted in metadata or config: the top-level object is level 1, each object or
 * array inside it one more (`{"a": {"b": [1]}}` is 3 levels). Deeper values are refused before
 * anything recurses into them, so no input can overflow the stack (JSON.stringify, and any
 * reader that walks the value, would otherwise fail with a RangeError).
 */
export const MAX_METADATA_DEPTH = 100;

const MAX_SHOWN_PATH = 120;

function fail(what: string, reason: string, path: string): never {
  const shown = path.length > MAX_SHOWN_PATH ? `${path.slice(0, MAX_SHOWN_PATH)}…` : path;
  throw new QuiverError('E_INVALID_METADATA', `Invalid ${what}${shown ? ` at ${shown}` : ''}: ${reason}`, {
    details: { what, path: shown },
  });
}

function tooDeep(what: string, path: string): never {
  return fail(
    what,
    `it is nested more than ${MAX_METADATA_DEPTH} levels deep; flatten it (e.g. {"a.b.c": 1}) or store the data as an artifact file.`,
    path,
  );
}

/** `depth` is the nesting level of `value` (1 for the top-level object); it never exceeds the limit. */
function check(value: unknown, what: string, path: string, seen: Set<object>, depth: number): void {
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
  if (depth > MAX_METADATA_DEPTH) tooDeep(what, path);
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) check(item, what, `${path}[${index}]`, seen, depth + 1);
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      fail(
        what,
        `a ${value.constructor?.name ?? 'class instance'} is not a plain object; convert it to plain JSON first.`,
        path,
      );
    }
    for (const [key, item] of Object.entries(value))
      check(item, what, path ? `${path}.${key}` : key, seen, depth + 1);
  }
  seen.delete(value);
}

/**
 * Checks that `value` is a plain JSON object (no cycles, functions, class instances, NaN or
 * Infinity) nested at most {@link MAX_METADATA_DEPTH} levels and of at most 1 MiB serialised, and
 * returns its canonical JSON text.
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
  check(value, what, '', new Set(), 1);
  const text = JSON.stringify(value);
  const size = new TextEncoder().encode(text).length;
  if (size > MAX_METADATA_BYTES) {
    fail(
      what,
      `it is ${size} bytes serialised; the limit is ${MAX_METADATA_BYTES}. Store large data as an artifact file instead.`,
      '',
    );
  }
  return text;
}

/** How deep `value` nests, counting only up to `limit + 1` (so it never recurses past that). */
function depthBeyond(value: unknown, limit: number, depth = 1): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > limit) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (depthBeyond(item, limit, depth + 1)) return true;
  return false;
}

/**
 * Reads metadata or config text back from a store: JSON.parse (which does not recurse), then the
 * checks a reader relies on — a JSON object, nested at most {@link MAX_METADATA_DEPTH} levels, so
 * printing or walking it cannot overflow the stack. A tampered or corrupt record is
 * `E_INVALID_METADATA` (callers that know the record may rethrow it as `E_CORRUPT_MANIFEST`).
 */
export function parseStoredJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new QuiverError(
      'E_INVALID_METADATA',
      `The stored ${what} is not readable JSON (${(error as Error).message}); run 'quiver verify'.`,
      { cause: error, details: { what } },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(`stored ${what}`, "it is not a JSON object; run 'quiver verify'.", '');
  if (depthBeyond(value, MAX_METADATA_DEPTH))
    fail(
      `stored ${what}`,
      `it is nested more than ${MAX_METADATA_DEPTH} levels deep, which Quiver never writes; run 'quiver verify'.`,
      '',
    );
  return value as JsonObject;
}
