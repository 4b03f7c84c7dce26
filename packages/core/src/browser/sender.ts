import { httpStatusOfError } from '../backends/remote/transport.js';
import { QuiverError } from '../contract/errors.js';
import type { AppendHistoryInput, CommitResult } from '../contract/index.js';
import { type CommitProgress, type PendingCommit, sendCommit } from './commit.js';
import type { Connection } from './connection.js';
import { browserGlobals } from './dom.js';
import type { Outbox, OutboxRecord } from './outbox.js';

/** What a page can show of the work it sends. `pending` counts what is not on the server yet. */
export type OutboxEvent =
  | { type: 'queued'; kind: OutboxRecord['kind']; label: string; pending: number }
  | { type: 'progress'; kind: 'commit'; label: string; progress: CommitProgress }
  | { type: 'sent'; kind: OutboxRecord['kind']; label: string; pending: number; ref?: string }
  /** Not sent (the server or network is away): kept, and sent again before new work or on the next start. */
  | { type: 'kept'; kind: OutboxRecord['kind']; label: string; pending: number; error: QuiverError }
  /** Refused by the server for good (a bad request, no right), or tried by too many starts: dropped. */
  | { type: 'dropped'; kind: OutboxRecord['kind']; label: string; pending: number; error: QuiverError };

/** What sending the work an earlier page left did. */
export interface PendingReport {
  sent: number;
  kept: number;
  dropped: number;
}

type Work = Pick<OutboxRecord, 'kind' | 'runId' | 'label' | 'payload'>;

interface Item {
  seq: number | undefined;
  record: OutboxRecord;
  settled: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?: (progress: CommitProgress) => void;
}

/**
 * A record no start could send is dropped once both are past: this many starts tried it, and it
 * is this old. Until then a server that is away (a maintenance window, a full disk) loses nothing.
 */
const MAX_ATTEMPTS = 5;
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** The longest label a record keeps (the outbox reads back no longer one). */
const MAX_LABEL = 512;

/**
 * This page's id: records it queued carry it, and its Web Lock tells other pages it is alive.
 * (`getRandomValues`, not `randomUUID`: importing must not fail where a page is not a secure
 * context; `connect()` says what such a page lacks.)
 */
const PAGE = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (byte) =>
  byte.toString(16).padStart(2, '0'),
).join('');
const PAGE_LOCK = (page: string) => `quiver-page:${page}`;
let pageLocked = false;

/** Holds this page's lock for as long as the page lives (the browser releases it after). */
function holdPageLock(): void {
  const locks = browserGlobals.navigator?.locks;
  if (pageLocked || !locks) return;
  pageLocked = true;
  // Let go as the page goes away (a reload, a closed tab), so that the next page takes its work at
  // once; the browser releases it anyway once the page is gone. Not when it goes into the
  // back/forward cache (`persisted`): it may come back and send its queue itself.
  const leaving = new Promise<void>((resolve) =>
    browserGlobals.addEventListener?.('pagehide', (event) => {
      if (!event.persisted) resolve();
    }),
  );
  void locks.request(PAGE_LOCK(PAGE), {}, () => leaving).catch(() => undefined);
}

/** How long a start waits for a page that is going away (a reload) to let go of its lock. */
const PAGE_GONE_WAIT_MS = 5000;

/**
 * Which of `owners` are pages alive now (none, where this browser cannot tell). A page that is
 * being replaced (a reload) may still hold its lock for a moment: waited for, briefly.
 */
async function livePages(owners: Iterable<string>): Promise<Set<string>> {
  const locks = browserGlobals.navigator?.locks;
  const alive = new Set<string>();
  if (!locks) return alive;
  const { held = [] } = await locks.query();
  const holding = new Set(held.map((lock) => lock.name));
  for (const owner of new Set(owners)) {
    if (!holding.has(PAGE_LOCK(owner))) continue;
    const gone = await locks
      .request(PAGE_LOCK(owner), { signal: AbortSignal.timeout(PAGE_GONE_WAIT_MS) }, async () => true)
      .catch(() => false);
    if (!gone) alive.add(owner);
  }
  return alive;
}

/**
 * Failures worth sending again later: no answer, a lapsed session, a server or proxy that failed
 * or asked to wait (408, 429, 5xx). Other refusals (400, 403, 404, 409, 413, …) will not change.
 */
function worthKeeping(error: unknown): boolean {
  if (!(error instanceof QuiverError)) return true;
  const status = httpStatusOfError(error);
  if (status === undefined) return error.code === 'E_UNAVAILABLE' || error.code === 'E_UNAUTHORIZED';
  return status === 401 || status === 408 || status === 429 || status >= 500;
}

