import type { Selectable } from 'kysely';
import type { Executor } from '../database/connection.js';
import type { RegistryEventTable } from '../database/schema.js';
import type { JsonValue } from '../metadata.js';
import type { Store } from '../store.js';

/** Every kind of registry mutation the audit log records. */
export type RegistryAction =
  | 'registry.create'
  | 'model.create'
  | 'model.rename'
  | 'model.card'
  | 'model.tag'
  | 'model.untag'
  | 'model.delete'
  | 'link'
  | 'unlink'
  | 'alias.set'
  | 'alias.move'
  | 'alias.remove';

/** One entry of the audit log. `sequence` is gap-free and in the order mutations committed. */
export interface RegistryEvent {
  sequence: number;
  entity: string;
  registry: string;
  modelId: number | null;
  model: string | null;
  action: RegistryAction;
  actor: string;
  at: string;
  before: JsonValue | null;
  after: JsonValue | null;
}

/** What a mutation appends; the logger adds sequence, actor and time. */
export type RegistryEventInput = Omit<RegistryEvent, 'sequence' | 'actor' | 'at'>;

/** Appends events inside a registry transaction. */
export type EventLogger = (event: RegistryEventInput) => Promise<number>;

/**
 * Runs a registry mutation. The first statement locks the event-log head, so registry mutations
 * apply one at a time (on SQLite `BEGIN IMMEDIATE` already does), and events get consecutive
 * sequence numbers in commit order — which lets consumers follow the log with a plain cursor.
 */
export async function registryTransaction<T>(
  store: Store,
  work: (trx: Executor, log: EventLogger) => Promise<T>,
): Promise<T> {
  return store.connection.writeTransaction(async (trx) => {
    let query = trx.selectFrom('registry_event_head').select('last_sequence').where('id', '=', 1);
    if (store.connection.dialect === 'postgres') query = query.forUpdate();
    let sequence = Number((await query.executeTakeFirstOrThrow()).last_sequence);
    const log: EventLogger = async (event) => {
      sequence++;
      await trx
        .insertInto('registry_events')
        .values({
          sequence,
          entity: event.entity,
          registry: event.registry,
          model_id: event.modelId,
          model: event.model,
          action: event.action,
          actor: store.settings.actor,
          at: new Date().toISOString(),
          before: event.before === null ? null : JSON.stringify(event.before),
          after: event.after === null ? null : JSON.stringify(event.after),
        })
        .execute();
      await trx
        .updateTable('registry_event_head')
        .set({ last_sequence: sequence })
        .where('id', '=', 1)
        .execute();
      return sequence;
    };
    return work(trx, log);
  });
}

type EventRow = Selectable<RegistryEventTable>;

function toEvent(row: EventRow): RegistryEvent {
  return {
    sequence: Number(row.sequence),
    entity: row.entity,
    registry: row.registry,
    modelId: row.model_id,
    model: row.model,
    action: row.action as RegistryAction,
    actor: row.actor,
    at: row.at,
    before: row.before === null ? null : (JSON.parse(row.before) as JsonValue),
    after: row.after === null ? null : (JSON.parse(row.after) as JsonValue),
  };
}

/** The history of one registered model (by id, so renames keep it), oldest first. */
export async function modelEvents(store: Store, modelId: number): Promise<RegistryEvent[]> {
  const rows = await store.connection.db
    .selectFrom('registry_events')
    .selectAll()
    .where('model_id', '=', modelId)
    .orderBy('sequence')
    .execute();
  return rows.map(toEvent);
}

/** Events after `cursor` (exclusive), oldest first. */
export async function readEvents(
  db: Executor,
  options: { after?: number; limit?: number } = {},
): Promise<RegistryEvent[]> {
  const rows = await db
    .selectFrom('registry_events')
    .selectAll()
    .where('sequence', '>', options.after ?? 0)
    .orderBy('sequence')
    .limit(options.limit ?? 1000)
    .execute();
  return rows.map(toEvent);
}

/**
 * Hands the events a named consumer has not seen yet to `handler`, in order, and advances the
 * consumer's cursor in the same transaction. If the handler throws, nothing advances and the same
 * events come again next time; two instances of one consumer never get the same events. Effects
 * written through the handler's `trx` therefore happen exactly once per consumer; external effects
 * should use `event.sequence` as an idempotency key.
 */
export async function consumeEvents(
  store: Store,
  consumer: string,
  handler: (events: RegistryEvent[], trx: Executor) => Promise<void>,
  options: { limit?: number } = {},
): Promise<{ delivered: number; cursor: number }> {
  return store.connection.writeTransaction(async (trx) => {
    await trx
      .insertInto('registry_consumers')
      .values({ name: consumer, cursor: 0, updated_at: new Date().toISOString() })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    let query = trx.selectFrom('registry_consumers').select('cursor').where('name', '=', consumer);
    if (store.connection.dialect === 'postgres') query = query.forUpdate();
    const cursor = Number((await query.executeTakeFirstOrThrow()).cursor);
    const events = await readEvents(trx, {
      after: cursor,
      ...(options.limit ? { limit: options.limit } : {}),
    });
    if (events.length === 0) return { delivered: 0, cursor };
    await handler(events, trx);
    const next = events[events.length - 1]!.sequence;
    await trx
      .updateTable('registry_consumers')
      .set({ cursor: next, updated_at: new Date().toISOString() })
      .where('name', '=', consumer)
      .execute();
    return { delivered: events.length, cursor: next };
  });
}
