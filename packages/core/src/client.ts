import type { Artifact } from './artifact.js';
import { type CommitOptions, commitArtifact } from './artifact-commit.js';
import { deleteVersion, removeAlias, setAlias, tagVersion } from './artifact-mutations.js';
import {
  type ArtifactSummary,
  type ArtifactVersionInfo,
  listArtifacts,
  listVersions,
} from './artifact-records.js';
import { ArtifactVersion } from './artifact-version.js';
import { type LineageGraph, runInputs, runOutputs, walkLineage } from './lineage.js';
import { collectGarbage, type GcReport, type StoreVerifyReport, verifyStore } from './maintenance.js';
import { assertName } from './names.js';
import { RegistryClient } from './registry/registry-client.js';
import { resolveRef, resolveVersion } from './resolve-ref.js';
import { getRun, listRuns, type RunInfo, runHistory } from './run-records.js';
import type { StoreSettings } from './settings.js';
import { openStore, type Store } from './store.js';

/** Everything `quiver run show` prints about a run. */
export interface RunDetails extends RunInfo {
  history: Array<Record<string, number>>;
  inputs: ArtifactVersion[];
  outputs: ArtifactVersion[];
}

/**
 * Reads and manages a store outside of a run (what the CLI uses).
 *
 * @example
 * const client = await openClient();
 * const best = await client.artifact('mnist/mlp:best');
 * await best.download('./model');
 */
export class QuiverClient {
  /** The model registry: registries, registered models, links, aliases, cards, history. */
  readonly registry: RegistryClient;

  constructor(readonly store: Store) {
    this.registry = new RegistryClient(store);
  }

  private wrap = (info: ArtifactVersionInfo): ArtifactVersion => new ArtifactVersion(this.store, info);

  /** The version a ref resolves to (a registry ref is followed to the version it bookmarks). */
  async artifact(ref: string): Promise<ArtifactVersion> {
    return this.wrap(await resolveVersion(this.store, ref));
  }

  /** Commits a draft without a run (e.g. `quiver artifact put`). */
  async commit(artifact: Artifact, options: CommitOptions): Promise<ArtifactVersion> {
    const { version, deduplicated } = await commitArtifact(this.store, artifact, options);
    return new ArtifactVersion(this.store, version, deduplicated);
  }

  /** Artifacts of every project, or of one. */
  artifacts(filter: { entity?: string; project?: string } = {}): Promise<ArtifactSummary[]> {
    return listArtifacts(this.store, filter);
  }

  /** Versions of one artifact, newest first. */
  async versions(
    project: string,
    name: string,
    entity = this.store.settings.entity,
  ): Promise<ArtifactVersion[]> {
    return (
      await listVersions(
        this.store,
        assertName(entity, 'entity'),
        assertName(project, 'project'),
        assertName(name, 'artifact'),
      )
    ).map(this.wrap);
  }

  async setAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await setAlias(this.store, ref, alias));
  }

  async removeAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await removeAlias(this.store, ref, alias));
  }

  async tag(ref: string, add: readonly string[], remove: readonly string[] = []): Promise<ArtifactVersion> {
    return this.wrap(await tagVersion(this.store, ref, add, remove));
  }

  async deleteVersion(ref: string, options: { force?: boolean } = {}): Promise<ArtifactVersion> {
    return this.wrap(await deleteVersion(this.store, ref, options));
  }

  /** Lineage around a version (or a registry version), `depth` hops each way. */
  async lineage(ref: string, depth = 3): Promise<LineageGraph> {
    const resolved = await resolveRef(this.store, ref);
    return walkLineage(
      this.store,
      resolved.registryVersion
        ? { registryVersion: resolved.registryVersion }
        : { version: resolved.version },
      depth,
    );
  }

  runs(filter: { entity?: string; project?: string } = {}): Promise<RunInfo[]> {
    return listRuns(this.store, filter);
  }

  async run(id: string): Promise<RunDetails> {
    const info = await getRun(this.store, id);
    const [history, inputs, outputs] = await Promise.all([
      runHistory(this.store, info.id),
      runInputs(this.store, info.id),
      runOutputs(this.store, info.id),
    ]);
    return { ...info, history, inputs: inputs.map(this.wrap), outputs: outputs.map(this.wrap) };
  }

  verify(options: { onBlob?: (done: number) => void } = {}): Promise<StoreVerifyReport> {
    return verifyStore(this.store, options);
  }

  gc(options: { graceMs?: number; dryRun?: boolean } = {}): Promise<GcReport> {
    return collectGarbage(this.store, options);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Opens a client on the store given by options or `QUIVER_DIR` / `QUIVER_DATABASE_URL`. */
export async function openClient(options: Partial<StoreSettings> = {}): Promise<QuiverClient> {
  return new QuiverClient(await openStore(options));
}

/**
 * Runs `work` with a client on `store`, or, without one, on the store `QUIVER_DIR` /
 * `QUIVER_DATABASE_URL` name, opened for it and closed afterwards.
 */
export async function withClient<T>(
  store: Store | undefined,
  work: (client: QuiverClient) => Promise<T>,
): Promise<T> {
  const client = store ? new QuiverClient(store) : await openClient();
  try {
    return await work(client);
  } finally {
    if (!store) await client.close();
  }
}