function asQuiverError(error: unknown): QuiverError {
  return error instanceof QuiverError
    ? error
    : new QuiverError('E_UNAVAILABLE', String((error as Error)?.message ?? error));
}

/**
 * Sends a page's writes one at a time, in order, each written to the outbox (when there is one)
 * before it goes out and removed once the server took it. A write that could not go out stays at
 * the head: the next write of the page sends it first, and the next page sends what is left.
 */
export class Sender {
  private readonly queue: Item[] = [];
  private running: Promise<void> = Promise.resolve();
  /** Passes of `work` queued or running (a drain with none left starts one for kept work). */
  private scheduled = 0;

  constructor(
    private readonly connection: Connection,
    private readonly outbox: Outbox | undefined,
    private readonly onEvent: (event: OutboxEvent) => void = () => undefined,
  ) {
    if (outbox) holdPageLock();
  }

  /** Work not yet on the server, in this page. */
  get pending(): number {
    return this.queue.length;
  }

  private emit(event: OutboxEvent): void {
    try {
      this.onEvent(event);
    } catch {
      // A page's handler failing must not stop what is being sent.
    }
  }

  /**
   * Metric rows: done once they are in the outbox (the outbox owns them then, so a failed send
   * is not buffered again by the caller); sent in order with the rest.
   */
  appendHistory(runId: string, input: AppendHistoryInput): Promise<void> {
    return this.send(
      { kind: 'history', runId, label: `metrics of ${runId}`, payload: input },
      { settleOnStore: true },
    ) as Promise<void>;
  }

  /**
   * The end of a run, queued behind its other work: done once in the outbox, so that the page
   * that sends the rest (this one or a later one) ends the run too.
   */
  finishRun(runId: string, exitCode: number): Promise<void> {
    return this.send(
      { kind: 'finish', runId, label: `end of ${runId}`, payload: { exitCode } },
      { settleOnStore: true },
    ) as Promise<void>;
  }

  commit(
    pending: PendingCommit,
    label: string,
    onProgress?: (progress: CommitProgress) => void,
  ): Promise<CommitResult> {
    return this.send(
      { kind: 'commit', runId: pending.runId ?? '', label, payload: pending },
      onProgress ? { onProgress } : {},
    ) as Promise<CommitResult>;
  }

