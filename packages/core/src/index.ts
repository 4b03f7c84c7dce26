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
export { ArtifactVersion } from './artifact-version.js';
export {
  type Accounts,
  API_KEY_PREFIX,
  type AttemptOutcome,
  type Automations,
  assertWebhookUrl,
  type ClaimedAutomation,
  DEFAULT_GC_GRACE_MS,
  type EmbeddedBackend,
  IDEMPOTENCY_WINDOW_MS,
  IDENTITY_CACHE_MS,
  type OutboxDelivery,
  outboxSignal,
  parseSecretKey,
  renderTemplate,
  SECRET_ROTATION_OVERLAP_MS,
} from './backends/embedded/index.js';
export {
  openRemoteBackend,
  RemoteBackend,
  type RemoteFetch,
  type RemoteIdentity,
  type RemoteParams,
} from './backends/remote/index.js';
export { DIRECT_HEADER, SIZE_HEADER } from './backends/remote/remote-blob-store.js';
export { ENTITY_HEADER, IDEMPOTENCY_HEADER } from './backends/remote/transport.js';
export { hashChunks } from './blobs/copy-and-hash.js';
export { openClient, QuiverClient, type RunDetails, withClient } from './client.js';
export { ROLES } from './contract/accounts.js';
export { AUTOMATION_TRIGGERS } from './contract/automations.js';
export {
  codeOfHttpStatus,
  httpStatusOf,
  isQuiverError,
  isQuiverErrorCode,
  QuiverError,
  type QuiverErrorCode,
} from './contract/errors.js';
export type * from './contract/index.js';
export type { DownloadProgress, VerifyProblem, VerifyReport } from './download.js';
export { assertEntryPath } from './entry-path.js';
export { ensureFolder, removeCreated } from './folders.js';
export { type FileErrorContext, type FileSide, fileSystemError } from './fs-errors.js';
export { DisabledRun, type InitOptions, init } from './init.js';
export { assertName, LATEST_ALIAS } from './names.js';
export {
  BUNDLE_FILE,
  type BundleInfo,
  findBundles,
  offlineFolder,
  readBundleInfo,
  type SyncOptions,
  type SyncOutcome,
  type SyncProgress,
  type SyncRecord,
  type SyncReport,
  type SyncResult,
  syncOffline,
} from './offline/index.js';
export { Paged } from './paged.js';
export {
  DEFAULT_REGISTRY,
  formatArtifactRef,
  formatParsedRef,
  formatRegistryRef,
  parseArtifactRef,
  parseRef,
} from './ref.js';
export {
  DEFAULT_MAX_OBJECTS,
  type DescribeOptions,
  type ExpandedReference,
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
export {
  type ModelSelector,
  RegistryClient,
  type RegistryVersionSelector,
} from './registry-client.js';
export { type LogArtifactOptions, Run, type UsedModel } from './run.js';
export {
  type Credentials,
  credentialsFile,
  type QuiverMode,
  type RemoteSettings,
  readCredentials,
  resolveStoreSettings,
  type StoreSettings,
  serverKeyOf,
} from './settings.js';
export { type OpenStoreOptions, openEmbeddedStore, openStore, type Store, storeOver } from './store.js';
export {
  API_PREFIX,
  WIRE_OPERATIONS,
  type WireOperation,
  type WireRequest,
  type WireRole,
  wireOperations,
} from './wire/routes.js';
