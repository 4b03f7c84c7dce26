import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Identifies this machine in the names of files that a process owns while it works (staging
 * files, pins, gc trash, download partials): a short hash, since host names may hold '-'. A pid
 * is only looked up when the file was made on this machine.
 */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** True when the process `pid` exists (on this host). A process of another user counts. */
export function processIsAlive(pid: number): boolean {
  // 0 and negative numbers address process groups, never one process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whose a file made by `pid` on the machine `hostTag` is: a process of this machine that is
 * still running (its file is in use), one that has ended (the file is abandoned), or unknown
 * (another machine).
 */
export function ownerState(pid: number, hostTag: string | undefined): 'alive' | 'dead' | 'unknown' {
  if (hostTag !== HOST_TAG) return 'unknown';
  return processIsAlive(pid) ? 'alive' : 'dead';
}
