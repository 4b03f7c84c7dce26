/**
 * `/registry/:entity/:registry/:model`: a registered model — its card (markdown; members edit
 * it), tags, versions with their aliases and sources, alias controls (members: ordinary aliases;
 * admins: protected ones too, with force) and the audit history of every change.
 */
import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'wouter';
import {
  canWrite,
  isAdminOf,
  model as loadModel,
  type ModelLocator,
  modelHistory,
  protectedAliasesOf,
  type RegisteredModelDetails,
  type RegistryEvent,
  registries,
  registryRef,
  removeModelAlias,
  setModelAlias,
  tagModel,
  updateCard,
} from '../api';
import { Markdown, MarkdownEditor } from '../components/markdown';
import {
  AliasChips,
  Card,
  CopyButton,
  Empty,
  ErrorBanner,
  formatTime,
  Loading,
  PageHeader,
  TagChips,
  TimeAgo,
  useAction,
  useLoad,
} from '../components/ui';
import { paths, versionPath } from '../routes';
import { useSession } from '../session';

export default function Model() {
  const params = useParams<{ entity: string; registry: string; model: string }>();
  const locator: ModelLocator = {
    entity: params.entity ?? '',
    registry: params.registry ?? 'model',
    model: params.model ?? '',
  };
  const key = `${locator.entity}/${locator.registry}/${locator.model}`;
  const details = useLoad(() => loadModel(locator), [key]);
  const history = useLoad(() => modelHistory(locator), [key]);
  const registryList = useLoad(() => registries(locator.entity), [locator.entity]);
  const crumbs = [
    { label: 'Registry', href: paths.registry(locator.entity) },
    { label: locator.entity, href: paths.registry(locator.entity) },
    { label: locator.registry },
  ];
  if (details.loading && !details.data) return <Loading what={locator.model} />;
  if (!details.data)
    return (
      <>
        <PageHeader title={locator.model} crumbs={crumbs} />
        <ErrorBanner error={details.error} />
      </>
    );
  const refresh = () => {
    details.reload();
    history.reload();
  };
  return (
    <ModelView
      details={details.data}
      locator={locator}
      crumbs={crumbs}
      protectedAliases={protectedAliasesOf(registryList.data, locator.registry)}
      history={history}
      onChanged={refresh}
    />
  );
}

