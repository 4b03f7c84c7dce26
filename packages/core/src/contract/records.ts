/**
 * The records a backend hands out and takes in. Plain JSON data only (strings, numbers, booleans,
 * null, arrays, objects): every one survives `JSON.stringify`/`JSON.parse` unchanged, so each can
 * cross a wire as it is.
 */

/** A JSON value, as stored for metadata, config and event bodies. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, as stored for metadata and config. */
export type JsonObject = { [key: string]: JsonValue };

/** Who acts: the actor recorded in audit logs and events, and the entity (user or team) that unqualified refs and new runs belong to. */
export interface Principal {
  actor: string;
  entity: string;
}

/** One committed entry: a path, the sha256 and size of its content, and the URI of a reference. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  /** Set for references: the object is recorded, not copied into the store. */
  ref?: string;
}

/** What follows `:` — a version number or an alias (`latest` when nothing follows). */
export interface RefSelector {
  /** Set when the selector is `vN`. */
  version?: number;
  /** Set when the selector is an alias (`latest` when no selector was given). */
  alias?: string;
}

/** A parsed artifact ref: `[entity/]project/name[:vN|:alias]`. */
export interface ArtifactRef extends RefSelector {
  entity?: string;
  project: string;
  name: string;
}

/** A parsed registry ref: `[entity/]registry/[registry/]model[:vN|:alias]`. */
export interface RegistryRef extends RefSelector {
  entity?: string;
  /** The registry (`model` when the ref names none). */
  registry: string;
  model: string;
}

/** Either kind of ref, told apart by `kind`. */
export type ParsedRef = ({ kind: 'artifact' } & ArtifactRef) | ({ kind: 'registry' } & RegistryRef);

/** What Quiver knows about one committed version. */
export interface ArtifactVersionInfo {
  /** A stable id made without a server (a ULID): unique across stores, never a database serial. */
  id: string;
  entity: string;
  project: string;
  name: string;
  type: string;
  version: number;
  /** The canonical ref `entity/project/name:vN`. */
  ref: string;
  digest: string;
  description: string | null;
  metadata: JsonObject;
  size: number;
  fileCount: number;
  createdAt: string;
  /** The run that logged this version, if any. */
  producedBy: string | null;
  aliases: string[];
  tags: string[];
  /**
   * Set on versions listed although their stored record cannot be trusted (a changed row): what
   * is wrong. Such a version can be deleted; using it fails with `E_CORRUPT_MANIFEST`.
   */
  problem?: string;
}

/** A row of `artifact ls`: an artifact with its newest version. */
export interface ArtifactSummary {
  entity: string;
  project: string;
  name: string;
  type: string;
  versions: number;
  latest: number | null;
  createdAt: string;
}

/** A run's state. `crashed` is derived: the process died (or stopped sending heartbeats) without finishing. */
export type RunState = 'running' | 'finished' | 'failed' | 'crashed';

/** The summary of one metric: its last value, and the smallest and largest seen. */
export interface MetricSummary {
  last: number;
  min: number;
  max: number;
  step: number;
}

/** What Quiver knows about a run. */
export interface RunInfo {
  /** Random, made by the client before any store sees it (8 characters, as W&B's). */
  id: string;
  entity: string;
  project: string;
  name: string;
  jobType: string | null;
  group: string | null;
  tags: string[];
  notes: string | null;
  config: JsonObject;
  summary: Record<string, MetricSummary>;
  state: RunState;
  exitCode: number | null;
  host: string;
  pid: number;
  createdAt: string;
  heartbeatAt: string;
  finishedAt: string | null;
}

/** One logged step of a run's history: the values logged at it, and `_step`. */
export type HistoryRow = Record<string, number>;

/** Which registered model: entity (default: the principal's), registry (default: `model`), name. */
export interface ModelLocator {
  entity?: string;
  registry?: string;
  model: string;
}

