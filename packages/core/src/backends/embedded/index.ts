import { hostname } from 'node:os';
import { join } from 'node:path';
import type {
  ArtifactsApiV1,
  BlobStore,
  EventsApiV1,
  EventTopic,
  MaintenanceApiV1,
  Principal,
  QuiverBackendV1,
  RegistryApiV1,
  RunsApiV1,
} from '../../contract/index.js';
import { assertName } from '../../names.js';
import { createS3Client, type S3Location } from '../../s3/s3-client.js';
import { Accounts } from './accounts.js';
import { deleteVersion, removeAlias, setAlias, tagVersion } from './artifact-mutations.js';
import { entriesByUid, entriesPage, listArtifacts, listVersions } from './artifact-records.js';
import { Automations } from './automations.js';
import { LocalBlobStore } from './blobs/local-blob-store.js';
import { S3BlobStore } from './blobs/s3-blob-store.js';
import { artifactType, commitVersion } from './commit.js';
import type { EmbeddedContext } from './context.js';
import { type DatabaseConnection, type DatabaseLocation, openDatabase } from './database/connection.js';
import {
  claimEvents,
  consumeEvents,
  type EventClaim,
  endEventLease,
  modelEvents,
  readEvents,
} from './events.js';
import { runInputs, runOutputs, walkLineage } from './lineage.js';
import { collectGarbage, verifyStore } from './maintenance.js';
import { linkVersion, removeRegistryAlias, setRegistryAlias, unlinkVersion } from './registry/links.js';
import {
  createModel,
  deleteModel,
  listModels,
  renameModel,
  showModel,
  tagModel,
  updateCard,
} from './registry/registered-models.js';
import { createRegistry, listRegistries } from './registry/registries.js';
import { findModel, resolveRegistryRef } from './registry/registry-records.js';
import { resolveRef } from './resolve-ref.js';
import {
  appendHistory,
  createRun,
  finishRun,
  getRun,
  heartbeat,
  listRuns,
  recordUse,
  runHistory,
  sweepCrashedRuns,
} from './run-records.js';
import { listProjects, runSeries } from './run-series.js';
import { SecretBox } from './secret-box.js';

export { type Accounts, API_KEY_PREFIX, IDENTITY_CACHE_MS } from './accounts.js';
export {
  type AttemptOutcome,
  type Automations,
  assertWebhookUrl,
  type ClaimedAutomation,
  type OutboxDelivery,
  outboxSignal,
  renderTemplate,
  SECRET_ROTATION_OVERLAP_MS,
} from './automations.js';
export { parseSecretKey } from './secret-box.js';

/** How long a server keeps the answer to a write sent with an idempotency key (24 h). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
export type { LocalBlobStore } from './blobs/local-blob-store.js';
export type { S3BlobStore } from './blobs/s3-blob-store.js';
export type { DatabaseConnection } from './database/connection.js';
export { redactUrl } from './database/postgres/connection-errors.js';
export { DigestCache, type FileIdentity } from './digest-cache.js';
export type { EventClaim } from './events.js';
export { DEFAULT_GC_GRACE_MS } from './maintenance.js';

/** Where the embedded backend keeps its data: a folder for blobs, and SQLite in it or PostgreSQL. */
export interface EmbeddedBackendOptions {
  /** The store folder: `blobs/` inside it, and `quiver.db` when no PostgreSQL URL is given. */
  dir: string;
  /** A PostgreSQL URL for the metadata instead of the SQLite file. */
  databaseUrl?: string;
  /** An S3 (or S3-compatible) bucket for the blobs instead of `<dir>/blobs`. */
  s3?: S3Location;
  /** The key that encrypts stored secrets (webhook secrets, bearer tokens); default: `<dir>/secret.key`, made on first use. */
  secretKey?: Uint8Array;
  principal: Principal;
  /** A machine-wide blob folder that equal local blobs are hard-linked with (offline bundles). */
  shareBlobsWith?: string;
}

/**
 * The embedded backend: today's SQL (SQLite or PostgreSQL, by dialect parts) and the local
 * content-addressed blob folder behind the contract. The default backend, and the one the team
 * server runs on.
 */
export class EmbeddedBackend implements QuiverBackendV1 {
  readonly specificationVersion = 'v1';
  readonly runs: RunsApiV1;
  readonly artifacts: ArtifactsApiV1;
  readonly registry: RegistryApiV1;
  readonly events: EventsApiV1;
  readonly maintenance: MaintenanceApiV1;
  /** The team server's users, teams and API keys (not part of the contract: only a server uses them). */
  readonly accounts: Accounts;
  /** The team server's automations and their webhook outbox (not part of the contract, as `accounts`). */
  readonly automations: Automations;
  private readonly context: EmbeddedContext;

  /**
   * An HMAC of `text` under the store's secret key, for `purpose` (a server signs the short-lived
   * URLs it hands out with it, so every replica sharing the key accepts them). Hex.
   */
  sign(purpose: string, text: string): string {
    return this.secrets.mac(purpose, text);
  }