  private async send(
    work: Work,
    options: { onProgress?: (progress: CommitProgress) => void; settleOnStore?: boolean },
  ): Promise<unknown> {
    const record: OutboxRecord = {
      ...work,
      // What a page shows: a name and its aliases, cut where there are very many.
      label: work.label.length > MAX_LABEL ? `${work.label.slice(0, MAX_LABEL - 1)}…` : work.label,
      server: this.connection.server,
      actor: this.connection.identity.actor,
      createdAt: Date.now(),
      owner: PAGE,
    };
    // Storage refused (a full quota): the work still goes out, only without a copy to resend.
    const seq = await this.outbox?.add(record).catch(() => undefined);
    const result = new Promise((resolve, reject) => {
      this.queue.push({
        seq,
        record,
        settled: false,
        resolve,
        reject,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      this.emit({ type: 'queued', kind: work.kind, label: work.label, pending: this.queue.length });
      this.kick();
    });
    if (options.settleOnStore && seq !== undefined) {
      result.catch(() => undefined);
      return undefined;
    }
    return result;
  }

  /**
   * Sends what earlier pages of this origin left in the outbox for this server and user: records
   * of pages gone (a live page sends its own), oldest first. One page at a time does it.
   */
  async sendPending(): Promise<PendingReport> {
    const report: PendingReport = { sent: 0, kept: 0, dropped: 0 };
    const outbox = this.outbox;
    if (!outbox) return report;
    const collect = async () => {
      const known = new Set(this.queue.map((item) => item.seq));
      const { records: stored, malformed } = await outbox.list(
        this.connection.server,
        this.connection.identity.actor,
      );
      if (malformed > 0) {
        report.dropped += malformed;
        this.emit({
          type: 'dropped',
          kind: 'commit',
          label: `${malformed} unreadable record${malformed === 1 ? '' : 's'}`,
          pending: this.queue.length,
          error: new QuiverError(
            'E_IO',
            'The page outbox held records of another shape (written by another version, or damaged); they were removed unsent.',
          ),
        });
      }
      const listed = stored.filter((record) => !known.has(record.seq) && record.owner !== PAGE);
      const alive = await livePages(listed.flatMap((record) => (record.owner ? [record.owner] : [])));
      const records = listed.filter((record) => !(record.owner && alive.has(record.owner)));
      for (const record of records) {
        const attempts = (record.attempts ?? 0) + 1;
        if (attempts > MAX_ATTEMPTS && Date.now() - record.createdAt > MAX_AGE_MS) {
          await outbox.remove(record.seq!).catch(() => undefined);
          report.dropped++;
          this.emit({
            type: 'dropped',
            kind: record.kind,
            label: record.label,
            pending: this.queue.length,
            error: new QuiverError(
              'E_UNAVAILABLE',
              `Tried by ${record.attempts} starts of this page over ${Math.floor((Date.now() - record.createdAt) / 86_400_000)} days without reaching the server.`,
            ),
          });
          continue;
        }
        // Counted before it is tried: a page that closes while sending it counts too.
        await outbox.put({ ...record, attempts }).catch(() => undefined);
        const item: Item = {
          seq: record.seq,
          record,
          settled: false,
          resolve: () => undefined,
          reject: () => undefined,
        };
        const outcome = await new Promise<'sent' | 'kept' | 'dropped'>((resolve) => {
          item.resolve = () => resolve('sent');
          item.reject = (error) => resolve(worthKeeping(error) ? 'kept' : 'dropped');
          this.queue.unshift(item);
          this.kick();
        });
        report[outcome]++;
        if (outcome === 'kept') {
          // The server is away: the rest waits for the next start, and this page's own work is
          // not held behind what an earlier page left.
          const index = this.queue.indexOf(item);
          if (index !== -1) this.queue.splice(index, 1);
          report.kept += records.length - records.indexOf(record) - 1;
          break;
        }
      }
    };
    const locks = browserGlobals.navigator?.locks;
    await (locks ? locks.request('quiver-outbox-resume', {}, collect) : collect());
    return report;
  }

  /** Sends what is queued (work kept earlier is tried again); resolves once it was sent or kept. */
  async drain(): Promise<void> {
    if (this.scheduled === 0 && this.queue.length > 0) this.kick();
    await this.running;
  }

  private kick(): void {
    this.scheduled++;
    this.running = this.running
      .catch(() => undefined)
      .then(() => this.work())
      .finally(() => {
        this.scheduled--;
      });
  }

  private deliver(item: Item): Promise<unknown> {
    const { record } = item;
    if (record.kind === 'history')
      return this.connection.backend.runs.appendHistory(record.runId, record.payload as AppendHistoryInput);
    if (record.kind === 'finish')
      return this.connection.backend.runs.finish(record.runId, record.payload as { exitCode: number });
    return sendCommit(this.connection, record.payload as PendingCommit, (progress) => {
      item.onProgress?.(progress);
      this.emit({ type: 'progress', kind: 'commit', label: record.label, progress });
    });
  }

  /**
   * Delivers one item. After a refusal another sign-in may explain (403: a stale CSRF token; 404:
   * another user's session cannot see this user's project) the session is read again once: the
   * same user's new token sends it again, another user's session keeps it (`refreshSession`).
   */
  private async deliverOnce(item: Item): Promise<unknown> {
    try {
      return await this.deliver(item);
    } catch (error) {
      const status = httpStatusOfError(error);
      if ((status !== 403 && status !== 404) || !(await this.connection.refreshSession())) throw error;
      return this.deliver(item);
    }
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      const { kind, label } = item.record;
      try {
        const value = await this.deliverOnce(item);
        this.queue.shift();
        this.settle(item, () => item.resolve(value));
        const ref = (value as CommitResult | undefined)?.version?.ref;
        this.emit({ type: 'sent', kind, label, pending: this.queue.length, ...(ref ? { ref } : {}) });
        if (item.seq !== undefined) await this.outbox?.remove(item.seq).catch(() => undefined);
      } catch (failure) {
        const error = asQuiverError(failure);
        if (worthKeeping(error)) {
          // Kept in order: everything queued waits behind it until the next send or start.
          for (const waiting of this.queue) this.settle(waiting, () => waiting.reject(error));
          this.emit({ type: 'kept', kind, label, pending: this.queue.length, error });
          return;
        }
        this.queue.shift();
        this.settle(item, () => item.reject(error));
        this.emit({ type: 'dropped', kind, label, pending: this.queue.length, error });
        if (item.seq !== undefined) await this.outbox?.remove(item.seq).catch(() => undefined);
      }
    }
  }

  private settle(item: Item, action: () => void): void {
    if (item.settled) return;
    item.settled = true;
    action();
  }
}
