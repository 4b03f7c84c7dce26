import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QuiverError } from './contract/errors.js';
import { type FileSide, fileSystemError, sideName } from './fs-errors.js';

const errnoOf = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Makes sure `path` is a folder (with `writable`, one this process can write into), creating the
 * missing folders one at a time, and returns the folders it created (outermost first).
 *
 * Deliberately not `mkdirSync(path, { recursive: true })`: Node's recursive mkdir loops forever
 * when a folder's parent exists but refuses new entries with ENOENT (anything under `/proc`, a
 * dangling symbolic link), which made `quiver get … /proc/x` and `--dir /proc/x` hang. Here a
 * missing folder whose parent exists and still cannot be created is reported at once, typed.
 */
export function ensureFolder(
  path: string,
  options: { side: FileSide; writable?: boolean; outcome?: string },
): string[] {
  const { side } = options;
  const absolute = resolve(path);
  const fail = (error: unknown, at: string): unknown =>
    fileSystemError(error, { side, path: at, ...(options.outcome ? { outcome: options.outcome } : {}) });
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(current).isDirectory();
    } catch (error) {
      const errno = errnoOf(error);
      // ENOTDIR: a file is further up; keep walking to report the file itself.
      if ((errno === 'ENOENT' || errno === 'ENOTDIR') && dirname(current) !== current) {
        missing.unshift(current);
        current = dirname(current);
        continue;
      }
      throw fail(error, current);
    }
    if (!isDirectory)
      throw new QuiverError(
        'E_NOT_A_DIRECTORY',
        `${capitalized(sideName(side))} ${absolute} cannot be a folder: ${current} is a file. Remove it or choose another folder.${options.outcome ? ` ${options.outcome}` : ''}`,
        { details: { path: absolute, blocking: current, side } },
      );
    break;
  }
  const created: string[] = [];
  for (const folder of missing) {
    try {
      mkdirSync(folder);
      created.push(folder);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'EEXIST' && isFolder(folder)) continue; // made meanwhile by someone else
      removeCreated(created);
      if (errno === 'ENOENT')
        throw new QuiverError(
          'E_READ_ONLY',
          `Cannot create ${sideName(side)} ${absolute}: ${dirname(folder)} does not accept new folders (a virtual file system such as /proc or /sys, or a dangling link). Choose a folder on a regular disk.`,
          { details: { path: absolute, parent: dirname(folder), side, errno }, cause: error },
        );
      throw fail(error, folder);
    }
  }
  if (options.writable) {
    try {
      accessSync(absolute, constants.W_OK | constants.X_OK);
    } catch (error) {
      removeCreated(created);
      throw fail(error, absolute);
    }
  }
  return created;
}

/** Removes folders {@link ensureFolder} created, innermost first, as long as they are still empty. */
export function removeCreated(created: readonly string[]): void {
  for (const folder of [...created].reverse()) {
    try {
      rmdirSync(folder);
    } catch {
      return; // not empty (or gone): leave it and its parents
    }
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
