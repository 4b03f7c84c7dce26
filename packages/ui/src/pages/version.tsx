/**
 * `/projects/:entity/:project/artifacts/:name/vN`: one version — facts, description (markdown),
 * metadata, aliases and tags (editable by members), producing run, lineage link, the file tree
 * (paged and virtualised), code to use it, and "Link to registry".
 */
import { lazy, Suspense, useCallback, useState } from 'react';
import { Link, Redirect, useParams } from 'wouter';
import {
  type ArtifactVersionInfo,
  artifactRef,
  canWrite,
  downloadUrl,
  files,
  type JsonValue,
  type ManifestEntry,
  parseVersionParam,
  removeAlias,
  resolve,
  run,
  setAlias,
  tagVersion,
} from '../api';
import { Markdown } from '../components/markdown';
import { Snippet } from '../components/snippet';
import {
  AliasChips,
  Card,
  Chip,
  CopyButton,
  Digest,
  Empty,
  ErrorBanner,
  formatBytes,
  formatDuration,
  formatNumber,
  formatTime,
  Loading,
  PageHeader,
  StateBadge,
  TagChips,
  TimeAgo,
  useAction,
  useDebounced,
  useLoad,
  usePaged,
} from '../components/ui';
import { VirtualTable } from '../components/virtual-list';
import { paths, runPath, versionPath } from '../routes';
import { useSession } from '../session';

const LinkDialog = lazy(() => import('./link-dialog'));

export default function Version() {
  const params = useParams<{ entity: string; project: string; name: string; version: string }>();
  const { entity = '', project = '', name = '' } = params;
  const number = parseVersionParam(params.version);
  // `…/artifacts/name/best`: an alias; resolve it and go to the version's own URL.
  const ref = `${entity}/${project}/${name}:${number !== undefined ? `v${number}` : (params.version ?? '')}`;
  const resolved = useLoad(() => resolve(ref), [ref]);
  if (resolved.loading && !resolved.data) return <Loading what={ref} />;
  if (resolved.error || !resolved.data)
    return (
      <>
        <PageHeader
          title={`${name}:${params.version ?? ''}`}
          crumbs={[
            { label: entity, href: paths.projects(entity) },
            { label: project, href: paths.artifacts(entity, project) },
            { label: name, href: paths.artifact(entity, project, name) },
          ]}
        />
        <ErrorBanner error={resolved.error ?? new Error(`${ref} not found.`)} />
      </>
    );
  const version = resolved.data.version;
  if (number === undefined) return <Redirect to={versionPath(version)} replace />;
  return <VersionView key={version.id} initial={version} />;
}

function VersionView(props: { initial: ArtifactVersionInfo }) {
  const session = useSession();
  const [version, setVersion] = useState(props.initial);
  const [linking, setLinking] = useState(false);
  const writer = canWrite(session, version.entity);
  const ref = artifactRef(version);
  return (
    <>
      <PageHeader
        title={`${version.name}:v${version.version}`}
        crumbs={[
          { label: version.entity, href: paths.projects(version.entity) },
          { label: version.project, href: paths.artifacts(version.entity, version.project) },
          { label: version.name, href: paths.artifact(version.entity, version.project, version.name) },
        ]}
        subtitle={
          <span className="row">
            <Chip kind="tag">{version.type}</Chip>
            <code className="ref">{ref}</code>
            <CopyButton text={ref} label="Copy ref" />
          </span>
        }
        actions={
          <>
            <Link
              href={paths.lineage(version.entity, version.project, version.name, version.version)}
              className="button"
            >
              Lineage
            </Link>
            {writer && (
              <button type="button" className="button primary" onClick={() => setLinking(true)}>
                Link to registry
              </button>
            )}
          </>
        }
      />
      {version.problem && (
        <div className="banner error">This version's record cannot be trusted: {version.problem}</div>
      )}
      <div className="grid-2">
        <div className="stack">
          <Card title="Overview">
            <dl className="facts">
              <dt>Created</dt>
              <dd>
                {formatTime(version.createdAt)}{' '}
                <span className="faint">
                  (<TimeAgo iso={version.createdAt} />)
                </span>
              </dd>
              <dt>Files</dt>
              <dd>{formatNumber(version.fileCount)}</dd>
              <dt>Size</dt>
              <dd>{formatBytes(version.size)}</dd>
              <dt>Digest</dt>
              <dd>
                <Digest value={version.digest} length={16} />
              </dd>
            </dl>
            <div className="description">
              <h3 className="label">Description</h3>
              {version.description ? (
                <Markdown source={version.description} />
              ) : (
                <p className="faint">No description.</p>
              )}
            </div>
          </Card>
          <Card title="Use this version">
            <Snippet
              tabs={[
                {
                  label: 'loadModel',
                  language: 'ts',
                  code: `import { loadModel } from '@quiver/tfjs';\n\nconst model = await loadModel('${ref}');`,
                },
                {
                  label: 'loadOnnxSession',
                  language: 'ts',
                  code: `import { loadOnnxSession } from '@quiver/onnx';\n\nconst session = await loadOnnxSession('${ref}');`,
                },
                {
                  label: 'loadPipeline',
                  language: 'ts',
                  code: `import { loadPipeline } from '@quiver/transformers';\n\nconst classify = await loadPipeline('text-classification', '${ref}');`,
                },
                { label: 'quiver get', language: 'sh', code: `quiver get ${ref}` },
              ]}
            />
          </Card>
          <MetadataCard metadata={version.metadata} />
        </div>
        <div className="stack">
          <AliasesAndTags version={version} writer={writer} onChange={setVersion} />
          <ProducingRun version={version} />
        </div>
      </div>
      <FilesCard version={version} />
      {linking && (
        <Suspense fallback={null}>
          <LinkDialog version={version} onClose={() => setLinking(false)} />
        </Suspense>
      )}
    </>
  );
}

