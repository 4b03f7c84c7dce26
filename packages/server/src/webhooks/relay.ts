import { performance } from 'node:perf_hooks';
import {
  type AttemptOutcome,
  type Automations,
  type ClaimedAutomation,
  isQuiverError,
  type OutboxDelivery,
  outboxSignal,
} from '@quiver/core';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import type { EgressPolicy } from './egress.js';

/** How a relay delivers (every figure has a default a production server keeps). */
export interface RelayOptions {
  /** The first retry's delay; each next one is 4 × longer, ± 20 % jitter (default 5 s). */
  retryBaseMs?: number;
  /** Attempts of one delivery before the automation is disabled (default 8: about 7.5 h of retries). */
  maxAttempts?: number;
  /** The longest one attempt may take, connect to last byte (default 10 s). */
  timeoutMs?: number;
  /** Automations delivered at once (each one's queue in order; default 8). */
  concurrency?: number;
  /** How often the outbox is checked when nothing woke the relay (other replicas' events; default 500 ms). */
  pollMs?: number;
  /** How long the log keeps webhooks that ended (default 30 days). */
  retentionMs?: number;
  /** How often the log is purged and crashed runs are recorded (default 60 s). */
  housekeepingMs?: number;
  /**
   * How long a claimed automation stays this relay's without a word from it (default 30 s; each
   * recorded attempt extends it). A replica that died holding one is taken over after this long,
   * so it must exceed `timeoutMs`.
   */
  leaseMs?: number;
}

/** What the relay logs through (pino's shape); never a secret, token or URL path. */
export interface RelayLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** The most of a receiver's answer that is read and kept. */
const MAX_RESPONSE_BYTES = 4096;
/** The longest wait a `Retry-After` can ask for that is honoured. */
const MAX_RETRY_AFTER_MS = 6 * 60 * 60 * 1000;
const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `Retry-After` as milliseconds (seconds or an HTTP date), or undefined. */
function retryAfterOf(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** An origin as logs show it: the host only (webhook paths often hold tokens, as Slack's). */
const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid)';
  }
};

/**
 * Delivers the webhook outbox. It claims automations that have a delivery due (under a lease in
 * the database, so with several replicas each automation is delivered by one of them at a time),
 * sends each one's queue in order, signed as Standard Webhooks, and records every attempt before
 * the next one. A failure that may pass (a timeout, a 5xx, a 429) is retried with exponential
 * backoff and jitter, or after `Retry-After`; the queue behind it waits, so order holds. A 410
 * disables the automation at once; running out of attempts disables it and says why.
 */
export class WebhookRelay {
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private readonly housekeepingMs: number;
  private readonly agent: Agent;
  private readonly active = new Map<number, Promise<void>>();
  private stopped = true;
  private wake: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private readonly onEnqueued = () => this.poke();

