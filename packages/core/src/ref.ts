import { QuiverError } from './contract/errors.js';
import type { ArtifactRef, ParsedRef, RefSelector, RegistryRef } from './contract/index.js';
import { assertAlias, assertName, isVersionShaped, LATEST_ALIAS, parseVersionName } from './names.js';

/** The reserved name that starts a registry ref. */
export const REGISTRY_KEYWORD = 'registry';
/** The registry that always exists in every entity. */
export const DEFAULT_REGISTRY = 'model';

const GRAMMAR =
  'Expected [entity/]project/name[:vN|:alias], or [entity/]registry/[registry/]model[:vN|:alias] for the model registry.';

function invalid(ref: string, reason: string): never {
  throw new QuiverError('E_INVALID_REF', `Invalid ref '${ref}': ${reason} ${GRAMMAR}`, { details: { ref } });
}

function part<T>(ref: string, label: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof QuiverError) invalid(ref, `the ${label} is wrong — ${error.message}`);
    throw error;
  }
}

function parseSelector(ref: string, selector: string | undefined): RefSelector {
  if (selector === undefined) return { alias: LATEST_ALIAS };
  if (selector === '') invalid(ref, 'nothing follows ":"; give vN or an alias, or leave out the ":".');
  let version: number | undefined;
  try {
    version = parseVersionName(selector);
  } catch (error) {
    if (error instanceof QuiverError) invalid(ref, error.message);
    throw error;
  }
  if (version !== undefined) return { version };
  if (/^v\d+$/.test(selector)) invalid(ref, `the version '${selector}' has a leading zero.`);
  if (isVersionShaped(selector))
    invalid(
      ref,
      `'${selector}' looks like a version but is not one: versions are v<N> (v0, v1, v2, … with no sign, decimals, exponent or leading zero), and aliases cannot look like versions.`,
    );
  return { alias: part(ref, 'alias', () => assertAlias(selector, { allowLatest: true })) };
}

/**
 * Parses any ref, in one place. Grammar:
 *
 * ```
 * ref          = artifact-ref | registry-ref
 * artifact-ref = [entity "/"] project "/" name [":" selector]
 * registry-ref = [entity "/"] "registry" "/" [registry "/"] model [":" selector]
 * selector     = "v" digits | alias          ; none means "latest"
 * ```
 *
 * A version is `v0`, `v1`, … up to `v9007199254740991` (`Number.MAX_SAFE_INTEGER`); a larger one is
 * refused, never rounded. A selector that looks like a version without being one (`v-1`, `v1.5`,
 * `V3`, `v03`; see `isVersionShaped` in names.ts) is refused too rather than read as an alias.
 * Every error quotes the ref exactly as given.
 *
 * `registry` is reserved as a project and entity name, so the two never collide.
 */
export function parseRef(ref: string): ParsedRef {
  if (typeof ref !== 'string' || ref.length === 0) invalid(String(ref), 'it is empty.');
  const colon = ref.indexOf(':');
  const path = colon === -1 ? ref : ref.slice(0, colon);
  const selector = parseSelector(ref, colon === -1 ? undefined : ref.slice(colon + 1));
  const segments = path.split('/');
  const keyword = segments[0] === REGISTRY_KEYWORD ? 0 : segments[1] === REGISTRY_KEYWORD ? 1 : -1;
  if (keyword !== -1) {
    const entity = keyword === 1 ? part(ref, 'entity', () => assertName(segments[0], 'entity')) : undefined;
    const rest = segments.slice(keyword + 1);
    if (rest.length === 0 || rest.length > 2)
      invalid(ref, 'after "registry/" give a model, or a registry and a model.');
    const registry =
      rest.length === 2
        ? part(ref, 'registry name', () => assertName(rest[0], 'registry'))
        : DEFAULT_REGISTRY;
    const model = part(ref, 'model name', () => assertName(rest[rest.length - 1], 'model'));
    return { kind: 'registry', ...(entity ? { entity } : {}), registry, model, ...selector };
  }
  if (segments.length < 2) invalid(ref, 'it needs at least a project and a name separated by "/".');
  if (segments.length > 3) invalid(ref, 'it has too many "/"-separated parts.');
  const [a, b, c] = segments as [string, string, string | undefined];
  const names =
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
  return { kind: 'artifact', ...names, ...selector };
}

/** Parses an artifact ref; a registry ref is an error. */
export function parseArtifactRef(ref: string): ArtifactRef {
  const parsed = parseRef(ref);
  if (parsed.kind !== 'artifact') invalid(ref, 'it names a registry model where an artifact is expected.');
  const { kind: _kind, ...artifact } = parsed;
  return artifact;
}

function formatSelector(selector: RefSelector): string {
  if (selector.version !== undefined) return `:v${selector.version}`;
  return selector.alias && selector.alias !== LATEST_ALIAS ? `:${selector.alias}` : '';
}

/** Formats an artifact ref back into its canonical text. */
export function formatArtifactRef(ref: ArtifactRef): string {
  return `${ref.entity ? `${ref.entity}/` : ''}${ref.project}/${ref.name}${formatSelector(ref)}`;
}

/** Formats a registry ref; the default registry is left out. */
export function formatRegistryRef(ref: RegistryRef): string {
  const registry = ref.registry === DEFAULT_REGISTRY ? '' : `${ref.registry}/`;
  return `${ref.entity ? `${ref.entity}/` : ''}${REGISTRY_KEYWORD}/${registry}${ref.model}${formatSelector(ref)}`;
}

/** Formats either kind of parsed ref. */
export function formatParsedRef(ref: ParsedRef): string {
  return ref.kind === 'artifact' ? formatArtifactRef(ref) : formatRegistryRef(ref);
}
