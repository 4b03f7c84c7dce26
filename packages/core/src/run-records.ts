import type { Selectable } from 'kysely';
import type { RunTable } from './database/schema.js';
import { QuiverError } from './errors.js';
import { type JsonObject, parseStoredJsonObject } from './metadata.js';
import type { Store } from './store.js';

/** A run's state. `crashed` is derived: the process died (or stopped sending heartbeats) without finishing. */
export type RunState = 'running' | 'finished' | 'failed' | 'crashed';

/** The summary of one metric: its last value, and the smallest and largest seen. */
export interface MetricSummary {
  last: number;
  min: number;
  max: number;
  step: number;
}

/** What Quiver knows about a run. */
export interface RunInfo {
  id: string;
  entity: string;
  project: string;
  name: string;
  jobType: string | null;
  group: string | null;
  tags: string[];
  notes: string | null;
  config: JsonObject;
  summary: Record<string, MetricSummary>;
  state: RunState;
  exitCode: number | null;
  host: string;
  pid: number;
  createdAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
}

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
  return toRunInfo(row, store.host);
}

/** Runs, newest first, optionally of one project. */
export async function listRuns(
  store: Store,
  filter: { entity?: string; project?: string } = {},
): Promise<RunInfo[]> {
  let query = store.connection.db.selectFrom('runs').selectAll().orderBy('created_at', 'desc');
  if (filter.entity) query = query.where('entity', '=', filter.entity);
  if (filter.project) query = query.where('project', '=', filter.project);
  return (await query.execute()).map((row) => toRunInfo(row, store.host));
}

/** A run's logged history: one object per step, `_step` included. */
export async function runHistory(store: Store, runId: string): Promise<Array<Record<string, number>>> {
  const rows = await store.connection.db
    .selectFrom('run_history')
    .select(['step', 'metrics'])
    .where('run_id', '=', runId)
    .orderBy('step')
    .execute();
  return rows.map((row) => ({
    _step: Number(row.step),
    ...(JSON.parse(row.metrics) as Record<string, number>),
  }));
}
