import { QuiverError } from '../contract/errors.js';
import type { AppendHistoryInput, CommitResult } from '../contract/index.js';
import { type CommitProgress, type PendingCommit, sendCommit } from './commit.js';
import type { Connection } from './connection.js';
import type { Outbox, OutboxRecord } from './outbox.js';

/** What a page can show of the work it sends. `pending` counts what is not on the server yet. */
export type OutboxEvent =
  | { type: 'queued'; kind: OutboxRecord['kind']; label: string; pending: number }
  | { type: 'progress'; kind: 'commit'; label: string; progress: CommitProgress }
  | { type: 'sent'; kind: OutboxRecord['kind']; label: string; pending: number; ref?: string }
  /** Not sent (the server or network is away): kept, and sent again before new work or on the next start. */
  | { type: 'kept'; kind: OutboxRecord['kind']; label: string; pending: number; error: QuiverError }
  /** Refused by the server for good (a bad request, no right): dropped so it blocks nothing. */
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

/** Failures worth sending again later: nothing answered, the session lapsed, the server failed. */
function worthKeeping(error: unknown): boolean {
  return (
    !(error instanceof QuiverError) || ['E_UNAVAILABLE', 'E_UNAUTHORIZED', 'E_INTERNAL'].includes(error.code)
  );
}

function asQuiverError(error: unknown): QuiverError {
  return error instanceof QuiverError
    ? error
    : new QuiverError('E_UNAVAILABLE', String((error as Error)?.message ?? error));
}

/**
 * Sends a page's writes one at a time, in order, each written to the outbox (when there is one)
 * before it goes out and removed once the server took it.
 */
export class Sender {
  private readonly queue: Item[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly outbox: Outbox | undefined,
    private readonly emit: (event: OutboxEvent) => void = () => undefined,
  ) {}

  /** Work not yet on the server, in this page. */
  get pending(): number {
    return this.queue.length;
  }

  appendHistory(runId: string, input: AppendHistoryInput): Promise<void> {
    return this.send({
      kind: 'history',
      runId,
      label: `metrics of ${runId}`,
      payload: input,
    }) as Promise<void>;
  }

  commit(
    pending: PendingCommit,
    label: string,
    onProgress?: (progress: CommitProgress) => void,
  ): Promise<CommitResult> {
    return this.send(
      { kind: 'commit', runId: pending.runId ?? '', label, payload: pending },
      onProgress,
    ) as Promise<CommitResult>;
  }

  private async send(work: Work, onProgress?: (progress: CommitProgress) => void): Promise<unknown> {
    const record: OutboxRecord = {
      ...work,
      server: this.connection.server,
      actor: this.connection.identity.actor,
      createdAt: Date.now(),
    };
    // Storage refused (a full quota): the work still goes out, only without a copy to resend.
    const seq = await this.outbox?.add(record).catch(() => undefined);
    return new Promise((resolve, reject) => {
      this.queue.push({
        seq,
        record,
        settled: false,
        resolve,
        reject,
        ...(onProgress ? { onProgress } : {}),
      });
      this.emit({ type: 'queued', kind: work.kind, label: work.label, pending: this.queue.length });
      this.kick();
    });
  }

  /** Sends what earlier pages of this origin left in the outbox for this server and user. */
  async sendPending(): Promise<PendingReport> {
    const report: PendingReport = { sent: 0, kept: 0, dropped: 0 };
    if (!this.outbox) return report;
    const known = new Set(this.queue.map((item) => item.seq));
    const records = (await this.outbox.list(this.connection.server, this.connection.identity.actor)).filter(
      (record) => !known.has(record.seq),
    );
    const waits = records.map(
      (record) =>
        new Promise<void>((resolve) => {
          this.queue.push({
            seq: record.seq,
            record,
            settled: false,
            resolve: () => {
              report.sent++;
              resolve();
            },
            reject: (error) => {
              if (worthKeeping(error)) report.kept++;
              else report.dropped++;
              resolve();
            },
          });
        }),
    );
    // Older than anything this page queued: they go first.
    this.queue.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    this.kick();
    await Promise.all(waits);
    return report;
  }

  /** Resolves when everything queued so far was sent or kept. */
  async drain(): Promise<void> {
    await this.running;
  }

  private kick(): void {
    this.running = this.running.then(() => this.work());
  }

  private deliver(item: Item): Promise<unknown> {
    const { record } = item;
    if (record.kind === 'history')
      return this.connection.backend.runs.appendHistory(record.runId, record.payload as AppendHistoryInput);
    return sendCommit(this.connection, record.payload as PendingCommit, (progress) => {
      item.onProgress?.(progress);
      this.emit({ type: 'progress', kind: 'commit', label: record.label, progress });
    });
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      const { kind, label } = item.record;
      try {
        const value = await this.deliver(item);
        this.queue.shift();
        if (item.seq !== undefined) await this.outbox?.remove(item.seq);
        const ref = (value as CommitResult | undefined)?.version?.ref;
        this.emit({ type: 'sent', kind, label, pending: this.queue.length, ...(ref ? { ref } : {}) });
        this.settle(item, () => item.resolve(value));
      } catch (failure) {
        const error = asQuiverError(failure);
        if (worthKeeping(error)) {
          // Kept in order: everything queued waits behind it until the next send or start.
          this.emit({ type: 'kept', kind, label, pending: this.queue.length, error });
          for (const waiting of this.queue) this.settle(waiting, () => waiting.reject(error));
          return;
        }
        this.queue.shift();
        if (item.seq !== undefined) await this.outbox?.remove(item.seq);
        this.emit({ type: 'dropped', kind, label, pending: this.queue.length, error });
        this.settle(item, () => item.reject(error));
      }
    }
  }

  private settle(item: Item, action: () => void): void {
    if (item.settled) return;
    item.settled = true;
    action();
  }
}
