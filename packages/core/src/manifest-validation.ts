import { QuiverError } from './contract/errors.js';
import type { ManifestEntry } from './contract/index.js';
import { assertEntryPath } from './entry-path.js';
import { manifestDigest } from './manifest.js';
import { uriHasCredentials } from './references/reference-handler.js';
import { assertManifestDigest, assertManifestShape, isSha256 } from './stored-manifest.js';

export { assertStoredEntry, isSha256 } from './stored-manifest.js';

/**
 * Validates a whole manifest read back from a store against the version it belongs to: its shape
 * (see {@link assertManifestShape}) and the sha256 over the entries equal to the version's
 * digest, so a row pointed at other content is caught before any byte is served.
 */
export function assertStoredManifest(
  entries: readonly ManifestEntry[],
  version: { ref: string; digest: string; fileCount?: number },
): void {
  assertManifestShape(entries, version);
  assertManifestDigest(version, manifestDigest(entries));
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
