/**
 * `/projects/:entity/:project/artifacts`: the project's artifacts grouped by type, each with its
 * newest few versions (aliases, size, time, producing run).
 */
import { Link, useParams } from 'wouter';
import { type ArtifactSummary, artifacts, versions } from '../api';
import {
  AliasChips,
  Card,
  Empty,
  ErrorBanner,
  formatBytes,
  formatNumber,
  Loading,
  LoadMore,
  ProjectHeader,
  TimeAgo,
  useLoad,
  usePaged,
} from '../components/ui';
import { paths, versionPath } from '../routes';

const NEWEST = 5;

function ArtifactBlock(props: { artifact: ArtifactSummary }) {
  const { artifact } = props;
  const newest = useLoad(
    () => versions({ entity: artifact.entity, project: artifact.project, name: artifact.name }, null, NEWEST),
    [artifact.entity, artifact.project, artifact.name],
  );
  return (
    <section className="card" aria-label={artifact.name} data-testid="artifact-card">
      <div className="card-header">
        <h3>
          <Link href={paths.artifact(artifact.entity, artifact.project, artifact.name)}>{artifact.name}</Link>
        </h3>
        <div className="meta">
          <span>
            {formatNumber(artifact.versions)} version{artifact.versions === 1 ? '' : 's'}
          </span>
          {artifact.latest !== null && (
            <span>
              latest{' '}
              <Link href={paths.version(artifact.entity, artifact.project, artifact.name, artifact.latest)}>
                v{artifact.latest}
              </Link>
            </span>
          )}
          <span>
            created <TimeAgo iso={artifact.createdAt} />
          </span>
        </div>
      </div>
      {newest.error ? (
        <div className="card-body">
          <ErrorBanner error={newest.error} />
        </div>
      ) : newest.loading && !newest.data ? (
        <Loading what="versions" />
      ) : (
        <table className="table compact" aria-label={`Newest versions of ${artifact.name}`}>
          <thead>
            <tr>
              <th>Version</th>
              <th>Aliases</th>
              <th className="num">Size</th>
              <th>Created</th>
              <th>Producing run</th>
            </tr>
          </thead>
          <tbody>
            {newest.data?.items.map((version) => (
              <tr key={version.id} data-testid="version-row">
                <td>
                  <Link href={versionPath(version)} className="mono strong">
                    v{version.version}
                  </Link>
                </td>
                <td>
                  <AliasChips aliases={version.aliases} />
                </td>
                <td className="num">{formatBytes(version.size)}</td>
                <td>
                  <TimeAgo iso={version.createdAt} />
                </td>
                <td>
                  {version.producedBy ? (
                    <Link
                      href={paths.run(version.entity, version.project, version.producedBy)}
                      className="mono"
                    >
                      {version.producedBy}
                    </Link>
                  ) : (
                    <span className="faint">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {artifact.versions > NEWEST && (
        <div className="card-footer">
          <Link href={paths.artifact(artifact.entity, artifact.project, artifact.name)}>
            All {formatNumber(artifact.versions)} versions →
          </Link>
        </div>
      )}
    </section>
  );
}

export default function Artifacts() {
  const { entity = '', project = '' } = useParams<{ entity: string; project: string }>();
  const list = usePaged((cursor) => artifacts(entity, project, cursor, 100), [entity, project]);
  const byType = new Map<string, ArtifactSummary[]>();
  for (const artifact of list.items) {
    const group = byType.get(artifact.type) ?? [];
    group.push(artifact);
    byType.set(artifact.type, group);
  }
  const types = [...byType.keys()].sort();
  return (
    <>
      <ProjectHeader entity={entity} project={project} current="artifacts" />
      <ErrorBanner error={list.error} />
      {list.loading && list.items.length === 0 ? (
        <Loading what="artifacts" />
      ) : list.items.length === 0 && !list.error ? (
        <Card>
          <Empty>No artifacts in {project} yet.</Empty>
        </Card>
      ) : (
        types.map((type) => (
          <section key={type} className="type-group" aria-label={`Type ${type}`}>
            <h2 className="group-heading">
              {type} <span className="count">{byType.get(type)?.length}</span>
            </h2>
            <div className="stack">
              {byType.get(type)?.map((artifact) => (
                <ArtifactBlock key={artifact.name} artifact={artifact} />
              ))}
            </div>
          </section>
        ))
      )}
      <LoadMore done={list.done} loading={list.loading && list.items.length > 0} onLoadMore={list.loadMore} />
    </>
  );
}
