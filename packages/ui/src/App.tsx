/**
 * The app: the session gate, the shell (top bar) and the routes. Pages are loaded on demand, so
 * the first page fetches only the shell and itself (charts, graph layout and markdown come with
 * the pages that use them).
 */
import { type ComponentType, useCallback, useEffect, useState } from 'react';
import { Link, Redirect, Route, Switch, useLocation, useParams, useSearch } from 'wouter';
import { getSession, type Session, signOut, UNAUTHORIZED_EVENT } from './api';
import { ErrorBanner, Loading } from './components/ui';
import { paths } from './routes';
import { SessionContext } from './session';

/**
 * A page whose code is fetched on demand. Not React.lazy: React 19 holds back the reveal of a
 * Suspense boundary for up to 300 ms after its fallback showed, which every first page would pay.
 * `preload()` starts the fetch early (the current page's, while the session is asked for).
 */
interface PageCode<P> {
  loaded?: ComponentType<P>;
  preload(): Promise<void>;
}

function page<P extends object = Record<string, never>>(
  load: () => Promise<{ default: ComponentType<P> }>,
): PageCode<P> {
  let loading: Promise<void> | undefined;
  const code: PageCode<P> = {
    preload: () =>
      (loading ??= load().then(
        (module) => {
          code.loaded = module.default;
        },
        (error: unknown) => {
          loading = undefined; // a later visit tries again (a deploy replaced the chunk, a network blip)
          throw error;
        },
      )),
  };
  return code;
}

/** Renders a page once its code is here (at once when it was preloaded). */
function OnDemand<P extends object>(props: { code: PageCode<P>; props: P }) {
  const { code } = props;
  const [state, setState] = useState<{ ready: boolean; error?: unknown }>({
    ready: code.loaded !== undefined,
  });
  useEffect(() => {
    // Loaded between this render and its effect: render again (nothing else would).
    if (code.loaded) {
      setState({ ready: true });
      return;
    }
    let live = true;
    code.preload().then(
      () => live && setState({ ready: true }),
      (error: unknown) => live && setState({ ready: false, error }),
    );
    return () => {
      live = false;
    };
  }, [code]);
  if (state.error)
    return <ErrorBanner error={new Error('This page could not be loaded; reload to try again.')} />;
  const Component = code.loaded;
  return Component ? <Component {...props.props} /> : <Loading />;
}

const SignIn = page<{ onSignedIn: () => void }>(() => import('./pages/signin'));
const Home = page(() => import('./pages/home'));
const Projects = page(() => import('./pages/projects'));
const Artifacts = page(() => import('./pages/artifacts'));
const Artifact = page(() => import('./pages/artifact'));
const Version = page(() => import('./pages/version'));
const Lineage = page(() => import('./pages/lineage'));
const Runs = page(() => import('./pages/runs'));
const Run = page(() => import('./pages/run'));
const Compare = page(() => import('./pages/compare'));
const Registry = page(() => import('./pages/registry'));
const Model = page(() => import('./pages/model'));

/** Which page a path shows (the routes below, most specific first), to fetch its code at start. */
const PRELOAD: Array<[RegExp, { preload: () => Promise<void> }]> = [
  [/^\/signin$/, SignIn],
  [/^\/projects\/[^/]+\/[^/]+\/artifacts\/[^/]+\/[^/]+\/lineage$/, Lineage],
  [/^\/projects\/[^/]+\/[^/]+\/artifacts\/[^/]+\/[^/]+$/, Version],
  [/^\/projects\/[^/]+\/[^/]+\/artifacts\/[^/]+$/, Artifact],
  [/^\/projects\/[^/]+\/[^/]+\/artifacts$/, Artifacts],
  [/^\/projects\/[^/]+\/[^/]+\/runs\/[^/]+$/, Run],
  [/^\/projects\/[^/]+\/[^/]+\/runs$/, Runs],
  [/^\/projects\/[^/]+\/[^/]+\/compare$/, Compare],
  [/^\/projects\/[^/]+$/, Projects],
  [/^\/registry\/[^/]+\/[^/]+\/[^/]+$/, Model],
  [/^\/registry(\/[^/]+)?$/, Registry],
  [/^\/$/, Home],
];
for (const [pattern, target] of PRELOAD)
  if (pattern.test(window.location.pathname)) {
    void target.preload().catch(() => undefined);
    break;
  }

