import { QuiverError } from './errors.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TYPE_PATTERN = /^[a-z][a-z0-9_-]*$/;
const VERSION_PATTERN = /^v(0|[1-9][0-9]*)$/;
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
export type NameKind = 'entity' | 'project' | 'artifact' | 'run' | 'registry' | 'model';

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

/**
 * Checks an alias a user sets. `latest` is managed by Quiver and version names (`v3`) are not
 * aliases.
 */
export function assertAlias(value: unknown, options: { allowLatest?: boolean } = {}): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !NAME_PATTERN.test(value)) {
    throw new QuiverError(
      'E_INVALID_ALIAS',
      `Invalid alias ${describeValue(value)}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { details: { value } },
    );
  }
  if (VERSION_PATTERN.test(value)) {
    throw new QuiverError(
      'E_INVALID_ALIAS',
      `'${value}' looks like a version number, so it cannot be an alias: choose a name such as 'best'.`,
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

/** Parses `v12` into 12, or returns undefined when `value` is not a version name. */
export function parseVersionName(value: string): number | undefined {
  return VERSION_PATTERN.test(value) ? Number(value.slice(1)) : undefined;
}
