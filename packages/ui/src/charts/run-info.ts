import type { RunInfo } from '../api';

/** How long a run ran: to its finish, or (still running / crashed) to its last heartbeat. */
export function runDuration(r: Pick<RunInfo, 'createdAt' | 'finishedAt' | 'heartbeatAt'>): number {
  const end = r.finishedAt ?? r.heartbeatAt;
  return Date.parse(end) - Date.parse(r.createdAt);
}
