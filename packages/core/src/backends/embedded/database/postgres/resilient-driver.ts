import type {
  CompiledQuery,
  DatabaseConnection,
  Driver,
  OperationNode,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { backoffMs, RECONNECT_WITHIN_MS, sleep } from '../retry.js';
import {
  commitOutcomeUnknown,
  connectFailure,
  isConnectionLoss,
  isServerStarting,
  isTransientConnectFailure,
  statementLost,
  wasNeverSent,
} from './connection-errors.js';

/**
 * Errors of a transaction that lost its connection before COMMIT was acknowledged and that
 * PostgreSQL therefore rolled back: running the whole transaction again is safe.
 */
const retryableFailures = new WeakSet<object>();

/**
 * True when `error` (or an error it wraps) is a transaction failure that
 * {@link ResilientPostgresDriver} knows was rolled back because the connection dropped.
 */
export function isRetryableTransactionFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (retryableFailures.has(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function markRetryable<E>(error: E): E {
  if (typeof error === 'object' && error !== null) retryableFailures.add(error);
  return error;
}

/** Clients whose socket failed; they are discarded instead of going back to the pool. */
const brokenClients = new WeakSet<pg.PoolClient>();
/** Clients that carry our 'error' listener. */
const watchedClients = new WeakSet<pg.PoolClient>();

const isValue = (node: OperationNode): boolean => node.kind === 'ValueNode';
const isExcludedReference = (node: OperationNode): boolean =>
  node.kind === 'ReferenceNode' &&
  (node as { table?: { table?: { identifier?: { name?: string } } } }).table?.table?.identifier?.name ===
    'excluded';

/**
 * Whether a statement run outside a transaction may run twice without changing the outcome: a
 * SELECT; an UPDATE that sets constants (a heartbeat, marking a run finished); a DELETE; an
 * INSERT … ON CONFLICT that does nothing or sets constants / `excluded` values (an upsert).
 * A plain INSERT, or anything computed from the current row, is not.
 */
export function isRepeatableStatement(node: OperationNode): boolean {
  const query = node as unknown as {
    kind: string;
    updates?: Array<{ value: OperationNode }>;
    returning?: unknown;
    onConflict?: { doNothing?: boolean; updates?: Array<{ value: OperationNode }> };
  };
  switch (query.kind) {
    case 'SelectQueryNode':
      return true;
    case 'UpdateQueryNode':
      return (query.updates ?? []).every((update) => isValue(update.value));
    case 'DeleteQueryNode':
      return query.returning === undefined;
    case 'InsertQueryNode': {
      const conflict = query.onConflict;
      if (!conflict) return false;
      if (conflict.doNothing) return query.returning === undefined;
      return (conflict.updates ?? []).every(
        (update) => isValue(update.value) || isExcludedReference(update.value),
      );
    }
    default:
      return false;
  }
}

/** A pooled client as Kysely sees it; the client underneath may be replaced after it died. */
class ResilientConnection implements DatabaseConnection {
  /** Set between BEGIN and COMMIT/ROLLBACK. */
  transaction: 'read' | 'write' | undefined;
  /** The id of the current write transaction, to look up its outcome should COMMIT's reply be lost. */
  txid: string | undefined;

  constructor(
    private readonly driver: ResilientPostgresDriver,
    public client: pg.PoolClient | undefined,
  ) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, compiledQuery);
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered; the generator only throws.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming queries are not supported by the Quiver PostgreSQL driver.');
  }
}

function toQueryResult<R>(result: pg.QueryResult): QueryResult<R> {
  const { command, rowCount } = result;
  return {
    ...(command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
      ? { numAffectedRows: BigInt(rowCount ?? 0) }
      : {}),
    rows: (result.rows ?? []) as R[],
  };
}

/**
 * A Kysely driver over a pg pool that survives the server restarting under a long-running process:
 *
 * - dying clients (idle or checked out) never raise an unhandled `'error'` event;
 * - opening a connection retries with backoff while the server is down or starting, for up to
 *   {@link RECONNECT_WITHIN_MS} once the server has been reached (a first connect fails at once
 *   with a message saying what to check);
 * - a statement outside a transaction is re-run on a new connection when it never reached the
 *   server or is repeatable ({@link isRepeatableStatement}); otherwise it fails with `E_DATABASE`;
 * - a transaction that lost its connection before COMMIT fails with an error that
 *   {@link isRetryableTransactionFailure} recognises, so the caller can run it again;
 * - when the connection drops while COMMIT is in flight, the transaction's id (learnt with BEGIN,
 *   in the same round trip) tells whether it committed (`txid_status`): committed counts as
 *   success, rolled back as retryable — so even work that is not idempotent is applied once.
 */
export class ResilientPostgresDriver implements Driver {
  private destroyed = false;
  private everConnected = false;
  /** When the current outage was first noticed; cleared by the next statement that succeeds. */
  private lostAt: number | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly connectTimeoutMs: number,
  ) {
    // An idle client that dies (the server restarted) is dropped by the pool, which then emits
    // 'error'; without a listener that event would crash the process.
    pool.on('error', () => undefined);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ResilientConnection(this, await this.connect());
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const resilient = connection as ResilientConnection;
    let statement = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      statement = 'start transaction';
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    const mode = settings.accessMode === 'read only' ? 'read' : 'write';
    // A write transaction learns its id in the same round trip as BEGIN (one simple query of two
    // statements). Nothing has happened in it yet, so this may be re-sent on a new connection.
    const results = await this.run(
      resilient,
      mode === 'write' ? `${statement}; select txid_current()::text as txid` : statement,
      [],
      true,
    );
    resilient.txid = Array.isArray(results)
      ? (results[1]?.rows[0] as { txid?: string } | undefined)?.txid
      : undefined;
    resilient.transaction = mode;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const resilient = connection as ResilientConnection;
    const mode = resilient.transaction;
    const txid = resilient.txid;
    resilient.txid = undefined;
    const client = resilient.client!;
    const backendPid = (client as unknown as { processID?: number }).processID;
    let result: pg.QueryResult;
    try {
      result = await client.query('commit');
    } catch (error) {
      resilient.transaction = undefined;
      if (!isConnectionLoss(error)) throw error;
      this.noteLoss(client);
      // Give the dead client's pool slot back before asking on a new one: several lost COMMITs
      // at once must not hold every slot while they wait for a connection.
      resilient.client = undefined;
      client.release(true);
      // A read-only transaction wrote nothing: what it read stands.
      if (mode === 'read') return;
      if (txid === undefined) throw commitOutcomeUnknown(error, this.url, 0);
      const outcome = await this.transactionOutcome(txid, backendPid);
      if (outcome === 'committed') return;
      if (outcome === 'aborted') throw markRetryable(error);
      throw commitOutcomeUnknown(error, this.url, Date.now() - (this.lostAt ?? Date.now()));
    }
    resilient.transaction = undefined;
    this.lostAt = undefined;
    // PostgreSQL answers COMMIT with ROLLBACK when an earlier statement left the transaction aborted.
    if (result.command === 'ROLLBACK') {
      throw new Error('PostgreSQL rolled the transaction back because a statement in it had failed.');
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const resilient = connection as ResilientConnection;
    resilient.transaction = undefined;
    resilient.txid = undefined;
    const client = resilient.client;
    // A dead connection took its transaction with it.
    if (!client || brokenClients.has(client)) return;
    try {
      await client.query('rollback');
    } catch {
      // Keep the error that made us roll back; this client is not reused.
      brokenClients.add(client);
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const resilient = connection as ResilientConnection;
    const client = resilient.client;
    resilient.client = undefined;
    resilient.transaction = undefined;
    if (client) client.release(brokenClients.has(client) ? true : undefined);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.pool.end();
  }

  /** Runs one statement, replacing a dead client and re-running when that is safe (see class doc). */
  async execute<R>(connection: ResilientConnection, compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.run(
      connection,
      compiledQuery.sql,
      compiledQuery.parameters,
      isRepeatableStatement(compiledQuery.query),
    );
    return toQueryResult<R>(result as pg.QueryResult);
  }

  private async run(
    connection: ResilientConnection,
    text: string,
    parameters: readonly unknown[],
    repeatable: boolean,
  ): Promise<pg.QueryResult | pg.QueryResult[]> {
    for (;;) {
      const client = connection.client;
      if (!client) throw new Error('The database connection was already released.');
      try {
        const result = (await client.query(text, [...parameters])) as pg.QueryResult | pg.QueryResult[];
        this.lostAt = undefined;
        return result;
      } catch (error) {
        if (!isConnectionLoss(error)) throw error;
        this.noteLoss(client);
        // Inside a transaction, PostgreSQL rolls the whole of it back; the caller may run it again.
        if (connection.transaction) throw markRetryable(error);
        if (!repeatable && !wasNeverSent(error)) throw statementLost(error, this.url);
        const waited = Date.now() - (this.lostAt ?? Date.now());
        if (waited >= RECONNECT_WITHIN_MS) throw connectFailure(error, this.url, { waitedMs: waited });
        connection.client = undefined;
        client.release(true);
        connection.client = await this.connect();
      }
    }
  }

  private noteLoss(client: pg.PoolClient): void {
    brokenClients.add(client);
    this.lostAt ??= Date.now();
  }

  private watch(client: pg.PoolClient): void {
    if (watchedClients.has(client)) return;
    watchedClients.add(client);
    // A checked-out client whose socket dies emits 'error' even when a query also receives it;
    // an unhandled 'error' event would end the process.
    client.on('error', () => brokenClients.add(client));
  }

  /** A pooled client; retries while the server is down or starting (see class doc). */
  private async connect(): Promise<pg.PoolClient> {
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.destroyed) throw new Error('driver has already been destroyed');
      try {
        const client = await this.pool.connect();
        this.watch(client);
        if (brokenClients.has(client)) {
          client.release(true);
          continue;
        }
        this.everConnected = true;
        return client;
      } catch (error) {
        if (this.destroyed) throw new Error('driver has already been destroyed');
        const since = this.lostAt ?? startedAt;
        const waited = Date.now() - since;
        const worthWaiting =
          (this.everConnected && isTransientConnectFailure(error)) || isServerStarting(error);
        if (!worthWaiting || waited >= RECONNECT_WITHIN_MS) {
          throw connectFailure(error, this.url, {
            timeoutMs: this.connectTimeoutMs,
            ...(this.everConnected ? { waitedMs: waited } : {}),
          });
        }
        this.lostAt ??= startedAt;
        await sleep(Math.min(backoffMs(attempt), RECONNECT_WITHIN_MS - waited));
      }
    }
  }

  /**
   * Whether the transaction `txid` committed, asked on a new connection. While it is still in
   * progress (the old backend has not noticed the lost client), that backend is terminated so the
   * transaction ends one way or the other. Undefined when the answer cannot be had in time.
   */
  private async transactionOutcome(
    txid: string,
    backendPid: number | undefined,
  ): Promise<'committed' | 'aborted' | undefined> {
    // Its own deadline: other connections' successes reset the shared loss time.
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (Date.now() - startedAt >= RECONNECT_WITHIN_MS) return undefined;
      let client: pg.PoolClient;
      try {
        client = await this.connect();
      } catch {
        return undefined;
      }
      let broken = false;
      try {
        const { rows } = await client.query<{ status: string | null }>(
          'select txid_status($1::bigint) as status',
          [txid],
        );
        const status = rows[0]?.status;
        if (status === 'committed' || status === 'aborted') return status;
        if (status !== 'in progress') return undefined;
        // Give the old backend a moment to finish a COMMIT it has already received, then end it.
        if (attempt >= 2 && backendPid !== undefined) {
          await client.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
             where pid = $1 and backend_xid::text = ($2::bigint % 4294967296)::text`,
            [backendPid, txid],
          );
        }
      } catch (error) {
        if (!isConnectionLoss(error)) return undefined;
        broken = true;
        this.noteLoss(client);
      } finally {
        client.release(broken ? true : undefined);
      }
      await sleep(backoffMs(attempt));
    }
  }
}
