/**
 * The app: the session gate, the shell (top bar) and the routes. Pages are loaded on demand, so
 * the first page fetches only the shell and itself (charts, graph layout and markdown come with
 * the pages that use them).
 */
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Link, Redirect, Route, Switch, useLocation, useParams, useSearch } from 'wouter';
import { getSession, type Session, signOut, UNAUTHORIZED_EVENT } from './api';
import { ErrorBanner, Loading } from './components/ui';
import { paths } from './routes';
import { SessionContext } from './session';

const SignIn = lazy(() => import('./pages/signin'));
const Home = lazy(() => import('./pages/home'));
const Projects = lazy(() => import('./pages/projects'));
const Artifacts = lazy(() => import('./pages/artifacts'));
const Artifact = lazy(() => import('./pages/artifact'));
const Version = lazy(() => import('./pages/version'));
const Lineage = lazy(() => import('./pages/lineage'));
const Runs = lazy(() => import('./pages/runs'));
const Run = lazy(() => import('./pages/run'));
const Compare = lazy(() => import('./pages/compare'));
const Registry = lazy(() => import('./pages/registry'));
const Model = lazy(() => import('./pages/model'));

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
      <Suspense fallback={<Loading />}>
        {location === paths.signIn() ? (
          <SignIn onSignedIn={refresh} />
        ) : (
          <Redirect
            to={location === '/' ? paths.signIn() : `${paths.signIn()}?next=${encodeURIComponent(location)}`}
          />
        )}
      </Suspense>
    );

  const onSignOut = () => {
    signOut().finally(() => {
      setState({ loading: false });
      navigate(paths.signIn());
    });
  };
  return (
    <SessionContext.Provider value={{ session, refresh }}>
      <div className="shell">
        <TopBar session={session} onSignOut={onSignOut} />
        <main className="content">
          <Suspense fallback={<Loading />}>
            <Switch>
              <Route path="/">
                <Home />
              </Route>
              <Route path="/signin">
                <AfterSignIn />
              </Route>
              <Route path="/projects/:entity">
                <Projects />
              </Route>
              <Route path="/projects/:entity/:project">
                <ProjectIndex />
              </Route>
              <Route path="/projects/:entity/:project/artifacts">
                <Artifacts />
              </Route>
              <Route path="/projects/:entity/:project/artifacts/:name">
                <Artifact />
              </Route>
              <Route path="/projects/:entity/:project/artifacts/:name/:version">
                <Version />
              </Route>
              <Route path="/projects/:entity/:project/artifacts/:name/:version/lineage">
                <Lineage />
              </Route>
              <Route path="/projects/:entity/:project/runs">
                <Runs />
              </Route>
              <Route path="/projects/:entity/:project/runs/:runId">
                <Run />
              </Route>
              <Route path="/projects/:entity/:project/compare">
                <Compare />
              </Route>
              <Route path="/registry">
                <Registry />
              </Route>
              <Route path="/registry/:entity">
                <Registry />
              </Route>
              <Route path="/registry/:entity/:registry/:model">
                <Model />
              </Route>
              <Route>
                <NotFound location={location} />
              </Route>
            </Switch>
          </Suspense>
        </main>
      </div>
    </SessionContext.Provider>
  );
}
