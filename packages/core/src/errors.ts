/**
 * Stable error codes. A code never changes meaning once released; messages may improve.
 */
export type QuiverErrorCode =
  | 'E_INVALID_NAME'
  | 'E_INVALID_TYPE'
  | 'E_INVALID_ALIAS'
  | 'E_INVALID_TAG'
  | 'E_INVALID_REF'
  | 'E_INVALID_PATH'
  | 'E_INVALID_METADATA'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_ENV'
  | 'E_INVALID_STEP'
  | 'E_INVALID_METRIC'
  | 'E_DUPLICATE_ENTRY'
  | 'E_FILE_NOT_FOUND'
  | 'E_NOT_A_FILE'
  | 'E_NOT_A_DIRECTORY'
  | 'E_SYMLINK_LOOP'
  | 'E_UNSAFE_DESTINATION'
  | 'E_EMPTY_ARTIFACT'
  | 'E_TYPE_MISMATCH'
  | 'E_NOT_FOUND'
  | 'E_ALIAS_HELD'
  | 'E_ALIAS_RESERVED'
  | 'E_CHECKSUM_MISMATCH'
  | 'E_BLOB_MISSING'
  | 'E_REFERENCE_SCHEME'
  | 'E_REFERENCE_FAILED'
  | 'E_RUN_FINISHED'
  | 'E_DISABLED'
  | 'E_DATABASE'
  | 'E_ALIAS_PROTECTED'
  | 'E_TYPE_NOT_ACCEPTED'
  | 'E_VERSION_LINKED'
  | 'E_ALREADY_EXISTS'
  | 'E_UNSUPPORTED_LAYER'
  | 'E_PARITY_MISMATCH'
  | 'E_INVALID_MODEL'
  | 'E_HUB_UNAUTHORIZED'
  | 'E_HUB_FORBIDDEN'
  | 'E_HUB_NOT_FOUND'
  | 'E_HUB_CONFLICT'
  | 'E_HUB_FAILED'
  | 'E_PERMISSION_DENIED'
  | 'E_READ_ONLY'
  | 'E_DISK_FULL'
  | 'E_IO'
  | 'E_CORRUPT_MANIFEST'
  | 'E_CONCURRENT_GC'
  | 'E_USAGE';

/** Options for {@link QuiverError}. */
export interface QuiverErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts (the entry path, the variable name, …). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of Quiver. `code` is stable and meant for programs; `message` says what
 * went wrong and what to do next.
 */
export class QuiverError extends Error {
  readonly code: QuiverErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: QuiverErrorCode, message: string, options: QuiverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QuiverError';
    this.code = code;
    this.details = options.details ?? {};
  }

  toJSON(): { code: QuiverErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `error` is a {@link QuiverError}, optionally with the given code. */
export function isQuiverError(error: unknown, code?: QuiverErrorCode): error is QuiverError {
  return error instanceof QuiverError && (code === undefined || error.code === code);
}
