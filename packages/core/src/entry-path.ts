import { QuiverError } from './contract/errors.js';

const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 255;

function reject(path: unknown, reason: string): never {
  const shown =
    typeof path === 'string'
      ? JSON.stringify(path.length > 60 ? `${path.slice(0, 60)}…` : path)
      : String(path);
  throw new QuiverError('E_INVALID_PATH', `Invalid entry path ${shown}: ${reason}`, { details: { path } });
}

/**
 * Checks the path of an entry inside an artifact: relative, `/`-separated, at most 1,024
 * characters, with no empty, `.` or `..` segment, no backslash and no control characters.
 * Returns the path unchanged (paths are never rewritten silently).
 */
export function assertEntryPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0)
    reject(path, 'give a non-empty relative path such as "model/weights.bin".');
  if (path.length > MAX_PATH_LENGTH)
    reject(path, `it has ${path.length} characters; the limit is ${MAX_PATH_LENGTH}.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) reject(path, 'it contains a NUL or control character.');
  if (path.includes('\\')) reject(path, "use '/' to separate folders, not '\\'.");
  if (path.startsWith('/')) reject(path, 'it is absolute; give a path relative to the artifact root.');
  for (const segment of path.split('/')) {
    if (segment === '') reject(path, "it has an empty segment ('//' or a trailing '/').");
    if (segment === '.' || segment === '..')
      reject(path, `it has a '${segment}' segment; entries cannot point outside the artifact.`);
    if (segment.length > MAX_SEGMENT_LENGTH)
      reject(path, `a segment is longer than ${MAX_SEGMENT_LENGTH} characters.`);
  }
  return path;
}

/** Joins entry path segments with `/` and checks the result. */
export function joinEntryPath(...segments: string[]): string {
  return assertEntryPath(segments.filter((segment) => segment !== '').join('/'));
}
