import type { Selectable } from 'kysely';
import { monotonicFactory } from 'ulidx';
import { QuiverError } from '../../contract/errors.js';
import type {
  EventAction,
  EventTopic,
  JsonValue,
  QuiverEvent,
  ReadEventsOptions,
  RegistryAction,
  RegistryEvent,
} from '../../contract/index.js';
import { automationsOf, enqueueDeliveries, outboxSignal } from './automations.js';
import type { EmbeddedContext as Store } from './context.js';
import type { Executor } from './database/connection.js';
import type { EventTable } from './database/schema.js';

/** Makes event ids; monotonic, so ids made in one process sort in the order they were made. */
export const newUid = monotonicFactory();

/** What a change appends; the log adds id, position, sequence, actor and time. */
export interface EventInput {
  topic: EventTopic;
  action: EventAction;
  entity: string;
  subject: string;
  registry?: string | null;
  /** Internal key of a registered model (its history is kept by it). */
  modelKey?: number | null;
  modelId?: string | null;
  model?: string | null;
  before: JsonValue | null;
  after: JsonValue | null;
}

/** What a registry mutation appends. */
export type RegistryEventInput = Omit<EventInput, 'topic' | 'action'> & {
  action: RegistryAction;
  registry: string;
};

/** Appends events inside a registry transaction; returns the event's sequence. */
export type EventLogger = (event: RegistryEventInput) => Promise<number>;

/** Appends an event inside an event transaction; returns its sequence in its topic. */
export type EventAppender = (event: EventInput) => Promise<number>;

/**
 * Locks the event log's head: one row (`*`), taken by every transaction that may append, so they
 * append one at a time and positions and per-topic sequences are gap-free and in commit order.
 * (Locking all head rows at once could deadlock on PostgreSQL: a multi-row `FOR UPDATE` locks in
 * heap order, which updates change.) On SQLite `BEGIN IMMEDIATE` already serialises writers.
 */
async function lockEventLog(store: Store, trx: Executor): Promise<void> {
  await store.connection
    .forUpdate(trx.selectFrom('event_heads').select('topic').where('topic', '=', '*'))
    .execute();
}

function eventAppender(store: Store, trx: Executor, queued: { count: number }): EventAppender {
  let heads: Map<string, number> | undefined;
  // Each entity's automations, read once per transaction.
  const automations = new Map<string, Awaited<ReturnType<typeof automationsOf>>>();
  return async (event) => {
    // Read under the `*` lock: only its holder writes any head row.
    heads ??= new Map(
      (await trx.selectFrom('event_heads').select(['topic', 'last_sequence']).execute()).map((row) => [
        row.topic,
        Number(row.last_sequence),
      ]),
    );
    const position = (heads.get('*') ?? 0) + 1;
    const sequence = (heads.get(event.topic) ?? 0) + 1;
    heads.set('*', position);
    heads.set(event.topic, sequence);
    const row = {
      position,
      uid: newUid(),
      topic: event.topic,
      sequence,
      action: event.action,
      entity: event.entity,
      actor: store.principal.actor,
      at: new Date().toISOString(),
      subject: event.subject,
      registry: event.registry ?? null,
      model_id: event.modelKey ?? null,
      model_uid: event.modelId ?? null,
      model: event.model ?? null,
    };
    await trx
      .insertInto('events')
      .values({
        ...row,
        before: event.before === null ? null : JSON.stringify(event.before),
        after: event.after === null ? null : JSON.stringify(event.after),
      })
      .execute();
    // The outbox: the webhooks this event causes commit (or roll back) with it.
    let candidates = automations.get(event.entity);
    if (!candidates) {
      candidates = await automationsOf(trx, event.entity);
      automations.set(event.entity, candidates);
    }
    if (candidates.length > 0)
      queued.count += await enqueueDeliveries(trx, candidates, {
        ...row,
        before: event.before,
        after: event.after,
      });
    for (const [topic, last] of [
      ['*', position],
      [event.topic, sequence],
    ] as const) {
      const updated = await trx
        .updateTable('event_heads')
        .set({ last_sequence: last })
        .where('topic', '=', topic)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1)
        throw new Error(`The event log has no head for topic '${topic}'; the store's schema is damaged.`);
    }
    return sequence;
  };
}

