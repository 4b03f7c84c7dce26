import type { Selectable } from 'kysely';
import { QuiverError } from '../../contract/errors.js';
import type {
  AppendHistoryInput,
  CreateRunInput,
  HistoryRow,
  MetricSummary,
  Page,
  PageRequest,
  ResolvedRef,
  RunInfo,
  RunState,
} from '../../contract/index.js';
import { parseStoredJsonObject, serializeJsonObject } from '../../metadata.js';
import { assertName, assertTag } from '../../names.js';
import { newRunName } from '../../run-names.js';
import type { EmbeddedContext as Store } from './context.js';
import type { RunTable } from './database/schema.js';
import { eventTransaction } from './events.js';
import { keyOf } from './keys.js';
import { decodeCursor, pageOf, pageSize } from './paging.js';
import { resolveRef } from './resolve-ref.js';

/** How often a live run records that it is alive, and how long silence means it crashed. */
export const HEARTBEAT_INTERVAL_MS = 30_000;
export const HEARTBEAT_TIMEOUT_MS = 5 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type RunRow = Selectable<RunTable>;

/** Derives the state a reader should see: a `running` row whose process is gone is `crashed`. */
export function observedState(
  row: Pick<RunRow, 'state' | 'host' | 'pid' | 'heartbeat_at'>,
  host: string,
): RunState {
  if (row.state !== 'running') return row.state as RunState;
  if (row.host === host) return processAlive(row.pid) ? 'running' : 'crashed';
  return Date.now() - Date.parse(row.heartbeat_at) > HEARTBEAT_TIMEOUT_MS ? 'crashed' : 'running';
}

export function toRunInfo(row: RunRow, host: string): RunInfo {
  return {
    id: row.id,
    entity: row.entity,
    project: row.project,
    name: row.name,
    jobType: row.job_type,
    group: row.group_name,
    tags: JSON.parse(row.tags) as string[],
    notes: row.notes,
    config: parseStoredJsonObject(row.config, 'config'),
    summary: parseStoredJsonObject(row.summary, 'summary') as unknown as Record<string, MetricSummary>,
    state: observedState(row, host),
    exitCode: row.exit_code,
    host: row.host,
    pid: row.pid,
    createdAt: row.created_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
  };
}

/** Loads a run by id (or by a unique id prefix of at least 4 characters). */
export async function getRun(store: Store, id: string): Promise<RunInfo> {
  const db = store.connection.db;
  let row = await db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row && id.length >= 4) {
    const matches = await db
      .selectFrom('runs')
      .selectAll()
      .where('id', 'like', `${id.replace(/[%_]/g, '')}%`)
      .limit(2)
      .execute();
    if (matches.length === 1) row = matches[0];
  }
  if (!row)
    throw new QuiverError('E_NOT_FOUND', `No run with id '${id}'. List runs with 'quiver run ls'.`, {
      details: { id },
    });
  await recordCrashes(store, [row]);
  return toRunInfo(row, store.host);
}

/**
 * Records runs that read as crashed (their process is gone, or their heartbeats stopped) while
 * their row still says `running`: the row becomes `crashed` and the log gets a `run.crash` event,
 * once. Best effort: a store that cannot be written (read-only) still reads them as crashed. A
 * run that was only silent and sends a heartbeat again is `running` again.
 */
async function recordCrashes(store: Store, rows: readonly RunRow[]): Promise<void> {
  const crashed = rows.filter(
    (row) => row.state === 'running' && observedState(row, store.host) === 'crashed',
  );
  if (crashed.length === 0) return;
  await eventTransaction(store, async (trx, append) => {
    for (const row of crashed) {
      const updated = await trx
        .updateTable('runs')
        .set({ state: 'crashed' })
        .where('id', '=', row.id)
        .where('state', '=', 'running')
        .where('heartbeat_at', '=', row.heartbeat_at)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) continue;
      await append({
        topic: 'runs',
        action: 'run.crash',
        entity: row.entity,
        subject: `${row.entity}/${row.project}/${row.id}`,
        before: { state: 'running' },
        after: { state: 'crashed', heartbeatAt: row.heartbeat_at },
      });
    }
  }).catch(() => undefined);
}

