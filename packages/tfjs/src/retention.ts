import { type ArtifactVersion, isQuiverError, LATEST_ALIAS, type QuiverClient } from '@quiver/core';
import type { BestTracker } from './monitor.js';

/** Aliases the callback itself puts on every checkpoint; they do not protect a version from retention. */
function isAutomaticAlias(alias: string): boolean {
  return alias === LATEST_ALIAS || /^(epoch|step)-\d+$/.test(alias);
}

function scoreOf(version: ArtifactVersion): number | undefined {
  const score = version.metadata.score;
  return typeof score === 'number' ? score : undefined;
}

/**
 * Deletes checkpoint versions outside the `last` N newest and the `best` N by score, unless they
 * hold an alias someone chose (`best`, `final`, `staging`, …) or are linked in the registry: the
 * versions holding `best` and `final` are always kept in addition to the N. Returns the refs
 * deleted.
 */
export async function pruneCheckpoints(
  client: QuiverClient,
  artifact: { project: string; name: string; entity: string },
  keep: { best?: number; last?: number },
  tracker: BestTracker,
): Promise<string[]> {
  if (keep.best === undefined && keep.last === undefined) return [];
  const versions = await client.versions(artifact.project, artifact.name, artifact.entity);
  // The newest checkpoint always stays: it is `latest`, and the end-of-training state (`final`)
  // is the last one logged. `best` and `final` are chosen aliases, so they are kept in addition.
  const kept = new Set<number>(versions.slice(0, 1).map((version) => version.version));
  if (keep.last !== undefined) for (const version of versions.slice(0, keep.last)) kept.add(version.version);
  if (keep.best !== undefined) {
    const scored = versions.filter((version) => scoreOf(version) !== undefined);
    scored.sort((a, b) => tracker.compare(scoreOf(a)!, scoreOf(b)!));
    for (const version of scored.slice(0, keep.best)) kept.add(version.version);
  }
  const deleted: string[] = [];
  for (const version of versions) {
    if (kept.has(version.version) || !version.aliases.every(isAutomaticAlias)) continue;
    try {
      await client.deleteVersion(version.ref, { force: true });
      deleted.push(version.ref);
    } catch (error) {
      if (!isQuiverError(error, 'E_VERSION_LINKED')) throw error;
    }
  }
  return deleted;
}