  /** @internal Use {@link openEmbeddedBackend}. */
  constructor(
    /** White-box access for tests and benchmarks; nothing in the SDK or a plugin uses it. */
    readonly connection: DatabaseConnection,
    /** The blob store, local or S3 (white-box access, as `connection`). */
    readonly blobs: BlobStore,
    readonly principal: Principal,
    private readonly secrets: SecretBox,
  ) {
    const context: EmbeddedContext = { connection, blobs, principal, host: hostname() };
    this.context = context;
    this.accounts = new Accounts(connection);
    this.automations = new Automations(connection, secrets, principal);
    this.runs = {
      create: (input) => createRun(context, input),
      heartbeat: (runId) => heartbeat(context, runId),
      appendHistory: (runId, input) => appendHistory(context, runId, input),
      finish: (runId, options) => finishRun(context, runId, options.exitCode, options.crashed === true),
      recordUse: (runId, ref) => recordUse(context, runId, ref),
      get: (runId) => getRun(context, runId),
      list: (options) => listRuns(context, options),
      history: (runId, page) => runHistory(context, runId, page),
      inputs: (runId) => runInputs(context, runId),
      outputs: (runId) => runOutputs(context, runId),
      series: (runId, options) => runSeries(context, runId, options),
      projects: (options) => listProjects(context, options),
    };
    this.artifacts = {
      typeOf: (artifact) =>
        artifactType(connection.db, {
          entity: assertName(artifact.entity ?? principal.entity, 'entity'),
          project: assertName(artifact.project, 'project'),
          name: assertName(artifact.name, 'artifact'),
        }),
      missingBlobs: (list) => blobs.missing(list),
      commit: (input) => commitVersion(context, input),
      resolve: (ref) => resolveRef(context, ref),
      entries: (versionId) => entriesByUid(connection.db, versionId),
      files: (versionId, page) => entriesPage(connection.db, versionId, page),
      list: (options) => listArtifacts(context, options),
      versions: (artifact, page) =>
        listVersions(
          context,
          {
            entity: assertName(artifact.entity ?? principal.entity, 'entity'),
            project: assertName(artifact.project, 'project'),
            name: assertName(artifact.name, 'artifact'),
          },
          page,
        ),
      setAlias: (ref, alias) => setAlias(context, ref, alias),
      removeAlias: (ref, alias) => removeAlias(context, ref, alias),
      tag: (ref, add, remove) => tagVersion(context, ref, add, remove),
      deleteVersion: (ref, options) => deleteVersion(context, ref, options),
      lineage: async (ref, depth) => {
        const resolved = await resolveRef(context, ref);
        return walkLineage(
          context,
          resolved.registryVersion
            ? { registryVersion: resolved.registryVersion }
            : { version: resolved.version },
          depth,
        );
      },
    };
    this.registry = {
      registries: (entity) => listRegistries(context, entity),
      createRegistry: (options) => createRegistry(context, options),
      createModel: (options) => createModel(context, options),
      models: (options) => listModels(context, options),
      model: (locator) => showModel(context, locator),
      rename: (locator, name) => renameModel(context, locator, name),
      updateCard: (locator, card) => updateCard(context, locator, card),
      tag: (locator, add, remove) => tagModel(context, locator, add, remove),
      deleteModel: (locator, options) => deleteModel(context, locator, options),
      link: (sourceRef, target, options) => linkVersion(context, sourceRef, target, options),
      unlink: (ref, options) => unlinkVersion(context, ref, options),
      version: (ref) => resolveRegistryRef(context, ref),
      setAlias: (ref, alias, options) => setRegistryAlias(context, ref, alias, options),
      removeAlias: (locator, alias, options) => removeRegistryAlias(context, locator, alias, options),
      history: async (locator) => {
        const { model } = await findModel(connection.db, context, locator);
        return modelEvents(context, model.id);
      },
    };
    this.events = {
      read: (options) => readEvents(connection.db, options),
      consume: (consumer, handler, options) =>
        consumeEvents(context, consumer, (events) => handler(events), options),
    };
    this.maintenance = {
      verify: (options) => verifyStore(context, options),
      gc: (options) => collectGarbage(context, options),
    };
  }

  /**
   * The position of the newest event in the log (0 when empty). Every write that changes what a
   * ref resolves to appends an event in its own transaction, so an answer computed at one head
   * still holds while the head is unchanged (a server's resolution cache).
   */
  async eventHead(): Promise<number> {
    const row = await this.connection.db
      .selectFrom('event_heads')
      .select('last_sequence')
      .where('topic', '=', '*')
      .executeTakeFirst();
    return Number(row?.last_sequence ?? 0);
  }

