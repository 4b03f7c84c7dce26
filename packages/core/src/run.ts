import { join } from 'node:path';
import type { Artifact } from './artifact.js';
import { type CommitProgress, commitArtifact } from './artifact-commit.js';
import { ArtifactVersion } from './artifact-version.js';
import { QuiverClient } from './client.js';
import { QuiverError } from './contract/errors.js';
import type {
  JsonObject,
  MetricSummary,
  QuiverBackendV1,
  RegistryVersionInfo,
  ResolvedRef,
  RunInfo,
} from './contract/index.js';
import type { DownloadProgress } from './download.js';
import { MetricHistory } from './metric-history.js';
import { normalizeRef, RefCache } from './offline/ref-cache.js';
import { SpoolingBackend } from './offline/spooling-backend.js';
import { formatParsedRef, parseRef } from './ref.js';
import type { Store } from './store.js';
import { openStore } from './store.js';

/** How often a live run records that it is alive. */
const HEARTBEAT_INTERVAL_MS = 30_000;

/** Options of {@link Run.logArtifact}. */
export interface LogArtifactOptions {
  /** Aliases for the new version besides `latest` (e.g. `best`). */
  aliases?: readonly string[];
  tags?: readonly string[];
  /** Called as bytes are hashed and stored. */
  onProgress?: (progress: CommitProgress) => void;
}

/** What {@link Run.useModel} returns. */
export interface UsedModel {
  /** The local folder holding the model's files. */
  path: string;
  version: ArtifactVersion;
  metadata: JsonObject;
  /** Set when the ref named a registry version. */
  registryVersion?: RegistryVersionInfo;
}

/** The identity of a run, fixed at `init`. */
export interface RunIdentity {
  id: string;
  entity: string;
  project: string;
  name: string;
  jobType: string | null;
  group: string | null;
  tags: readonly string[];
  notes: string | null;
  config: JsonObject;
}

/** A live run: log metrics, log and use artifacts, then `finish()`. Created by `init()`. */
export class Run implements RunIdentity {
  readonly id: string;
  readonly entity: string;
  readonly project: string;
  readonly name: string;
  readonly jobType: string | null;
  readonly group: string | null;
  readonly tags: readonly string[];
  readonly notes: string | null;
  readonly config: JsonObject;
  /** Always false for a real run; true for the no-op run of `QUIVER_MODE=disabled`. */
  readonly disabled: boolean = false;
  private readonly history: MetricHistory;
  private readonly heartbeat: NodeJS.Timeout;
  private finished = false;