/**
 * Runs a write transaction that may append events. Its first statement locks the event log's
 * head, before any other row, so every such transaction takes its locks in one order (head, then
 * artifacts, then blobs) and none can deadlock another.
 */
export async function eventTransaction<T>(
  store: Store,
  work: (trx: Executor, append: EventAppender) => Promise<T>,
): Promise<T> {
  let queued = { count: 0 };
  const result = await store.connection.writeTransaction(async (trx) => {
    // A transaction run again (a dropped PostgreSQL connection) counts afresh.
    queued = { count: 0 };
    await lockEventLog(store, trx);
    return work(trx, eventAppender(store, trx, queued));
  });
  if (queued.count > 0) outboxSignal.emit('enqueued');
  return result;
}

/** Runs a registry mutation: an event transaction whose events are on the `registry` topic. */
export async function registryTransaction<T>(
  store: Store,
  work: (trx: Executor, log: EventLogger) => Promise<T>,
): Promise<T> {
  return eventTransaction(store, (trx, append) =>
    work(trx, (event) => append({ ...event, topic: 'registry' })),
  );
}

type EventRow = Selectable<EventTable>;

function toEvent(row: EventRow): QuiverEvent {
  return {
    id: row.uid,
    position: Number(row.position),
    topic: row.topic as EventTopic,
    sequence: Number(row.sequence),
    action: row.action as EventAction,
    entity: row.entity,
    actor: row.actor,
    at: row.at,
    subject: row.subject,
    registry: row.registry,
    modelId: row.model_uid,
    model: row.model,
    before: row.before === null ? null : (JSON.parse(row.before) as JsonValue),
    after: row.after === null ? null : (JSON.parse(row.after) as JsonValue),
  };
}

/** The history of one registered model (by key, so renames keep it), oldest first. */
export async function modelEvents(store: Store, modelKey: number): Promise<RegistryEvent[]> {
  const rows = await store.connection.db
    .selectFrom('events')
    .selectAll()
    .where('model_id', '=', modelKey)
    .orderBy('position')
    .execute();
  return rows.map(toEvent) as RegistryEvent[];
}

