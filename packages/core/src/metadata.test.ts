import { describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from './contract/errors.js';
import { MAX_METADATA_DEPTH, parseStoredJsonObject, serializeJsonObject } from './metadata.js';

const errorOf = (action: () => unknown): QuiverError => {
  try {
    action();
  } catch (error) {
    if (isQuiverError(error)) return error;
    throw new Error(`not a QuiverError: ${String(error)}`);
  }
  throw new Error('the action succeeded');
};

/** An object `levels` levels deep, the top-level object included: {d: {d: … {}}}. */
const nestedObject = (levels: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < levels; level++) value = { d: value };
  return value;
};
const nestedText = (levels: number): string => `${'{"d":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

describe('metadata depth', () => {
  it(`accepts exactly ${MAX_METADATA_DEPTH} levels`, () => {
    expect(serializeJsonObject(nestedObject(MAX_METADATA_DEPTH), 'metadata')).toBe(
      nestedText(MAX_METADATA_DEPTH),
    );
  });

  it.each([MAX_METADATA_DEPTH + 1, 30_000, 200_000])(
    'refuses %d levels with E_INVALID_METADATA (no stack overflow)',
    (levels) => {
      const error = errorOf(() => serializeJsonObject(nestedObject(levels), 'metadata'));
      expect(error.code).toBe('E_INVALID_METADATA');
      expect(error.message).toContain(`nested more than ${MAX_METADATA_DEPTH} levels deep`);
      expect(error.message).toContain('artifact file');
      expect(error.message.length).toBeLessThan(400);
    },
  );

  it('refuses deep arrays and deep JSON text alike', () => {
    let array: unknown[] = [];
    for (let level = 0; level < 30_000; level++) array = [array];
    expect(errorOf(() => serializeJsonObject({ a: array }, 'config')).message).toContain(
      'Invalid config at a[0][0]',
    );
    expect(errorOf(() => serializeJsonObject(nestedText(30_000), 'metadata')).code).toBe(
      'E_INVALID_METADATA',
    );
  });
});

describe('parseStoredJsonObject', () => {
  it('reads a stored object', () => {
    expect(parseStoredJsonObject('{"epoch":3}', 'metadata')).toEqual({ epoch: 3 });
  });

  it.each([
    ['not JSON', '{"epoch":', 'not readable JSON'],
    ['an array', '[1]', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['30,000 levels deep', nestedText(30_000), `nested more than ${MAX_METADATA_DEPTH} levels deep`],
  ])('refuses stored text that is %s', (_what, text, reason) => {
    const error = errorOf(() => parseStoredJsonObject(text, 'metadata'));
    expect(error.code).toBe('E_INVALID_METADATA');
    expect(error.message).toContain(reason);
    expect(error.message).toContain('quiver verify');
  });
});