/**
 * Records every run that reads as crashed but is still `running` in its row (as a read of it
 * would): a server calls it now and then, so `run.crash` events (and the automations on them)
 * come without anyone reading the run. Returns how many it looked at.
 */
export async function sweepCrashedRuns(store: Store): Promise<number> {
  const rows = await store.connection.db
    .selectFrom('runs')
    .selectAll()
    .where('state', '=', 'running')
    .orderBy('heartbeat_at')
    .limit(1000)
    .execute();
  await recordCrashes(store, rows);
  return rows.length;
}

/** Runs, newest first, optionally of one project, a page at a time. */
export async function listRuns(
  store: Store,
  filter: { entity?: string; project?: string } & PageRequest = {},
): Promise<Page<RunInfo>> {
  const limit = pageSize(filter);
  const after = decodeCursor(filter.cursor, { c: 'string', i: 'string' });
  let query = store.connection.db
    .selectFrom('runs')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (filter.entity) query = query.where('entity', '=', filter.entity);
  if (filter.project) query = query.where('project', '=', filter.project);
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.c),
        eb.and([eb('created_at', '=', after.c), eb('id', '<', after.i)]),
      ]),
    );
  const rows = await query.execute();
  await recordCrashes(store, rows.slice(0, limit));
  return pageOf(
    rows,
    limit,
    (row) => toRunInfo(row, store.host),
    (row) => ({ c: row.created_at, i: row.id }),
  );
}

/** A run's logged history in step order, a page at a time: one object per step, `_step` included. */
export async function runHistory(
  store: Store,
  runId: string,
  request: PageRequest = {},
): Promise<Page<HistoryRow>> {
  const limit =
    request.limit === undefined ? MAX_HISTORY_PAGE : Math.min(pageSize(request), MAX_HISTORY_PAGE);
  const after = decodeCursor(request.cursor, { s: 'number' });
  let query = store.connection.db
    .selectFrom('run_history')
    .select(['step', 'metrics'])
    .where('run_id', '=', runId)
    .orderBy('step')
    .limit(limit + 1);
  if (after) query = query.where('step', '>', after.s);
  return pageOf(
    await query.execute(),
    limit,
    (row) => ({ _step: Number(row.step), ...(JSON.parse(row.metrics) as Record<string, number>) }),
    (row) => ({ s: Number(row.step) }),
  );
}

/** Steps of history per page (rows are small; a page of them is one round trip for a chart). */
const MAX_HISTORY_PAGE = 10_000;

/** Creates a run row; the id is random, so re-sending this after a dropped connection adds nothing. */
export async function createRun(store: Store, input: CreateRunInput): Promise<RunInfo> {
  const entity = assertName(input.entity ?? store.principal.entity, 'entity');
  const project = assertName(input.project, 'project');
  if (typeof input.id !== 'string' || !/^[0-9a-z]{8,32}$/.test(input.id))
    throw new QuiverError('E_INVALID_OPTION', 'A run id is 8–32 characters of [0-9a-z].', {
      details: { id: String(input.id).slice(0, 40) },
    });
  const { db } = store.connection;
  const now = new Date().toISOString();
  let name = input.name === undefined ? undefined : assertName(input.name, 'run');
  if (name === undefined) {
    const count = await db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('entity', '=', entity)
      .where('project', '=', project)
      .executeTakeFirst();
    name = newRunName(Number(count?.count ?? 0) + 1);
  }
  await db
    .insertInto('runs')
    .values({
      id: input.id,
      entity,
      project,
      name,
      job_type: input.jobType,
      group_name: input.group,
      tags: JSON.stringify(input.tags.map((tag) => assertTag(tag))),
      notes: input.notes,
      config: serializeJsonObject(input.config, 'config'),
      summary: '{}',
      state: 'running',
      exit_code: null,
      host: input.host,
      pid: input.pid,
      created_at: now,
      heartbeat_at: now,
      finished_at: null,
    })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
  return getRun(store, input.id);
}

