import { createHash } from 'node:crypto';
import {
  type Dirent,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { open, open as openFile, rename, rename as renameFile, unlink as unlinkFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  BatchedWriter,
  chunkBytesFor,
  copyVerified,
  hashHandle,
  SMALL_COPY_BYTES,
  sha256Hex,
} from './blobs/copy-and-hash.js';
import {
  blobReadError,
  isPartialName,
  isStalePartial,
  partialPathFor,
  targetFileError,
} from './blobs/download-files.js';
import { QuiverError } from './contract/errors.js';
import type { BlobStore, ManifestEntry } from './contract/index.js';
import { ensureFolder } from './folders.js';
import { assertStoredEntry } from './manifest-validation.js';
import { mapLimited } from './map-limited.js';
import { redactUri, referenceHandlerFor } from './references/index.js';
import type { Store } from './store.js';

/** Progress of a download. */
export interface DownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

/** One difference between a folder and a version's manifest. */
export interface VerifyProblem {
  path: string;
  problem: 'missing' | 'size' | 'checksum' | 'not-a-file';
  expected?: string;
  actual?: string;
}

/** What `verify(dir)` found. */
export interface VerifyReport {
  ok: boolean;
  checked: number;
  problems: VerifyProblem[];
  /** Files in the folder that the version does not list (not a failure). */
  extra: string[];
}

/** Options of {@link downloadEntries}. */
export interface DownloadOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /** The ref of the version downloaded, named in errors about its manifest. */
  ref?: string;
}

/** Large files (streamed through their own buffers) copied at the same time. */
const LARGE_FILE_CONCURRENCY = 4;
/** Small files are copied synchronously; the event loop still gets a turn at least this often. */
const YIELD_EVERY_MS = 20;
const NOTHING_DOWNLOADED = 'Nothing was downloaded.';

async function digestOf(
  path: string,
  sizeHint?: number,
): Promise<{ sha256: string; size: number } | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    return await hashHandle(handle, undefined, { chunkBytes: chunkBytesFor(sizeHint) });
  } catch {
    return undefined; // unreadable: not the entry's file
  } finally {
    await handle.close();
  }
}

function smallDigestOf(path: string): { sha256: string; size: number } | undefined {
  try {
    const bytes = readFileSync(path);
    return { sha256: sha256Hex(bytes), size: bytes.length };
  } catch {
    return undefined;
  }
}

/** False for a reference whose recorded sha256 stands for an ETag (an `s3://` object logged without checksum). */
function hasContentDigest(entry: ManifestEntry): boolean {
  if (!entry.ref) return true;
  const { url, handler } = referenceHandlerFor(entry.ref);
  return handler.contentDigest?.(url) !== false;
}

/** True when the regular file at `path` already holds the entry's bytes. */
async function holdsEntry(path: string, entry: ManifestEntry): Promise<boolean> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size !== entry.size) return false;
  // A reference recorded by ETag cannot be checked against a local file: fetch it again.
  if (!hasContentDigest(entry)) return false;
  if (size <= SMALL_COPY_BYTES) return smallDigestOf(path)?.sha256 === entry.sha256;
  const present = await digestOf(path, size);
  return present?.sha256 === entry.sha256 && present.size === entry.size;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The target of an entry inside `root`, refused unless it is strictly inside it. */
function confinedTarget(root: string, entry: ManifestEntry): string {
  const target = join(root, ...entry.path.split('/'));
  const inside = relative(root, target);
  if (inside === '' || isAbsolute(inside) || inside === '..' || inside.startsWith(`..${sep}`))
    throw new QuiverError(
      'E_UNSAFE_DESTINATION',
      `Refusing to download '${entry.path}': it would be written to ${target}, outside ${root}. The version's manifest is not trustworthy; run 'quiver verify'. ${NOTHING_DOWNLOADED}`,
      { details: { path: entry.path, target } },
    );
  return target;
}

