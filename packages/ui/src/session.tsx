/** The signed-in session, for every page: who, in which entities with which role, and the CSRF token. */
import { createContext, useContext, useEffect, useState } from 'react';
import { adminTeams, knownEntities, type Session } from './api';

export const SessionContext = createContext<{ session: Session; refresh: () => void } | undefined>(undefined);

/** The session; pages render only inside a signed-in shell, so it is always there. */
export function useSession(): Session {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside the signed-in shell');
  return value.session;
}

/** Reloads the session (after a change of memberships, or to notice a sign-out elsewhere). */
export function useSessionRefresh(): () => void {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSessionRefresh outside the signed-in shell');
  return value.refresh;
}

let teams: { actor: string; names: Promise<string[]> } | undefined;

/**
 * Every entity the user can open: its own, its memberships, and — for a server admin of a team
 * server — every team (admins read everywhere without being members).
 */
export function useEntities(): string[] {
  const session = useSession();
  const own = knownEntities(session);
  const [extra, setExtra] = useState<string[]>([]);
  const wantsTeams = session.admin && session.mode === 'team';
  useEffect(() => {
    if (!wantsTeams) return;
    if (teams?.actor !== session.actor)
      teams = {
        actor: session.actor,
        names: adminTeams().then(
          (list) => list.map((team) => team.name),
          () => [],
        ),
      };
    let live = true;
    teams.names.then((names) => {
      if (live) setExtra(names);
    });
    return () => {
      live = false;
    };
  }, [wantsTeams, session.actor]);
  return [...new Set([...own, ...extra])];
}