/** Records that a run is alive. */
export async function heartbeat(store: Store, runId: string): Promise<void> {
  await store.connection.db
    .updateTable('runs')
    .set({ heartbeat_at: new Date().toISOString(), state: 'running' })
    .where('id', '=', runId)
    .where('state', 'in', ['running', 'crashed'])
    .execute();
}

/** Rows written per INSERT statement. */
const ROWS_PER_INSERT = 500;

/** Upserts steps of history (by step, so sending them again is safe) and the summary, in one transaction. */
export async function appendHistory(store: Store, runId: string, input: AppendHistoryInput): Promise<void> {
  const summary = JSON.stringify(input.summary);
  await store.connection.writeTransaction(async (trx) => {
    const loggedAt = new Date().toISOString();
    for (let offset = 0; offset < input.rows.length; offset += ROWS_PER_INSERT) {
      await trx
        .insertInto('run_history')
        .values(
          input.rows.slice(offset, offset + ROWS_PER_INSERT).map((row) => ({
            run_id: runId,
            step: row.step,
            metrics: JSON.stringify(row.metrics),
            logged_at: loggedAt,
          })),
        )
        .onConflict((conflict) =>
          conflict
            .columns(['run_id', 'step'])
            .doUpdateSet((eb) => ({ metrics: eb.ref('excluded.metrics'), logged_at: loggedAt })),
        )
        .execute();
    }
    await trx.updateTable('runs').set({ summary, heartbeat_at: loggedAt }).where('id', '=', runId).execute();
  });
}

/**
 * Marks a running run `finished` (exit code 0) or `failed` and logs it; a finished run stays as it
 * is. `crashed` records a run that ended without finishing (a synced bundle whose process died):
 * `crashed`, with no exit code, logged as `run.crash` once.
 */
export async function finishRun(
  store: Store,
  runId: string,
  exitCode: number,
  crashed = false,
): Promise<RunInfo> {
  if (!Number.isSafeInteger(exitCode))
    throw new QuiverError('E_INVALID_OPTION', `exitCode must be a whole number, got ${String(exitCode)}.`);
  await eventTransaction(store, async (trx, append) => {
    const finishedAt = new Date().toISOString();
    const state = crashed ? 'crashed' : exitCode === 0 ? 'finished' : 'failed';
    const updated = await trx
      .updateTable('runs')
      .set(
        crashed
          ? { state }
          : { state, exit_code: exitCode, finished_at: finishedAt, heartbeat_at: finishedAt },
      )
      .where('id', '=', runId)
      .where('state', 'in', crashed ? ['running'] : ['running', 'crashed'])
      .returning(['entity', 'project', 'id'])
      .executeTakeFirst();
    if (updated)
      await append({
        topic: 'runs',
        action: crashed ? 'run.crash' : exitCode === 0 ? 'run.finish' : 'run.fail',
        entity: updated.entity,
        subject: `${updated.entity}/${updated.project}/${updated.id}`,
        before: { state: 'running' },
        after: crashed ? { state } : { state, exitCode },
      });
  });
  return getRun(store, runId);
}

/** Resolves a ref and records that the run used the version (and the registry version) it names. */
export async function recordUse(store: Store, runId: string, ref: string): Promise<ResolvedRef> {
  const resolved = await resolveRef(store, ref);
  const usedAt = new Date().toISOString();
  await store.connection.writeTransaction(async (trx) => {
    await trx
      .insertInto('artifact_usage')
      .values({ run_id: runId, version_id: keyOf(resolved.version), used_at: usedAt })
      .onConflict((conflict) => conflict.columns(['run_id', 'version_id']).doNothing())
      .execute();
    if (resolved.registryVersion) {
      await trx
        .insertInto('registry_usage')
        .values({ run_id: runId, link_id: keyOf(resolved.registryVersion), used_at: usedAt })
        .onConflict((conflict) => conflict.columns(['run_id', 'link_id']).doNothing())
        .execute();
    }
  });
  return resolved;
}
