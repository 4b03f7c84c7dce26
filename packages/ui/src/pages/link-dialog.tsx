/**
 * "Link to registry": bookmarks an artifact version as the next version of a registered model —
 * an existing one, or one created here with a card and tags — with aliases. The same as
 * `quiver registry link <src> <model> --alias staging` (a new model is created first, then linked
 * with `create: false`). Protected aliases (the registry's, e.g. `production`) are offered only to
 * admins of the entity, and sent with `force`.
 */
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import {
  type ArtifactVersionInfo,
  artifactRef,
  canWrite,
  createModel,
  isAdminOf,
  link,
  models,
  protectedAliasesOf,
  registries,
} from '../api';
import { Dialog } from '../components/dialog';
import { MarkdownEditor } from '../components/markdown';
import { Chip, ErrorBanner, splitList, useLoad } from '../components/ui';
import { paths } from '../routes';
import { useEntities, useSession } from '../session';

const SUGGESTED = ['staging', 'production'];

export default function LinkDialog(props: { version: ArtifactVersionInfo; onClose: () => void }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const known = useEntities();
  // The dialog opens only for writers of the version's entity, so that is the first choice.
  const entities = [...new Set([props.version.entity, ...known])].filter((item) => canWrite(session, item));
  const [entity, setEntity] = useState(props.version.entity);
  const [registry, setRegistry] = useState('model');
  const [mode, setMode] = useState<'existing' | 'new'>('existing');
  const [existing, setExisting] = useState('');
  const [newName, setNewName] = useState(props.version.name);
  const [card, setCard] = useState('');
  const [tags, setTags] = useState('');
  const [checked, setChecked] = useState<string[]>([]);
  const [otherAliases, setOtherAliases] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const registryList = useLoad(() => (entity ? registries(entity) : Promise.resolve([])), [entity]);
  const modelList = useLoad(
    () => (entity ? models({ entity, registry }, null, 1000) : Promise.resolve({ items: [], next: null })),
    [entity, registry],
  );
  const protectedAliases = protectedAliasesOf(registryList.data, registry);
  const admin = isAdminOf(session, entity);
  const offered = [...new Set([...SUGGESTED, ...protectedAliases])].filter(
    (alias) => admin || !protectedAliases.includes(alias),
  );
  const modelNames = modelList.data?.items.map((item) => item.name) ?? [];
  const effectiveMode = modelList.data && modelNames.length === 0 ? 'new' : mode;
  const target =
    effectiveMode === 'new'
      ? newName.trim()
      : modelNames.includes(existing)
        ? existing
        : (modelNames[0] ?? '');

  const aliases = [
    ...new Set([...checked.filter((alias) => offered.includes(alias)), ...splitList(otherAliases)]),
  ];
  const refusedAliases = admin ? [] : aliases.filter((alias) => protectedAliases.includes(alias));
  const force = admin && aliases.some((alias) => protectedAliases.includes(alias));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!target) {
      setError(
        new Error(effectiveMode === 'new' ? 'Give the new model a name.' : 'Pick a registered model.'),
      );
      return;
    }
    if (refusedAliases.length > 0) {
      setError(
        new Error(
          `${refusedAliases.join(', ')} is a protected alias: only an admin of ${entity} can set it.`,
        ),
      );
      return;
    }
    setBusy(true);
    setError(undefined);
    const locator = { entity, registry, model: target };
    try {
      if (effectiveMode === 'new') await createModel({ ...locator, card, tags: splitList(tags) });
      await link(artifactRef(props.version), locator, { aliases, create: false, force });
      navigate(paths.model(entity, registry, target));
    } catch (reason) {
      setBusy(false);
      setError(reason);
    }
  };

  return (
    <Dialog title="Link to registry" onClose={props.onClose} wide>
      <form className="stack tight" onSubmit={submit}>
        <p className="muted">
          Bookmark <code>{artifactRef(props.version)}</code> as the next version of a registered model. No
          bytes are copied.
        </p>
        <div className="form-row">
          <label className="field">
            Entity
            <select className="input" value={entity} onChange={(event) => setEntity(event.target.value)}>
              {entities.map((item) => (
                <option key={item} value={item}>
                  {item}
                </option>
              ))}
            </select>
          </label>
          {(registryList.data?.length ?? 0) > 1 && (
            <label className="field">
              Registry
              <select
                className="input"
                value={registry}
                onChange={(event) => setRegistry(event.target.value)}
              >
                {registryList.data?.map((item) => (
                  <option key={item.name} value={item.name}>
                    {item.name}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>

        <fieldset className="choice">
          <legend>Target</legend>
          <label className="check">
            <input
              type="radio"
              name="mode"
              checked={effectiveMode === 'existing'}
              disabled={modelNames.length === 0}
              onChange={() => setMode('existing')}
            />
            Existing model
          </label>
          <label className="check">
            <input
              type="radio"
              name="mode"
              checked={effectiveMode === 'new'}
              onChange={() => setMode('new')}
            />
            New model
          </label>
        </fieldset>

        {effectiveMode === 'existing' ? (
          <label className="field">
            Registered model
            <select className="input" value={target} onChange={(event) => setExisting(event.target.value)}>
              {modelNames.map((item) => (
                <option key={item} value={item}>
                  {item}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <>
            <label className="field">
              New model name
              <input
                className="input"
                value={newName}
                onChange={(event) => setNewName(event.target.value)}
                placeholder="digits-classifier"
              />
            </label>
            <MarkdownEditor
              id="link-card"
              label="Model card (markdown)"
              value={card}
              onChange={setCard}
              placeholder={'# Model\n\nWhat it does, how it was trained, how to evaluate it.'}
            />
            <label className="field">
              Tags
              <input
                className="input"
                value={tags}
                onChange={(event) => setTags(event.target.value)}
                placeholder="vision, mnist"
              />
              <span className="hint">Comma-separated.</span>
            </label>
          </>
        )}

        <fieldset className="choice">
          <legend>Aliases</legend>
          {offered.map((alias) => (
            <label key={alias} className="check">
              <input
                type="checkbox"
                checked={checked.includes(alias)}
                onChange={(event) =>
                  setChecked((list) =>
                    event.target.checked ? [...list, alias] : list.filter((item) => item !== alias),
                  )
                }
              />
              {alias}
              {protectedAliases.includes(alias) && <Chip kind="protected">protected</Chip>}
            </label>
          ))}
          <label className="field grow">
            Other aliases
            <input
              className="input"
              value={otherAliases}
              onChange={(event) => setOtherAliases(event.target.value)}
              placeholder="candidate, reviewed"
            />
          </label>
        </fieldset>

        <ErrorBanner error={error} />
        <div className="actions">
          <button type="button" className="button" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            className="button primary"
            disabled={busy || !target || entities.length === 0}
          >
            {busy ? 'Linking…' : 'Link version'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
