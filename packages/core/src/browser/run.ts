import { QuiverError } from '../contract/errors.js';
import type { JsonObject, MetricSummary, RunInfo } from '../contract/index.js';
import { MetricHistory } from '../metric-history.js';
import { formatParsedRef, parseRef } from '../ref.js';
import type { LogArtifactOptions, RunIdentity } from '../run.js';
import type { Artifact } from './artifact.js';
import { QuiverClient } from './client.js';
import { pendingCommit } from './commit.js';
import type { Connection } from './connection.js';
import { browserGlobals, type PageHideListener } from './dom.js';
import type { PendingReport, Sender } from './sender.js';
import { ArtifactVersion } from './version.js';

/** How often a live run records that it is alive. */
const HEARTBEAT_INTERVAL_MS = 30_000;

export type { LogArtifactOptions, RunIdentity } from '../run.js';

/**
 * A live run in a page: log metrics, log and use artifacts, then `finish()`. Created by `init()`.
 * Metric rows and checkpoints go through the page's outbox: kept in IndexedDB until the server
 * took them, and sent by the next page when this one closes first.
 */
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
  readonly disabled = false;
  private readonly history: MetricHistory;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  /** As the page goes away, what was logged since the last batch goes to the outbox. */
  private readonly onPageHide: PageHideListener;
  private finished = false;
  /** The run's end going into the queue (it is queued once, by the first `finish()`). */
  private ending: Promise<void> | undefined;

  /** @internal Use `init()`. */
  constructor(
    readonly connection: Connection,
    private readonly sender: Sender,
    identity: RunIdentity,
    /** What sending the work earlier pages left did, before this run started. */
    readonly resumed: PendingReport,
    metricsFlushMs?: number,
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
    this.history = new MetricHistory(
      {
        backend: { runs: { appendHistory: (runId, input) => sender.appendHistory(runId, input) } },
        ...(metricsFlushMs !== undefined ? { metricsFlushMs } : {}),
      },
      this.id,
    );
    this.heartbeat = setInterval(() => {
      void connection.backend.runs.heartbeat(this.id).catch(() => undefined);
    }, HEARTBEAT_INTERVAL_MS);
    // The step being logged is closed too, unless the page may come back (the back/forward
    // cache) and go on logging it.
    this.onPageHide = (event) =>
      void this.history.flush({ closeStep: !event.persisted, now: true }).catch(() => undefined);
    browserGlobals.addEventListener?.('pagehide', this.onPageHide);
  }

  private assertActive(): void {
    if (this.finished)
      throw new QuiverError('E_RUN_FINISHED', `Run ${this.id} is finished; start another with init().`);
  }

  /** `entity/project/id`, the run's address. */
  get path(): string {
    return `${this.entity}/${this.project}/${this.id}`;
  }

  /** The run's page in the server's web UI. */
  get url(): string {
    const base = this.connection.server.replace(/\/+$/, '');
    return `${base}/projects/${encodeURIComponent(this.entity)}/${encodeURIComponent(this.project)}/runs/${encodeURIComponent(this.id)}`;
  }

  /**
   * Logs metric values at a step. Without `step`, each call is the next step; calls with the same
   * explicit step are merged. Steps never decrease. Values are buffered and sent in batches.
   */
  log(metrics: Record<string, number>, options: { step?: number } = {}): void {
    this.assertActive();
    this.history.log(metrics, options.step);
  }

  /** The last, smallest and largest value of every metric logged so far. */
  get summary(): Record<string, MetricSummary> {
    return this.history.currentSummary;
  }

  /** Sends buffered metrics now. */
  flush(): Promise<void> {
    return this.history.flush();
  }

  /**
   * Commits an artifact draft as a new version produced by this run (or returns the equal
   * existing one). Its bytes are in the outbox before the first byte goes out.
   */
  async logArtifact(artifact: Artifact, options: LogArtifactOptions = {}): Promise<ArtifactVersion> {
    this.assertActive();
    const pending = pendingCommit(this.connection, artifact, {
      entity: this.entity,
      project: this.project,
      runId: this.id,
      ...options,
    });
    const label = [artifact.name, ...pending.aliases].join(' ');
    const { version, deduplicated } = await this.sender.commit(pending, label, options.onProgress);
    return new ArtifactVersion(this.connection, version, deduplicated);
  }

  /**
   * Resolves a ref (`[entity/]project/name[:vN|:alias]`, a bare `name[:…]` in this run's project,
   * or `registry/<model>:<alias>`) and records that this run used that version.
   */
  async useArtifact(ref: string): Promise<ArtifactVersion> {
    this.assertActive();
    const parsed = parseRef(ref.split(':')[0]!.includes('/') ? ref : `${this.entity}/${this.project}/${ref}`);
    const target =
      parsed.kind === 'registry' && !parsed.entity ? `${this.entity}/${ref}` : formatParsedRef(parsed);
    const resolved = await this.connection.backend.runs.recordUse(this.id, target);
    return new ArtifactVersion(this.connection, resolved.version);
  }

  /** A client on this run's connection. */
  client(): QuiverClient {
    return new QuiverClient(this.connection);
  }

  /**
   * Sends metrics and everything queued, and marks the run `finished` (exit code 0) or `failed`:
   * the end is queued behind the run's other work, so it lands after all of it. Where some of it
   * could not be sent (the server is away, the session lapsed) it rejects with `E_UNAVAILABLE`:
   * the work and the end are kept, and sent by `finish()` called again or by the next page.
   */
  async finish(options: { exitCode?: number } = {}): Promise<RunInfo> {
    if (this.finished) return this.connection.backend.runs.get(this.id);
    this.history.stop();
    browserGlobals.removeEventListener?.('pagehide', this.onPageHide);
    await this.history.flush({ closeStep: true });
    // Queued once; every call (two at once too) waits until the end is in the queue.
    this.ending ??= this.sender.finishRun(this.id, options.exitCode ?? 0).catch(() => undefined);
    await this.ending;
    await this.sender.drain();
    const pending = this.sender.pending;
    // The heartbeat goes on until the run's end is on the server: a page that waits is alive.
    if (pending > 0)
      throw new QuiverError(
        'E_UNAVAILABLE',
        `${pending} write${pending === 1 ? '' : 's'} queued in this page (this run's end among them) did not reach the server, so run ${this.id} is not marked finished yet. They are kept in this browser: call finish() again, or the next page sends them and ends the run.`,
        { details: { pending } },
      );
    clearInterval(this.heartbeat);
    this.finished = true;
    return this.connection.backend.runs.get(this.id);
  }
}
