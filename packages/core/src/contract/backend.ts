import type { BlobStore } from './blob-store.js';
import type {
  ArtifactSummary,
  ArtifactVersionInfo,
  CreateModelOptions,
  CreateRegistryOptions,
  EventTopic,
  GcReport,
  HistoryRow,
  JsonObject,
  LineageGraph,
  LinkOptions,
  LinkResult,
  ListModelsOptions,
  ManifestEntry,
  MetricSummary,
  ModelLocator,
  Page,
  PageRequest,
  Principal,
  ProjectInfo,
  QuiverEvent,
  RegisteredModelDetails,
  RegisteredModelInfo,
  RegistryEvent,
  RegistryInfo,
  RegistryRef,
  RegistryVersionInfo,
  ResolvedRef,
  RunInfo,
  RunSeries,
  SeriesOptions,
  StoreVerifyReport,
} from './records.js';

/** A new run as the client made it: its id is random and made before any store sees it. */
export interface CreateRunInput {
  id: string;
  /** Default: the principal's entity. */
  entity?: string;
  project: string;
  /** Default: a generated name such as `swift-river-3`. */
  name?: string;
  jobType: string | null;
  group: string | null;
  tags: string[];
  notes: string | null;
  config: JsonObject;
  host: string;
  pid: number;
}

/** Steps of metric history to store (upserted by step, so sending them again is safe). */
export interface AppendHistoryInput {
  rows: Array<{ step: number; metrics: Record<string, number> }>;
  summary: Record<string, MetricSummary>;
}

/** A version to commit: its manifest (whose blobs are stored already) and what to record with it. */
export interface CommitVersionInput {
  /** Default: the principal's entity. */
  entity?: string;
  project: string;
  name: string;
  type: string;
  description: string | null;
  metadata: JsonObject;
  manifest: ManifestEntry[];
  /** The run that produced this version. */
  runId: string | null;
  /** Aliases besides `latest`, which the backend moves itself. */
  aliases: string[];
  tags: string[];
}

/** A committed version, and whether its content equalled an existing version's. */
export interface CommitResult {
  version: ArtifactVersionInfo;
  /** True when no new version was created because an existing one has the same manifest digest. */
  deduplicated: boolean;
}

/** Which artifact: `entity` defaults to the principal's. */
export interface ArtifactLocator {
  entity?: string;
  project: string;
  name: string;
}

/** Runs: create, heartbeat, history, finish, lineage of use. */
export interface RunsApiV1 {
  create(input: CreateRunInput): Promise<RunInfo>;
  heartbeat(runId: string): Promise<void>;
  appendHistory(runId: string, input: AppendHistoryInput): Promise<void>;
  /**
   * Marks the run `finished` (exit code 0) or `failed`, once; afterwards returns it as it is.
   * `crashed: true` records instead that it ended without finishing (`quiver sync` of a bundle
   * whose process died), and `exitCode` is ignored.
   */
  finish(runId: string, options: { exitCode: number; crashed?: boolean }): Promise<RunInfo>;
  /** Resolves a ref (artifact or registry) and records that the run used it. */
  recordUse(runId: string, ref: string): Promise<ResolvedRef>;
  get(runId: string): Promise<RunInfo>;
  /** Runs, newest first. */
  list(options: { entity?: string; project?: string } & PageRequest): Promise<Page<RunInfo>>;
  /** Logged steps in step order, each with `_step`. */
  history(runId: string, page?: PageRequest): Promise<Page<HistoryRow>>;
  /** Versions the run used / logged. */
  inputs(runId: string): Promise<ArtifactVersionInfo[]>;
  outputs(runId: string): Promise<ArtifactVersionInfo[]>;
  /** A run's metrics for charts, downsampled to at most `points` per key (see {@link RunSeries}). */
  series(runId: string, options?: SeriesOptions): Promise<RunSeries>;
  /** The projects of an entity (default: the principal's), with their run and artifact counts, newest first. */
  projects(options?: { entity?: string }): Promise<ProjectInfo[]>;
}

/** Artifacts: commits from manifests, refs, entries, listings, aliases, tags, deletes, lineage. */
export interface ArtifactsApiV1 {
  /** The type of an existing artifact, or null when there is none (checked before staging). */
  typeOf(artifact: ArtifactLocator): Promise<string | null>;
  /** Which blobs of a manifest the store does not hold (upload those before committing). */
  missingBlobs(blobs: Array<{ sha256: string; size: number }>): Promise<string[]>;
  /**
   * Creates the next version from a manifest whose blobs are stored, with its aliases, tags and
   * lineage, in one transaction — or returns the existing version with equal content. A blob gone
   * by then (a concurrent gc) is `E_CONCURRENT_GC` and nothing is recorded.
   */
  commit(input: CommitVersionInput): Promise<CommitResult>;
  /** Resolves an artifact ref or a registry ref (followed to the version it bookmarks). */
  resolve(ref: string): Promise<ResolvedRef>;
  /** A version's entries sorted by path, checked against its digest (`E_CORRUPT_MANIFEST`). */
  entries(versionId: string): Promise<ManifestEntry[]>;
  /** A version's entries a page at a time, in path order (only those under `prefix` when given). */
  files(versionId: string, page?: PageRequest & { prefix?: string }): Promise<Page<ManifestEntry>>;
  list(options: { entity?: string; project?: string } & PageRequest): Promise<Page<ArtifactSummary>>;
  /** Versions of one artifact, newest first; corrupt ones are listed with `problem`. */
  versions(artifact: ArtifactLocator, page?: PageRequest): Promise<Page<ArtifactVersionInfo>>;
  setAlias(ref: string, alias: string): Promise<ArtifactVersionInfo>;
  removeAlias(ref: string, alias: string): Promise<ArtifactVersionInfo>;
  tag(ref: string, add: string[], remove: string[]): Promise<ArtifactVersionInfo>;
  deleteVersion(ref: string, options: { force?: boolean }): Promise<ArtifactVersionInfo>;
  /** Lineage around a version or registry version, `depth` hops each way. */
  lineage(ref: string, depth: number): Promise<LineageGraph>;
}

