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
import { QuiverError } from './errors.js';
import { type LineageGraph, runInputs, runOutputs, walkLineage } from './lineage.js';
import { collectGarbage, type GcReport, type StoreVerifyReport, verifyStore } from './maintenance.js';
import { assertName } from './names.js';
import { parseRef } from './ref.js';
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

  /**
   * A client on an open store (see {@link openClient} to open one from options or the environment).
   *
   * @param store the store this client reads and writes; {@link QuiverClient.close} closes it.
   */
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

  /**
   * Versions of one artifact, newest first. Takes the artifact as a ref without a selector
   * (`'mnist/mlp'`, `'me/mnist/mlp'`) like every other method, or as `(project, name[, entity])`.
   *
   * @example
   * const versions = await client.versions('mnist/mlp'); // same as client.versions('mnist', 'mlp')
   * console.log(versions.map((version) => version.ref)); // [ 'me/mnist/mlp:v1', 'me/mnist/mlp:v0' ]
   */
  versions(ref: string): Promise<ArtifactVersion[]>;
  /** Versions of `entity/project/name` (entity: the store's default), newest first. */
  versions(project: string, name: string, entity?: string): Promise<ArtifactVersion[]>;
  async versions(refOrProject: string, name?: string, entity?: string): Promise<ArtifactVersion[]> {
    const artifact =
      name === undefined && entity === undefined
        ? artifactOf(refOrProject)
        : { entity, project: refOrProject, name };
    return (
      await listVersions(
        this.store,
        assertName(artifact.entity ?? this.store.settings.entity, 'entity'),
        assertName(artifact.project, 'project'),
        assertName(artifact.name, 'artifact'),
      )
    ).map(this.wrap);
  }

  /** Points `alias` at the version `ref` names, atomically moving it from the version that held it. */
  async setAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await setAlias(this.store, ref, alias));
  }

  /** Removes `alias` from the version `ref` names. */
  async removeAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await removeAlias(this.store, ref, alias));
  }

  /** Adds the tags `add` to the version `ref` names and removes the tags `remove`. */
  async tag(ref: string, add: readonly string[], remove: readonly string[] = []): Promise<ArtifactVersion> {
    return this.wrap(await tagVersion(this.store, ref, add, remove));
  }

  /**
   * Deletes the version `ref` names; its number is never reused and its blobs go at the next `gc`.
   * Refused while it holds an alias other than `latest` (unless `force`) and while it is linked in
   * the registry; `latest` moves to the newest remaining version.
   */
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

  /** Runs of every project, or of one, newest first. */
  runs(filter: { entity?: string; project?: string } = {}): Promise<RunInfo[]> {
    return listRuns(this.store, filter);
  }

  /** One run by id: config, summary, metric history, artifacts used and logged. */
  async run(id: string): Promise<RunDetails> {
    const info = await getRun(this.store, id);
    const [history, inputs, outputs] = await Promise.all([
      runHistory(this.store, info.id),
      runInputs(this.store, info.id),
      runOutputs(this.store, info.id),
    ]);
    return { ...info, history, inputs: inputs.map(this.wrap), outputs: outputs.map(this.wrap) };
  }

  /** Re-hashes every blob and checks every manifest (what `quiver verify` runs). */
  verify(options: { onBlob?: (done: number) => void } = {}): Promise<StoreVerifyReport> {
    return verifyStore(this.store, options);
  }

  /**
   * Removes blobs no version references and stale temporary files older than `graceMs`
   * (default {@link DEFAULT_GC_GRACE_MS}); `dryRun` only reports.
   */
  gc(options: { graceMs?: number; dryRun?: boolean } = {}): Promise<GcReport> {
    return collectGarbage(this.store, options);
  }

  /** Closes the store's database connection. */
  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * The artifact a ref without a selector names: `project/name` or `entity/project/name`.
 * A selector (`:v3`, `:best`) or a registry ref is refused: `versions()` lists every version.
 */
function artifactOf(ref: string): { entity?: string; project: string; name: string } {
  const parsed = parseRef(ref);
  if (parsed.kind === 'registry') {
    throw new QuiverError(
      'E_INVALID_REF',
      `'${ref}' names a registered model; versions() lists an artifact's versions. Give project/name, or use client.registry.model(...) for a registered model's versions.`,
      { details: { ref } },
    );
  }
  if (typeof ref === 'string' && ref.includes(':')) {
    throw new QuiverError(
      'E_INVALID_REF',
      `'${ref}' names one version; versions() lists them all. Give the artifact without ':…' (e.g. '${ref.slice(0, ref.indexOf(':'))}'), or use client.artifact('${ref}') for that version.`,
      { details: { ref } },
    );
  }
  return { ...(parsed.entity ? { entity: parsed.entity } : {}), project: parsed.project, name: parsed.name };
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