/** Checks what an untrusted list of entries could do to a folder: no duplicate, no file that is also a folder. */
function assertNoConflicts(entries: readonly ManifestEntry[], ref: string): void {
  const files = new Set<string>();
  for (const entry of entries) {
    if (files.has(entry.path)) throw conflict(ref, `the path '${entry.path}' is listed twice`, entry.path);
    files.add(entry.path);
  }
  for (const path of files) {
    for (let end = path.indexOf('/'); end > 0; end = path.indexOf('/', end + 1)) {
      if (files.has(path.slice(0, end)))
        throw conflict(ref, `'${path.slice(0, end)}' is both a file and a folder`, path);
    }
  }
}

function conflict(ref: string, reason: string, path: string): QuiverError {
  return new QuiverError(
    'E_CORRUPT_MANIFEST',
    `The stored manifest of ${ref} is not trustworthy: ${reason}. ${NOTHING_DOWNLOADED} Run 'quiver verify' and re-log the artifact from its source.`,
    { details: { ref, path } },
  );
}

interface Folder {
  path: string;
  exists: boolean;
  listing?: Map<string, Dirent>;
}

/** One entry to write: where, and whether a file of that name is already there. */
interface Placement {
  entry: ManifestEntry;
  target: string;
  occupied: boolean;
}

/**
 * Looks at the destination once per distinct folder (one `readdir` each; no `lstat` per entry)
 * and refuses, before anything is written, every entry that would be written through a symbolic
 * link (which could point outside the folder), into a file, or over a folder or a special file.
 * Returns the folders to create (parents first), what to write, and the partial files found.
 */