function ModelView(props: {
  details: RegisteredModelDetails;
  locator: ModelLocator;
  crumbs: Array<{ label: string; href?: string }>;
  protectedAliases: string[];
  history: { data: RegistryEvent[] | undefined; error: unknown; loading: boolean };
  onChanged: () => void;
}) {
  const session = useSession();
  const { details, locator, protectedAliases, onChanged } = props;
  const writer = canWrite(session, locator.entity);
  const admin = isAdminOf(session, locator.entity);
  const ref = registryRef(locator);
  const action = useAction();
  const versionsNewestFirst = [...details.versions].sort((a, b) => b.version - a.version);
  const mayTouch = (alias: string) => writer && (admin || !protectedAliases.includes(alias));

  return (
    <>
      <PageHeader
        title={details.name}
        crumbs={props.crumbs}
        subtitle={
          <span className="row">
            <code className="ref">{ref}</code>
            <CopyButton text={ref} label="Copy ref" />
            <span className="faint">
              · {details.versionCount} version{details.versionCount === 1 ? '' : 's'} · updated{' '}
              <TimeAgo iso={details.updatedAt} />
            </span>
          </span>
        }
      />
      <div className="grid-2">
        <div className="stack">
          <CardSection details={details} locator={locator} writer={writer} onChanged={onChanged} />
        </div>
        <div className="stack">
          <Card title="Details">
            <dl className="facts">
              <dt>Registry</dt>
              <dd>{details.registry}</dd>
              <dt>Created</dt>
              <dd>
                {formatTime(details.createdAt)} by {details.createdBy}
              </dd>
              <dt>Latest</dt>
              <dd className="mono">{details.latest === null ? '—' : `v${details.latest}`}</dd>
              <dt>Aliases</dt>
              <dd>
                <AliasChips
                  aliases={Object.keys(details.aliases).sort()}
                  protectedAliases={protectedAliases}
                  suffix={(alias) => `v${details.aliases[alias]}`}
                />
              </dd>
            </dl>
            <TagsSection details={details} locator={locator} writer={writer} onChanged={onChanged} />
          </Card>
          {writer && (
            <AliasForm
              details={details}
              locator={locator}
              admin={admin}
              protectedAliases={protectedAliases}
              onChanged={onChanged}
            />
          )}
        </div>
      </div>

      <Card title="Versions" flush>
        <ErrorBanner error={action.error} />
        {versionsNewestFirst.length === 0 ? (
          <Empty>No versions yet. Link an artifact version from its page ("Link to registry").</Empty>
        ) : (
          <table className="table" aria-label="Registry versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>Aliases</th>
                <th>Source</th>
                <th>Producing run</th>
                <th>Linked by</th>
                <th>Linked</th>
              </tr>
            </thead>
            <tbody>
              {versionsNewestFirst.map((version) => (
                <tr key={version.linkId} data-testid="version-row" data-version={version.version}>
                  <td className="mono strong">v{version.version}</td>
                  <td>
                    <AliasChips
                      aliases={version.aliases}
                      protectedAliases={protectedAliases}
                      canRemove={(alias) => alias !== 'latest' && mayTouch(alias)}
                      onRemove={
                        writer
                          ? (alias) =>
                              action
                                .run(() => removeModelAlias(locator, alias, protectedAliases.includes(alias)))
                                .then((ok) => ok && onChanged())
                          : undefined
                      }
                    />
                  </td>
                  <td>
                    <Link href={versionPath(version.source)} className="mono">
                      {version.source.ref}
                    </Link>
                  </td>
                  <td>
                    {version.source.producedBy ? (
                      <Link
                        href={paths.run(
                          version.source.entity,
                          version.source.project,
                          version.source.producedBy,
                        )}
                        className="mono"
                      >
                        {version.source.producedBy}
                      </Link>
                    ) : (
                      <span className="faint">—</span>
                    )}
                  </td>
                  <td>{version.linkedBy}</td>
                  <td>
                    <TimeAgo iso={version.linkedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>

      <HistorySection history={props.history} />
    </>
  );
}

function CardSection(props: {
  details: RegisteredModelDetails;
  locator: ModelLocator;
  writer: boolean;
  onChanged: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(props.details.card);
  const action = useAction();
  const save = (event: FormEvent) => {
    event.preventDefault();
    action
      .run(() => updateCard(props.locator, draft))
      .then((ok) => {
        if (ok) {
          setEditing(false);
          props.onChanged();
        }
      });
  };
  return (
    <Card
      title="Model card"
      actions={
        props.writer && !editing ? (
          <button
            type="button"
            className="button small"
            onClick={() => {
              setDraft(props.details.card);
              setEditing(true);
            }}
          >
            Edit card
          </button>
        ) : undefined
      }
    >
      {editing ? (
        <form className="stack tight" onSubmit={save}>
          <MarkdownEditor
            id="card-editor"
            label="Model card (markdown)"
            value={draft}
            onChange={setDraft}
            className="tall"
          />
          <ErrorBanner error={action.error} />
          <div className="actions">
            <button type="button" className="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={action.busy}>
              {action.busy ? 'Saving…' : 'Save card'}
            </button>
          </div>
        </form>
      ) : props.details.card.trim() ? (
        <Markdown source={props.details.card} />
      ) : (
        <p className="faint">No model card yet.</p>
      )}
    </Card>
  );
}

function TagsSection(props: {
  details: RegisteredModelDetails;
  locator: ModelLocator;
  writer: boolean;
  onChanged: () => void;
}) {
  const [tag, setTag] = useState('');
  const action = useAction();
  const change = (add: string[], remove: string[]) =>
    action
      .run(() => tagModel(props.locator, add, remove))
      .then((ok) => {
        if (ok) props.onChanged();
        return ok;
      });
  return (
    <section className="card-section stack tight" aria-label="Tags">
      <h3 className="label">Tags</h3>
      <div className="stack tight">
        <TagChips
          tags={props.details.tags}
          onRemove={props.writer ? (item) => void change([], [item]) : undefined}
        />
        <ErrorBanner error={action.error} />
        {props.writer && (
          <form
            className="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              const value = tag.trim();
              if (value) change([value], []).then((ok) => ok && setTag(''));
            }}
          >
            <label className="field grow">
              New tag
              <input className="input" value={tag} onChange={(event) => setTag(event.target.value)} />
            </label>
            <button type="submit" className="button" disabled={action.busy || tag.trim() === ''}>
              Add tag
            </button>
          </form>
        )}
      </div>
    </section>
  );
}

function AliasForm(props: {
  details: RegisteredModelDetails;
  locator: ModelLocator;
  admin: boolean;
  protectedAliases: string[];
  onChanged: () => void;
}) {
  const { details, admin, protectedAliases } = props;
  const newest = details.versions.reduce((most, item) => Math.max(most, item.version), -1);
  const [alias, setAlias] = useState('staging');
  const [version, setVersion] = useState<number>(newest);
  const action = useAction();
  const name = alias.trim();
  const isProtected = protectedAliases.includes(name);
  const refused = isProtected && !admin;
  const suggestions = [...new Set(['staging', 'champion', ...(admin ? protectedAliases : [])])];
  if (details.versions.length === 0) return null;
  const chosen = details.versions.some((item) => item.version === version) ? version : newest;
  return (
    <Card title="Set alias" label="Alias controls">
      <form
        className="stack tight"
        onSubmit={(event) => {
          event.preventDefault();
          if (!name || refused) return;
          action
            .run(() => setModelAlias({ ...props.locator, version: chosen }, name, isProtected && admin))
            .then((ok) => ok && props.onChanged());
        }}
      >
        <div className="form-row">
          <label className="field grow">
            Alias
            <input
              className="input"
              list="alias-suggestions"
              value={alias}
              onChange={(event) => setAlias(event.target.value)}
            />
            <datalist id="alias-suggestions">
              {suggestions.map((item) => (
                <option key={item} value={item} />
              ))}
            </datalist>
          </label>
          <label className="field">
            Version
            <select
              className="input"
              value={chosen}
              onChange={(event) => setVersion(Number(event.target.value))}
            >
              {[...details.versions]
                .sort((a, b) => b.version - a.version)
                .map((item) => (
                  <option key={item.version} value={item.version}>
                    v{item.version}
                  </option>
                ))}
            </select>
          </label>
        </div>
        {isProtected && (
          <p className={refused ? 'banner info' : 'hint'}>
            {refused
              ? `${name} is a protected alias: only an admin of ${props.locator.entity} can set or move it.`
              : `${name} is protected: setting it moves it with force.`}
          </p>
        )}
        <ErrorBanner error={action.error} />
        <div className="actions">
          <button type="submit" className="button primary" disabled={action.busy || !name || refused}>
            Set alias
          </button>
        </div>
      </form>
    </Card>
  );
}

type Fields = { alias?: string; version?: number; source?: string; tags?: string[]; name?: string };

/** One line of what an event changed: "staging: v0 → v1", "v2 ← vision/demo/model:v7". */
function summarize(event: RegistryEvent): string {
  const before = (event.before ?? {}) as Fields;
  const after = (event.after ?? {}) as Fields;
  switch (event.action) {
    case 'alias.set':
      return `${after.alias} → v${after.version}`;
    case 'alias.move':
      return `${after.alias ?? before.alias}: v${before.version} → v${after.version}`;
    case 'alias.remove':
      return `${before.alias} removed from v${before.version}`;
    case 'link':
      return `v${after.version} ← ${after.source ?? describe(event.after)}`;
    case 'unlink':
      return `v${before.version} unlinked${before.source ? ` (${before.source})` : ''}`;
    case 'model.create':
      return `created ${after.name ?? event.model}${after.tags?.length ? ` · tags ${after.tags.join(', ')}` : ''}`;
    case 'model.card':
      return 'model card changed';
    case 'model.rename':
      return `renamed ${before.name ?? ''} → ${after.name ?? ''}`;
    default:
      return `${describe(event.before)} → ${describe(event.after)}`;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = JSON.stringify(value);
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

function HistorySection(props: {
  history: { data: RegistryEvent[] | undefined; error: unknown; loading: boolean };
}) {
  const events = [...(props.history.data ?? [])].sort((a, b) => b.position - a.position);
  return (
    <Card title="History" flush>
      <ErrorBanner error={props.history.error} />
      {props.history.loading && !props.history.data ? (
        <Loading what="history" />
      ) : events.length === 0 ? (
        <Empty>No changes recorded.</Empty>
      ) : (
        <table className="table" aria-label="Change history">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id} data-testid="history-row">
                <td>
                  <TimeAgo iso={event.at} />
                </td>
                <td>{event.actor}</td>
                <td>
                  <code className="action">{event.action}</code>
                </td>
                <td
                  className="clip"
                  title={`before: ${JSON.stringify(event.before)}\nafter: ${JSON.stringify(event.after)}`}
                >
                  {summarize(event)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
