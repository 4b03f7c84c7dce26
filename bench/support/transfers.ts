import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Artifact, init, QuiverClient, type Store } from '@quiver/core';
import { GiB, MiB, removeTree } from './files.js';
import { timeAfterSync } from './measure.js';

/** A process's peak resident set (VmHWM), current one (VmRSS) and bytes read (rchar: sockets too). */
export function processFacts(pid: number): { peak: number; now: number; read: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { peak: field('VmHWM'), now: field('VmRSS'), read: Number(/rchar: (\d+)/.exec(io)?.[1] ?? 0) };
}

/** Makes the file's content new (its first MiB), so that no trial finds it stored already. */
export function freshen(file: string): void {
  const head = Buffer.alloc(MiB);
  randomFillSync(head);
  const fd = openSync(file, 'r+');
  writeSync(fd, head, 0, head.length, 0);
  closeSync(fd);
}

/** Logs `file` as artifact `big` of `project` (a run of its own); the time includes the sync after. */
export async function timeLog(
  store: Store,
  file: string,
  project: string,
): Promise<{ seconds: number; ref: string }> {
  const run = await init({ project, store });
  try {
    const { seconds, result } = await timeAfterSync(() =>
      run.logArtifact(new Artifact('big', 'model').addFile(file, { name: 'weights.bin' })),
    );
    return { seconds, ref: result.ref };
  } finally {
    await run.finish();
  }
}

/** Downloads the 1 GiB version `ref` into `target` (verified), checks its size and removes it again. */
export async function timeGet(store: Store, ref: string, target: string): Promise<number> {
  const version = await new QuiverClient(store).artifact(ref);
  await mkdir(target, { recursive: true });
  const { seconds } = await timeAfterSync(() => version.download(target));
  const size = statSync(join(target, 'weights.bin')).size;
  if (size !== GiB) throw new Error(`the download wrote ${size} bytes`);
  await removeTree(target);
  return seconds;
}
