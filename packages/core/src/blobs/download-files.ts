import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { QuiverError } from '../contract/errors.js';
import { type FileErrorContext, type FileSide, fileSystemError } from '../fs-errors.js';
import { HOST_TAG, processIsAlive } from './process-owner.js';

/**
 * Partial files of a download: a file is written to `.<pid>-<host>-<random>.quiver-partial`
 * beside its target and renamed over it only once its digest matched. A download that fails
 * removes its own partials at once; a download that was killed cannot, so the next download into
 * the same folder removes them (see {@link isStalePartial}).
 *
 * Why the pid and not an age: a re-run right after a `kill -9` must clean up (an age limit would
 * keep the fresh partial), and a second download running into the same folder at the same time
 * must keep its partials (a blanket sweep would delete a file another process is writing). The
 * host tag keeps a pid from one machine from being looked up on another (a shared network
 * folder); partials of other hosts, and of names without a pid, are removed only once nothing has
 * written to them for {@link ABANDONED_PARTIAL_MS}.
 */
export const PARTIAL_SUFFIX = '.quiver-partial';

/** A partial nothing wrote to for this long is abandoned, whoever made it. */
export const ABANDONED_PARTIAL_MS = 24 * 60 * 60 * 1000;

const PARTIAL_PATTERN = /^\.(\d{1,10})-([0-9a-f]{8})-[0-9a-f]{12}\.quiver-partial$/;

/** Partial names are unique per process through a counter (cheaper than random bytes per file). */
const SESSION_TAG = randomBytes(2).toString('hex');
let partialCounter = 0;

/** A fresh partial path for `target`, in the target's own folder (so the final rename is atomic). */
export function partialPathFor(target: string): string {
  const serial = partialCounter.toString(16).padStart(8, '0');
  partialCounter = (partialCounter + 1) % 2 ** 32;
  return join(dirname(target), `.${process.pid}-${HOST_TAG}-${SESSION_TAG}${serial}${PARTIAL_SUFFIX}`);
}

/** True for the name of a partial file, this version's naming or an older one. */
export function isPartialName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(PARTIAL_SUFFIX);
}

/**
 * True when the partial file `name` belongs to no live download: its process (on this host) is
 * gone, or nothing wrote to it for {@link ABANDONED_PARTIAL_MS}. `modifiedAtMs` is called only when
 * the pid does not settle it.
 */
export function isStalePartial(
  name: string,
  modifiedAtMs: () => number | undefined,
  now = Date.now(),
): boolean {
  if (!isPartialName(name)) return false;
  const match = PARTIAL_PATTERN.exec(name);
  if (match && match[2] === HOST_TAG && !processIsAlive(Number(match[1]))) return true;
  // A live pid may have been reused by an unrelated process: age decides then too.
  const modified = modifiedAtMs();
  return modified !== undefined && now - modified > ABANDONED_PARTIAL_MS;
}

/**
 * The typed error for a failed write of the download target `path` (a file or a folder):
 * {@link fileSystemError} on the target side, except `ENOENT` where the folder exists, which
 * means a folder that refuses new entries (procfs, a dangling link; `E_READ_ONLY`, as
 * `ensureFolder` says for folders) or one removed meanwhile.
 */
export function targetFileError(error: unknown, path: string, outcome: string): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    return new QuiverError(
      'E_READ_ONLY',
      `Cannot create ${path}: its folder ${dirname(path)} does not accept new files or folders (a virtual file system such as /proc or /sys, or a dangling symbolic link), or it was removed meanwhile. Choose another folder. ${outcome}`,
      { details: { path, side: 'target', errno: 'ENOENT' }, cause: error },
    );
  return typedFileError(error, { side: 'target', path, outcome });
}

/** The typed error for a failed read of a stored blob while downloading it (the store's side). */
export function blobReadError(error: unknown, path: string, outcome: string): unknown {
  return typedFileError(error, { side: 'store', path, outcome });
}

const SIDES: Record<FileSide, string> = {
  source: 'the source',
  store: "the store's blob",
  target: 'the download target',
};

/** {@link fileSystemError}, and an errno it has no specific code for still becomes typed (`E_IO`). */
function typedFileError(error: unknown, context: FileErrorContext & { outcome: string }): unknown {
  const mapped = fileSystemError(error, context);
  const errno = (mapped as NodeJS.ErrnoException | undefined)?.code;
  if (mapped instanceof QuiverError || typeof errno !== 'string') return mapped;
  return new QuiverError(
    'E_IO',
    `Cannot use ${SIDES[context.side]} ${context.path} (${(mapped as Error).message}). ${context.outcome}`,
    { details: { path: context.path, side: context.side, errno }, cause: error },
  );
}