function isPlain(value: JsonValue): boolean {
  return value === null || typeof value !== 'object';
}

function MetadataCard(props: { metadata: ArtifactVersionInfo['metadata'] }) {
  const entries = Object.entries(props.metadata ?? {});
  return (
    <Card title="Metadata" flush>
      {entries.length === 0 ? (
        <Empty>No metadata.</Empty>
      ) : (
        <table className="table kv" aria-label="Metadata entries">
          <tbody>
            {entries.map(([key, value]) => (
              <tr key={key} data-testid="metadata-row">
                <th scope="row" className="mono">
                  {key}
                </th>
                <td>
                  {isPlain(value) || JSON.stringify(value).length <= 80 ? (
                    <span className={typeof value === 'string' ? '' : 'mono'}>
                      {typeof value === 'number'
                        ? formatNumber(value)
                        : isPlain(value)
                          ? String(value)
                          : JSON.stringify(value)}
                    </span>
                  ) : (
                    <pre className="json">{JSON.stringify(value, null, 2)}</pre>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function AliasesAndTags(props: {
  version: ArtifactVersionInfo;
  writer: boolean;
  onChange: (version: ArtifactVersionInfo) => void;
}) {
  const { version, writer, onChange } = props;
  const ref = artifactRef(version);
  const action = useAction();
  const [alias, setAliasText] = useState('');
  const [tag, setTag] = useState('');
  const apply = (work: () => Promise<ArtifactVersionInfo>) =>
    action.run(async () => {
      onChange(await work());
    });
  return (
    <Card title="Aliases and tags">
      <div className="stack tight">
        <div>
          <h3 className="label">Aliases</h3>
          <AliasChips
            aliases={version.aliases}
            canRemove={(item) => item !== 'latest'}
            onRemove={writer ? (item) => apply(() => removeAlias(ref, item)) : undefined}
          />
        </div>
        <div>
          <h3 className="label">Tags</h3>
          <TagChips
            tags={version.tags}
            onRemove={writer ? (item) => apply(() => tagVersion(ref, [], [item])) : undefined}
          />
        </div>
        <ErrorBanner error={action.error} />
        {writer && (
          <div className="inline-forms">
            <form
              className="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                const value = alias.trim();
                if (value === '') return;
                apply(() => setAlias(ref, value)).then((ok) => ok && setAliasText(''));
              }}
            >
              <label className="field">
                Alias
                <input
                  className="input"
                  value={alias}
                  placeholder="best"
                  onChange={(event) => setAliasText(event.target.value)}
                />
              </label>
              <button type="submit" className="button" disabled={action.busy || alias.trim() === ''}>
                Add alias
              </button>
            </form>
            <form
              className="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                const value = tag.trim();
                if (value === '') return;
                apply(() => tagVersion(ref, [value], [])).then((ok) => ok && setTag(''));
              }}
            >
              <label className="field">
                Tag
                <input
                  className="input"
                  value={tag}
                  placeholder="reviewed"
                  onChange={(event) => setTag(event.target.value)}
                />
              </label>
              <button type="submit" className="button" disabled={action.busy || tag.trim() === ''}>
                Add tag
              </button>
            </form>
          </div>
        )}
      </div>
    </Card>
  );
}

function ProducingRun(props: { version: ArtifactVersionInfo }) {
  const runId = props.version.producedBy;
  const info = useLoad(() => (runId ? run(runId) : Promise.resolve(undefined)), [runId]);
  const fallback = runId ? paths.run(props.version.entity, props.version.project, runId) : '';
  return (
    <Card title="Producing run">
      {!runId ? (
        <p className="faint">Not logged by a run.</p>
      ) : info.loading ? (
        <Loading what="run" />
      ) : info.data ? (
        <dl className="facts">
          <dt>Run</dt>
          <dd>
            <Link href={runPath(info.data)} className="strong">
              {info.data.name || info.data.id}
            </Link>{' '}
            <span className="faint mono">{info.data.id}</span>
          </dd>
          <dt>State</dt>
          <dd>
            <StateBadge state={info.data.state} />
          </dd>
          {info.data.jobType && (
            <>
              <dt>Job type</dt>
              <dd>{info.data.jobType}</dd>
            </>
          )}
          <dt>Started</dt>
          <dd>
            <TimeAgo iso={info.data.createdAt} />
          </dd>
          {info.data.finishedAt && (
            <>
              <dt>Duration</dt>
              <dd>{formatDuration(Date.parse(info.data.finishedAt) - Date.parse(info.data.createdAt))}</dd>
            </>
          )}
        </dl>
      ) : (
        <p>
          <Link href={fallback} className="mono">
            {runId}
          </Link>
        </p>
      )}
    </Card>
  );
}

type TreeRow =
  | { kind: 'folder'; key: string; name: string; depth: number }
  | { kind: 'file'; key: string; name: string; depth: number; entry: ManifestEntry };

/** The entries (in path order) as a tree: a folder row wherever a new folder starts, files indented under it. */
function treeRows(entries: readonly ManifestEntry[]): TreeRow[] {
  const rows: TreeRow[] = [];
  let previous: string[] = [];
  for (const entry of entries) {
    const parts = entry.path.split('/');
    const fileName = parts.pop() ?? entry.path;
    let common = 0;
    while (common < parts.length && common < previous.length && parts[common] === previous[common]) common++;
    for (let depth = common; depth < parts.length; depth++)
      rows.push({
        kind: 'folder',
        key: `d:${parts.slice(0, depth + 1).join('/')}/:${rows.length}`,
        name: `${parts[depth]}/`,
        depth,
      });
    rows.push({ kind: 'file', key: `f:${entry.path}`, name: fileName, depth: parts.length, entry });
    previous = parts;
  }
  return rows;
}

function FilesCard(props: { version: ArtifactVersionInfo }) {
  const [prefixText, setPrefixText] = useState('');
  const prefix = useDebounced(prefixText.trim(), 300);
  const list = usePaged(
    (cursor) => files(props.version.id, cursor, 200, prefix === '' ? undefined : prefix),
    [props.version.id, prefix],
  );
  const rows = treeRows(list.items);
  const { loadMore } = list;
  const onEndReached = useCallback(() => loadMore(), [loadMore]);
  return (
    <Card
      title="Files"
      flush
      actions={
        <div className="row">
          <span className="faint">
            {formatNumber(props.version.fileCount)} file{props.version.fileCount === 1 ? '' : 's'} ·{' '}
            {formatBytes(props.version.size)}
          </span>
          <label className="field inline">
            <span className="visually-hidden">Filter files by path prefix</span>
            <input
              className="input small"
              placeholder="Filter by path prefix…"
              value={prefixText}
              onChange={(event) => setPrefixText(event.target.value)}
            />
          </label>
        </div>
      }
    >
      <ErrorBanner error={list.error} />
      {list.loading && list.items.length === 0 ? (
        <Loading what="files" />
      ) : list.items.length === 0 ? (
        <Empty>{prefix ? `No files under ${prefix}.` : 'No files.'}</Empty>
      ) : (
        <VirtualTable
          label="Files"
          items={rows}
          rowKey={(row) => row.key}
          columns={4}
          rowHeight={36}
          height={520}
          hasMore={!list.done && !list.error}
          loading={list.loading}
          onEndReached={onEndReached}
          head={
            <>
              <th>Path</th>
              <th className="num">Size</th>
              <th>sha256</th>
              <th className="actions-col">
                <span className="visually-hidden">Download</span>
              </th>
            </>
          }
          row={(row) =>
            row.kind === 'folder' ? (
              <tr key={row.key} className="folder-row" data-testid="folder-row">
                <td colSpan={4} style={{ paddingLeft: 12 + row.depth * 18 }}>
                  <span className="folder-icon" aria-hidden="true">
                    ▸
                  </span>{' '}
                  {row.name}
                </td>
              </tr>
            ) : (
              <tr key={row.key} data-testid="file-row" data-path={row.entry.path}>
                <td style={{ paddingLeft: 12 + row.depth * 18 }} title={row.entry.path}>
                  <span className="file-name">{row.name}</span>
                </td>
                <td className="num">{formatBytes(row.entry.size)}</td>
                <td>
                  <Digest value={row.entry.sha256} />
                </td>
                <td className="actions-col">
                  {row.entry.ref ? (
                    <span className="chip tag" title={row.entry.ref}>
                      reference
                    </span>
                  ) : (
                    <a href={downloadUrl(row.entry)} download={row.name} className="button small">
                      Download
                    </a>
                  )}
                </td>
              </tr>
            )
          }
        />
      )}
    </Card>
  );
}
