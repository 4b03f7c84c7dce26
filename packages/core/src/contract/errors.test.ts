import { describe, expect, it } from 'vitest';
import {
  codeOfHttpStatus,
  httpStatusOf,
  isQuiverErrorCode,
  QuiverError,
  type QuiverErrorCode,
} from './errors.js';

// A sample across statuses; every code has a status by construction (the table is typed total).
const CODES: QuiverErrorCode[] = [
  'E_INVALID_NAME',
  'E_INVALID_REF',
  'E_NOT_FOUND',
  'E_ALIAS_HELD',
  'E_ALIAS_PROTECTED',
  'E_CHECKSUM_MISMATCH',
  'E_CORRUPT_MANIFEST',
  'E_DATABASE',
  'E_DISK_FULL',
  'E_CONCURRENT_GC',
  'E_UNAUTHORIZED',
  'E_TOO_LARGE',
];

describe('errors across a wire', () => {
  it.each(CODES)('%s round-trips through JSON as the same class, code, message and details', (code) => {
    const error = new QuiverError(code, `what went wrong with ${code}; what to do`, {
      details: { path: 'a/b.bin', nested: { n: 1 } },
    });
    const parsed = QuiverError.fromJSON(JSON.parse(JSON.stringify(error)), error.status);
    expect(parsed).toBeInstanceOf(QuiverError);
    expect(parsed.code).toBe(code);
    expect(parsed.message).toBe(error.message);
    expect(parsed.details).toEqual(error.details);
    expect(parsed.status).toBe(httpStatusOf(code));
  });

  it('maps codes to statuses a client and a server agree on', () => {
    expect(httpStatusOf('E_NOT_FOUND')).toBe(404);
    expect(httpStatusOf('E_INVALID_REF')).toBe(400);
    expect(httpStatusOf('E_UNAUTHORIZED')).toBe(401);
    expect(httpStatusOf('E_ALIAS_PROTECTED')).toBe(403);
    expect(httpStatusOf('E_ALIAS_HELD')).toBe(409);
    expect(httpStatusOf('E_TOO_LARGE')).toBe(413);
    expect(httpStatusOf('E_DATABASE')).toBe(503);
    // Each status's default code maps back to that status.
    for (const status of [400, 401, 403, 404, 409, 413, 500, 503, 507])
      expect(httpStatusOf(codeOfHttpStatus(status))).toBe(status);
    expect(codeOfHttpStatus(418)).toBe('E_INVALID_OPTION');
    expect(codeOfHttpStatus(599)).toBe('E_INTERNAL');
  });

  it('does not trust what it parses: unknown codes, missing messages, odd details', () => {
    const unknown = QuiverError.fromJSON(
      { code: 'E_FROM_THE_FUTURE', message: 'new', details: { a: 1 } },
      404,
    );
    expect(unknown.code).toBe('E_NOT_FOUND');
    expect(unknown.details).toEqual({ a: 1, code: 'E_FROM_THE_FUTURE' });
    expect(QuiverError.fromJSON('not an object', 502).code).toBe('E_REFERENCE_FAILED');
    const bare = QuiverError.fromJSON({ details: ['x'] });
    expect(bare.code).toBe('E_INTERNAL');
    expect(bare.message).toContain('gave no explanation');
    expect(bare.details).toEqual({});
    expect(isQuiverErrorCode('toString')).toBe(false);
    expect(isQuiverErrorCode('E_IO')).toBe(true);
  });
});
