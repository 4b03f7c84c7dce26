/**
 * Checks of manifests read back from a store or a server, free of Node built-ins (the browser
 * client runs them too); hashing is left to the caller.
 */
import { QuiverError } from './contract/errors.js';
import type { ManifestEntry } from './contract/index.js';
import { assertEntryPath } from './entry-path.js';
import { uriHasCredentials } from './references/reference-handler.js';

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function corrupt(
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
 * Validates a whole manifest read back from a store or a server against the version it belongs
 * to, all but its digest: every entry (see {@link assertStoredEntry}), no path twice, no path
 * both a file and a folder, and as many entries as the version records.
 */
export function assertManifestShape(
  entries: readonly ManifestEntry[],
  version: { ref: string; fileCount?: number },
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
}

/** The text a manifest's digest hashes: one JSON line per entry, sorted by path. */
export function manifestLines(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sorted
    .map((entry) => JSON.stringify([entry.path, entry.sha256, entry.size, entry.ref ?? null]))
    .join('\n');
}

/** Refuses a manifest whose digest (computed by the caller) is not the version's. */
export function assertManifestDigest(version: { ref: string; digest: string }, actual: string): void {
  if (actual !== version.digest)
    throw corrupt(version.ref, 'its entries do not hash to the version digest (a row was changed)', {
      expected: version.digest,
      actual,
    });
}
