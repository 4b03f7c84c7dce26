/**
 * `/registry` and `/registry/:entity`: the registered models of an entity (team-scoped, across
 * its projects), searchable by name prefix (debounced), filtered by tags, paged.
 */
import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { defaultTeam, models, protectedAliasesOf, registries } from '../api';
import {
  AliasChips,
  Card,
  Chip,
  Empty,
  EntitySwitcher,
  ErrorBanner,
  formatNumber,
  Loading,
  LoadMore,
  PageHeader,
  TagChips,
  TimeAgo,
  useDebounced,
  useLoad,
  usePaged,
} from '../components/ui';
import { paths } from '../routes';
import { useEntities, useSession } from '../session';

export default function Registry() {
  const session = useSession();
  const params = useParams<{ entity?: string }>();
  const entities = useEntities();
  const entity = params.entity ?? defaultTeam(session, entities);
  const [registry, setRegistry] = useState('model');
  const [search, setSearch] = useState('');
  const prefix = useDebounced(search.trim(), 250);
  const [tags, setTags] = useState<string[]>([]);
  const registryList = useLoad(() => registries(entity), [entity]);
  const list = usePaged(
    (cursor) =>
      models(
        { entity, registry, prefix: prefix || undefined, tags: tags.length ? tags : undefined },
        cursor,
        50,
      ),
    [entity, registry, prefix, tags.join('\n')],
  );
  const protectedAliases = protectedAliasesOf(registryList.data, registry);
  const seenTags = [...new Set([...tags, ...list.items.flatMap((item) => item.tags)])].sort();
  const toggle = (tag: string) =>
    setTags((current) =>
      current.includes(tag) ? current.filter((item) => item !== tag) : [...current, tag],
    );

  return (
    <>
      <PageHeader
        title="Model registry"
        subtitle={`Registered models of ${entity}, across its projects.`}
        crumbs={[{ label: 'Registry' }, { label: entity }]}
        actions={<EntitySwitcher entities={entities} current={entity} hrefFor={paths.registry} />}
      />
      <div className="toolbar">
        <label className="field inline grow">
          <span className="visually-hidden">Search models</span>
          <input
            className="input search"
            type="search"
            aria-label="Search models"
            placeholder="Search models by name…"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </label>
        {(registryList.data?.length ?? 0) > 1 && (
          <label className="field inline">
            Registry
            <select className="input" value={registry} onChange={(event) => setRegistry(event.target.value)}>
              {registryList.data?.map((item) => (
                <option key={item.name} value={item.name}>
                  {item.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {seenTags.length > 0 && (
        <fieldset className="tag-filter">
          <legend className="faint">Filter by tag</legend>
          {seenTags.map((tag) => (
            <button
              key={tag}
              type="button"
              className={`chip tag toggle ${tags.includes(tag) ? 'on' : ''}`}
              aria-pressed={tags.includes(tag)}
              onClick={() => toggle(tag)}
            >
              {tag}
            </button>
          ))}
          {tags.length > 0 && (
            <button type="button" className="button small" onClick={() => setTags([])}>
              Clear
            </button>
          )}
        </fieldset>
      )}
      <ErrorBanner error={list.error} />
      <Card title="Registered models" flush>
        {list.loading && list.items.length === 0 ? (
          <Loading what="models" />
        ) : list.items.length === 0 ? (
          <Empty>
            {prefix || tags.length
              ? 'No registered model matches.'
              : `No registered models in ${entity} yet. Link an artifact version from its page.`}
          </Empty>
        ) : (
          <table className="table" aria-label="Registered models">
            <thead>
              <tr>
                <th>Model</th>
                <th>Tags</th>
                <th>Aliases</th>
                <th className="num">Versions</th>
                <th>Latest</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((item) => {
                const aliasNames = Object.keys(item.aliases).sort();
                return (
                  <tr key={item.id} data-testid="model-row">
                    <td>
                      <Link href={paths.model(item.entity, item.registry, item.name)} className="strong">
                        {item.name}
                      </Link>
                      {item.registry !== 'model' && <Chip kind="tag">{item.registry}</Chip>}
                    </td>
                    <td>
                      <TagChips tags={item.tags} />
                    </td>
                    <td>
                      <AliasChips
                        aliases={aliasNames}
                        protectedAliases={protectedAliases}
                        suffix={(alias) => `v${item.aliases[alias]}`}
                      />
                    </td>
                    <td className="num">{formatNumber(item.versionCount)}</td>
                    <td className="mono">{item.latest === null ? '—' : `v${item.latest}`}</td>
                    <td>
                      <TimeAgo iso={item.updatedAt} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      <LoadMore done={list.done} loading={list.loading && list.items.length > 0} onLoadMore={list.loadMore} />
    </>
  );
}
