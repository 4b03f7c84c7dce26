/**
 * One run: its facts, config, summary, a chart per metric (downsampled by the server to about a
 * point per pixel, one request for every key), and the artifact versions it used and produced.
 */
import { useCallback, useEffect, useMemo } from 'react';
import { Link, useParams } from 'wouter';
import { type ArtifactVersionInfo, type RunInfo, run, runInputs, runOutputs, runSeries } from '../api';
import '../charts/charts.css';
import { seriesColor } from '../charts/line-chart';
import { chartPoints, type MetricChartSpec, MetricsGrid } from '../charts/metrics';
import { runDuration } from '../charts/run-info';
import {
  Card,
  Chip,
  Empty,
  ErrorBanner,
  formatBytes,
  formatDuration,
  formatNumber,
  formatTime,
  Loading,
  PageHeader,
  StateBadge,
  useLoad,
} from '../components/ui';
import { paths, versionPath } from '../routes';

export default function RunPage() {
  const { entity, project, runId } = useParams<{ entity: string; project: string; runId: string }>();
  const info = useLoad(() => run(runId), [runId]);
  const series = useLoad(() => runSeries(runId, { points: chartPoints() }), [runId]);
  const inputs = useLoad(() => runInputs(runId), [runId]);
  const outputs = useLoad(() => runOutputs(runId), [runId]);

  useEffect(() => () => void delete document.body.dataset.ready, []);
  const onDrawn = useCallback(() => {
    document.body.dataset.ready = 'run';
  }, []);

  const charts = useMemo<MetricChartSpec[]>(() => {
    const data = series.data;
    if (!data) return [];
    const color = seriesColor(0);
    return data.series.map((s) => ({
      key: s.key,
      band: data.downsampled,
      lines: [{ label: s.key, color, step: s.step, value: s.value, min: s.min, max: s.max }],
    }));
  }, [series.data]);

  const r = info.data;
  const crumbs = [
    { label: entity, href: paths.projects(entity) },
    { label: project, href: paths.runs(entity, project) },
    { label: 'runs', href: paths.runs(entity, project) },
  ];
  if (info.error) {
    return (
      <>
        <PageHeader title={runId} crumbs={crumbs} />
        <ErrorBanner error={info.error} />
      </>
    );
  }
  return (
    <>
      <PageHeader
        title={r ? r.name || r.id : runId}
        crumbs={crumbs}
        subtitle={r ? <RunFacts run={r} /> : undefined}
      />
      <Card
        label="Metrics"
        title={
          <h2>
            Metrics
            {series.data && (
              <span className="faint" style={{ fontWeight: 400 }}>
                {' '}
                · {series.data.keys.length} key{series.data.keys.length === 1 ? '' : 's'},{' '}
                {series.data.steps.toLocaleString()} steps
                {series.data.downsampled ? ' (downsampled, band = min–max)' : ''}
              </span>
            )}
          </h2>
        }
      >
        {series.error ? (
          <ErrorBanner error={series.error} />
        ) : !series.data ? (
          <Loading what="metrics" />
        ) : charts.length === 0 ? (
          <>
            <Empty>This run logged no metrics.</Empty>
            <MetricsGrid charts={charts} syncKey={`run-${runId}`} onDrawn={onDrawn} />
          </>
        ) : (
          <>
            {series.data.keys.length > charts.length && (
              <p className="muted">
                Showing {charts.length} of {series.data.keys.length} metrics.
              </p>
            )}
            <MetricsGrid charts={charts} syncKey={`run-${runId}`} onDrawn={onDrawn} />
          </>
        )}
      </Card>
      {r && (
        <div className="two-col">
          <Card title="Summary" label="Summary">
            <SummaryTable run={r} />
          </Card>
          <Card title="Config" label="Config">
            <ConfigList config={r.config} />
          </Card>
        </div>
      )}
      <div className="two-col">
        <Card title="Artifacts used" label="Artifacts used">
          <ArtifactList state={inputs} none="This run used no artifacts." />
        </Card>
        <Card title="Artifacts produced" label="Artifacts produced">
          <ArtifactList state={outputs} none="This run produced no artifacts." />
        </Card>
      </div>
    </>
  );
}

function RunFacts(props: { run: RunInfo }) {
  const r = props.run;
  return (
    <span className="header-facts">
      <StateBadge state={r.state} />
      {r.jobType && (
        <span>
          job <b>{r.jobType}</b>
        </span>
      )}
      {r.group && (
        <span>
          group <b>{r.group}</b>
        </span>
      )}
      <span title={r.createdAt}>started {formatTime(r.createdAt)}</span>
      <span>ran {formatDuration(runDuration(r))}</span>
      <span>
        host <code>{r.host}</code>
        {r.pid ? <span className="faint"> (pid {r.pid})</span> : null}
      </span>
      {r.exitCode !== null && <span>exit code {r.exitCode}</span>}
      <span className="mono faint">{r.id}</span>
      {r.tags.length > 0 && (
        <span>
          {r.tags.map((tag) => (
            <Chip key={tag} kind="tag">
              {tag}
            </Chip>
          ))}
        </span>
      )}
    </span>
  );
}

function SummaryTable(props: { run: RunInfo }) {
  const entries = Object.entries(props.run.summary).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <Empty>No metrics logged.</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Metric</th>
          <th className="num">Last</th>
          <th className="num">Min</th>
          <th className="num">Max</th>
          <th className="num">Step</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([key, s]) => (
          <tr key={key}>
            <td className="mono">{key}</td>
            <td className="num">{formatNumber(s.last)}</td>
            <td className="num">{formatNumber(s.min)}</td>
            <td className="num">{formatNumber(s.max)}</td>
            <td className="num">{formatNumber(s.step)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ConfigList(props: { config: RunInfo['config'] }) {
  const entries = Object.entries(props.config ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <Empty>No config.</Empty>;
  return (
    <dl className="facts">
      {entries.map(([key, value]) => (
        <div key={key} style={{ display: 'contents' }}>
          <dt className="mono">{key}</dt>
          <dd>
            {value !== null && typeof value === 'object' ? (
              <pre className="json">{JSON.stringify(value, null, 2)}</pre>
            ) : (
              <code>{JSON.stringify(value)}</code>
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function ArtifactList(props: {
  state: { data: ArtifactVersionInfo[] | undefined; error: unknown; loading: boolean };
  none: string;
}) {
  const { data, error } = props.state;
  if (error) return <ErrorBanner error={error} />;
  if (!data) return <Loading />;
  if (data.length === 0) return <Empty>{props.none}</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Version</th>
          <th>Type</th>
          <th>Aliases</th>
          <th className="num">Size</th>
        </tr>
      </thead>
      <tbody>
        {data.map((v) => (
          <tr key={v.id}>
            <td>
              <Link href={versionPath(v)} className="mono">
                {v.name}:v{v.version}
              </Link>
              {(v.entity !== data[0]?.entity || v.project !== data[0]?.project) && (
                <div className="faint mono">
                  {v.entity}/{v.project}
                </div>
              )}
            </td>
            <td>{v.type}</td>
            <td>
              <span className="row">
                {v.aliases.map((alias) => (
                  <Chip key={alias} kind="alias">
                    {alias}
                  </Chip>
                ))}
              </span>
            </td>
            <td className="num">{formatBytes(v.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
