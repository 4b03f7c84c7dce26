import { type Artifact, type ArtifactVersion, init } from '@quiver/core';
import { timeAfterSync } from '../support/measure.js';

export const PROJECT = 'bench';
/** How many times each timed step and its baseline run, alternately; figures are medians. */
export const ROUNDS = 5;

/**
 * Starts a run on the store at `storeDir` and times `run.logArtifact(makeArtifact())` alone (the
 * draft is built inside the timing, as a user's call would; opening the store and finishing the
 * run are not).
 */
export async function timeLogArtifact(
  storeDir: string,
  makeArtifact: () => Artifact,
): Promise<{ seconds: number; version: ArtifactVersion }> {
  const run = await init({ project: PROJECT, dir: storeDir });
  try {
    const { seconds, result } = await timeAfterSync(() => run.logArtifact(makeArtifact()));
    return { seconds, version: result };
  } finally {
    await run.finish();
  }
}