  /**
   * The stored answer to a write a user sent with `key`, if it is younger than
   * {@link IDEMPOTENCY_WINDOW_MS} (a server's idempotency keys).
   */
  async idempotentAnswer(
    user: string,
    key: string,
  ): Promise<{ fingerprint: string; status: number; response: string } | undefined> {
    const row = await this.connection.db
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'status', 'response', 'created_at'])
      .where('user_name', '=', user)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row || Date.parse(row.created_at) < Date.now() - IDEMPOTENCY_WINDOW_MS) return undefined;
    return { fingerprint: row.fingerprint, status: Number(row.status), response: row.response };
  }

  /** When expired idempotency answers were last purged (ms); purged at most once a minute. */
  private idempotencyPurgedAt = 0;

  /**
   * Keeps the answer to a write sent with an idempotency key: the first answer wins, unless the
   * one kept is expired. Expired answers are purged at most once a minute.
   */
  async rememberAnswer(
    user: string,
    key: string,
    answer: { fingerprint: string; status: number; response: string },
  ): Promise<void> {
    const now = Date.now();
    const cutoff = new Date(now - IDEMPOTENCY_WINDOW_MS).toISOString();
    if (now - this.idempotencyPurgedAt > 60_000) {
      this.idempotencyPurgedAt = now;
      await this.connection.db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).execute();
    }
    const row = { ...answer, created_at: new Date(now).toISOString() };
    await this.connection.db
      .insertInto('idempotency_keys')
      .values({ user_name: user, key, ...row })
      .onConflict((conflict) =>
        conflict
          .columns(['user_name', 'key'])
          .doUpdateSet(row)
          .where('idempotency_keys.created_at', '<', cutoff),
      )
      .execute();
  }

  /** Records runs whose process died or whose heartbeats stopped as `crashed` (a server's periodic sweep). */
  sweepCrashedRuns(): Promise<number> {
    return sweepCrashedRuns(this.context);
  }

  /** The entity a run belongs to, or undefined when there is no such run (for a server's access checks). */
  async entityOfRun(runId: string): Promise<string | undefined> {
    const row = await this.connection.db
      .selectFrom('runs')
      .select('entity')
      .where('id', '=', runId)
      .executeTakeFirst();
    return row?.entity;
  }

  /** The entity of a version by its id, or undefined when there is none (for a server's access checks). */
  async entityOfVersion(versionId: string): Promise<string | undefined> {
    const row = await this.connection.db
      .selectFrom('artifact_versions as v')
      .innerJoin('artifacts as a', 'a.id', 'v.artifact_id')
      .select('a.entity')
      .where('v.uid', '=', versionId)
      .executeTakeFirst();
    return row?.entity;
  }

  /** Claims a consumer's next events under a lease (a server's consume over HTTP; see `endEventLease`). */
  claimEvents(
    consumer: string,
    options: { topic?: EventTopic; limit?: number; leaseMs: number },
  ): Promise<EventClaim> {
    return claimEvents(this.context, consumer, options);
  }

  /** Acknowledges (cursor moves past the batch) or releases (it comes again) a claimed batch. */
  endEventLease(
    consumer: string,
    topic: EventTopic | undefined,
    lease: string,
    outcome: 'ack' | 'release',
  ): Promise<{ cursor: number }> {
    return endEventLease(this.context, consumer, topic, lease, outcome);
  }

  /** Where a named consumer has read to (0 before its first batch). */
  async consumerCursor(consumer: string, topic: EventTopic | undefined): Promise<{ cursor: number }> {
    const row = await this.connection.db
      .selectFrom('event_consumers')
      .select('cursor')
      .where('name', '=', consumer)
      .where('topic', '=', topic ?? '*')
      .executeTakeFirst();
    return { cursor: row ? Number(row.cursor) : 0 };
  }

  withPrincipal(principal: Principal): EmbeddedBackend {
    return new EmbeddedBackend(this.connection, this.blobs, principal, this.secrets);
  }

  close(): Promise<void> {
    return this.context.connection.close();
  }
}

/** Opens (creating and migrating on first use) the embedded backend for `principal`. */
export async function openEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  const location: DatabaseLocation = options.databaseUrl
    ? { postgresUrl: options.databaseUrl }
    : { sqliteFile: join(options.dir, 'quiver.db') };
  const connection = await openDatabase(location);
  const secrets = new SecretBox(
    options.secretKey ? { key: Buffer.from(options.secretKey) } : { file: join(options.dir, 'secret.key') },
  );
  let blobs: BlobStore;
  try {
    blobs = options.s3
      ? new S3BlobStore(await createS3Client(options.s3), options.s3, {
          seal: (sha256, size) => secrets.mac('blob-seal', `${sha256}:${size}`),
        })
      : new LocalBlobStore(
          join(options.dir, 'blobs'),
          options.shareBlobsWith ? { shareWith: options.shareBlobsWith } : {},
        );
  } catch (error) {
    await connection.close();
    throw error;
  }
  return new EmbeddedBackend(connection, blobs, options.principal, secrets);
}
