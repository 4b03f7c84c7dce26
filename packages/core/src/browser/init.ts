import { QuiverError } from '../contract/errors.js';
import type { JsonObject } from '../contract/index.js';
import { serializeJsonObject } from '../metadata.js';
import { assertName, assertTag } from '../names.js';
import { newRunId } from '../run-names.js';
import { type Connection, type ConnectOptions, connect } from './connection.js';
import { browserGlobals } from './dom.js';
import { Outbox } from './outbox.js';
import { Run } from './run.js';
import { type OutboxEvent, type PendingReport, Sender } from './sender.js';

/** Options of {@link init} in a page: the server to log to, and the run's identity. */
export interface InitOptions extends ConnectOptions {
  /** Required: a page has no `QUIVER_PROJECT`. */
  project: string;
  name?: string;
  /** E.g. `train`, `eval`. */
  jobType?: string;
  /** Hyper-parameters and settings (JSON). */
  config?: JsonObject;
  tags?: string[];
  group?: string;
  notes?: string;
  /** What happens to the work the page sends (queued, sent, kept for later): for a page to show. */
  onEvent?: (event: OutboxEvent) => void;
  /**
   * Send the work an earlier page of this origin left unsent (default true); `init` waits for it,
   * and its report is `run.resumed`.
   */
  sendPending?: boolean;
  /** The longest a logged step waits before it is sent (default 2 s). */
  metricsFlushMs?: number;
  /** An open connection to use instead of `baseUrl` and credentials. */
  connection?: Connection;
}

/** Every option of `init` in a page, with the `typeof` it must have (undefined: checked apart). */
const OPTION_TYPES: Record<keyof InitOptions, string | undefined> = {
  baseUrl: 'string',
  apiKey: 'string',
  session: 'boolean',
  entity: 'string',
  fetch: 'function',
  maxAttempts: 'number',
  retryDelayMs: 'number',
  timeoutMs: 'number',
  project: 'string',
  name: 'string',
  jobType: 'string',
  config: undefined,
  tags: undefined,
  group: 'string',
  notes: 'string',
  onEvent: 'function',
  sendPending: 'boolean',
  metricsFlushMs: 'number',
  connection: undefined,
};

function invalid(option: string, message: string): never {
  throw new QuiverError('E_INVALID_OPTION', `init(): option '${option}' is invalid: ${message}.`);
}

function checkOptions(options: InitOptions): void {
  if (options === null || typeof options !== 'object')
    throw new QuiverError('E_INVALID_OPTION', 'init(): pass { baseUrl, session: true | apiKey, project }.');
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(OPTION_TYPES, key)) invalid(key, 'not an option of init() in a browser');
    const type = OPTION_TYPES[key as keyof InitOptions];
    if (type !== undefined && typeof value !== type) invalid(key, `expected a ${type}`);
  }
  if (options.tags !== undefined && !Array.isArray(options.tags)) invalid('tags', 'expected a list of texts');
  if (!options.connection && typeof options.baseUrl !== 'string')
    throw new QuiverError(
      'E_INVALID_OPTION',
      "init(): give the server's baseUrl (and session: true or an apiKey).",
    );
  if (options.project === undefined)
    throw new QuiverError('E_INVALID_OPTION', 'No project: pass init({ project }).');
}

/**
 * Sends what earlier pages of this origin left unsent to this server as this user (`init` does it
 * too): for a page that opens without starting a run.
 */
export async function sendPending(
  connection: Connection,
  options: { onEvent?: (event: OutboxEvent) => void } = {},
): Promise<PendingReport> {
  const outbox = await Outbox.open();
  try {
    return await new Sender(connection, outbox, options.onEvent).sendPending();
  } finally {
    outbox?.close();
  }
}

let current: { connection: Connection } | undefined;

/** The connection of the latest `init()` in this page (what `loadModel` uses by default). */
export function currentConnection(): Connection | undefined {
  return current?.connection;
}

/**
 * Starts a run from a page, on a Quiver server. Without `connection`, connects with `baseUrl`
 * and the page's session (`session: true`, after `signIn`) or an API key. Unsent work an earlier
 * page left in the outbox is sent first.
 *
 * @example
 * await signIn({ baseUrl, username, password });
 * const run = await init({ baseUrl, session: true, project: 'digits' });
 * await model.fit(xs, ys, { epochs: 10, callbacks: [checkpointCallback(run, model)] });
 */
export async function init(options: InitOptions): Promise<Run> {
  checkOptions(options);
  const project = assertName(options.project, 'project');
  const name = options.name !== undefined ? assertName(options.name, 'run') : undefined;
  const jobType = options.jobType ?? null;
  if (jobType !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(jobType))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `jobType '${jobType}' is not valid: use 1–64 letters, digits, '.', '_' or '-'.`,
    );
  const tags = (options.tags ?? []).map((tag) => assertTag(tag));
  const config = JSON.parse(serializeJsonObject(options.config ?? {}, 'config')) as JsonObject;
  const entity = options.entity !== undefined ? assertName(options.entity, 'entity') : undefined;
  const { connection: given, onEvent, sendPending, metricsFlushMs, ...connectOptions } = options;
  const connection =
    given ??
    (await connect({
      baseUrl: connectOptions.baseUrl,
      ...(connectOptions.apiKey !== undefined ? { apiKey: connectOptions.apiKey } : {}),
      ...(connectOptions.session !== undefined ? { session: connectOptions.session } : {}),
      ...(entity !== undefined ? { entity } : {}),
      ...(connectOptions.fetch ? { fetch: connectOptions.fetch } : {}),
      ...(connectOptions.maxAttempts !== undefined ? { maxAttempts: connectOptions.maxAttempts } : {}),
      ...(connectOptions.retryDelayMs !== undefined ? { retryDelayMs: connectOptions.retryDelayMs } : {}),
      ...(connectOptions.timeoutMs !== undefined ? { timeoutMs: connectOptions.timeoutMs } : {}),
    }));
  const sender = new Sender(connection, await Outbox.open(), onEvent);
  const resumed =
    sendPending === false
      ? { sent: 0, kept: 0, dropped: 0 }
      : await sender.sendPending().catch(() => ({ sent: 0, kept: 0, dropped: 0 }));
  const identity = {
    entity: entity ?? connection.backend.principal.entity,
    project,
    jobType,
    group: options.group ?? null,
    tags,
    notes: options.notes ?? null,
    config,
  };
  const info = await connection.backend.runs.create({
    id: newRunId(),
    ...identity,
    tags: [...tags],
    ...(name !== undefined ? { name } : {}),
    host: browserGlobals.location?.host.slice(0, 255) || 'browser',
    pid: 0,
  });
  current = { connection };
  return new Run(connection, sender, { ...identity, id: info.id, name: info.name }, resumed, metricsFlushMs);
}
