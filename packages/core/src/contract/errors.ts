/**
 * Every stable error code with the HTTP status it crosses a wire as. A code never changes meaning
 * once released; messages may improve. The table is total by construction: a new code needs a
 * status.
 */
const HTTP_STATUS_OF_CODE = {
  E_INVALID_NAME: 400,
  E_INVALID_TYPE: 400,
  E_INVALID_ALIAS: 400,
  E_INVALID_TAG: 400,
  E_INVALID_REF: 400,
  E_INVALID_PATH: 400,
  E_INVALID_METADATA: 400,
  E_INVALID_OPTION: 400,
  E_INVALID_ENV: 400,
  E_INVALID_STEP: 400,
  E_INVALID_METRIC: 400,
  E_DUPLICATE_ENTRY: 400,
  E_FILE_NOT_FOUND: 404,
  E_NOT_A_FILE: 400,
  E_NOT_A_DIRECTORY: 400,
  E_SYMLINK_LOOP: 400,
  E_UNSAFE_DESTINATION: 400,
  E_EMPTY_ARTIFACT: 400,
  E_TYPE_MISMATCH: 409,
  E_NOT_FOUND: 404,
  E_ALIAS_HELD: 409,
  E_ALIAS_RESERVED: 403,
  E_CHECKSUM_MISMATCH: 422,
  E_BLOB_MISSING: 500,
  E_REFERENCE_SCHEME: 400,
  E_REFERENCE_FAILED: 502,
  E_RUN_FINISHED: 409,
  E_DISABLED: 403,
  E_DATABASE: 503,
  E_ALIAS_PROTECTED: 403,
  E_TYPE_NOT_ACCEPTED: 422,
  E_VERSION_LINKED: 409,
  E_ALREADY_EXISTS: 409,
  E_UNSUPPORTED_LAYER: 422,
  E_PARITY_MISMATCH: 422,
  E_INVALID_MODEL: 422,
  /** A request understood but not possible (what a codeless 422 answer means). */
  E_UNPROCESSABLE: 422,
  E_HUB_UNAUTHORIZED: 401,
  E_HUB_FORBIDDEN: 403,
  E_HUB_NOT_FOUND: 404,
  E_HUB_CONFLICT: 409,
  E_HUB_FAILED: 502,
  E_PERMISSION_DENIED: 403,
  E_READ_ONLY: 507,
  E_DISK_FULL: 507,
  E_IO: 500,
  E_CORRUPT_MANIFEST: 500,
  E_CONCURRENT_GC: 409,
  E_USAGE: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_TOO_LARGE: 413,
  E_INTERNAL: 500,
  E_UNAVAILABLE: 503,
  /** A request a server cannot read: malformed JSON, unknown fields, wrong shapes. */
  E_INVALID_REQUEST: 400,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_RANGE_NOT_SATISFIABLE: 416,
  /** An idempotency key sent again with a different request than the one it answered. */
  E_IDEMPOTENCY_KEY_REUSED: 422,
  /** A webhook target the server's egress policy refuses (a private, loopback or link-local address). */
  E_TARGET_REFUSED: 400,
  /** A folder given to `quiver sync` that is not a readable offline bundle. */
  E_INVALID_BUNDLE: 400,
  /** A read in offline mode of something this machine has not fetched before. */
  E_NOT_CACHED: 404,
} as const satisfies Record<string, number>;

/** Stable error codes (see {@link httpStatusOf} for the status each crosses a wire as). */
export type QuiverErrorCode = keyof typeof HTTP_STATUS_OF_CODE;

/** The code a status means when an answer carries no (known) code of its own. */
const CODE_OF_HTTP_STATUS: Readonly<Record<number, QuiverErrorCode>> = {
  400: 'E_INVALID_OPTION',
  401: 'E_UNAUTHORIZED',
  403: 'E_FORBIDDEN',
  404: 'E_NOT_FOUND',
  409: 'E_ALREADY_EXISTS',
  413: 'E_TOO_LARGE',
  415: 'E_UNSUPPORTED_MEDIA_TYPE',
  416: 'E_RANGE_NOT_SATISFIABLE',
  422: 'E_UNPROCESSABLE',
  500: 'E_INTERNAL',
  502: 'E_REFERENCE_FAILED',
  503: 'E_UNAVAILABLE',
  507: 'E_DISK_FULL',
};

/** True for a string that is one of Quiver's error codes. */
export function isQuiverErrorCode(value: unknown): value is QuiverErrorCode {
  return typeof value === 'string' && Object.hasOwn(HTTP_STATUS_OF_CODE, value);
}

/** The HTTP status an error code crosses a wire as (a server answers with it). */
export function httpStatusOf(code: QuiverErrorCode): number {
  return HTTP_STATUS_OF_CODE[code];
}

/**
 * The code an HTTP status stands for when the answer names none: the status's own default, else
 * `E_INVALID_OPTION` for other 4xx and `E_INTERNAL` for anything else.
 */
export function codeOfHttpStatus(status: number): QuiverErrorCode {
  return CODE_OF_HTTP_STATUS[status] ?? (status >= 400 && status < 500 ? 'E_INVALID_OPTION' : 'E_INTERNAL');
}

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

  /** The HTTP status this error crosses a wire as. */
  get status(): number {
    return httpStatusOf(this.code);
  }

  /**
   * The error a serialised `{ code, message, details }` stands for — what a client makes of a
   * server's error answer, so a remote call throws the same class and code as a local one. The
   * value is not trusted: an unknown or missing code becomes the status's code
   * ({@link codeOfHttpStatus}) with the original kept in `details.code`, a missing message a
   * generic one, and details that are not an object are dropped.
   */
  static fromJSON(value: unknown, status?: number): QuiverError {
    const body = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    const known = isQuiverErrorCode(body.code);
    const code: QuiverErrorCode = known
      ? (body.code as QuiverErrorCode)
      : status !== undefined
        ? codeOfHttpStatus(status)
        : 'E_INTERNAL';
    const details =
      body.details !== null && typeof body.details === 'object' && !Array.isArray(body.details)
        ? { ...(body.details as Record<string, unknown>) }
        : {};
    if (!known && body.code !== undefined) details.code = String(body.code).slice(0, 100);
    const message =
      typeof body.message === 'string' && body.message !== ''
        ? body.message
        : `The request failed${status !== undefined ? ` with HTTP status ${status}` : ''} and gave no explanation.`;
    return new QuiverError(code, message, { details });
  }
}

/** True when `error` is a {@link QuiverError}, optionally with the given code. */
export function isQuiverError(error: unknown, code?: QuiverErrorCode): error is QuiverError {
  return error instanceof QuiverError && (code === undefined || error.code === code);
}