function planDestination(
  root: string,
  entries: readonly ManifestEntry[],
): { create: string[]; placements: Placement[]; partials: string[] } {
  const folders = new Map<string, Folder>([['', { path: root, exists: true }]]);
  const create: string[] = [];
  const partials: string[] = [];
  const listingOf = (folder: Folder): Map<string, Dirent> => {
    if (folder.listing) return folder.listing;
    let dirents: Dirent[];
    try {
      dirents = readdirSync(folder.path, { withFileTypes: true });
    } catch (error) {
      throw targetFileError(error, folder.path, NOTHING_DOWNLOADED);
    }
    folder.listing = new Map();
    for (const dirent of dirents) {
      folder.listing.set(dirent.name, dirent);
      if (isPartialName(dirent.name)) partials.push(join(folder.path, dirent.name));
    }
    return folder.listing;
  };
  const folderOf = (segments: readonly string[], count: number, entry: ManifestEntry): Folder => {
    const key = segments.slice(0, count).join('/');
    const known = folders.get(key);
    if (known) return known;
    const parent = folderOf(segments, count - 1, entry);
    const path = join(parent.path, segments[count - 1]!);
    const dirent = parent.exists ? listingOf(parent).get(segments[count - 1]!) : undefined;
    if (dirent?.isSymbolicLink())
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Refusing to download '${entry.path}': ${path} is a symbolic link, so the file could land outside ${root}. Remove the link or download into an empty folder.`,
        { details: { path: entry.path, link: path } },
      );
    if (dirent && !dirent.isDirectory())
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Cannot download '${entry.path}': ${path} exists and is not a folder. Remove it or download into an empty folder.`,
        { details: { path: entry.path } },
      );
    const folder: Folder = { path, exists: dirent !== undefined };
    if (!folder.exists) create.push(path);
    folders.set(key, folder);
    return folder;
  };
  const placements = entries.map((entry): Placement => {
    const target = confinedTarget(root, entry);
    const segments = entry.path.split('/');
    const parent = folderOf(segments, segments.length - 1, entry);
    const name = segments[segments.length - 1]!;
    const dirent = parent.exists ? listingOf(parent).get(name) : undefined;
    if (dirent?.isSymbolicLink())
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Refusing to download '${entry.path}': ${target} is a symbolic link, so the file could land outside ${root}. Remove the link or download into an empty folder.`,
        { details: { path: entry.path, link: target } },
      );
    if (dirent?.isDirectory())
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Cannot download '${entry.path}': ${target} is a folder.`,
        {
          details: { path: entry.path },
        },
      );
    if (dirent && !dirent.isFile())
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Cannot download '${entry.path}': ${target} is a special file (a pipe, socket or device), not a regular file. Remove it or download into an empty folder.`,
        { details: { path: entry.path } },
      );
    return { entry, target, occupied: dirent !== undefined };
  });
  return { create, placements, partials };
}

/**
 * Checks, once per folder, that every folder a file will be written into really lies inside the
 * root: the listing above matches names exactly, so on a case-insensitive disk (macOS, Windows)
 * `DATA/x` would pass a symbolic link named `data`, and a link could also appear meanwhile.
 */
function assertFoldersInside(realRoot: string, placements: readonly Placement[]): void {
  const checked = new Set<string>();
  for (const { entry, target } of placements) {
    const folder = dirname(target);
    if (checked.has(folder)) continue;
    checked.add(folder);
    let real: string;
    try {
      real = realpathSync(folder);
    } catch (error) {
      throw targetFileError(error, folder, NOTHING_DOWNLOADED);
    }
    if (real !== realRoot && !real.startsWith(`${realRoot}${sep}`))
      throw new QuiverError(
        'E_UNSAFE_DESTINATION',
        `Refusing to download '${entry.path}': ${folder} leads to ${real}, outside ${realRoot} (a symbolic link). Remove the link or download into an empty folder. ${NOTHING_DOWNLOADED}`,
        { details: { path: entry.path, folder, real } },
      );
  }
}

/** Removes the partial files of downloads that were killed (see `download-files.ts`). */
function removeStalePartials(partials: readonly string[]): void {
  const now = Date.now();
  for (const path of partials) {
    const name = path.slice(path.lastIndexOf(sep) + 1);
    const modifiedAt = (): number | undefined => {
      try {
        return lstatSync(path).mtimeMs;
      } catch {
        return undefined;
      }
    };
    if (!isStalePartial(name, modifiedAt, now)) continue;
    try {
      unlinkSync(path);
    } catch {
      // removed by another download meanwhile, or not removable: the download itself will tell
    }
  }
}

async function downloadReference(entry: ManifestEntry, target: string, outcome: string): Promise<void> {
  const { url, handler } = referenceHandlerFor(entry.ref!);
  const temporary = partialPathFor(target);
  try {
    try {
      await handler.download(url, temporary);
    } catch (error) {
      if (error instanceof QuiverError && error.code === 'E_CHECKSUM_MISMATCH')
        throw new QuiverError(
          'E_CHECKSUM_MISMATCH',
          `Checksum mismatch for '${entry.path}': ${error.message}`,
          {
            details: { path: entry.path, ...error.details },
          },
        );
      throw targetFileError(error, temporary, outcome);
    }
    // Where the recorded digest stands for an ETag, the handler checked it; the size is checked here.
    const actual =
      handler.contentDigest?.(url) === false
        ? { sha256: entry.sha256, size: statSync(temporary).size }
        : await digestOf(temporary, entry.size);
    if (!actual || actual.sha256 !== entry.sha256 || actual.size !== entry.size) {
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        actual && actual.sha256 === entry.sha256
          ? `Size mismatch for '${entry.path}': the referenced object ${redactUri(entry.ref!)} changed since it was logged (${entry.size} bytes recorded, ${actual.size} read).`
          : `Checksum mismatch for '${entry.path}': the referenced object ${redactUri(entry.ref!)} changed since it was logged (expected sha256 ${entry.sha256}, got ${actual?.sha256}).`,
        { details: { path: entry.path, expected: entry.sha256, actual: actual?.sha256 } },
      );
    }
    try {
      await rename(temporary, target);
    } catch (error) {
      throw targetFileError(error, target, outcome);
    }
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw error;
  }
}

/**
 * Writes a version's entries into `root`, verifying every byte. Files already present with the
 * right digest are kept; a corrupt blob leaves no file behind for its entry.
 *
 * The entries are not trusted (a store's rows or, later, a server's answer): each is validated
 * again and every target confined to `root` before anything touches the disk. A failed download
 * removes its own partial files; partial files of killed downloads in the folders written are
 * removed too. Small files are copied synchronously in one read and one write each, folders are
 * created once each: downloading many small files costs about what `cp -r` does.
 */
export async function downloadEntries(
  store: Store,
  entries: readonly ManifestEntry[],
  root: string,
  options: DownloadOptions = {},
): Promise<{ written: number; skipped: number }> {
  const ref = options.ref ?? 'the version being downloaded';
  for (const entry of entries) assertStoredEntry(entry, ref);
  assertNoConflicts(entries, ref);
  const requested = resolve(root);
  // One mkdir at a time: Node's recursive mkdir spins forever under /proc (see ensureFolder).
  ensureFolder(requested, { side: 'target', outcome: NOTHING_DOWNLOADED });
  let realRoot: string;
  try {
    realRoot = realpathSync(requested);
  } catch (error) {
    throw targetFileError(error, requested, NOTHING_DOWNLOADED);
  }
  const { create, placements, partials } = planDestination(realRoot, entries);
  removeStalePartials(partials);
  for (const folder of create) {
    try {
      mkdirSync(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && isFolder(folder)) continue;
      throw targetFileError(error, folder, NOTHING_DOWNLOADED);
    }
  }
  assertFoldersInside(realRoot, placements);
  const progress: DownloadProgress = {
    bytesDone: 0,
    bytesTotal: entries.reduce((sum, entry) => sum + entry.size, 0),
    filesDone: 0,
    filesTotal: entries.length,
  };
  let skipped = 0;
  let lastYield = performance.now();
  await mapLimited(placements, LARGE_FILE_CONCURRENCY, async ({ entry, target, occupied }) => {
    const outcome = `Nothing was written for '${entry.path}'; the files downloaded before it were kept (run the download again to finish it).`;
    if (occupied && (await holdsEntry(target, entry))) {
      skipped++;
      progress.bytesDone += entry.size;
    } else if (entry.ref) {
      await downloadReference(entry, target, outcome);
      progress.bytesDone += entry.size;
    } else {
      await copyBlob(store.backend.blobs, entry.sha256, entry.size, target, {
        entryPath: entry.path,
        onProgress: (bytes) => {
          progress.bytesDone += bytes;
          if (entry.size > SMALL_COPY_BYTES) options.onProgress?.({ ...progress });
        },
      });
    }
    progress.filesDone++;
    options.onProgress?.({ ...progress });
    // Small files complete without waiting on I/O: let timers, signals and other work in.
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  });
  return { written: entries.length - skipped, skipped };
}

function listFiles(root: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const dirent of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${dirent.name}` : dirent.name;
    if (dirent.isDirectory()) files.push(...listFiles(root, path));
    else files.push(path);
  }
  return files;
}