/** The model registry: registries, registered models, links, aliases, cards, history. */
export interface RegistryApiV1 {
  registries(entity?: string): Promise<RegistryInfo[]>;
  createRegistry(options: CreateRegistryOptions): Promise<RegistryInfo>;
  createModel(options: CreateModelOptions): Promise<RegisteredModelInfo>;
  models(options: ListModelsOptions & PageRequest): Promise<Page<RegisteredModelInfo>>;
  model(locator: ModelLocator): Promise<RegisteredModelDetails>;
  rename(locator: ModelLocator, name: string): Promise<RegisteredModelInfo>;
  updateCard(locator: ModelLocator, card: string): Promise<RegisteredModelInfo>;
  tag(locator: ModelLocator, add: string[], remove: string[]): Promise<RegisteredModelInfo>;
  deleteModel(locator: ModelLocator, options: { force?: boolean }): Promise<RegisteredModelInfo>;
  link(sourceRef: string, target: ModelLocator, options: LinkOptions): Promise<LinkResult>;
  unlink(ref: RegistryRef, options: { force?: boolean }): Promise<RegistryVersionInfo>;
  version(ref: RegistryRef): Promise<RegistryVersionInfo>;
  setAlias(ref: RegistryRef, alias: string, options: { force?: boolean }): Promise<RegistryVersionInfo>;
  removeAlias(
    locator: ModelLocator,
    alias: string,
    options: { force?: boolean },
  ): Promise<RegistryVersionInfo>;
  /** The audit history of one registered model (kept through renames), oldest first. */
  history(locator: ModelLocator): Promise<RegistryEvent[]>;
}

/** Where to read the event log from: after a `position` (all topics) or after a topic's `sequence`. */
export interface ReadEventsOptions {
  /** Only this topic; `after` is then a sequence number of that topic. */
  topic?: EventTopic;
  /** Exclusive; default 0 (the beginning). */
  after?: number;
  /** Default 1000. */
  limit?: number;
}

/** The one event log: read after a cursor, or consumed by a named consumer with its own cursor. */
export interface EventsApiV1 {
  read(options?: ReadEventsOptions): Promise<QuiverEvent[]>;
  /**
   * Hands a named consumer the events it has not seen yet, in order, and advances its cursor only
   * when `handler` resolves (atomically with it on the embedded backend): a handler that throws
   * gets the same events next time, and two instances of one consumer never get the same events.
   */
  consume(
    consumer: string,
    handler: (events: QuiverEvent[]) => Promise<void>,
    options?: { topic?: EventTopic; limit?: number },
  ): Promise<{ delivered: number; cursor: number }>;
}

/** Checks and clean-up of the store. */
export interface MaintenanceApiV1 {
  /** Re-hashes every blob and checks every manifest. */
  verify(options?: { onBlob?: (done: number) => void }): Promise<StoreVerifyReport>;
  /** Removes blobs no version references and abandoned staging older than `graceMs`. */
  gc(options?: { graceMs?: number; dryRun?: boolean }): Promise<GcReport>;
}

/**
 * Version 1 of the contract under the SDK: what an embedded store, a team server (through the
 * remote client) and an offline spool each implement. Every method acts for {@link principal}
 * (the process's settings never reach a backend). Arguments and results are plain JSON data;
 * errors are `QuiverError`s, which cross a wire by code. The function-valued options (progress
 * callbacks, the consumer's handler) and the bytes of `blobs` are the only things that are not
 * JSON: a wire carries them as streams of their own.
 */
export interface QuiverBackendV1 {
  readonly specificationVersion: 'v1';
  /** Who every call acts for. */
  readonly principal: Principal;
  /** Where the bytes go and come from. */
  readonly blobs: BlobStore;
  readonly runs: RunsApiV1;
  readonly artifacts: ArtifactsApiV1;
  readonly registry: RegistryApiV1;
  readonly events: EventsApiV1;
  readonly maintenance: MaintenanceApiV1;
  /** The same backend (connection, blobs) acting for another principal: a server binds one per request. */
  withPrincipal(principal: Principal): QuiverBackendV1;
  /** Releases the backend's connections (every view made by `withPrincipal` shares them). */
  close(): Promise<void>;
}
