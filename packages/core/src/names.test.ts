import { describe, expect, it } from 'vitest';
import { isQuiverError } from './contract/errors.js';
import { assertAlias, isVersionShaped, MAX_VERSION, parseVersionName } from './names.js';

const codeOf = (action: () => unknown): string | undefined => {
  try {
    action();
    return undefined;
  } catch (error) {
    return isQuiverError(error) ? error.code : `not a QuiverError: ${String(error)}`;
  }
};

describe('version-shaped aliases', () => {
  const refused = ['v0', 'v3', 'V3', 'v03', 'v-1', 'v1.5', 'v1.5.2', 'v1e3', 'V1E3', 'v.5', 'v2_0', 'v1-2'];
  const allowed = [
    'best',
    'val-best',
    'v2-candidate',
    'v2-rc1',
    'v1.5-beta',
    'version3',
    'vNext',
    'v',
    'production',
    '3',
    'v_final',
  ];

  it.each(refused)('refuses %s as an alias, saying versions are v<N>', (alias) => {
    expect(isVersionShaped(alias)).toBe(true);
    expect(codeOf(() => assertAlias(alias))).toBe('E_INVALID_ALIAS');
    expect(() => assertAlias(alias)).toThrow(/looks like a version number.*versions are v<N>/);
  });

  it.each(allowed)('accepts %s as an alias', (alias) => {
    expect(isVersionShaped(alias)).toBe(false);
    expect(assertAlias(alias)).toBe(alias);
  });

  it('refuses v+1 (not a name at all)', () => {
    expect(codeOf(() => assertAlias('v+1'))).toBe('E_INVALID_ALIAS');
  });
});

describe('parseVersionName', () => {
  it('parses v0 … v<MAX_SAFE_INTEGER> exactly', () => {
    expect(parseVersionName('v0')).toBe(0);
    expect(parseVersionName('v12')).toBe(12);
    expect(parseVersionName(`v${MAX_VERSION}`)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('is undefined for names that are not versions', () => {
    for (const value of ['best', 'v01', 'V3', 'v-1', 'v1.5', 'v'])
      expect(parseVersionName(value)).toBeUndefined();
  });

  it('refuses a version beyond the safe integer range instead of rounding it', () => {
    for (const value of ['v9007199254740992', 'v99999999999999999999']) {
      expect(codeOf(() => parseVersionName(value))).toBe('E_INVALID_REF');
      expect(() => parseVersionName(value)).toThrow(`the version '${value}' is too large`);
    }
  });
});
