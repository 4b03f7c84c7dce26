/**
 * `/projects/:entity/:project/compare?runs=a,b,c`: several runs' metrics overlaid, one colour
 * per run, one chart per key of the union of their keys. One series request per run.
 */
import { useCallback, useEffect, useMemo } from 'react';
import { Link, useParams, useSearch } from 'wouter';
import { type RunInfo, type RunSeries, run, runSeries } from '../api';
import '../charts/charts.css';
import { seriesColor } from '../charts/line-chart';
import { chartPoints, type MetricChartSpec, MetricsGrid } from '../charts/metrics';
import { runDuration } from '../charts/run-info';
import {
  Card,
  Empty,
  ErrorBanner,
  formatDuration,
  formatNumber,
  formatTime,
  Loading,
  PageHeader,
  StateBadge,
  useLoad,
} from '../components/ui';
import { paths } from '../routes';

interface Loaded {
  id: string;
  info?: RunInfo;
  series?: RunSeries;
  error?: unknown;
}

export default function ComparePage() {
  const { entity = '', project = '' } = useParams<{ entity: string; project: string }>();
  const search = useSearch();
  const ids = useMemo(() => {
    const raw = new URLSearchParams(search).get('runs') ?? '';
    return [
      ...new Set(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ];
  }, [search]);
  const key = ids.join(',');

  const loaded = useLoad<Loaded[]>(() => {
    const points = chartPoints();
    return Promise.all(
      ids.map(async (id): Promise<Loaded> => {
        try {
          const [info, series] = await Promise.all([run(id), runSeries(id, { points })]);
          return { id, info, series };
        } catch (error) {
          return { id, error };
        }
      }),
    );
  }, [key]);

  useEffect(() => () => void delete document.body.dataset.ready, []);
  const onDrawn = useCallback(() => {
    document.body.dataset.ready = 'compare';
  }, []);

  const runsLoaded = loaded.data ?? [];
  const charts = useMemo<MetricChartSpec[]>(() => {
    const keys = new Set<string>();
    for (const r of runsLoaded) for (const s of r.series?.series ?? []) keys.add(s.key);
    return [...keys].sort().map((metric) => ({
      key: metric,
      band: false,
      lines: runsLoaded.flatMap((r, index) => {
        const s = r.series?.series.find((x) => x.key === metric);
        if (!s) return [];
        return [{ label: r.info?.name || r.id, color: seriesColor(index), step: s.step, value: s.value }];
      }),
    }));
  }, [runsLoaded]);

  return (
    <>
      <PageHeader
        title="Compare runs"
        crumbs={[
          { label: entity, href: paths.projects(entity) },
          { label: project, href: paths.runs(entity, project) },
          { label: 'runs', href: paths.runs(entity, project) },
          { label: 'compare' },
        ]}
        subtitle={`${ids.length} run${ids.length === 1 ? '' : 's'}`}
      />
      {ids.length === 0 ? (
        <Card>
          <Empty>
            No runs picked. Tick runs on the <Link href={paths.runs(entity, project)}>runs page</Link> and
            press Compare.
          </Empty>
        </Card>
      ) : loaded.error ? (
        <ErrorBanner error={loaded.error} />
      ) : !loaded.data ? (
        <Loading what="runs" />
      ) : (
        <>
          <Card title="Runs" label="Runs">
            <table className="table">
              <thead>
                <tr>
                  <th aria-label="Colour" />
                  <th>Run</th>
                  <th>State</th>
                  <th>Job type</th>
                  <th className="num">Duration</th>
                  <th>Started</th>
                  <th className="num">Steps</th>
                </tr>
              </thead>
              <tbody>
                {runsLoaded.map((r, index) => (
                  <tr key={r.id} data-testid="compare-run" data-run-id={r.id}>
                    <td>
                      <span className="swatch" style={{ background: seriesColor(index) }} />
                    </td>
                    <td>
                      <Link href={paths.run(entity, project, r.id)}>{r.info?.name || r.id}</Link>
                      {r.error !== undefined && <ErrorBanner error={r.error} />}
                    </td>
                    <td>{r.info && <StateBadge state={r.info.state} />}</td>
                    <td>{r.info?.jobType ?? <span className="faint">—</span>}</td>
                    <td className="num">{r.info ? formatDuration(runDuration(r.info)) : '—'}</td>
                    <td>{formatTime(r.info?.createdAt)}</td>
                    <td className="num">{r.series ? formatNumber(r.series.steps) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          <Card title="Metrics" label="Metrics">
            {charts.length === 0 && <Empty>These runs logged no metrics.</Empty>}
            <MetricsGrid charts={charts} syncKey={`compare-${key}`} onDrawn={onDrawn} />
          </Card>
        </>
      )}
    </>
  );
}