/** Compares a folder with a version's manifest: every entry present, of the right size and sha256. */
export async function verifyEntries(
  entries: readonly ManifestEntry[],
  root: string,
  options: { ref?: string } = {},
): Promise<VerifyReport> {
  const ref = options.ref ?? 'the version being verified';
  for (const entry of entries) assertStoredEntry(entry, ref);
  const problems: VerifyProblem[] = [];
  await mapLimited(entries, 4, async (entry) => {
    const path = confinedTarget(root, entry);
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(path);
    } catch {
      problems.push({ path: entry.path, problem: 'missing' });
      return;
    }
    if (!stats.isFile()) {
      problems.push({ path: entry.path, problem: 'not-a-file' });
      return;
    }
    if (Number(stats.size) !== entry.size) {
      problems.push({
        path: entry.path,
        problem: 'size',
        expected: String(entry.size),
        actual: String(stats.size),
      });
      return;
    }
    // A reference recorded by ETag has no content digest to compare: its size was checked.
    if (!hasContentDigest(entry)) return;
    const actual = entry.size <= SMALL_COPY_BYTES ? smallDigestOf(path) : await digestOf(path, entry.size);
    if (actual?.sha256 !== entry.sha256)
      problems.push({
        path: entry.path,
        problem: 'checksum',
        expected: entry.sha256,
        actual: actual?.sha256 ?? '',
      });
  });
  const listed = new Set(entries.map((entry) => entry.path));
  let extra: string[] = [];
  try {
    extra = listFiles(root).filter(
      (path) => !listed.has(path) && !path.split(sep).pop()?.endsWith('.quiver-partial'),
    );
  } catch {
    extra = [];
  }
  problems.sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    ok: problems.length === 0,
    checked: entries.length,
    problems,
    extra: extra.map((path) => relative('', path)),
  };
}

