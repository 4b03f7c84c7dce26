/**
 * The shared building blocks of every page: layout pieces, chips, feedback, formatting. Pages
 * compose these and the classes of styles.css; none defines its own look.
 */
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { ApiError } from '../api';
import { paths } from '../routes';

export function PageHeader(props: {
  title: ReactNode;
  subtitle?: ReactNode;
  crumbs?: Array<{ label: string; href?: string }>;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        {props.crumbs && props.crumbs.length > 0 && (
          <nav className="breadcrumbs" aria-label="Breadcrumbs">
            {props.crumbs.map((crumb, index) => (
              <span key={`${crumb.label}@${crumb.href ?? ''}`}>
                {index > 0 && <span aria-hidden="true"> / </span>}
                {crumb.href ? <Link href={crumb.href}>{crumb.label}</Link> : crumb.label}
              </span>
            ))}
          </nav>
        )}
        <h1>{props.title}</h1>
        {props.subtitle && <div className="subtitle">{props.subtitle}</div>}
      </div>
      {props.actions && <div className="actions">{props.actions}</div>}
    </header>
  );
}

export function Card(props: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  label?: string;
  /** No padding around the body (for tables that run edge to edge). */
  flush?: boolean;
  className?: string;
}) {
  return (
    <section
      className={`card ${props.className ?? ''}`}
      aria-label={props.label ?? (typeof props.title === 'string' ? props.title : undefined)}
    >
      {(props.title || props.actions) && (
        <div className="card-header">
          {typeof props.title === 'string' ? <h2>{props.title}</h2> : props.title}
          {props.actions}
        </div>
      )}
      <div className={props.flush ? 'card-body flush' : 'card-body'}>{props.children}</div>
    </section>
  );
}

/** A tab strip of links; the one whose href is `current` is marked. */
export function Tabs(props: { tabs: Array<{ label: string; href: string }>; current: string }) {
  return (
    <nav className="tabs" aria-label="Sections">
      {props.tabs.map((tab) => (
        <Link key={tab.href} href={tab.href} aria-current={tab.href === props.current ? 'page' : undefined}>
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}

export function Chip(props: {
  kind?: 'alias' | 'protected' | 'tag' | `state-${string}`;
  children: ReactNode;
  title?: string;
  onRemove?: () => void;
}) {
  return (
    <span className={`chip ${props.kind ?? ''}`} title={props.title}>
      {props.children}
      {props.onRemove && (
        <button type="button" aria-label={`Remove ${String(props.children)}`} onClick={props.onRemove}>
          ×
        </button>
      )}
    </span>
  );
}

export function StateBadge(props: { state: string }) {
  return <Chip kind={`state-${props.state}`}>{props.state}</Chip>;
}

export function ErrorBanner(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  const message =
    props.error instanceof ApiError
      ? `${props.error.message} (${props.error.code})`
      : props.error instanceof Error
        ? props.error.message
        : String(props.error);
  return (
    <div className="banner error" role="alert">
      {message}
    </div>
  );
}

export function Loading(props: { what?: string }) {
  return <div className="loading">Loading{props.what ? ` ${props.what}` : ''}…</div>;
}

export function Empty(props: { children: ReactNode }) {
  return <div className="empty">{props.children}</div>;
}

/** Loads once per change of `deps`; a later answer replaces an earlier one, never the reverse. */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on.
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true, error: undefined }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ data: undefined, error, loading: false });
      },
    );
    return () => controller.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((value) => value + 1) };
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB" (powers of 1024, as `du -h`). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** An ISO time as the reader's local date and time. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** "3 minutes ago", "2 days ago". */
export function formatAgo(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'} ago`;
  const days = Math.round(hours / 24);
  return `${days} days ago`;
}

