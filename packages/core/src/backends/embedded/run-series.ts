import { QuiverError } from '../../contract/errors.js';
import type { MetricSeries, ProjectInfo, RunSeries, SeriesOptions } from '../../contract/records.js';
import { assertName } from '../../names.js';
import type { EmbeddedContext as Store } from './context.js';

/** Points per key when the caller names no number, and the most it may ask for. */
const DEFAULT_POINTS = 1000;
const MAX_POINTS = 10_000;
/** Keys a series answer holds when the caller names none (the rest are listed in `keys`). */
const MAX_DEFAULT_KEYS = 50;
/** Keys × points one answer may hold (its buckets sit in memory while the history is read). */
const MAX_VALUES = 200_000;
/** History rows read per query while bucketing (a run of 100,000 steps is 20 reads). */
const READ_BATCH = 5000;

function checkedPoints(points: number | undefined): number {
  if (points === undefined) return DEFAULT_POINTS;
  if (!Number.isSafeInteger(points) || points < 2 || points > MAX_POINTS)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `points is a whole number from 2 to ${MAX_POINTS}; got ${String(points)}.`,
    );
  return points;
}

/** One key's buckets as they fill: sums and extremes per bucket, in step order. */
class Buckets {
  /** The bucket number of each point kept. */
  private readonly bucketOf: number[] = [];
  readonly step: number[] = [];
  readonly sum: number[] = [];
  readonly count: number[] = [];
  readonly min: number[] = [];
  readonly max: number[] = [];

  add(bucket: number, step: number, value: number): void {
    // Buckets are reached in order; a key may skip some (not logged at those steps).
    let last = this.step.length - 1;
    if (last < 0 || this.bucketOf[last] !== bucket) {
      this.bucketOf.push(bucket);
      this.step.push(step);
      this.sum.push(0);
      this.count.push(0);
      this.min.push(value);
      this.max.push(value);
      last++;
    }
    this.sum[last]! += value;
    this.count[last]! += 1;
    if (value < this.min[last]!) this.min[last] = value;
    if (value > this.max[last]!) this.max[last] = value;
  }

  toSeries(key: string): MetricSeries {
    return {
      key,
      step: this.step,
      value: this.sum.map((sum, index) => sum / this.count[index]!),
      min: this.min,
      max: this.max,
    };
  }
}

/**
 * A run's metrics for charts. The steps are cut into `points` buckets of equal width by step
 * number; each bucket of each key gives its first step, mean, least and largest value. Rows are
 * read in batches, so a run of a million points never sits in memory as rows at once.
 */
export async function runSeries(
  store: Store,
  runId: string,
  options: SeriesOptions = {},
): Promise<RunSeries> {
  const points = checkedPoints(options.points);
  if (options.keys !== undefined && (!Array.isArray(options.keys) || options.keys.length > 1000))
    throw new QuiverError('E_INVALID_OPTION', 'keys is a list of at most 1000 metric names.');
  const keyCount = options.keys?.length ?? MAX_DEFAULT_KEYS;
  if (keyCount * points > MAX_VALUES)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `${keyCount} keys × ${points} points is more than one answer holds (${MAX_VALUES} points); ask for fewer keys or points.`,
    );
  const { db } = store.connection;
  const run = await db.selectFrom('runs').select('id').where('id', '=', runId).executeTakeFirst();
  if (!run) throw new QuiverError('E_NOT_FOUND', `No run '${runId}'.`, { details: { runId } });
  const bounds = await db
    .selectFrom('run_history')
    .select((eb) => [
      eb.fn.min<number>('step').as('first'),
      eb.fn.max<number>('step').as('last'),
      eb.fn.countAll<number>().as('count'),
    ])
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  const steps = Number(bounds.count);
  const first = Number(bounds.first ?? 0);
  const last = Number(bounds.last ?? 0);
  const downsampled = steps > points;
  // Width of a bucket in steps; without downsampling every row is its own bucket.
  const width = downsampled ? (last - first + 1) / points : 0;
  const wanted = options.keys === undefined ? undefined : new Set(options.keys);
  const seen = new Set<string>();
  const buckets = new Map<string, Buckets>();
  let after: number | undefined;
  let index = 0;
  for (;;) {
    let query = db
      .selectFrom('run_history')
      .select(['step', 'metrics'])
      .where('run_id', '=', runId)
      .orderBy('step')
      .limit(READ_BATCH);
    if (after !== undefined) query = query.where('step', '>', after);
    const rows = await query.execute();
    for (const row of rows) {
      const step = Number(row.step);
      const bucket = downsampled ? Math.min(points - 1, Math.floor((step - first) / width)) : index;
      index++;
      let metrics: Record<string, unknown>;
      try {
        metrics = JSON.parse(row.metrics) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const [key, value] of Object.entries(metrics)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        seen.add(key);
        if (wanted !== undefined && !wanted.has(key)) continue;
        let series = buckets.get(key);
        if (!series) {
          if (wanted === undefined && buckets.size >= MAX_DEFAULT_KEYS) continue;
          series = new Buckets();
          buckets.set(key, series);
        }
        series.add(bucket, step, value);
      }
    }
    if (rows.length < READ_BATCH) break;
    after = Number(rows[rows.length - 1]!.step);
  }
  const keys = [...seen].sort();
  const order =
    wanted === undefined
      ? keys.filter((key) => buckets.has(key))
      : [...wanted].filter((key) => buckets.has(key));
  return {
    runId,
    steps,
    keys,
    downsampled,
    series: order.map((key) => buckets.get(key)!.toSeries(key)),
  };
}

/** The projects of an entity: every project name its runs or artifacts use, newest activity first. */
export async function listProjects(store: Store, options: { entity?: string } = {}): Promise<ProjectInfo[]> {
  const entity = assertName(options.entity ?? store.principal.entity, 'entity');
  const { db } = store.connection;
  // Per project of the entity: how many rows of the table, and the newest creation time.
  const counts = (table: 'runs' | 'artifacts') =>
    db
      .selectFrom(table)
      .select((eb) => [
        'project',
        eb.fn.countAll<number>().as('count'),
        eb.fn.max<string>('created_at').as('newest'),
      ])
      .where('entity', '=', entity)
      .groupBy('project')
      .execute();
  const [runs, artifacts] = [await counts('runs'), await counts('artifacts')];
  const projects = new Map<string, ProjectInfo>();
  const add = (
    row: { project: string; count: number | string; newest: string | null },
    field: 'runs' | 'artifacts',
  ) => {
    const project = projects.get(row.project) ?? {
      entity,
      name: row.project,
      runs: 0,
      artifacts: 0,
      updatedAt: '',
    };
    project[field] = Number(row.count);
    if (row.newest !== null && row.newest > project.updatedAt) project.updatedAt = row.newest;
    projects.set(row.project, project);
  };
  for (const row of runs) add(row, 'runs');
  for (const row of artifacts) add(row, 'artifacts');
  return [...projects.values()].sort(
    (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.name.localeCompare(b.name),
  );
}
