import { QuiverError } from '../../contract/errors.js';
import type { PageRequest } from '../../contract/index.js';

/** Items per page when a request names none, and the most a request may ask for. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** The page size a request asks for, within bounds. */
export function pageSize(request: PageRequest = {}): number {
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `A page size must be a whole number ≥ 1, got ${String(limit)}.`,
    );
  return Math.min(limit, MAX_PAGE_SIZE);
}

/** An opaque cursor: the sort key of the last item of a page, as base64url JSON. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The sort key inside a cursor a previous page gave, checked field by field (a cursor is input:
 * one that was altered is `E_INVALID_OPTION`, never a query on a value of the wrong type).
 */
export function decodeCursor<K extends Record<string, 'string' | 'number'>>(
  cursor: string | null | undefined,
  shape: K,
): { [F in keyof K]: K[F] extends 'string' ? string : number } | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const ok =
    value !== null &&
    typeof value === 'object' &&
    Object.entries(shape).every(([field, type]) => {
      const item = (value as Record<string, unknown>)[field];
      return type === 'number' ? Number.isSafeInteger(item) : typeof item === 'string';
    });
  if (!ok)
    throw new QuiverError(
      'E_INVALID_OPTION',
      'The page cursor is not one this listing gave; start again without a cursor.',
      { details: { cursor: String(cursor).slice(0, 100) } },
    );
  return value as { [F in keyof K]: K[F] extends 'string' ? string : number };
}

/** A page from `limit + 1` rows: the extra row only says that another page follows. */
export function pageOf<R, T>(
  rows: R[],
  limit: number,
  toItem: (row: R) => T,
  keyOf: (row: R) => Record<string, string | number>,
): { items: T[]; next: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(toItem), next: more ? encodeCursor(keyOf(kept[kept.length - 1]!)) : null };
}
