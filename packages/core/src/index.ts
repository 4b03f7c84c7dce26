/**
 * The Quiver SDK: runs with metrics ({@link init}, {@link Run}), versioned content-addressed
 * artifacts with aliases and tags ({@link Artifact}, {@link ArtifactVersion}), lineage, and the model
 * registry, on an embedded store (SQLite + a local blob directory) or PostgreSQL. Outside a run,
 * {@link openClient} gives a {@link QuiverClient}; refs are parsed by {@link parseRef}; every error is
 * a {@link QuiverError} with a stable code.
 *
 * @packageDocumentation
 */
export { Artifact, type ArtifactOptions, type DraftEntry } from './artifact.js';
export type { CommitOptions, CommitProgress } from './artifact-commit.js';
export type { ArtifactSummary, ArtifactVersionInfo } from './artifact-records.js';
export { ArtifactVersion } from './artifact-version.js';
export { hashChunks } from './blobs/copy-and-hash.js';
export { openClient, QuiverClient, type RunDetails, withClient } from './client.js';
export type { DownloadProgress, VerifyProblem, VerifyReport } from './download.js';
export { assertEntryPath } from './entry-path.js';
export {
  codeOfHttpStatus,
  httpStatusOf,
  isQuiverError,
  isQuiverErrorCode,
  QuiverError,
  type QuiverErrorCode,
} from './errors.js';
export { ensureFolder, removeCreated } from './folders.js';
export { type FileErrorContext, type FileSide, fileSystemError } from './fs-errors.js';
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
export {
  type ArtifactRef,
  DEFAULT_REGISTRY,
  formatArtifactRef,
  formatParsedRef,
  formatRegistryRef,
  type ParsedRef,
  parseArtifactRef,
  parseRef,
  type RegistryRef,
} from './ref.js';
export {
  formatHfUri,
  type HfLocation,
  hubConnection,
  hubError,
  parseHfUri,
  type ReferenceDescription,
  type ReferenceHandler,
  type RetryOptions,
  registerReferenceHandler,
  retryingFetch,
} from './references/index.js';
export type { RegistryAction, RegistryEvent } from './registry/events.js';
export type { LinkOptions, LinkResult } from './registry/links.js';
export type {
  CreateModelOptions,
  ListModelsOptions,
  RegisteredModelDetails,
} from './registry/registered-models.js';
export type { CreateRegistryOptions, RegistryInfo } from './registry/registries.js';
export {
  type ModelSelector,
  RegistryClient,
  type RegistryVersionSelector,
} from './registry/registry-client.js';
export type { ModelLocator, RegisteredModelInfo, RegistryVersionInfo } from './registry/registry-records.js';
export type { ResolvedRef } from './resolve-ref.js';
export { type LogArtifactOptions, Run, type UsedModel } from './run.js';
export type { MetricSummary, RunInfo, RunState } from './run-records.js';
export { type QuiverMode, resolveStoreSettings, type StoreSettings } from './settings.js';
export { openStore, type Store } from './store.js';
