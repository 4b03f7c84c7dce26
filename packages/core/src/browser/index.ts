/**
 * The Quiver SDK in a browser page: runs with metrics, checkpoints and the registry on a Quiver
 * server ({@link init}, {@link Run}, {@link Artifact}, {@link QuiverClient}), with the options and
 * errors of the Node SDK. Remote mode only, and free of Node built-ins: sign the page in
 * ({@link signIn}) and use its session, or give an API key. What a page could not send is kept in
 * IndexedDB and sent by the next page ({@link OutboxEvent}).
 *
 * @packageDocumentation
 */

export {
  codeOfHttpStatus,
  httpStatusOf,
  isQuiverError,
  isQuiverErrorCode,
  QuiverError,
  type QuiverErrorCode,
} from '../contract/errors.js';
export type * from '../contract/index.js';
export { assertName, LATEST_ALIAS } from '../names.js';
export { Paged } from '../paged.js';
export { formatArtifactRef, formatParsedRef, formatRegistryRef, parseArtifactRef, parseRef } from '../ref.js';
export { type ModelSelector, RegistryClient, type RegistryVersionSelector } from '../registry-client.js';
export { Artifact, type ArtifactOptions, type BytesEntry } from './artifact.js';
export { QuiverClient } from './client.js';
export type { CommitOptions, CommitProgress } from './commit.js';
export {
  type BrowserBackend,
  Connection,
  type ConnectOptions,
  connect,
  type SignInOptions,
  signIn,
  signOut,
} from './connection.js';
export { currentConnection, type InitOptions, init, sendPending } from './init.js';
export type { OutboxRecord } from './outbox.js';
export { type LogArtifactOptions, Run, type RunIdentity } from './run.js';
export type { OutboxEvent, PendingReport } from './sender.js';
export { ArtifactVersion, type ReadProgress } from './version.js';
