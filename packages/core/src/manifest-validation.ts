import { QuiverError } from './contract/errors.js';
import type { ManifestEntry } from './contract/index.js';
import { assertEntryPath } from './entry-path.js';
import { manifestDigest } from './manifest.js';
import { uriHasCredentials } from './references/reference-handler.js';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

function corrupt(
  ref: string,
  reason: string,
  details: Record<string, unknown>,
  cause?: unknown,
): QuiverError {
  return new QuiverError(
    'E_CORRUPT_MANIFEST',
    `The stored manifest of ${ref} is not trustworthy: ${reason}. Nothing was written. Run 'quiver verify' and re-log the artifact from its source.`,
    { details: { ref, ...details }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** True for a lowercase hex sha256 digest. */
export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && SHA256_PATTERN.test(value);
}

/**
 * Checks one entry read back from a store (or, later, a server) with the rules it was accepted
 * under: a safe relative path, a sha256 digest, a size that is a safe non-negative integer, and a
 * reference URI that parses. Throws `E_CORRUPT_MANIFEST`.
 */
export function assertStoredEntry(entry: ManifestEntry, ref: string): void {
  try {
    assertEntryPath(entry.path);
  } catch (error) {
    throw corrupt(
      ref,
      `an entry has an unsafe path (${(error as Error).message})`,
      { path: entry.path },
      error,
    );
  }
  if (!isSha256(entry.sha256))
    throw corrupt(ref, `the entry '${entry.path}' has no valid sha256 digest`, { path: entry.path });
  if (!Number.isSafeInteger(entry.size) || entry.size < 0)
    throw corrupt(ref, `the entry '${entry.path}' has an impossible size (${String(entry.size)})`, {
      path: entry.path,
    });
  if (entry.ref !== undefined) {
    try {
      new URL(entry.ref);
    } catch (error) {
      throw corrupt(
        ref,
        `the entry '${entry.path}' has a reference that is not a URL`,
        { path: entry.path },
        error,
      );
    }
    if (uriHasCredentials(entry.ref))
      throw corrupt(
        ref,
        `the entry '${entry.path}' has a reference with credentials in its URL (an older Quiver stored it, or a row was changed); re-log it without them`,
        { path: entry.path },
      );
  }
}

/**
 * Validates a whole manifest read back from a store against the version it belongs to: every
 * entry (see {@link assertStoredEntry}), no path twice, and the sha256 over the entries equal to
 * the version's digest, so a row pointed at other content is caught before any byte is served.
 */
export function assertStoredManifest(
  entries: readonly ManifestEntry[],
  version: { ref: string; digest: string; fileCount?: number },
): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    assertStoredEntry(entry, version.ref);
    // Paths compared case-sensitively and also as folders: 'a' and 'a/b' cannot both be files.
    if (seen.has(entry.path))
      throw corrupt(version.ref, `the path '${entry.path}' is listed twice`, { path: entry.path });
    seen.add(entry.path);
  }
  for (const path of seen) {
    const slash = path.lastIndexOf('/');
    for (let end = slash; end > 0; end = path.lastIndexOf('/', end - 1)) {
      if (seen.has(path.slice(0, end)))
        throw corrupt(version.ref, `'${path.slice(0, end)}' is both a file and a folder`, { path });
    }
  }
  if (version.fileCount !== undefined && version.fileCount !== entries.length)
    throw corrupt(
      version.ref,
      `it lists ${entries.length} entries where the version records ${version.fileCount}`,
      {
        expected: version.fileCount,
        actual: entries.length,
      },
    );
  const actual = manifestDigest(entries);
  if (actual !== version.digest)
    throw corrupt(version.ref, 'its entries do not hash to the version digest (a row was changed)', {
      expected: version.digest,
      actual,
    });
}

/**
 * Checks a manifest given to a commit (by the SDK or over a wire): a list of entries with safe,
 * distinct paths, sha256 digests, byte sizes and reference URIs without credentials. Throws
 * `E_EMPTY_ARTIFACT`, `E_INVALID_PATH`, `E_DUPLICATE_ENTRY` or `E_INVALID_OPTION`.
 */
export function assertManifestInput(manifest: unknown, artifact: string): ManifestEntry[] {
  if (!Array.isArray(manifest) || manifest.length === 0)
    throw new QuiverError(
      'E_EMPTY_ARTIFACT',
      `The artifact '${artifact}' has no entries; add files with addFile, addDir, addBytes or addReference.`,
    );
  const seen = new Set<string>();
  return manifest.map((item: unknown) => {
    const entry = (item ?? {}) as Partial<ManifestEntry>;
    assertEntryPath(entry.path as string);
    const path = entry.path as string;
    if (seen.has(path))
      throw new QuiverError('E_DUPLICATE_ENTRY', `The manifest lists '${path}' twice.`, {
        details: { path },
      });
    seen.add(path);
    if (!isSha256(entry.sha256) || !Number.isSafeInteger(entry.size) || (entry.size as number) < 0)
      throw new QuiverError(
        'E_INVALID_OPTION',
        `The manifest entry '${path}' needs a sha256 (64 lowercase hex digits) and a size (a whole number of bytes).`,
        { details: { path } },
      );
    if (
      entry.ref !== undefined &&
      (typeof entry.ref !== 'string' || !URL.canParse(entry.ref) || uriHasCredentials(entry.ref))
    )
      throw new QuiverError(
        'E_INVALID_OPTION',
        `The manifest entry '${path}' has a reference that is not a URL without credentials.`,
        { details: { path } },
      );
    return {
      path,
      sha256: entry.sha256 as string,
      size: entry.size as number,
      ...(entry.ref !== undefined ? { ref: entry.ref } : {}),
    };
  });
}
