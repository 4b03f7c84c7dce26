/**
 * The lineage of an artifact version: runs, artifact versions and registry versions around it,
 * both directions, up to a chosen depth. Big sibling groups fold into clusters that unfold in
 * place when clicked.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useLocation, useParams, useSearch } from 'wouter';
import { lineage } from '../api';
import { ErrorBanner, Loading, PageHeader } from '../components/ui';
import { LineageGraphView } from '../lineage/graph';
import { type ClusterViewNode, clusterGraph, type EntityViewNode, layoutGraph } from '../lineage/layout';
import { paths, runPath, versionPath } from '../routes';

const DEPTHS = [1, 2, 3, 4, 5];

function hrefOf(node: EntityViewNode): string | undefined {
  const n = node.node;
  if (n.kind === 'run') return runPath(n.run);
  if (n.kind === 'artifact') return versionPath(n.version);
  const rv = n.registryVersion;
  return paths.model(rv.entity, rv.registry, rv.model);
}

export default function LineagePage() {
  const params = useParams<{ entity: string; project: string; name: string; version: string }>();
  const { entity, project, name } = params;
  const versionNumber = Number(String(params.version).replace(/^v/i, ''));
  const ref = `${entity}/${project}/${name}:v${versionNumber}`;
  const [depth, setDepth] = useState(3);
  const [, navigate] = useLocation();
  const { data, error, loading } = useLoad(ref, depth);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  // `?expand=all` opens with nothing folded (a link to the whole graph; the bench's 200 nodes).
  const unfolded = new URLSearchParams(useSearch()).get('expand') === 'all';

  // biome-ignore lint/correctness/useExhaustiveDependencies: a different root starts folded again.
  useEffect(() => setExpanded(new Set()), [ref]);
  useEffect(() => () => void delete document.body.dataset.ready, []);

  const view = useMemo(
    () => (data ? clusterGraph(data, expanded, unfolded ? Number.POSITIVE_INFINITY : undefined) : undefined),
    [data, expanded, unfolded],
  );
  const placed = useMemo(() => (view ? layoutGraph(view) : undefined), [view]);
  const onExpand = useCallback(
    (cluster: ClusterViewNode) => setExpanded((previous) => new Set([...previous, cluster.id])),
    [],
  );
  const onDrawn = useCallback(() => {
    document.body.dataset.ready = 'lineage';
  }, []);

  const counts = useMemo(() => {
    const c = { run: 0, artifact: 0, registry: 0 };
    for (const node of data?.nodes ?? []) c[node.kind]++;
    return c;
  }, [data]);
  const folded = view ? view.clusters.filter((id) => !expanded.has(id)).length : 0;

  const label = `${name}:v${versionNumber}`;
  return (
    <>
      <PageHeader
        title={`Lineage of ${label}`}
        crumbs={[
          { label: entity, href: paths.projects(entity) },
          { label: project, href: paths.artifacts(entity, project) },
          { label: name, href: paths.artifact(entity, project, name) },
          {
            label: `v${versionNumber}`,
            href: Number.isFinite(versionNumber)
              ? paths.version(entity, project, name, versionNumber)
              : undefined,
          },
          { label: 'lineage' },
        ]}
        subtitle={
          data
            ? `${counts.run} run${counts.run === 1 ? '' : 's'} · ${counts.artifact} artifact version${
                counts.artifact === 1 ? '' : 's'
              }${counts.registry > 0 ? ` · ${counts.registry} registry version${counts.registry === 1 ? '' : 's'}` : ''}`
            : undefined
        }
        actions={
          <label className="lg-depth">
            Depth
            <select
              className="input"
              aria-label="Depth"
              value={depth}
              onChange={(event) => setDepth(Number(event.target.value))}
            >
              {DEPTHS.map((d) => (
                <option key={d} value={d}>
                  {d} hop{d === 1 ? '' : 's'}
                </option>
              ))}
            </select>
          </label>
        }
      />
      <ErrorBanner error={error} />
      {!placed && loading && <Loading what="lineage" />}
      {placed && (
        <section className="card" aria-label="Lineage graph">
          <div className="card-header">
            <h2>
              Graph
              <span className="faint" style={{ fontWeight: 400 }}>
                {loading ? ' · loading…' : ' · drag to pan, scroll to zoom, click a node to open it'}
              </span>
            </h2>
          </div>
          <LineageGraphView
            graph={placed}
            hrefOf={hrefOf}
            navigate={navigate}
            onExpand={onExpand}
            onDrawn={onDrawn}
            actions={
              <>
                {folded > 0 && (
                  <button
                    type="button"
                    className="button small"
                    onClick={() => setExpanded(new Set(view?.clusters ?? []))}
                  >
                    Expand all
                  </button>
                )}
                {expanded.size > 0 && (
                  <button type="button" className="button small" onClick={() => setExpanded(new Set())}>
                    Collapse all
                  </button>
                )}
              </>
            }
          />
        </section>
      )}
    </>
  );
}

/** The graph for (ref, depth); keeps the previous graph on screen while a new depth loads. */
function useLoad(ref: string, depth: number) {
  const [state, setState] = useState<{
    data?: Awaited<ReturnType<typeof lineage>>;
    error?: unknown;
    loading: boolean;
  }>({ loading: true });
  useEffect(() => {
    let cancelled = false;
    setState((previous) => ({ ...previous, loading: true, error: undefined }));
    lineage(ref, depth).then(
      (data) => !cancelled && setState({ data, loading: false }),
      (error: unknown) => !cancelled && setState({ error, loading: false }),
    );
    return () => {
      cancelled = true;
    };
  }, [ref, depth]);
  return state;
}
