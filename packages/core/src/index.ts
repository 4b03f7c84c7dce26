export { Artifact, type ArtifactOptions, type DraftEntry } from './artifact.js';
export type { CommitOptions, CommitProgress } from './artifact-commit.js';
export type { ArtifactSummary, ArtifactVersionInfo } from './artifact-records.js';
export { ArtifactVersion } from './artifact-version.js';
export { openClient, QuiverClient, type RunDetails } from './client.js';
export type { DownloadProgress, VerifyProblem, VerifyReport } from './download.js';
export { assertEntryPath } from './entry-path.js';
export { isQuiverError, QuiverError, type QuiverErrorCode } from './errors.js';
export { DisabledRun, type InitOptions, init } from './init.js';
export type { LineageEdge, LineageGraph, LineageNode } from './lineage.js';
export {
  DEFAULT_GC_GRACE_MS,
  type GcReport,
  type StoreProblem,
  type StoreVerifyReport,
} from './maintenance.js';
export type { ManifestEntry } from './manifest.js';
export type { JsonObject, JsonValue } from './metadata.js';
export { LATEST_ALIAS } from './names.js';
export { type ArtifactRef, formatArtifactRef, parseArtifactRef } from './ref.js';
export {
  type ReferenceDescription,
  type ReferenceHandler,
  registerReferenceHandler,
} from './references/index.js';
export { type LogArtifactOptions, Run } from './run.js';
export type { MetricSummary, RunInfo, RunState } from './run-records.js';
export { type QuiverMode, resolveStoreSettings, type StoreSettings } from './settings.js';
export { openStore, type Store } from './store.js';
