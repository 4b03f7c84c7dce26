import { describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from './contract/errors.js';
import { parseRef } from './ref.js';

const errorOf = (ref: string): QuiverError => {
  try {
    parseRef(ref);
  } catch (error) {
    if (isQuiverError(error)) return error;
    throw error;
  }
  throw new Error(`parseRef('${ref}') succeeded`);
};

describe('parseRef: version numbers', () => {
  it('reads the largest exact version', () => {
    expect(parseRef('p/n:v9007199254740991')).toMatchObject({ kind: 'artifact', version: 9007199254740991 });
  });

  it.each(['p/n:v9007199254740992', 'p/n:v99999999999999999999', 'registry/m:v99999999999999999999'])(
    'refuses %s as too large, quoting the ref as typed',
    (ref) => {
      const error = errorOf(ref);
      expect(error.code).toBe('E_INVALID_REF');
      expect(error.message).toContain(`Invalid ref '${ref}'`);
      expect(error.message).toContain('is too large');
      expect(error.message).toContain('v9007199254740991');
      // The rounded number a user never typed.
      expect(error.message).not.toContain('v100000000000000000000');
      expect(error.details).toEqual({ ref });
    },
  );
});

describe('parseRef: selectors that look like versions', () => {
  it.each(['v-1', 'v1.5', 'V3', 'v1e3', 'v.5', 'v2_0'])(
    'refuses p/n:%s rather than reading it as an alias',
    (selector) => {
      const ref = `p/n:${selector}`;
      const error = errorOf(ref);
      expect(error.code).toBe('E_INVALID_REF');
      expect(error.message).toContain(`Invalid ref '${ref}'`);
      expect(error.message).toContain('looks like a version but is not one');
      expect(error.message).toContain('versions are v<N>');
    },
  );

  it('still says a leading zero is the problem with v03', () => {
    expect(errorOf('p/n:v03').message).toContain("the version 'v03' has a leading zero");
  });

  it.each(['val-best', 'v2-candidate', 'v1.5-beta', 'best', 'latest'])(
    'reads p/n:%s as an alias',
    (alias) => {
      expect(parseRef(`p/n:${alias}`)).toMatchObject({ kind: 'artifact', alias });
    },
  );
});