/** A registered model as listings show it: with tags, aliases and version count. */
export interface RegisteredModelInfo {
  /** A stable id (a ULID), kept through renames. */
  id: string;
  entity: string;
  registry: string;
  name: string;
  /** `entity/registry/[registry/]model`. */
  ref: string;
  card: string;
  tags: string[];
  /** Alias → registry version number. */
  aliases: Record<string, number>;
  versionCount: number;
  latest: number | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** A registered model with every version it bookmarks. */
export interface RegisteredModelDetails extends RegisteredModelInfo {
  versions: RegistryVersionInfo[];
}

/** One version of a registered model: a bookmark of a committed artifact version. */
export interface RegistryVersionInfo {
  /** A stable id of the link (a ULID). */
  linkId: string;
  ref: string;
  entity: string;
  registry: string;
  model: string;
  version: number;
  aliases: string[];
  linkedBy: string;
  linkedAt: string;
  /** The artifact version it bookmarks (with its producing run in `producedBy`). */
  source: ArtifactVersionInfo;
}

/** A registry: a named collection of registered models of some artifact types, in one entity. */
export interface RegistryInfo {
  entity: string;
  name: string;
  description: string;
  acceptedTypes: string[];
  protectedAliases: string[];
  createdBy: string;
  createdAt: string;
}

/** Options of creating a registry. */
export interface CreateRegistryOptions {
  name: string;
  entity?: string;
  description?: string;
  /** Artifact types that may be linked (default: `model`). */
  acceptedTypes?: string[];
  /** Aliases that need force to set, move or remove (default: `production`). */
  protectedAliases?: string[];
}

/** Options of creating a registered model. */
export interface CreateModelOptions extends ModelLocator {
  card?: string;
  tags?: string[];
}

/** Filters of listing registered models. */
export interface ListModelsOptions {
  entity?: string;
  registry?: string;
  /** Only models whose name starts with this. */
  prefix?: string;
  /** Only models carrying every one of these tags. */
  tags?: string[];
}

/** Options of linking a version into a registered model. */
export interface LinkOptions {
  /** Aliases for the registry version (e.g. `staging`). */
  aliases?: readonly string[];
  /** Create the registered model if it does not exist. */
  create?: boolean;
  /** Needed to set a protected alias (e.g. `production`). */
  force?: boolean;
}

/** The outcome of a link: the registry version, and whether the link (and the model) is new. */
export interface LinkResult {
  version: RegistryVersionInfo;
  linked: boolean;
  modelCreated: boolean;
}

/** A resolved ref: the artifact version, and the registry version when the ref named one. */
export interface ResolvedRef {
  version: ArtifactVersionInfo;
  registryVersion?: RegistryVersionInfo;
}

/** A node of the lineage graph: a run, an artifact version, or a registry version. */
export type LineageNode =
  | { kind: 'run'; id: string; run: RunInfo }
  | { kind: 'artifact'; id: string; version: ArtifactVersionInfo }
  | { kind: 'registry'; id: string; registryVersion: RegistryVersionInfo };

/** An edge: a run produced a version; a version or registry version was used by a run; a version was linked into the registry. */
export interface LineageEdge {
  from: string;
  to: string;
  relation: 'produced' | 'used' | 'linked';
}

export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

/** Every kind of registry mutation the audit log records. */
export type RegistryAction =
  | 'registry.create'
  | 'model.create'
  | 'model.rename'
  | 'model.card'
  | 'model.tag'
  | 'model.untag'
  | 'model.delete'
  | 'link'
  | 'unlink'
  | 'alias.set'
  | 'alias.move'
  | 'alias.remove';

/** Every kind of artifact change the event log records. */
export type ArtifactAction =
  | 'version.create'
  | 'version.delete'
  | 'version.tag'
  | 'version.untag'
  | 'artifact.alias.set'
  | 'artifact.alias.move'
  | 'artifact.alias.remove';

/** Every run state change the event log records. */
export type RunAction = 'run.finish' | 'run.fail' | 'run.crash';

/** The topics of the one event log. Each numbers its events without gaps (`sequence`). */
export type EventTopic = 'registry' | 'artifacts' | 'runs';

/** Every action of the event log. */
export type EventAction = RegistryAction | ArtifactAction | RunAction;

/**
 * One entry of the event log. `position` numbers every event of the store without gaps, in the
 * order the changes committed; `sequence` numbers the events of one topic the same way (the
 * registry's audit log is topic `registry`).
 */
export interface QuiverEvent {
  /** A stable id (a ULID): an idempotency key for deliveries. */
  id: string;
  position: number;
  topic: EventTopic;
  sequence: number;
  action: EventAction;
  entity: string;
  actor: string;
  at: string;
  /** What the event is about: a version ref, a registered model's ref, or a run's path. */
  subject: string;
  /** Registry events: the registry and the model (by name at the time, and by stable id). */
  registry: string | null;
  modelId: string | null;
  model: string | null;
  before: JsonValue | null;
  after: JsonValue | null;
}

/** An entry of the registry's audit log (topic `registry`). */
export interface RegistryEvent extends QuiverEvent {
  topic: 'registry';
  action: RegistryAction;
  registry: string;
}

/** What `gc` removed (or, with `dryRun`, would remove). */
export interface GcReport {
  blobs: number;
  bytes: number;
  temporaries: number;
  temporaryBytes: number;
  dryRun: boolean;
}

/** One problem `verify` found. */
export interface StoreProblem {
  kind: 'corrupt-blob' | 'missing-blob' | 'corrupt-manifest';
  sha256: string;
  /** Versions (`entity/project/name:vN`) and entry paths affected. */
  affected: Array<{ ref: string; path: string }>;
  detail: string;
}

export interface StoreVerifyReport {
  ok: boolean;
  blobsChecked: number;
  entriesChecked: number;
  problems: StoreProblem[];
}

/** A page of a listing and the cursor of the next one (`null`: this was the last). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Which page to read: the cursor a previous page gave (none: the first), and its size. */
export interface PageRequest {
  cursor?: string | null;
  /** Items per page (a backend caps it; default 100). */
  limit?: number;
}

/** A project of an entity: a name its runs and artifacts share, with how many of each it holds. */
export interface ProjectInfo {
  entity: string;
  name: string;
  runs: number;
  artifacts: number;
  /** The newest run start or artifact creation in it. */
  updatedAt: string;
}

/**
 * One metric of a run as a chart draws it: at most the points asked for. When the run logged
 * more steps than that, the steps are cut into equal buckets and each bucket gives one point:
 * its first step, the mean of its values, and their least and largest (so no spike is lost).
 */
export interface MetricSeries {
  key: string;
  step: number[];
  value: number[];
  min: number[];
  max: number[];
}

/** A run's metrics for charts: every key it logged, and the series asked for. */
export interface RunSeries {
  runId: string;
  /** How many steps the run logged. */
  steps: number;
  /** Every metric key the run logged, sorted. */
  keys: string[];
  /** True when the series are bucketed (more steps than points). */
  downsampled: boolean;
  series: MetricSeries[];
}

/** Options of {@link RunSeries}: which keys (default: every one, up to 50) and how many points each (default 1000, at most 10,000). */
export interface SeriesOptions {
  keys?: string[];
  points?: number;
}
