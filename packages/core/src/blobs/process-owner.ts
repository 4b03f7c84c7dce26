import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/**
 * Identifies where pids mean the same processes, in the names of files that a process owns
 * while it works (staging files, pins, gc trash, download partials): a short hash of the host
 * name, the boot and the pid namespace — containers that share a host name (or machines that
 * share a name over a network folder) do not see each other's pids, so a pid is only looked up
 * when the file was made under the same tag.
 */
export const HOST_TAG = createHash('sha256')
  .update(hostname())
  .update('\0')
  .update(readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')))
  .update('\0')
  .update(readOr(() => readlinkSync('/proc/self/ns/pid')))
  .digest('hex')
  .slice(0, 8);

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

/**
 * A name for something a process owns while it works (a staging file or object, a pin, a gc
 * trash folder): `<ms>-<pid>-<host tag>-<random>`, so a later gc can tell a live owner's from an
 * abandoned one with {@link ownerOfName}.
 */
export function ownedName(): string {
  return `${Date.now()}-${process.pid}-${HOST_TAG}-${randomBytes(6).toString('hex')}`;
}

/**
 * Whose a name made by {@link ownedName} is: a running process of this machine, one that has
 * ended, or unknown (another machine, or a name without an owner).
 */
export function ownerOfName(name: string): 'alive' | 'dead' | 'unknown' {
  const [, pid, host] = name.split('-');
  if (!pid || !/^[0-9]+$/.test(pid)) return 'unknown';
  return ownerState(Number(pid), host);
}
