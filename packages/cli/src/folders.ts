import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QuiverError } from '@quiver/core';

/** Which side a file-system error is on: what the user must fix differs. */
export type FolderSide = 'source' | 'store' | 'target';

const SIDE_NAMES: Record<FolderSide, string> = {
  source: 'the source',
  store: 'the store folder',
  target: 'the download target',
};

const errnoOf = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * A Node file-system error as a {@link QuiverError} with a stable code and a message that says
 * which side failed and what to do (the same codes as core's mapping). Typed errors and errors
 * without an errno pass through unchanged.
 */
export function fileError(error: unknown, side: FolderSide, path: string): unknown {
  if (error instanceof QuiverError) return error;
  const errno = errnoOf(error);
  if (errno === undefined) return error;
  const where = `${SIDE_NAMES[side]} ${path}`;
  const Where = where.charAt(0).toUpperCase() + where.slice(1);
  const make = (code: QuiverError['code'], message: string): QuiverError =>
    new QuiverError(code, message, { details: { path, side, errno }, cause: error });
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return make(
        'E_PERMISSION_DENIED',
        `Permission denied on ${where}: ${side === 'source' ? 'make it readable' : 'make it writable'} for this user, or choose another path.`,
      );
    case 'EROFS':
      return make('E_READ_ONLY', `${Where} is on a read-only file system: choose a writable location.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return make('E_DISK_FULL', `The disk of ${where} is full: free space there and try again.`);
    case 'EEXIST':
    case 'ENOTDIR':
      return make(
        'E_NOT_A_DIRECTORY',
        `${Where} is in the way: a file stands where a folder is needed. Remove it or choose another folder.`,
      );
    case 'ENOENT':
      return make('E_FILE_NOT_FOUND', `${Where} does not exist: check the path.`);
    case 'EISDIR':
      return make('E_NOT_A_FILE', `${Where} is a folder where a file is needed: give a file.`);
    case 'ELOOP':
      return make('E_SYMLINK_LOOP', `${Where} is a symbolic link loop: fix the link or choose another path.`);
    case 'ENAMETOOLONG':
      return make(
        'E_INVALID_PATH',
        `${Where} is too long a path for this file system: choose a shorter one.`,
      );
    case 'EIO':
      return make(
        'E_IO',
        `An I/O error happened on ${where}: the device may be failing; check it and try again.`,
      );
    default:
      return error;
  }
}

/**
 * Makes sure `path` is a folder (with `writable`, one this process can write into), creating the
 * missing folders one at a time, and returns the folders it created (outermost first).
 *
 * This is deliberately not `mkdirSync(path, { recursive: true })`: Node's recursive mkdir loops
 * forever when a folder's parent exists but refuses new entries with ENOENT (anything under
 * `/proc`), which made `quiver get … /proc/x` and `--dir /proc/x` hang. Here a missing folder
 * whose parent exists and still cannot be created is reported at once.
 */
export function ensureFolder(path: string, side: FolderSide, options: { writable?: boolean } = {}): string[] {
  const absolute = resolve(path);
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
      throw fileError(error, side, current);
    }
    if (!isDirectory)
      throw new QuiverError(
        'E_NOT_A_DIRECTORY',
        `${SIDE_NAMES[side].charAt(0).toUpperCase()}${SIDE_NAMES[side].slice(1)} ${absolute} cannot be a folder: ${current} is a file. Remove it or choose another folder.`,
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
          `Cannot create ${SIDE_NAMES[side]} ${absolute}: ${dirname(folder)} does not accept new folders (a virtual file system such as /proc or /sys). Choose a folder on a regular disk.`,
          { details: { path: absolute, parent: dirname(folder), side, errno }, cause: error },
        );
      throw fileError(error, side, folder);
    }
  }
  if (options.writable)
    try {
      accessSync(absolute, constants.W_OK | constants.X_OK);
    } catch (error) {
      removeCreated(created);
      throw fileError(error, side, absolute);
    }
  return created;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
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