  /** @internal Use `init()`. */
  constructor(
    /** @internal */ readonly store: Store,
    identity: RunIdentity,
    private readonly ownsStore: boolean,
  ) {
    this.id = identity.id;
    this.entity = identity.entity;
    this.project = identity.project;
    this.name = identity.name;
    this.jobType = identity.jobType;
    this.group = identity.group;
    this.tags = identity.tags;
    this.notes = identity.notes;
    this.config = identity.config;
    this.history = new MetricHistory(store, this.id);
    this.heartbeat = setInterval(() => {
      void store.backend.runs.heartbeat(this.id).catch(() => undefined);
    }, HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  private assertActive(): void {
    if (this.finished)
      throw new QuiverError('E_RUN_FINISHED', `Run ${this.id} is finished; start another with init().`);
  }

  /** `entity/project/id`, the run's address. */
  get path(): string {
    return `${this.entity}/${this.project}/${this.id}`;
  }

  /**
   * Logs metric values at a step. Without `step`, each call is the next step; calls with the same
   * explicit step are merged. Steps never decrease. Values are buffered and written in batches.
   */
  log(metrics: Record<string, number>, options: { step?: number } = {}): void {
    this.assertActive();
    this.history.log(metrics, options.step);
  }

  /** The last, smallest and largest value of every metric logged so far. */
  get summary(): Record<string, MetricSummary> {
    return this.history.currentSummary;
  }

  /** Writes buffered metrics now. */
  flush(): Promise<void> {
    return this.history.flush();
  }

  /** Commits an artifact draft as a new version produced by this run (or returns the equal existing one). */
  async logArtifact(artifact: Artifact, options: LogArtifactOptions = {}): Promise<ArtifactVersion> {
    this.assertActive();
    const { version, deduplicated } = await commitArtifact(this.store, artifact, {
      entity: this.entity,
      project: this.project,
      runId: this.id,
      ...options,
    });
    return new ArtifactVersion(this.store, version, deduplicated);
  }

  /**
   * Resolves a ref (`[entity/]project/name[:vN|:alias]`; a bare `name[:…]` means this run's
   * project; a registry ref `registry/<model>:<alias>` is followed to the version it bookmarks)
   * and records that this run used that version.
   */
  async useArtifact(ref: string): Promise<ArtifactVersion> {
    const { target, resolved } = await this.recordUse(ref);
    await this.remember(target, resolved);
    return new ArtifactVersion(this.store, resolved.version);
  }

  /**
   * Uses a model by registry or artifact ref: records lineage, downloads it (verified) into the
   * store's cache (or `dir`), and returns the local folder with the version's metadata.
   *
   * @example
   * const { path, metadata } = await run.useModel('registry/digits:production');
   */
  async useModel(
    ref: string,
    options: { dir?: string; onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<UsedModel> {
    const { target, resolved } = await this.recordUse(ref);
    const version = new ArtifactVersion(this.store, resolved.version);
    const path = await version.download(
      options.dir ?? join(this.store.cacheDir, 'models', resolved.version.digest),
      options,
    );
    await this.remember(target, resolved, path);
    return {
      path,
      version,
      metadata: version.metadata,
      ...(resolved.registryVersion ? { registryVersion: resolved.registryVersion } : {}),
    };
  }

  private async recordUse(ref: string): Promise<{ target: string; resolved: ResolvedRef }> {
    this.assertActive();
    const parsed = parseRef(ref.split(':')[0]!.includes('/') ? ref : `${this.entity}/${this.project}/${ref}`);
    const target =
      parsed.kind === 'registry' && !parsed.entity ? `${this.entity}/${ref}` : formatParsedRef(parsed);
    const resolved = await this.store.backend.runs.recordUse(this.id, target);
    return { target, resolved };
  }

  /**
   * On a server, remembers what `target` resolved to (and where its files were downloaded), so
   * that an offline run on this machine can use it later, pinned to this version.
   */
  private async remember(target: string, resolved: ResolvedRef, folder?: string): Promise<void> {
    if (!this.store.settings.remote) return;
    const entries = await this.store.backend.artifacts.entries(resolved.version.id).catch(() => undefined);
    if (entries)
      // Under the ref with the server's entity, and as written: offline, an unqualified ref is
      // read with the local entity, which may not be the server's.
      new RefCache(this.store.cacheDir).remember(
        [normalizeRef(target, this.store.backend.principal.entity), target],
        resolved,
        entries,
        folder,
      );
  }

  /** A client on this run's store (sharing its connection; closing the run closes it). */
  client(): QuiverClient {
    return new QuiverClient(this.store);
  }

  /** Where this run's store caches downloaded models and files (`<QUIVER_DIR>/cache`). */
  get cacheDir(): string {
    return this.store.cacheDir;
  }

  private async withBackend<T>(work: (backend: QuiverBackendV1) => Promise<T>): Promise<T> {
    if (!this.store.closed) return work(this.store.backend);
    const store = await openStore(this.store.settings);
    try {
      return await work(store.backend);
    } finally {
      await store.close();
    }
  }

  /** Flushes metrics and marks the run `finished` (exit code 0, the default) or `failed`. */
  async finish(options: { exitCode?: number } = {}): Promise<RunInfo> {
    if (this.finished) return this.withBackend((backend) => backend.runs.get(this.id));
    const exitCode = options.exitCode ?? 0;
    this.history.stop();
    clearInterval(this.heartbeat);
    await this.history.flush({ closeStep: true });
    this.finished = true;
    const info = await this.store.backend.runs.finish(this.id, { exitCode });
    const backend = this.store.backend;
    if (backend instanceof SpoolingBackend && backend.spooled) {
      // Spooled while the server was away: send it now if the server is back.
      const report = await backend.sendSpool().catch(() => undefined);
      if (!report?.complete)
        process.stderr.write(
          `quiver: run ${this.id} is kept offline in ${backend.spoolPath}; run 'quiver sync' when the server is back.\n`,
        );
    }
    if (this.ownsStore) await this.store.close();
    return info;
  }
}