/** 75 s → "1m 15s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${minutes % 60}m`;
}

/** A number as a table shows it: up to 4 significant digits, no float noise. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString();
  return Number(value.toPrecision(4)).toString();
}

// ---- additions: time, copy, digests, alias chips, paging ------------------------------------

/** A time as "3 minutes ago", with the full local time on hover. */
export function TimeAgo(props: { iso: string | null | undefined }) {
  if (!props.iso) return <span className="faint">—</span>;
  return (
    <time dateTime={props.iso} title={formatTime(props.iso)}>
      {formatAgo(props.iso)}
    </time>
  );
}

/** Writes text to the clipboard (with a fallback for pages that are not a secure context). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

/** A small button that copies `text`, and says so for a moment. */
export function CopyButton(props: { text: string; label?: string; className?: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className={`button small ${props.className ?? ''}`}
      aria-label={props.label ?? 'Copy'}
      title={props.label ?? 'Copy'}
      onClick={() => {
        copyText(props.text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/** A sha256 (or any long digest) abbreviated, the whole on hover; click copies it. */
export function Digest(props: { value: string; length?: number }) {
  const [copied, setCopied] = useState(false);
  const bare = props.value.replace(/^sha256:/, '');
  const short = bare.length > (props.length ?? 12) ? `${bare.slice(0, props.length ?? 12)}…` : bare;
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="digest"
      title={copied ? 'Copied' : `${props.value} (click to copy)`}
      aria-label={`Copy digest ${props.value}`}
      data-digest={props.value}
      onClick={() => {
        copyText(props.value).then(
          () => setCopied(true),
          () => undefined,
        );
      }}
    >
      {copied ? 'copied' : short}
    </button>
  );
}

/** A small padlock, marking protected aliases. */
export function LockIcon() {
  return (
    <svg className="icon" width="10" height="10" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v6a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 14.5v-6A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z"
      />
    </svg>
  );
}

/** Aliases as chips, the protected ones marked; `onRemove` (when given and allowed) adds a remove button. */
export function AliasChips(props: {
  aliases: string[];
  protectedAliases?: string[];
  canRemove?: (alias: string) => boolean;
  onRemove?: (alias: string) => void;
  suffix?: (alias: string) => string | undefined;
}) {
  if (props.aliases.length === 0) return <span className="faint">—</span>;
  return (
    <span className="chips">
      {props.aliases.map((alias) => {
        const isProtected = props.protectedAliases?.includes(alias) ?? false;
        const removable = props.onRemove && (props.canRemove?.(alias) ?? true);
        const suffix = props.suffix?.(alias);
        return (
          <Chip
            key={alias}
            kind={isProtected ? 'protected' : 'alias'}
            title={isProtected ? `${alias} (protected alias)` : alias}
            onRemove={removable ? () => props.onRemove?.(alias) : undefined}
          >
            {isProtected && <LockIcon />}
            {alias}
            {suffix && <span className="chip-suffix">{suffix}</span>}
          </Chip>
        );
      })}
    </span>
  );
}

/** Tags as chips. */
export function TagChips(props: { tags: string[]; onRemove?: (tag: string) => void }) {
  if (props.tags.length === 0) return <span className="faint">—</span>;
  return (
    <span className="chips">
      {props.tags.map((tag) => (
        <Chip key={tag} kind="tag" onRemove={props.onRemove ? () => props.onRemove?.(tag) : undefined}>
          {tag}
        </Chip>
      ))}
    </span>
  );
}

/**
 * A cursor-paged listing: the first page on every change of `deps`, then `loadMore()` for each
 * next one. Items accumulate; a page that answers after a reset is dropped.
 */
export function usePaged<T>(
  fetchPage: (cursor: string | null, signal: AbortSignal) => Promise<{ items: T[]; next: string | null }>,
  deps: readonly unknown[],
): {
  items: T[];
  next: string | null;
  done: boolean;
  loading: boolean;
  error: unknown;
  loadMore: () => void;
  reload: () => void;
} {
  const [state, setState] = useState<{
    items: T[];
    next: string | null;
    done: boolean;
    loading: boolean;
    error: unknown;
  }>({ items: [], next: null, done: false, loading: true, error: undefined });
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const generation = useRef(0);
  const busy = useRef(false);
  const cursor = useRef<{ next: string | null; done: boolean }>({ next: null, done: false });
  const controller = useRef<AbortController | undefined>(undefined);
  const [tick, setTick] = useState(0);

  const load = useCallback((from: string | null, reset: boolean) => {
    const mine = generation.current;
    const signal = controller.current?.signal ?? new AbortController().signal;
    busy.current = true;
    setState((previous) =>
      reset
        ? { items: [], next: null, done: false, loading: true, error: undefined }
        : { ...previous, loading: true, error: undefined },
    );
    fetchRef.current(from, signal).then(
      (page) => {
        if (mine !== generation.current) return;
        busy.current = false;
        cursor.current = { next: page.next, done: page.next === null };
        setState((previous) => ({
          items: reset ? page.items : previous.items.concat(page.items),
          next: page.next,
          done: page.next === null,
          loading: false,
          error: undefined,
        }));
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        busy.current = false;
        setState((previous) => ({ ...previous, loading: false, error }));
      },
    );
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the listing depends on.
  useEffect(() => {
    generation.current++;
    controller.current?.abort();
    controller.current = new AbortController();
    cursor.current = { next: null, done: false };
    load(null, true);
    return () => controller.current?.abort();
  }, [...deps, tick]);

  const loadMore = useCallback(() => {
    if (busy.current || cursor.current.done || cursor.current.next === null) return;
    load(cursor.current.next, false);
  }, [load]);

  return { ...state, loadMore, reload: () => setTick((value) => value + 1) };
}

/** The "Load more" footer of a paged list. */
export function LoadMore(props: { done: boolean; loading: boolean; onLoadMore: () => void; count?: number }) {
  if (props.done && !props.loading) return null;
  return (
    <div className="load-more">
      <button type="button" className="button" disabled={props.loading} onClick={props.onLoadMore}>
        {props.loading ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}

/** Calls back `ms` after the value stops changing. */
export function useDebounced<T>(value: T, ms = 250): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** A select that switches between entities by navigating to `hrefFor(entity)`. */
export function EntitySwitcher(props: {
  entities: string[];
  current: string;
  hrefFor: (entity: string) => string;
}) {
  const [, navigate] = useLocation();
  const options = props.entities.includes(props.current)
    ? props.entities
    : [props.current, ...props.entities];
  if (options.length < 2) return null;
  return (
    <label className="field inline">
      Entity
      <select
        className="input"
        value={props.current}
        onChange={(event) => navigate(props.hrefFor(event.target.value))}
      >
        {options.map((entity) => (
          <option key={entity} value={entity}>
            {entity}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Splits "a, b ,c" into ["a", "b", "c"]. */
export const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** Runs one write at a time: `busy` while it runs, `error` when it failed (the server's message). */
export function useAction(): {
  busy: boolean;
  error: unknown;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: undefined });
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setState({ busy: true, error: undefined });
    try {
      await action();
      setState({ busy: false, error: undefined });
      return true;
    } catch (error) {
      setState({ busy: false, error });
      return false;
    }
  }, []);
  return { ...state, run, clear: () => setState({ busy: false, error: undefined }) };
}

/** A project's header and its Artifacts | Runs tabs (the tab of `current` marked). */
export function ProjectHeader(props: { entity: string; project: string; current: 'artifacts' | 'runs' }) {
  const { entity, project } = props;
  const tabs = [
    { label: 'Artifacts', href: paths.artifacts(entity, project) },
    { label: 'Runs', href: paths.runs(entity, project) },
  ];
  return (
    <>
      <PageHeader
        title={project}
        crumbs={[{ label: entity, href: paths.projects(entity) }, { label: project }]}
      />
      <Tabs tabs={tabs} current={props.current === 'artifacts' ? tabs[0]!.href : tabs[1]!.href} />
    </>
  );
}