  constructor(
    private readonly automations: Automations,
    private readonly egress: EgressPolicy,
    private readonly log: RelayLog,
    options: RelayOptions = {},
    /** Records crashed runs (so `run.crashed` automations fire without a read); run once a minute. */
    private readonly sweepCrashedRuns?: () => Promise<unknown>,
  ) {
    this.retentionMs = options.retentionMs ?? 30 * 24 * 60 * 60 * 1000;
    this.housekeepingMs = options.housekeepingMs ?? 60_000;
    this.retryBaseMs = options.retryBaseMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.concurrency = options.concurrency ?? 8;
    this.pollMs = options.pollMs ?? 500;
    this.leaseMs = Math.max(options.leaseMs ?? 30_000, this.timeoutMs + 1000);
    // Every connection resolves through the egress policy: the address checked is the one used.
    this.agent = new Agent({
      connect: { lookup: egress.lookup as never, timeout: this.timeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 4000,
    });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    outboxSignal.on('enqueued', this.onEnqueued);
    this.loop = this.run();
  }

  /** Stops claiming, lets the deliveries in flight finish (their leases are released), closes connections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    outboxSignal.off('enqueued', this.onEnqueued);
    this.poke();
    await this.loop;
    await Promise.allSettled(this.active.values());
    await this.agent.close().catch(() => undefined);
  }

  private poke(): void {
    this.woken = true;
    this.wake?.();
  }

  private async idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
    this.woken = false;
  }

  /** Housekeeping, every `housekeepingMs`: the delivery log's retention, and the crash sweep. */
  private async housekeeping(): Promise<void> {
    if (Date.now() - this.housekeptAt < this.housekeepingMs) return;
    this.housekeptAt = Date.now();
    try {
      await this.automations.purge(new Date(Date.now() - this.retentionMs));
      await this.sweepCrashedRuns?.();
    } catch (error) {
      this.log.warn({ err: error }, 'webhook relay housekeeping failed');
    }
  }

  private housekeptAt = 0;

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.housekeeping();
      const free = this.concurrency - this.active.size;
      if (free > 0) {
        try {
          const claims = await this.automations.claim(free, this.leaseMs, (automation, error) =>
            this.log.warn({ automation, err: error }, 'webhook relay cannot open this automation’s secrets'),
          );
          for (const claimed of claims) {
            const work = this.drain(claimed).finally(() => {
              this.active.delete(claimed.key);
              this.poke();
            });
            this.active.set(claimed.key, work);
          }
        } catch (error) {
          // The database is away: the outbox is still there when it is back.
          this.log.warn({ err: error }, 'webhook relay could not claim deliveries');
          await sleep(Math.min(this.pollMs * 4, 5000));
        }
      }
      await this.idle();
    }
  }

  /** Sends one claimed automation's due deliveries in order, until one must wait or the queue is empty. */
  private async drain(claimed: ClaimedAutomation): Promise<void> {
    try {
      while (!this.stopped) {
        const batch = await this.automations.pending(claimed.key, 50);
        if (batch.length === 0) return;
        for (const delivery of batch) {
          if (this.stopped || Date.parse(delivery.dueAt) > Date.now()) return;
          const outcome = await this.send(claimed, delivery);
          const state = await this.automations.record(claimed, delivery, outcome, this.leaseMs);
          this.log.info(
            {
              automation: claimed.id,
              delivery: delivery.id,
              attempt: delivery.attempts + 1,
              status: outcome.status,
              result: outcome.result,
              target: originOf(claimed.url),
              ms: Math.round(outcome.durationMs),
            },
            outcome.error ? `webhook ${outcome.result}: ${outcome.error}` : `webhook ${outcome.result}`,
          );
          // Lost lease, paused, disabled, or a retry the rest of the queue must wait behind.
          if (state !== 'active' || outcome.result === 'retry' || outcome.result === 'gone') return;
        }
      }
    } catch (error) {
      this.log.warn({ err: error, automation: claimed.id }, 'webhook relay stopped a queue');
    } finally {
      await this.automations.release(claimed).catch(() => undefined);
    }
  }

  private retryOrGiveUp(
    attempt: number,
    base: Omit<AttemptOutcome, 'result'>,
    retryAfterMs?: number,
  ): AttemptOutcome {
    if (attempt >= this.maxAttempts)
      return {
        ...base,
        result: 'failed',
        disable: `Gave up after ${attempt} attempts; the last one: ${base.status ?? base.error}. Fix the receiver, then resume the automation (and redeliver what failed).`,
      };
    const backoff =
      Math.min(this.retryBaseMs * 4 ** (attempt - 1), MAX_BACKOFF_MS) * (0.8 + Math.random() * 0.4);
    const delay = retryAfterMs === undefined ? backoff : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
    return { ...base, result: 'retry', nextAttemptAt: new Date(Date.now() + delay).toISOString() };
  }

  /** One attempt: sign, send through the egress policy, read a bounded answer, classify it. */
  async send(claimed: ClaimedAutomation, delivery: OutboxDelivery): Promise<AttemptOutcome> {
    const attempt = delivery.attempts + 1;
    const startedAt = new Date();
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const signature = claimed.secrets
      .map((secret) => new Webhook(secret).sign(delivery.id, startedAt, delivery.payload))
      .join(' ');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Quiver-Webhooks/1',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(Math.floor(startedAt.getTime() / 1000)),
      'webhook-signature': signature,
    };
    if (claimed.bearerToken !== null) headers.authorization = `Bearer ${claimed.bearerToken}`;
    try {
      // A literal address skips DNS, so the socket's lookup would not see it: checked here.
      await this.egress.addressesOf(new URL(claimed.url).hostname);
      const answer = await request(claimed.url, {
        method: 'POST',
        headers,
        body: delivery.payload,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const chunks: Buffer[] = [];
      let read = 0;
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        read += chunk.length;
        if (read >= MAX_RESPONSE_BYTES) {
          answer.body.destroy();
          break;
        }
      }
      const response = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8').slice(0, 1024);
      const base = {
        startedAt: startedAt.toISOString(),
        durationMs: elapsed(),
        status: answer.statusCode,
        response,
      };
      const status = answer.statusCode;
      if (status >= 200 && status < 300) return { ...base, error: null, result: 'delivered' };
      if (status === 410) return { ...base, error: 'the receiver answered 410 Gone', result: 'gone' };
      if (status >= 300 && status < 400)
        return {
          ...base,
          error: `the receiver answered ${status} (a redirect, not followed); point the automation at the final URL`,
          result: 'failed',
        };
      if (status === 429 || status >= 500)
        return this.retryOrGiveUp(
          attempt,
          { ...base, error: null },
          retryAfterOf(answer.headers['retry-after']),
        );
      return { ...base, error: `the receiver refused it with ${status}`, result: 'failed' };
    } catch (error) {
      const base = {
        startedAt: startedAt.toISOString(),
        durationMs: elapsed(),
        status: null,
        response: null,
      };
      if (isQuiverError(error) && error.code === 'E_TARGET_REFUSED')
        return { ...base, error: error.message, result: 'failed' };
      const cause = (error as { cause?: unknown }).cause;
      if (isQuiverError(cause) && cause.code === 'E_TARGET_REFUSED')
        return { ...base, error: cause.message, result: 'failed' };
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
      return this.retryOrGiveUp(attempt, { ...base, error: `no answer (${code})` });
    }
  }
}