/** Events after a position (or, with `topic`, after a sequence of that topic), oldest first. */
export async function readEvents(db: Executor, options: ReadEventsOptions = {}): Promise<QuiverEvent[]> {
  const after = options.after ?? 0;
  const limit = Math.min(Math.max(1, options.limit ?? 1000), 10_000);
  const query = db.selectFrom('events').selectAll();
  const rows = await (options.topic
    ? query.where('topic', '=', options.topic).where('sequence', '>', after).orderBy('sequence')
    : query.where('position', '>', after).orderBy('position')
  )
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

/** The consumer's row (made on first use), locked until the transaction ends. */
async function lockConsumer(store: Store, trx: Executor, consumer: string, topic: string) {
  await trx
    .insertInto('event_consumers')
    .values({ name: consumer, topic, cursor: 0, updated_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.columns(['name', 'topic']).doNothing())
    .execute();
  return store.connection
    .forUpdate(
      trx
        .selectFrom('event_consumers')
        .select(['cursor', 'lease_token', 'lease_until'])
        .where('name', '=', consumer)
        .where('topic', '=', topic),
    )
    .executeTakeFirstOrThrow();
}

/** True while a batch claimed over HTTP is held (another instance then gets nothing). */
const leaseHeld = (row: { lease_token: string | null; lease_until: string | null }): boolean =>
  row.lease_token !== null && row.lease_until !== null && Date.parse(row.lease_until) > Date.now();

/**
 * Hands the events a named consumer has not seen yet to `handler`, in order, and advances the
 * consumer's cursor in the same transaction. If the handler throws, nothing advances and the same
 * events come again next time; two instances of one consumer never get the same events. Effects
 * written through the handler's `trx` therefore happen exactly once per consumer; external effects
 * should use `event.id` as an idempotency key. Each consumer keeps one cursor per topic (`*`: all).
 */
export async function consumeEvents(
  store: Store,
  consumer: string,
  handler: (events: QuiverEvent[], trx: Executor) => Promise<void>,
  options: { topic?: EventTopic; limit?: number } = {},
): Promise<{ delivered: number; cursor: number }> {
  const topic = options.topic ?? '*';
  return store.connection.writeTransaction(async (trx) => {
    const row = await lockConsumer(store, trx, consumer, topic);
    const cursor = Number(row.cursor);
    // An instance consuming over HTTP holds a batch: this one gets nothing until it ends.
    if (leaseHeld(row)) return { delivered: 0, cursor };
    const events = await readEvents(trx, {
      after: cursor,
      ...(options.topic ? { topic: options.topic } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
    });
    if (events.length === 0) return { delivered: 0, cursor };
    await handler(events, trx);
    const last = events[events.length - 1]!;
    const next = options.topic ? last.sequence : last.position;
    await trx
      .updateTable('event_consumers')
      .set({ cursor: next, updated_at: new Date().toISOString() })
      .where('name', '=', consumer)
      .where('topic', '=', topic)
      .execute();
    return { delivered: events.length, cursor: next };
  });
}

/** A batch of events claimed by a consumer that acknowledges later (over HTTP). */
export interface EventClaim {
  events: QuiverEvent[];
  /** The token that acknowledges or releases the batch; null when nothing was handed out. */
  lease: string | null;
  /** True when another instance of the consumer holds an unexpired lease (nothing was handed out). */
  busy: boolean;
}

/**
 * Claims the events a consumer has not seen yet, for `leaseMs`: a second instance of the consumer
 * gets nothing while the lease lasts, so two instances never get the same batch. The cursor moves
 * only when the batch is acknowledged with its token ({@link ackEvents}); a released or expired
 * lease hands the same events out again.
 */
export async function claimEvents(
  store: Store,
  consumer: string,
  options: { topic?: EventTopic; limit?: number; leaseMs: number },
): Promise<EventClaim> {
  const topic = options.topic ?? '*';
  return store.connection.writeTransaction(async (trx) => {
    const row = await lockConsumer(store, trx, consumer, topic);
    if (leaseHeld(row)) return { events: [], lease: null, busy: true };
    const events = await readEvents(trx, {
      after: Number(row.cursor),
      ...(options.topic ? { topic: options.topic } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
    });
    if (events.length === 0) return { events, lease: null, busy: false };
    const last = events[events.length - 1]!;
    const lease = newUid();
    await trx
      .updateTable('event_consumers')
      .set({
        lease_token: lease,
        lease_until: new Date(Date.now() + options.leaseMs).toISOString(),
        lease_end: options.topic ? last.sequence : last.position,
      })
      .where('name', '=', consumer)
      .where('topic', '=', topic)
      .execute();
    return { events, lease, busy: false };
  });
}

/**
 * Ends a lease: `ack` moves the consumer's cursor past the batch, `release` leaves it (the same
 * events come again). A token that is not the consumer's current lease (another instance claimed
 * after it expired) is `E_ALREADY_EXISTS`: that batch was handed out again.
 */
export async function endEventLease(
  store: Store,
  consumer: string,
  topic: EventTopic | undefined,
  lease: string,
  outcome: 'ack' | 'release',
): Promise<{ cursor: number }> {
  const key = topic ?? '*';
  return store.connection.writeTransaction(async (trx) => {
    const row = await store.connection
      .forUpdate(
        trx
          .selectFrom('event_consumers')
          .select(['cursor', 'lease_token', 'lease_end'])
          .where('name', '=', consumer)
          .where('topic', '=', key),
      )
      .executeTakeFirst();
    if (!row || row.lease_token !== lease)
      throw new QuiverError(
        'E_ALREADY_EXISTS',
        `The lease of consumer '${consumer}' ended and its events were handed out again; handle them idempotently by event id.`,
      );
    const cursor = outcome === 'ack' && row.lease_end !== null ? Number(row.lease_end) : Number(row.cursor);
    await trx
      .updateTable('event_consumers')
      .set({
        cursor,
        lease_token: null,
        lease_until: null,
        lease_end: null,
        updated_at: new Date().toISOString(),
      })
      .where('name', '=', consumer)
      .where('topic', '=', key)
      .execute();
    return { cursor };
  });
}
