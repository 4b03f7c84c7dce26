/**
 * `/projects/:entity/:project/artifacts/:name`: every version, newest first, in a virtualised
 * table that fetches pages of 200 as the reader scrolls (fast with 10,000+ versions).
 */
import { useCallback } from 'react';
import { Link, useParams } from 'wouter';
import { type ArtifactVersionInfo, artifacts, versions } from '../api';
import {
  AliasChips,
  Card,
  Chip,
  Empty,
  ErrorBanner,
  formatBytes,
  formatNumber,
  Loading,
  PageHeader,
  TagChips,
  TimeAgo,
  useLoad,
  usePaged,
} from '../components/ui';
import { VirtualTable } from '../components/virtual-list';
import { paths, versionPath } from '../routes';

const PAGE = 200;

export default function Artifact() {
  const {
    entity = '',
    project = '',
    name = '',
  } = useParams<{ entity: string; project: string; name: string }>();
  const list = usePaged(
    (cursor) => versions({ entity, project, name }, cursor, PAGE),
    [entity, project, name],
  );
  // The summary (type, count) from the project's listing; the table does not need it.
  const summary = useLoad(
    async () => (await artifacts(entity, project, null, 1000)).items.find((item) => item.name === name),
    [entity, project, name],
  );
  const newest = list.items[0];
  const type = summary.data?.type ?? newest?.type;
  const total = summary.data?.versions;
  const { loadMore } = list;
  const onEndReached = useCallback(() => loadMore(), [loadMore]);

  const row = (version: ArtifactVersionInfo) => (
    <tr key={version.id} data-testid="version-row" data-version={version.version}>
      <td>
        <Link href={versionPath(version)} className="mono strong">
          v{version.version}
        </Link>
        {version.problem && (
          <span className="chip state-failed" title={version.problem}>
            problem
          </span>
        )}
      </td>
      <td>
        <AliasChips aliases={version.aliases} />
      </td>
      <td>
        <TagChips tags={version.tags} />
      </td>
      <td className="num">{formatBytes(version.size)}</td>
      <td className="num">{formatNumber(version.fileCount)}</td>
      <td>
        <TimeAgo iso={version.createdAt} />
      </td>
      <td>
        {version.producedBy ? (
          <Link href={paths.run(version.entity, version.project, version.producedBy)} className="mono">
            {version.producedBy}
          </Link>
        ) : (
          <span className="faint">—</span>
        )}
      </td>
    </tr>
  );

  return (
    <>
      <PageHeader
        title={name}
        crumbs={[
          { label: entity, href: paths.projects(entity) },
          { label: project, href: paths.artifacts(entity, project) },
          { label: 'Artifacts', href: paths.artifacts(entity, project) },
        ]}
        subtitle={
          <span className="row">
            {type && <Chip kind="tag">{type}</Chip>}
            <span>
              {total !== undefined
                ? `${formatNumber(total)} version${total === 1 ? '' : 's'}`
                : `${formatNumber(list.items.length)}${list.done ? '' : '+'} versions`}
            </span>
            {newest && (
              <span>
                · latest <Link href={versionPath(newest)}>v{newest.version}</Link>
              </span>
            )}
          </span>
        }
      />
      <ErrorBanner error={list.error} />
      <Card
        title="Versions"
        flush
        actions={
          <span className="faint">
            {formatNumber(list.items.length)} loaded{list.done ? '' : ' · scroll for more'}
          </span>
        }
      >
        {list.loading && list.items.length === 0 ? (
          <Loading what="versions" />
        ) : list.items.length === 0 ? (
          <Empty>No versions.</Empty>
        ) : (
          <VirtualTable
            label={`Versions of ${name}`}
            items={list.items}
            rowKey={(version) => version.id}
            row={row}
            columns={7}
            rowHeight={40}
            height={640}
            hasMore={!list.done && !list.error}
            loading={list.loading}
            onEndReached={onEndReached}
            head={
              <>
                <th>Version</th>
                <th>Aliases</th>
                <th>Tags</th>
                <th className="num">Size</th>
                <th className="num">Files</th>
                <th>Created</th>
                <th>Producing run</th>
              </>
            }
          />
        )}
      </Card>
    </>
  );
}
