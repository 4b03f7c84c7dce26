import { QuiverError } from '../../../../contract/errors.js';
import { CONNECT_TIMEOUT_MS } from '../retry.js';

/** Node socket errors that mean the server went away or cannot be reached right now. */
const LOST_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * PostgreSQL codes of a connection that ended or cannot start yet: admin_shutdown (a restart),
 * crash_shutdown, cannot_connect_now (starting up / shutting down).
 */
const LOST_SERVER_CODES = new Set(['57P01', '57P02', '57P03']);

/** What node-postgres says when the socket died under a client (never when we closed it ourselves). */
const LOST_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
  'timeout expired',
  'Connection terminated due to connection timeout',
]);

/** The error node-postgres gives a query on a client already known to be dead: nothing was sent. */
const NOT_SENT_MESSAGE = 'Client has encountered a connection error and is not queryable';

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);

/**
 * True when `error` says the connection to the server is gone or cannot be made right now (a
 * restart, a crash, a reset socket, a timeout) — the kind of failure worth reconnecting for. Errors
 * of the SQL itself, of authentication or of a missing database are not.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof QuiverError || typeof error !== 'object' || error === null) return false;
  const code = codeOf(error);
  if (code !== undefined && (LOST_SOCKET_CODES.has(code) || LOST_SERVER_CODES.has(code))) return true;
  // SQLSTATE class 08: connection exception.
  if (code !== undefined && /^08[0-9A-Z]{3}$/.test(code)) return true;
  return LOST_MESSAGES.has(messageOf(error));
}

/** A failed connect worth retrying once the server has been reached before (DNS blips included). */
export function isTransientConnectFailure(error: unknown): boolean {
  const code = codeOf(error);
  return isConnectionLoss(error) || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/** The server is starting up or shutting down (worth waiting for even on the first connect). */
export function isServerStarting(error: unknown): boolean {
  return codeOf(error) === '57P03';
}

/** The query failed before anything was sent (the client was already known to be dead). */
export function wasNeverSent(error: unknown): boolean {
  return messageOf(error) === NOT_SENT_MESSAGE;
}

/** The password in the user info: after `scheme://user:`, up to the last `@` (greedy, so safe). */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)(.*)@/is;
const PASSWORD_PARAMETER = /([?&]password=)([^&#]*)/gi;

/**
 * `url` with its password (in the user info or a `password` parameter) replaced by `***`, and
 * otherwise as written — also when it is not a valid URL.
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_PASSWORD, '$1***@').replace(PASSWORD_PARAMETER, '$1***');
}

/** The passwords that `url` carries (raw and decoded), to scrub from any text shown to the user. */
function passwordsOf(url: string): string[] {
  const found = new Set<string>();
  const add = (value: string | null | undefined): void => {
    // Very short passwords would mangle ordinary words; nothing we print quotes them anyway.
    if (value && value.length >= 3) {
      found.add(value);
      try {
        found.add(decodeURIComponent(value));
      } catch {
        // Not percent-encoded.
      }
    }
  };
  add(USERINFO_PASSWORD.exec(url)?.[2]);
  for (const match of url.matchAll(PASSWORD_PARAMETER)) add(match[2]);
  try {
    const parsed = new URL(url);
    add(parsed.password);
    add(parsed.searchParams.get('password'));
  } catch {
    // Not a URL; the patterns above found what there is.
  }
  return [...found];
}

function scrub(text: string, url: string): string {
  let result = text;
  for (const password of passwordsOf(url)) result = result.split(password).join('***');
  return result;
}

/** Where a PostgreSQL URL points, for messages. */
export interface PostgresTarget {
  /** The URL without its password. */
  url: string;
  host: string;
  port: string;
  user: string | undefined;
  database: string | undefined;
}

export function targetOf(url: string): PostgresTarget {
  const redacted = redactUrl(url);
  try {
    const parsed = new URL(url);
    const decode = (value: string): string => {
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    };
    const user = parsed.username ? decode(parsed.username) : (parsed.searchParams.get('user') ?? undefined);
    return {
      url: redacted,
      host: parsed.searchParams.get('host') ?? (parsed.hostname || 'localhost'),
      port: parsed.searchParams.get('port') ?? (parsed.port || '5432'),
      user,
      database: parsed.pathname.length > 1 ? decode(parsed.pathname.slice(1)) : user,
    };
  } catch {
    return { url: redacted, host: 'the server', port: '5432', user: undefined, database: undefined };
  }
}

/** The connect timeout of `url` (libpq's `connect_timeout` parameter, in seconds), else 10 s. */
export function connectTimeoutOf(url: string): number {
  try {
    const seconds = Number(new URL(url).searchParams.get('connect_timeout') ?? Number.NaN);
    if (Number.isFinite(seconds) && seconds > 0) return Math.max(1000, Math.round(seconds * 1000));
  } catch {
    // An unparsable URL fails later with its own message.
  }
  return CONNECT_TIMEOUT_MS;
}

/** Why a connection could not be made, as a stable word for programs (`details.problem`). */
export type ConnectionProblem =
  | 'wrong-password'
  | 'login-refused'
  | 'no-database'
  | 'unknown-host'
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'starting-up'
  | 'closed-during-login'
  | 'invalid-url'
  | 'lost'
  | 'commit-unknown'
  | 'other';

/** Errors made here, so callers can tell them from wrappers that quote them. */
const connectionErrors = new WeakSet<QuiverError>();

function databaseError(
  problem: ConnectionProblem,
  message: string,
  url: string,
  cause: unknown,
  extra: Record<string, unknown> = {},
): QuiverError {
  const target = targetOf(url);
  const code = codeOf(cause);
  const error = new QuiverError('E_DATABASE', scrub(message, url), {
    cause: cause instanceof Error ? sanitized(cause, url) : cause,
    details: {
      variable: 'QUIVER_DATABASE_URL',
      url: target.url,
      problem,
      host: target.host,
      port: target.port,
      ...(target.database ? { database: target.database } : {}),
      ...(code ? { code } : {}),
      ...extra,
    },
  });
  connectionErrors.add(error);
  return error;
}

/**
 * The cause to keep: the pool attaches the client (and with it the password) to some errors, and
 * URL parse errors carry the whole URL as `input`; such errors are replaced by a copy of the facts.
 */
function sanitized(error: Error, url: string): Error {
  if (!('client' in error) && !('input' in error) && !('cause' in error)) return error;
  const copy = new Error(scrub(error.message, url));
  copy.name = error.name;
  for (const key of ['code', 'errno', 'syscall', 'address', 'port', 'severity', 'detail', 'hint'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) (copy as unknown as Record<string, unknown>)[key] = value;
  }
  return copy;
}

/** The `E_DATABASE` error made by this module that `error` is or wraps, if any. */
export function connectionErrorIn(error: unknown): QuiverError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof QuiverError && connectionErrors.has(current)) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * The `E_DATABASE` error for a connection that could not be opened: names `QUIVER_DATABASE_URL`
 * (its password replaced by `***`), says which problem it is and what to check. `waitedMs` is
 * set when the server had been reached before and Quiver tried to reconnect for that long.
 */
export function connectFailure(
  error: unknown,
  url: string,
  options: { timeoutMs?: number; waitedMs?: number } = {},
): QuiverError {
  const { host, port, user, database, url: shown } = targetOf(url);
  const where = `QUIVER_DATABASE_URL (${shown})`;
  const code = codeOf(error);
  const message = messageOf(error);
  let problem: ConnectionProblem;
  let text: string;
  if (code === '28P01') {
    problem = 'wrong-password';
    text = `PostgreSQL rejected the password of user '${user ?? '?'}' at ${host}:${port} (wrong password). Check the user name and password in ${where}.`;
  } else if (code === '28000') {
    problem = 'login-refused';
    text = `PostgreSQL refused the login of user '${user ?? '?'}' at ${host}:${port}: ${message}. Check the user name in ${where} and that the server lets it connect (pg_hba.conf).`;
  } else if (code === '3D000') {
    problem = 'no-database';
    text = `The database '${database ?? '?'}' does not exist on the PostgreSQL server at ${host}:${port} (no such database). Create it (for example \`createdb ${database ?? '<name>'}\`) or fix the database name in ${where}.`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    problem = 'unknown-host';
    text = `The PostgreSQL host '${host}' could not be found (bad host name: the DNS lookup failed). Check the host name in ${where}.`;
  } else if (code === 'ERR_INVALID_URL') {
    problem = 'invalid-url';
    text = `QUIVER_DATABASE_URL is not a valid URL (${shown}). Write it as postgres://user:password@host:5432/database, percent-encoding special characters of the password (@ is %40, / is %2F).`;
  } else if (code === 'ENOENT' && host.startsWith('/')) {
    problem = 'refused';
    text = `There is no PostgreSQL socket in ${host} (for port ${port}): the server is not running, or its socket is in another folder. Start the server, or fix the host (socket folder) in ${where}.`;
  } else if (code === 'ECONNREFUSED') {
    problem = 'refused';
    text = `Nothing accepts connections at ${host}:${port} (connection refused): the PostgreSQL server is not running there, or it listens on another host or port. Start the server, or fix the host and port in ${where}.`;
  } else if (
    message === 'timeout expired' ||
    message === 'Connection terminated due to connection timeout' ||
    code === 'ETIMEDOUT'
  ) {
    problem = 'timeout';
    const seconds = Math.round((options.timeoutMs ?? CONNECT_TIMEOUT_MS) / 1000);
    text = `Connecting to ${host}:${port} timed out after ${seconds} s (unroutable or unresponsive host): the host is unreachable, a firewall drops the connection, or what answers there is not PostgreSQL. Check the host and port in ${where} and that the server is reachable from this machine.`;
  } else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENETDOWN') {
    problem = 'unreachable';
    text = `The PostgreSQL host ${host}:${port} is unreachable (${code}: no route to it). Check the host in ${where} and this machine's network.`;
  } else if (code === '57P03') {
    problem = 'starting-up';
    text = `The PostgreSQL server at ${host}:${port} is starting up or shutting down and does not accept connections yet (${message}). Try again in a moment; if it persists, check the server. The URL is ${where}.`;
  } else if (message === 'Connection terminated unexpectedly' || code === 'ECONNRESET') {
    problem = 'closed-during-login';
    text = `The server at ${host}:${port} closed the connection while Quiver was logging in: it may not be a PostgreSQL server, be shutting down, or require SSL (add ?sslmode=require). Check ${where}.`;
  } else {
    problem = 'other';
    text = `Could not connect to the PostgreSQL database at ${where}: ${message}. Check the URL and that the server is running and reachable.`;
  }
  if (options.waitedMs !== undefined) {
    const seconds = Math.max(1, Math.round(options.waitedMs / 1000));
    text = `Lost the connection to PostgreSQL and could not reconnect for ${seconds} s. ${text}`;
  }
  return databaseError(
    problem,
    text,
    url,
    error,
    options.waitedMs !== undefined ? { reconnecting: true } : {},
  );
}

