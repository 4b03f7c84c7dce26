import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { hashHandle } from './blobs/copy-and-hash.js';
import { QuiverError } from './errors.js';
import type { ManifestEntry } from './manifest.js';
import { mapLimited } from './map-limited.js';
import { referenceHandlerFor } from './references/index.js';
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

async function digestOf(path: string): Promise<{ sha256: string; size: number } | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    return await hashHandle(handle);
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a destination where an entry would be written through a symbolic link (which could point
 * outside the folder). Checked for every entry before anything is written.
 */
function assertSafeDestination(root: string, entries: readonly ManifestEntry[]): void {
  const checked = new Set<string>();
  for (const entry of entries) {
    const segments = entry.path.split('/');
    let current = root;
    for (let index = 0; index < segments.length; index++) {
      current = join(current, segments[index]!);
      if (checked.has(current)) continue;
      checked.add(current);
      let stats: ReturnType<typeof lstatSync> | undefined;
      try {
        stats = lstatSync(current);
      } catch {
        break; // does not exist yet: nothing below it can be a link
      }
      if (stats.isSymbolicLink()) {
        throw new QuiverError(
          'E_UNSAFE_DESTINATION',
          `Refusing to download '${entry.path}': ${current} is a symbolic link, so the file could land outside ${root}. Remove the link or download into an empty folder.`,
          { details: { path: entry.path, link: current } },
        );
      }
      if (index < segments.length - 1 && !stats.isDirectory()) {
        throw new QuiverError(
          'E_UNSAFE_DESTINATION',
          `Cannot download '${entry.path}': ${current} exists and is not a folder.`,
          { details: { path: entry.path } },
        );
      }
      if (index === segments.length - 1 && stats.isDirectory()) {
        throw new QuiverError(
          'E_UNSAFE_DESTINATION',
          `Cannot download '${entry.path}': ${current} is a folder.`,
          { details: { path: entry.path } },
        );
      }
    }
  }
}

async function downloadReference(entry: ManifestEntry, target: string): Promise<void> {
  const { url, handler } = referenceHandlerFor(entry.ref!);
  const temporary = join(dirname(target), `.${randomBytes(6).toString('hex')}.quiver-partial`);
  try {
    await handler.download(url, temporary);
    const actual = await digestOf(temporary);
    if (!actual || actual.sha256 !== entry.sha256 || actual.size !== entry.size) {
      throw new QuiverError(
        'E_CHECKSUM_MISMATCH',
        `Checksum mismatch for '${entry.path}': the referenced object ${entry.ref} changed since it was logged (expected sha256 ${entry.sha256}, got ${actual?.sha256}).`,
        { details: { path: entry.path, expected: entry.sha256, actual: actual?.sha256 } },
      );
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes a version's entries into `root`, verifying every byte. Files already present with the
 * right digest are kept; a corrupt blob leaves no file behind for its entry.
 */
export async function downloadEntries(
  store: Store,
  entries: readonly ManifestEntry[],
  root: string,
  options: { onProgress?: (progress: DownloadProgress) => void } = {},
): Promise<{ written: number; skipped: number }> {
  mkdirSync(root, { recursive: true });
  const realRoot = realpathSync(root);
  assertSafeDestination(realRoot, entries);
  const progress: DownloadProgress = {
    bytesDone: 0,
    bytesTotal: entries.reduce((sum, entry) => sum + entry.size, 0),
    filesDone: 0,
    filesTotal: entries.length,
  };
  let skipped = 0;
  await mapLimited(entries, 4, async (entry) => {
    const target = join(realRoot, ...entry.path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    const present = await digestOf(target);
    if (present && present.sha256 === entry.sha256 && present.size === entry.size) {
      skipped++;
      progress.bytesDone += entry.size;
    } else if (entry.ref) {
      await downloadReference(entry, target);
      progress.bytesDone += entry.size;
    } else {
      await store.blobs.copyTo(entry.sha256, entry.size, target, {
        entryPath: entry.path,
        onProgress: (bytes) => {
          progress.bytesDone += bytes;
          options.onProgress?.({ ...progress });
        },
      });
    }
    progress.filesDone++;
    options.onProgress?.({ ...progress });
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
export async function verifyEntries(entries: readonly ManifestEntry[], root: string): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  await mapLimited(entries, 4, async (entry) => {
    const path = join(root, ...entry.path.split('/'));
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
    const actual = await digestOf(path);
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
