/**
 * `/projects/:entity/:project/runs`: the project's runs, newest first. A project may hold
 * 10,000+ runs: pages of 200 load as the list scrolls, and only the rows in view render. Tick
 * runs and "Compare" overlays their charts.
 */
import { useCallback, useEffect, useState } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { type RunInfo, runs } from '../api';
import '../charts/charts.css';
import { runDuration } from '../charts/run-info';
import {
  Card,
  Chip,
  Empty,
  ErrorBanner,
  formatDuration,
  formatNumber,
  formatTime,
  Loading,
  ProjectHeader,
  StateBadge,
  usePaged,
} from '../components/ui';
import { VirtualTable } from '../components/virtual-list';
import { paths } from '../routes';

const PAGE = 200;
const ROW_HEIGHT = 40;
/** As many runs as there are series colours. */
export const MAX_COMPARE = 8;

export default function RunsPage() {
  const { entity = '', project = '' } = useParams<{ entity: string; project: string }>();
  const [, navigate] = useLocation();
  const list = usePaged((cursor) => runs(entity, project, cursor, PAGE), [entity, project]);
  const [selected, setSelected] = useState<string[]>([]);
  const [height, setHeight] = useState(() =>
    typeof window === 'undefined' ? 560 : Math.max(360, window.innerHeight - 300),
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: another project starts with nothing picked.
  useEffect(() => setSelected([]), [entity, project]);
  useEffect(() => {
    const onResize = () => setHeight(Math.max(360, window.innerHeight - 300));
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  const firstShown = !list.loading || list.items.length > 0 || list.error !== undefined;
  useEffect(() => {
    if (firstShown) document.body.dataset.ready = 'runs';
  }, [firstShown]);
  useEffect(() => () => void delete document.body.dataset.ready, []);

  const toggle = useCallback((id: string) => {
    setSelected((previous) =>
      previous.includes(id)
        ? previous.filter((x) => x !== id)
        : previous.length >= MAX_COMPARE
          ? previous
          : [...previous, id],
    );
  }, []);

  const full = selected.length >= MAX_COMPARE;
  const row = (r: RunInfo) => {
    const isSelected = selected.includes(r.id);
    return (
      <tr
        key={r.id}
        data-testid="run-row"
        data-run-id={r.id}
        className={`run-row${isSelected ? ' selected' : ''}`}
      >
        <td className="check">
          <input
            type="checkbox"
            aria-label={`Select ${r.name || r.id}`}
            checked={isSelected}
            disabled={!isSelected && full}
            onChange={() => toggle(r.id)}
          />
        </td>
        <td title={r.name}>
          <Link href={paths.run(entity, project, r.id)}>{r.name || r.id}</Link>
        </td>
        <td>
          <StateBadge state={r.state} />
        </td>
        <td>{r.jobType ?? <span className="faint">—</span>}</td>
        <td title={r.tags.join(', ')}>
          {r.tags.length === 0 ? (
            <span className="faint">—</span>
          ) : (
            r.tags.map((tag) => (
              <Chip key={tag} kind="tag">
                {tag}
              </Chip>
            ))
          )}
        </td>
        <td className="num">{formatDuration(runDuration(r))}</td>
        <td>
          <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
        </td>
      </tr>
    );
  };

  return (
    <>
      <ProjectHeader entity={entity} project={project} current="runs" />
      <ErrorBanner error={list.error} />
      {list.loading && list.items.length === 0 ? (
        <Loading what="runs" />
      ) : list.items.length === 0 && !list.error ? (
        <Card>
          <Empty>No runs in {project} yet.</Empty>
        </Card>
      ) : (
        <Card
          label="Runs"
          title={
            <h2>
              Runs{' '}
              <span className="faint" style={{ fontWeight: 400 }}>
                {formatNumber(list.items.length)}
                {list.done ? '' : '+'}
              </span>
            </h2>
          }
          actions={
            <div className="runs-toolbar">
              <span aria-live="polite">
                {selected.length === 0
                  ? 'Tick runs to compare them'
                  : `${selected.length} selected${full ? ` (at most ${MAX_COMPARE})` : ''}`}
              </span>
              {selected.length > 0 && (
                <button type="button" className="button small" onClick={() => setSelected([])}>
                  Clear
                </button>
              )}
              <button
                type="button"
                className="button primary small"
                disabled={selected.length === 0}
                onClick={() => navigate(paths.compare(entity, project, selected))}
              >
                Compare{selected.length > 0 ? ` (${selected.length})` : ''}
              </button>
            </div>
          }
        >
          <VirtualTable
            className="runs-virtual"
            label={`Runs of ${project}`}
            items={list.items}
            rowKey={(r) => r.id}
            row={row}
            columns={7}
            rowHeight={ROW_HEIGHT}
            height={height}
            overscan={12}
            hasMore={!list.done}
            loading={list.loading}
            onEndReached={list.loadMore}
            head={
              <>
                <th className="check" aria-label="Select" />
                <th style={{ width: '24%' }}>Name</th>
                <th style={{ width: 104 }}>State</th>
                <th style={{ width: 120 }}>Job type</th>
                <th>Tags</th>
                <th className="num" style={{ width: 100 }}>
                  Duration
                </th>
                <th style={{ width: 210 }}>Started</th>
              </>
            }
          />
        </Card>
      )}
    </>
  );
}
