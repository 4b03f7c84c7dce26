import type { Artifact } from './artifact.js';
import { type CommitOptions, commitArtifact } from './artifact-commit.js';
import { ArtifactVersion } from './artifact-version.js';
import { QuiverError } from './contract/errors.js';
import type {
  ArtifactSummary,
  ArtifactVersionInfo,
  EventTopic,
  GcReport,
  HistoryRow,
  LineageGraph,
  QuiverBackendV1,
  QuiverEvent,
  ReadEventsOptions,
  RunInfo,
  StoreVerifyReport,
} from './contract/index.js';
import { assertName } from './names.js';
import { type SyncResult, syncOffline } from './offline/index.js';
import type { SyncOptions } from './offline/sync.js';
import { Paged } from './paged.js';
import { parseRef } from './ref.js';
import { RegistryClient } from './registry-client.js';
import { type OpenStoreOptions, openStore, type Store } from './store.js';

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
    return this.wrap((await this.backend.artifacts.resolve(ref)).version);
  }

  /** Commits a draft without a run (e.g. `quiver artifact put`). */
  async commit(artifact: Artifact, options: CommitOptions): Promise<ArtifactVersion> {
    const { version, deduplicated } = await commitArtifact(this.store, artifact, options);
    return new ArtifactVersion(this.store, version, deduplicated);
  }

  /** Artifacts of every project, or of one. */
  artifacts(filter: { entity?: string; project?: string } = {}): Paged<ArtifactSummary> {
    return new Paged((page) => this.backend.artifacts.list({ ...filter, ...page }));
  }

  /** The backend this client talks to (bound to who acts). */
  get backend(): QuiverBackendV1 {
    return this.store.backend;
  }

  /** Where this client caches downloaded models and files (`<QUIVER_DIR>/cache`). */
  get cacheDir(): string {
    return this.store.cacheDir;
  }

  /**
   * Sends offline bundles to this client's store (a team server): each path is a bundle or a
   * folder of them, default `<QUIVER_DIR>/offline`. Safe to repeat, and to run while a run is still
   * writing its bundle: what the server holds already is not sent again.
   *
   * @example
   * const { reports } = await client.sync();
   */
  sync(paths: readonly string[] = [], options: SyncOptions = {}): Promise<SyncResult> {
    return syncOffline(this.store, paths, options);
  }

  /**
   * Versions of one artifact, newest first. Takes the artifact as a ref without a selector
   * (`'mnist/mlp'`, `'me/mnist/mlp'`) like every other method, or as `(project, name[, entity])`.
   *
   * @example
   * const versions = await client.versions('mnist/mlp'); // same as client.versions('mnist', 'mlp')
   * console.log(versions.map((version) => version.ref)); // [ 'me/mnist/mlp:v1', 'me/mnist/mlp:v0' ]
   */
  versions(ref: string): Paged<ArtifactVersion>;
  /** Versions of `entity/project/name` (entity: the store's default), newest first. */
  versions(project: string, name: string, entity?: string): Paged<ArtifactVersion>;
  versions(refOrProject: string, name?: string, entity?: string): Paged<ArtifactVersion> {
    // Checked when the listing is read, so a bad ref rejects what `await` or `for await` get.
    const locatorOf = () => {
      const artifact =
        name === undefined && entity === undefined
          ? artifactOf(refOrProject)
          : { entity, project: refOrProject, name };
      return {
        entity: assertName(artifact.entity ?? this.backend.principal.entity, 'entity'),
        project: assertName(artifact.project, 'project'),
        name: assertName(artifact.name, 'artifact'),
      };
    };
    return new Paged(async (page) => {
      const locator = locatorOf();
      const result = await this.backend.artifacts.versions(locator, page);
      return { items: result.items.map(this.wrap), next: result.next };
    });
  }

  /** Points `alias` at the version `ref` names, atomically moving it from the version that held it. */
  async setAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.setAlias(ref, alias));
  }

  /** Removes `alias` from the version `ref` names. */
  async removeAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.removeAlias(ref, alias));
  }

  /** Adds the tags `add` to the version `ref` names and removes the tags `remove`. */
  async tag(ref: string, add: readonly string[], remove: readonly string[] = []): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.tag(ref, [...add], [...remove]));
  }

  /**
   * Deletes the version `ref` names; its number is never reused and its blobs go at the next `gc`.
   * Refused while it holds an alias other than `latest` (unless `force`) and while it is linked in
   * the registry; `latest` moves to the newest remaining version.
   */
  async deleteVersion(ref: string, options: { force?: boolean } = {}): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.deleteVersion(ref, options));
  }

  /** Lineage around a version (or a registry version), `depth` hops each way. */
  lineage(ref: string, depth = 3): Promise<LineageGraph> {
    return this.backend.artifacts.lineage(ref, depth);
  }

  /** Runs of every project, or of one, newest first. */
  runs(filter: { entity?: string; project?: string } = {}): Paged<RunInfo> {
    return new Paged((page) => this.backend.runs.list({ ...filter, ...page }));
  }

  /** A run's logged history in step order, page by page (each row has `_step`). */
  history(runId: string): Paged<HistoryRow> {
    return new Paged((page) => this.backend.runs.history(runId, page));
  }

  /** The event log (registry, artifact and run events) after a position, oldest first. */
  events(options: ReadEventsOptions = {}): Promise<QuiverEvent[]> {
    return this.backend.events.read(options);
  }

  /** Delivers unseen events to a named consumer and advances its cursor (see the contract's `consume`). */
  consume(
    consumer: string,
    handler: (events: QuiverEvent[]) => Promise<void>,
    options: { topic?: EventTopic; limit?: number } = {},
  ): Promise<{ delivered: number; cursor: number }> {
    return this.backend.events.consume(consumer, handler, options);
  }

  /** One run by id: config, summary, metric history, artifacts used and logged. */
  async run(id: string): Promise<RunDetails> {
    const info = await this.backend.runs.get(id);
    const [history, inputs, outputs] = await Promise.all([
      this.history(info.id).toArray(),
      this.backend.runs.inputs(info.id),
      this.backend.runs.outputs(info.id),
    ]);
    return { ...info, history, inputs: inputs.map(this.wrap), outputs: outputs.map(this.wrap) };
  }

  /** Re-hashes every blob and checks every manifest (what `quiver verify` runs). */
  verify(options: { onBlob?: (done: number) => void } = {}): Promise<StoreVerifyReport> {
    return this.backend.maintenance.verify(options);
  }

  /**
   * Removes blobs no version references and stale temporary files older than `graceMs`
   * (default {@link DEFAULT_GC_GRACE_MS}); `dryRun` only reports.
   */
  gc(options: { graceMs?: number; dryRun?: boolean } = {}): Promise<GcReport> {
    return this.backend.maintenance.gc(options);
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

/**
 * Opens a client on the store given by options or the environment: a server (`baseUrl` and
 * `apiKey`, `QUIVER_BASE_URL`, `quiver login`), else `QUIVER_DIR` / `QUIVER_DATABASE_URL`.
 */
export async function openClient(options: OpenStoreOptions = {}): Promise<QuiverClient> {
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
