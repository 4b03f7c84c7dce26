import { QuiverError } from './contract/errors.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TYPE_PATTERN = /^[a-z][a-z0-9_-]*$/;
const VERSION_PATTERN = /^v(0|[1-9][0-9]*)$/;
/**
 * Names a user could take for a version number although they are not one: `v` or `V`, an optional
 * sign, an optional `.`, a digit, then only digits, `.`, `_`, `+`, `-`, `e` and `E` (`v-1`,
 * `v1.5`, `V3`, `v03`, `v+1`, `v1e3`, `v1.5.2`, `v2_0`). See {@link isVersionShaped}.
 */
const VERSION_SHAPED_PATTERN = /^[vV][+-]?\.?[0-9][0-9._eE+-]*$/;
const MAX_NAME_LENGTH = 128;

/** Names reserved for the model registry (see the registry docs). */
export const RESERVED_NAMES: readonly string[] = ['registry'];

/** The alias Quiver moves itself to the newest version of every artifact. */
export const LATEST_ALIAS = 'latest';

function describeValue(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/** What a name names. */
export type NameKind = 'entity' | 'project' | 'artifact' | 'run' | 'registry' | 'model' | 'automation';

/**
 * Checks an entity, project, artifact, registry or model name: 1–128 characters of letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit.
 */
export function assertName(value: unknown, what: NameKind): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_NAME_LENGTH ||
    !NAME_PATTERN.test(value)
  ) {
    throw new QuiverError(
      'E_INVALID_NAME',
      `Invalid ${what} name ${describeValue(value)}: use 1–${MAX_NAME_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { details: { what, value } },
    );
  }
  if ((what === 'entity' || what === 'project' || what === 'registry') && RESERVED_NAMES.includes(value)) {
    throw new QuiverError(
      'E_INVALID_NAME',
      `The ${what} name '${value}' is reserved for the model registry: choose another.`,
      {
        details: { what, value },
      },
    );
  }
  return value;
}

/** Checks an artifact type such as `model` or `dataset`: lowercase letters, digits, `_`, `-`. */
export function assertType(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !TYPE_PATTERN.test(value)) {
    throw new QuiverError(
      'E_INVALID_TYPE',
      `Invalid artifact type ${describeValue(value)}: use 1–64 lowercase letters, digits, '_' or '-', starting with a letter (for example 'model' or 'dataset').`,
      { details: { value } },
    );
  }
  return value;
}

/** The largest version number: beyond it a number is no longer exact in JavaScript. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * True when `value` is a version name (`v0`, `v12`) or looks like one without being one, so it can
 * be neither an alias nor a tag-like name in a ref's selector.
 *
 * The rule: `v` or `V`, then an optional `+` or `-`, an optional `.`, a digit, and after it only
 * digits, `.`, `_`, `+`, `-`, `e` or `E`. It refuses `v3`, `V3`, `v03`, `v-1`, `v+1`, `v1.5`,
 * `v1.5.2`, `v1e3`, `v.5` and `v2_0`; it allows names that merely start with `v` and say something
 * more: `val-best`, `v2-candidate`, `v2-rc1`, `v1.5-beta`, `version3`, `v`, `vNext`. As in W&B,
 * where `v<N>` is the version and aliases are words, a name is refused only when it is nothing but
 * a version-like number; one with a word in it stays an alias.
 */
export function isVersionShaped(value: string): boolean {
  return VERSION_SHAPED_PATTERN.test(value);
}

/**
 * Checks an alias a user sets. `latest` is managed by Quiver, and version names (`v3`) and names
 * that look like them (`v-1`, `v1.5`, `V3`, `v03`; see {@link isVersionShaped}) are not aliases.
 */
export function assertAlias(
  value: unknown,
  options: { allowLatest?: boolean; allowVersionShaped?: boolean } = {},
): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !NAME_PATTERN.test(value)) {
    throw new QuiverError(
      'E_INVALID_ALIAS',
      `Invalid alias ${describeValue(value)}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { details: { value } },
    );
  }
  // Removing one that an older Quiver accepted stays possible (`allowVersionShaped`).
  if (isVersionShaped(value) && !options.allowVersionShaped) {
    throw new QuiverError(
      'E_INVALID_ALIAS',
      `'${value}' looks like a version number, so it cannot be an alias: versions are v<N> (v0, v1, v2, …) and aliases cannot look like them; choose a name such as 'best' or 'v2-candidate'.`,
      {
        details: { value },
      },
    );
  }
  if (value === LATEST_ALIAS && !options.allowLatest) {
    throw new QuiverError(
      'E_ALIAS_RESERVED',
      `'latest' always points at the newest version and cannot be set by hand.`,
      {
        details: { value },
      },
    );
  }
  return value;
}

/** Checks a version tag (many versions may share one). Same characters as an alias. */
export function assertTag(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !NAME_PATTERN.test(value)) {
    throw new QuiverError(
      'E_INVALID_TAG',
      `Invalid tag ${describeValue(value)}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { details: { value } },
    );
  }
  return value;
}

/**
 * Parses `v12` into 12, or returns undefined when `value` is not a version name. A version name
 * beyond {@link MAX_VERSION} is refused (`E_INVALID_REF`) rather than rounded to another number.
 */
export function parseVersionName(value: string): number | undefined {
  if (!VERSION_PATTERN.test(value)) return undefined;
  const version = Number(value.slice(1));
  if (!Number.isSafeInteger(version)) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    throw new QuiverError(
      'E_INVALID_REF',
      `the version '${shown}' is too large: version numbers go up to v${MAX_VERSION}.`,
      { details: { value } },
    );
  }
  return version;
}