/** The error for content that does not hash to its digest: nothing is written for the entry. */
function blobMismatch(
  entry: string,
  sha256: string,
  size: number,
  actual: { sha256?: string; size: number },
): QuiverError {
  return new QuiverError(
    'E_CHECKSUM_MISMATCH',
    `Checksum mismatch for '${entry}': expected sha256 ${sha256} (${size} bytes), read ${actual.sha256 ?? 'another size'} (${actual.size} bytes). The stored copy is corrupt; nothing was written for this entry. Run 'quiver verify' and re-log the artifact from its source.`,
    { details: { path: entry, expected: sha256, actual: actual.sha256 ?? null, actualSize: actual.size } },
  );
}

/**
 * Copies a blob to `target`, verifying its digest; the target appears only when it matches. A
 * store on this disk is copied from its file (kernel copy beside a hashing read); any other store
 * is streamed through a hash into a partial file.
 */
async function copyBlob(
  blobs: BlobStore,
  sha256: string,
  size: number,
  target: string,
  options: { entryPath?: string; onProgress?: (bytes: number) => void } = {},
): Promise<void> {
  const entry = options.entryPath ?? sha256;
  const outcome = `Nothing was written for '${entry}'.`;
  const missing = (error: unknown): QuiverError =>
    new QuiverError(
      'E_BLOB_MISSING',
      `The stored content of '${entry}' (sha256 ${sha256}) is missing. Run 'quiver verify' to see every affected version.`,
      { cause: error, details: { path: entry, sha256 } },
    );
  if (blobs.localPath) {
    const blob = blobs.localPath(sha256);
    // A stored blob never changes, so a kernel copy and a hashing read of it see the same bytes.
    await copyVerified(
      blob,
      { sha256, size },
      target,
      {
        source: (error) => {
          const code = (error as NodeJS.ErrnoException | undefined)?.code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') return blobReadError(error, blob, outcome);
          return missing(error);
        },
        target: (error) => targetFileError(error, target, outcome),
        mismatch: (actual) => blobMismatch(entry, sha256, size, actual),
      },
      options.onProgress,
    );
    return;
  }
  const stream = await blobs.open(sha256);
  const partial = partialPathFor(target);
  const hash = createHash('sha256');
  let written = 0;
  let handle: Awaited<ReturnType<typeof openFile>> | undefined;
  try {
    handle = await openFile(partial, 'wx', 0o644).catch((error: unknown) => {
      throw targetFileError(error, target, outcome);
    });
    const writer = new BatchedWriter(handle);
    const writeError = (error: unknown): never => {
      throw targetFileError(error, target, outcome);
    };
    for await (const chunk of stream) {
      hash.update(chunk);
      written += chunk.length;
      if (written > size) break;
      await writer.write(chunk).catch(writeError);
      options.onProgress?.(chunk.length);
    }
    await writer.flush().catch(writeError);
    const actual = hash.digest('hex');
    if (written !== size || actual !== sha256)
      throw blobMismatch(
        entry,
        sha256,
        size,
        written === size ? { sha256: actual, size: written } : { size: written },
      );
    // No fsync: like the kernel copy above, a download is a copy of stored content, verified again
    // whenever it is used; the rename only keeps a half-written file from carrying the name.
    await handle.close();
    handle = undefined;
    await renameFile(partial, target).catch((error: unknown) => {
      throw targetFileError(error, target, outcome);
    });
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlinkFile(partial).catch(() => undefined);
    throw error;
  }
}
