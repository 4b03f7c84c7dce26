/**
 * Records handed out carry public ids (ULIDs); the database joins on serial keys. A record this
 * backend built remembers its row's key under a symbol, which no JSON and no spread of a
 * contract record carries, so a key never leaves the backend.
 */
const ROW_KEY = Symbol('quiver.rowKey');

/** Attaches the row key to a record this backend built. */
export function withKey<T extends object>(record: T, key: number): T {
  Object.defineProperty(record, ROW_KEY, { value: key, enumerable: false });
  return record;
}

/** The row key of a record this backend built (an internal error for any other record). */
export function keyOf(record: object): number {
  const key = (record as { [ROW_KEY]?: number })[ROW_KEY];
  if (typeof key !== 'number')
    throw new Error('Internal error: a record without its row key reached the embedded backend.');
  return key;
}