function TopBar(props: { session: Session; onSignOut: () => void }) {
  const [location] = useLocation();
  const section = location.startsWith('/registry') ? 'registry' : 'projects';
  return (
    <header className="topbar">
      <Link href="/" className="brand">
        Quiver
      </Link>
      <nav aria-label="Main">
        <Link href={paths.home()} aria-current={section === 'projects' ? 'page' : undefined}>
          Projects
        </Link>
        <Link href={paths.registry()} aria-current={section === 'registry' ? 'page' : undefined}>
          Registry
        </Link>
      </nav>
      <div className="who">
        <span data-testid="signed-in-as">
          {props.session.mode === 'local' ? 'local store' : `signed in as ${props.session.actor}`}
        </span>
        {props.session.mode === 'team' && (
          <button type="button" className="button small" onClick={props.onSignOut}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}

/** `/signin` once signed in: back to the page that sent the reader here (same origin paths only). */
function AfterSignIn() {
  const next = new URLSearchParams(useSearch()).get('next');
  return <Redirect to={next?.startsWith('/') && !next.startsWith('//') ? next : paths.home()} replace />;
}

/** `/projects/:entity/:project`: its artifacts. */
function ProjectIndex() {
  const { entity = '', project = '' } = useParams<{ entity: string; project: string }>();
  return <Redirect to={paths.artifacts(entity, project)} replace />;
}

function NotFound(props: { location: string }) {
  return (
    <div className="stack">
      <h1>Page not found</h1>
      <ErrorBanner error={new Error(`No page at ${props.location}.`)} />
      <p>
        <Link href={paths.home()}>Go to the start page</Link>
      </p>
    </div>
  );
}

export function App() {
  const [state, setState] = useState<{ session?: Session; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const refresh = useCallback(() => {
    getSession().then(
      (session) => setState({ session, loading: false }),
      (error: unknown) => setState({ error, loading: false }),
    );
  }, []);
  useEffect(refresh, [refresh]);
  useEffect(() => {
    window.addEventListener(UNAUTHORIZED_EVENT, refresh);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, refresh);
  }, [refresh]);
  const [location, navigate] = useLocation();

  if (state.loading) return <Loading />;
  if (state.error) return <ErrorBanner error={state.error} />;
  const session = state.session;
  if (!session)
    return (
      <>
        {location === paths.signIn() ? (
          <OnDemand code={SignIn} props={{ onSignedIn: refresh }} />
        ) : (
          <Redirect
            to={location === '/' ? paths.signIn() : `${paths.signIn()}?next=${encodeURIComponent(location)}`}
          />
        )}
      </>
    );

  const onSignOut = () => {
    signOut()
      // A stale CSRF token (signed out and in again in another tab): take the session's, try once more.
      .catch(async () => {
        await getSession();
        await signOut();
      })
      .then(
        () => {
          setState({ loading: false });
          navigate(paths.signIn());
        },
        (error: unknown) => setState({ loading: false, session, error }),
      );
  };
  return (
    <SessionContext.Provider value={{ session, refresh }}>
      <div className="shell">
        <TopBar session={session} onSignOut={onSignOut} />
        <main className="content">
          <Switch>
            <Route path="/">
              <OnDemand code={Home} props={{}} />
            </Route>
            <Route path="/signin">
              <AfterSignIn />
            </Route>
            <Route path="/projects/:entity">
              <OnDemand code={Projects} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project">
              <ProjectIndex />
            </Route>
            <Route path="/projects/:entity/:project/artifacts">
              <OnDemand code={Artifacts} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/artifacts/:name">
              <OnDemand code={Artifact} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/artifacts/:name/:version">
              <OnDemand code={Version} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/artifacts/:name/:version/lineage">
              <OnDemand code={Lineage} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/runs">
              <OnDemand code={Runs} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/runs/:runId">
              <OnDemand code={Run} props={{}} />
            </Route>
            <Route path="/projects/:entity/:project/compare">
              <OnDemand code={Compare} props={{}} />
            </Route>
            <Route path="/registry">
              <OnDemand code={Registry} props={{}} />
            </Route>
            <Route path="/registry/:entity">
              <OnDemand code={Registry} props={{}} />
            </Route>
            <Route path="/registry/:entity/:registry/:model">
              <OnDemand code={Model} props={{}} />
            </Route>
            <Route>
              <NotFound location={location} />
            </Route>
          </Switch>
        </main>
      </div>
    </SessionContext.Provider>
  );
}
