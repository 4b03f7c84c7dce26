import { describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from './contract/errors.js';
import { envWholeNumber, parseWholeNumber, resolveStoreSettings, wholeNumberOption } from './settings.js';

const errorOf = (action: () => unknown): QuiverError => {
  try {
    action();
  } catch (error) {
    if (isQuiverError(error)) return error;
    throw error;
  }
  throw new Error('the action succeeded');
};

describe('resolveStoreSettings: QUIVER_MODE', () => {
  const base = { QUIVER_DIR: '/tmp/quiver-settings-test', QUIVER_ENTITY: 'tester' };

  it.each(['bogus', 'LOCAL', 'Disabled', 'online', 'Offline'])(
    'refuses QUIVER_MODE=%s, naming the variable and the accepted values',
    (mode) => {
      const error = errorOf(() => resolveStoreSettings({}, { ...base, QUIVER_MODE: mode }));
      expect(error.code).toBe('E_INVALID_ENV');
      expect(error.message).toContain(`QUIVER_MODE=${JSON.stringify(mode)}`);
      expect(error.message).toMatch(/local.*disabled/);
      expect(error.details).toMatchObject({ variable: 'QUIVER_MODE', value: mode });
    },
  );

  it.each([undefined, '', 'local', 'offline', 'disabled'])(
    'accepts QUIVER_MODE=%s (disabled only affects runs)',
    (mode) => {
      const env = mode === undefined ? base : { ...base, QUIVER_MODE: mode };
      expect(resolveStoreSettings({}, env)).toMatchObject({ dir: base.QUIVER_DIR, entity: 'tester' });
    },
  );

  it('lets an explicit mode win over the variable', () => {
    expect(resolveStoreSettings({ mode: 'local' }, { ...base, QUIVER_MODE: 'bogus' }).entity).toBe('tester');
  });
});

describe('whole numbers from text', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    [' 42 ', 42],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('parses %j', (text, value) => {
    expect(parseWholeNumber(text)).toBe(value);
  });

  it.each([
    '',
    'abc',
    'NaN',
    'Infinity',
    '-1',
    '+1',
    '1.5',
    '1e3',
    '0x10',
    '9007199254740992',
    '99999999999999999999',
  ])('refuses %j', (text) => {
    expect(parseWholeNumber(text)).toBeUndefined();
  });

  it('applies bounds', () => {
    expect(parseWholeNumber('0', { min: 1 })).toBeUndefined();
    expect(parseWholeNumber('11', { max: 10 })).toBeUndefined();
    expect(parseWholeNumber('10', { min: 1, max: 10 })).toBe(10);
  });

  it('envWholeNumber names the variable and the accepted range', () => {
    expect(envWholeNumber({}, 'QUIVER_X')).toBeUndefined();
    expect(envWholeNumber({ QUIVER_X: '3' }, 'QUIVER_X')).toBe(3);
    for (const raw of ['abc', '-1', '2.5', '99999999999999999999']) {
      const error = errorOf(() => envWholeNumber({ QUIVER_X: raw }, 'QUIVER_X'));
      expect(error.code).toBe('E_INVALID_ENV');
      expect(error.message).toContain(`QUIVER_X=${JSON.stringify(raw)}`);
      expect(error.message).toContain('a whole number ≥ 0');
    }
    expect(
      errorOf(() => envWholeNumber({ QUIVER_X: '0' }, 'QUIVER_X', { min: 1, max: 5 })).message,
    ).toContain('a whole number from 1 to 5');
  });

  it('wholeNumberOption refuses NaN, negatives, fractions and unsafe integers, from numbers or text', () => {
    expect(wholeNumberOption('--depth', '3')).toBe(3);
    expect(wholeNumberOption('--depth', 3)).toBe(3);
    for (const value of [Number.NaN, -1, 1.5, 2 ** 53, 'abc', '-1', undefined, null]) {
      const error = errorOf(() => wholeNumberOption('--depth', value));
      expect(error.code).toBe('E_INVALID_OPTION');
      expect(error.message).toContain('--depth');
      expect(error.message).toContain('a whole number ≥ 0');
      expect(error.message).not.toMatch(/undefined|\[object Object\]/);
    }
  });
});