/** A statement outside a transaction lost its connection after being sent, and is unsafe to re-run. */
export function statementLost(error: unknown, url: string): QuiverError {
  return databaseError(
    'lost',
    `The connection to PostgreSQL (QUIVER_DATABASE_URL ${redactUrl(url)}) was lost while a statement was running (${messageOf(error)}); it may or may not have been applied, and running it again could apply it twice, so it was not retried. Check that the server is up, then retry the operation.`,
    url,
    error,
  );
}

/** The connection dropped while COMMIT was in flight and its outcome could not be looked up. */
export function commitOutcomeUnknown(error: unknown, url: string, waitedMs: number): QuiverError {
  return databaseError(
    'commit-unknown',
    `The connection to PostgreSQL (QUIVER_DATABASE_URL ${redactUrl(url)}) was lost while committing (${messageOf(error)}), and whether the change was saved could not be checked for ${Math.max(1, Math.round(waitedMs / 1000))} s. Check that the server is up, then look at the store (for example \`quiver artifact ls\` or \`quiver run ls\`) before retrying.`,
    url,
    error,
  );
}

/** A transaction kept losing its connection before COMMIT; nothing of it was saved. */
export function transactionLost(error: unknown, url: string, attempts: number): QuiverError {
  return databaseError(
    'lost',
    `The connection to PostgreSQL (QUIVER_DATABASE_URL ${redactUrl(url)}) dropped ${attempts} times in a row before the transaction could commit (${messageOf(error)}); nothing of it was saved. Check the server's health and logs, then retry.`,
    url,
    error,
    { attempts },
  );
}
