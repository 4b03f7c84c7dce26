import { QuiverError } from './contract/errors.js';

/** Which side of an operation a file-system error happened on: what the user must fix differs. */
export type FileSide = 'source' | 'store' | 'target';

const SIDE_NAMES: Record<FileSide, string> = {
  source: 'the source',
  store: "the store's blob folder",
  target: 'the download target',
};

/** How messages name a side: "the source", "the store's blob folder", "the download target". */
export function sideName(side: FileSide): string {
  return SIDE_NAMES[side];
}

/** What happened to the operation, said after the cause (e.g. "nothing was committed"). */
export interface FileErrorContext {
  side: FileSide;
  /** The file or folder the failing call was about. */
  path: string;
  /** What the failed operation left behind, e.g. "Nothing was committed." */
  outcome?: string;
}

/**
 * Turns a Node file-system error into a {@link QuiverError} with a stable code and a message
 * that says which side failed and what to do. Errors that are already typed, and errors without
 * an errno code, are returned unchanged.
 */
export function fileSystemError(error: unknown, context: FileErrorContext): unknown {
  if (error instanceof QuiverError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const side = SIDE_NAMES[context.side];
  const outcome = context.outcome ? ` ${context.outcome}` : '';
  const details = { path: context.path, side: context.side, errno: code };
  const make = (quiverCode: QuiverError['code'], message: string): QuiverError =>
    new QuiverError(quiverCode, `${message}${outcome}`, { details, cause: error });
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return make(
        'E_PERMISSION_DENIED',
        `Permission denied on ${side} ${context.path}: ${context.side === 'source' ? 'make it readable' : 'make it writable'} for this user (or choose another path).`,
      );
    case 'EROFS':
      return make(
        'E_READ_ONLY',
        `${capitalize(side)} ${context.path} is on a read-only file system: choose a writable location.`,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return make(
        'E_DISK_FULL',
        `The disk of ${side} (${context.path}) is full: free space there (or ${context.side === 'store' ? "run 'quiver gc'" : 'choose another folder'}) and try again.`,
      );
    case 'EIO':
      return make(
        'E_IO',
        `An I/O error happened on ${side} ${context.path}: the device may be failing; check it (dmesg) and try again.`,
      );
    case 'EEXIST':
    case 'ENOTDIR':
      return make(
        'E_NOT_A_DIRECTORY',
        `${capitalize(side)} ${context.path} is in the way: a file stands where a folder is needed. Remove it or choose another folder.`,
      );
    case 'EISDIR':
      return make(
        'E_NOT_A_FILE',
        `${capitalize(side)} ${context.path} is a folder where a file is needed: remove it or choose another path.`,
      );
    case 'ENOENT':
      return make(
        'E_FILE_NOT_FOUND',
        `${capitalize(side)} ${context.path} does not exist (or disappeared): check the path.`,
      );
    case 'ELOOP':
      return make(
        'E_SYMLINK_LOOP',
        `${capitalize(side)} ${context.path} is a symbolic link loop: fix the link or choose another path.`,
      );
    case 'ENAMETOOLONG':
      return make(
        'E_INVALID_PATH',
        `${capitalize(side)} ${context.path} is too long a path for this file system: choose a shorter one.`,
      );
    case 'EMFILE':
    case 'ENFILE':
      return make(
        'E_IO',
        `Too many open files while working on ${side} ${context.path}: raise the limit (ulimit -n) and try again.`,
      );
    default:
      return error;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
