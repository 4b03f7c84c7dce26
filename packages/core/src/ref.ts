import { QuiverError } from './errors.js';
import { assertAlias, assertName, LATEST_ALIAS, parseVersionName } from './names.js';

/**
 * A parsed artifact reference. Grammar (one place, here):
 *
 * ```
 * ref      = [entity "/"] project "/" name [":" selector]
 * selector = "v" digits | alias            ; none means "latest"
 * ```
 */
export interface ArtifactRef {
  entity?: string;
  project: string;
  name: string;
  /** Set when the selector is `vN`. */
  version?: number;
  /** Set when the selector is an alias (`latest` when no selector was given). */
  alias?: string;
}

function invalid(ref: string, reason: string): never {
  throw new QuiverError(
    'E_INVALID_REF',
    `Invalid artifact ref '${ref}': ${reason} Expected [entity/]project/name[:vN|:alias].`,
    {
      details: { ref },
    },
  );
}

function part<T>(ref: string, label: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof QuiverError) invalid(ref, `the ${label} is wrong — ${error.message}`);
    throw error;
  }
}

/** Parses `[entity/]project/name[:vN|:alias]`. Errors say which part is wrong. */
export function parseArtifactRef(ref: string): ArtifactRef {
  if (typeof ref !== 'string' || ref.length === 0) invalid(String(ref), 'it is empty.');
  const colon = ref.indexOf(':');
  const path = colon === -1 ? ref : ref.slice(0, colon);
  const selector = colon === -1 ? undefined : ref.slice(colon + 1);
  const segments = path.split('/');
  if (segments.length < 2) invalid(ref, 'it needs at least a project and a name separated by "/".');
  if (segments.length > 3) invalid(ref, 'it has too many "/"-separated parts.');
  const [a, b, c] = segments as [string, string, string | undefined];
  const parsed: ArtifactRef =
    c === undefined
      ? {
          project: part(ref, 'project', () => assertName(a, 'project')),
          name: part(ref, 'name', () => assertName(b, 'artifact')),
        }
      : {
          entity: part(ref, 'entity', () => assertName(a, 'entity')),
          project: part(ref, 'project', () => assertName(b, 'project')),
          name: part(ref, 'name', () => assertName(c, 'artifact')),
        };
  if (selector === undefined) return { ...parsed, alias: LATEST_ALIAS };
  if (selector === '') invalid(ref, 'nothing follows ":"; give vN or an alias, or leave out the ":".');
  const version = parseVersionName(selector);
  if (version !== undefined) return { ...parsed, version };
  if (/^v\d+$/.test(selector)) invalid(ref, `the version '${selector}' has a leading zero.`);
  return { ...parsed, alias: part(ref, 'alias', () => assertAlias(selector, { allowLatest: true })) };
}

/** Formats a reference back into its canonical text. */
export function formatArtifactRef(ref: ArtifactRef): string {
  const base = `${ref.entity ? `${ref.entity}/` : ''}${ref.project}/${ref.name}`;
  if (ref.version !== undefined) return `${base}:v${ref.version}`;
  return ref.alias && ref.alias !== LATEST_ALIAS ? `${base}:${ref.alias}` : base;
}
