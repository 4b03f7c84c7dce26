import { describe, expect, it } from 'vitest';
import { errorFromText } from '../backends/remote/transport.js';
import { QuiverError } from '../contract/errors.js';
import type { AppendHistoryInput } from '../contract/index.js';
import type { Connection } from './connection.js';
import { type Outbox, type OutboxRecord, sortRead } from './outbox.js';
import { Run } from './run.js';
import { type OutboxEvent, Sender } from './sender.js';

// The sender's decisions, over an in-memory outbox (Node has no IndexedDB; the browser tests
// run the real one) and a server that answers as told.

class MemoryOutbox {
  records = new Map<number, OutboxRecord>();
  private next = 1;
  async add(record: OutboxRecord): Promise<number> {
    const seq = this.next++;
    this.records.set(seq, structuredClone({ ...record, seq }));
    return seq;
  }
  async put(record: OutboxRecord): Promise<void> {
    this.records.set(record.seq!, structuredClone(record));
  }
  async remove(seq: number): Promise<void> {
    this.records.delete(seq);
  }
  /** As the IndexedDB outbox: records of another shape are removed and counted. */
  async list(server: string, actor: string): Promise<{ records: OutboxRecord[]; malformed: number }> {
    const { records, malformed } = sortRead(
      [...this.records.values()].filter((record) => record.server === server && record.actor === actor),
    );
    for (const seq of malformed) this.records.delete(seq);
    return { records, malformed: malformed.length };
  }
  close(): void {}
}

const refusal = (status: number) =>
  errorFromText(JSON.stringify({ code: 'E_INVALID_REQUEST', message: `refused (${status})` }), status);
const unreachable = () => new QuiverError('E_UNAVAILABLE', 'Could not reach the Quiver server.');

/** A connection whose appendHistory answers with the next of `answers` (ok when none is left). */
/** The runs the fake server was told to finish, in order. */
const finished: string[] = [];

function connectionAnswering(
  answers: Array<Error | 'ok'>,
  sent: number[],
  refreshSession: () => Promise<boolean> = async () => false,
) {
  return {
    server: 'http://server',
    identity: { actor: 'mia', entity: 'mia', memberships: [] },
    refreshSession,
    backend: {
      runs: {
        heartbeat: async () => undefined,
        finish: async (id: string) => {
          finished.push(id);
          return { id, state: 'finished' };
        },
        get: async (id: string) => ({ id, state: finished.includes(id) ? 'finished' : 'running' }),
        appendHistory: async (_runId: string, input: AppendHistoryInput) => {
          const answer = answers.shift() ?? 'ok';
          if (answer !== 'ok') throw answer;
          sent.push(...input.rows.map((row) => row.step));
        },
      },
    },
  } as unknown as Connection;
}

const rows = (step: number): AppendHistoryInput => ({
  rows: [{ step, metrics: { loss: step } }],
  summary: {},
});

describe('the sender of a page', () => {
  it('keeps what found no server, in order, and sends it first with the next write', async () => {
    const sent: number[] = [];
    const outbox = new MemoryOutbox();
    const events: OutboxEvent[] = [];
    const sender = new Sender(
      connectionAnswering([unreachable()], sent),
      outbox as unknown as Outbox,
      (event) => events.push(event),
    );
    await sender.appendHistory('r1', rows(0)); // stored: done for the caller
    await sender.drain();
    expect(sent).toEqual([]);
    expect([...outbox.records.values()].map((record) => record.label)).toEqual(['metrics of r1']);
    expect(events.map((event) => event.type)).toEqual(['queued', 'kept']);
    await sender.appendHistory('r1', rows(1));
    await sender.drain();
    expect(sent).toEqual([0, 1]);
    expect(outbox.records.size).toBe(0);
  });

  it('drops a write the server refused for good (400) so it blocks nothing; keeps one it asked to wait for (429, 503)', async () => {
    const sent: number[] = [];
    const outbox = new MemoryOutbox();
    const sender = new Sender(
      connectionAnswering([refusal(400), refusal(429), refusal(503)], sent),
      outbox as unknown as Outbox,
    );
    await sender.appendHistory('r1', rows(0));
    await sender.drain();
    expect(outbox.records.size).toBe(0); // 400: dropped
    await sender.appendHistory('r1', rows(1));
    await sender.drain();
    expect(
      [...outbox.records.values()].map((record) => (record.payload as AppendHistoryInput).rows[0]!.step),
    ).toEqual([1]);
    await sender.appendHistory('r1', rows(2)); // 1 is sent again first: 503, kept again
    await sender.drain();
    expect(outbox.records.size).toBe(2);
    await sender.appendHistory('r1', rows(3));
    await sender.drain();
    expect(sent).toEqual([1, 2, 3]);
    expect(outbox.records.size).toBe(0);
  });

  it('goes on when the page handler throws', async () => {
    const sent: number[] = [];
    const sender = new Sender(connectionAnswering([], sent), new MemoryOutbox() as unknown as Outbox, () => {
      throw new Error('the page broke');
    });
    await sender.appendHistory('r1', rows(0));
    await sender.appendHistory('r1', rows(1));
    await sender.drain();
    expect(sent).toEqual([0, 1]);
  });

  it("sends an earlier page's records on start, oldest first, and drops one after five starts could not", async () => {
    const outbox = new MemoryOutbox();
    const base = {
      server: 'http://server',
      actor: 'mia',
      kind: 'history' as const,
      runId: 'old',
      createdAt: 0,
    };
    await outbox.add({ ...base, label: 'a', payload: rows(7), owner: 'gone-page' });
    await outbox.add({ ...base, label: 'b', payload: rows(8), owner: 'gone-page', attempts: 5 });
    // Five starts, but queued an hour ago: a server away for a while loses nothing.
    const recent = Date.now() - 3_600_000;
    await outbox.add({
      ...base,
      label: 'c',
      payload: rows(6),
      owner: 'gone-page',
      attempts: 5,
      createdAt: recent,
    });
    await outbox.add({ ...base, actor: 'ada', label: 'other user', payload: rows(9), owner: 'gone-page' });
    const sent: number[] = [];
    const sender = new Sender(connectionAnswering([], sent), outbox as unknown as Outbox);
    expect(await sender.sendPending()).toEqual({ sent: 2, kept: 0, dropped: 1 });
    expect(sent).toEqual([7, 6]);
    // Another user's work is not sent as this one.
    expect([...outbox.records.values()].map((record) => record.label)).toEqual(['other user']);
  });

  it("stops at a start's first record that finds no server and counts the attempt", async () => {
    const outbox = new MemoryOutbox();
    const base = {
      server: 'http://server',
      actor: 'mia',
      kind: 'history' as const,
      runId: 'old',
      createdAt: 0,
    };
    await outbox.add({ ...base, label: 'a', payload: rows(1), owner: 'gone-page' });
    await outbox.add({ ...base, label: 'b', payload: rows(2), owner: 'gone-page' });
    const sent: number[] = [];
    const sender = new Sender(connectionAnswering([unreachable()], sent), outbox as unknown as Outbox);
    expect(await sender.sendPending()).toEqual({ sent: 0, kept: 2, dropped: 0 });
    expect([...outbox.records.values()].map((record) => record.attempts ?? 0)).toEqual([1, 0]);
    // This page's own work is not held behind them.
    await sender.appendHistory('new', rows(5));
    await sender.drain();
    expect(sent).toEqual([5]);
  });

  it.each([403, 404])(
    'keeps the work when another user signed in to this browser meanwhile (a %i), never sending it as them',
    async (status) => {
      const sent: number[] = [];
      const outbox = new MemoryOutbox();
      const events: OutboxEvent[] = [];
      const switched = new QuiverError('E_UNAUTHORIZED', 'This browser is now signed in as noa, not as mia.');
      const sender = new Sender(
        connectionAnswering([refusal(status)], sent, async () => {
          throw switched;
        }),
        outbox as unknown as Outbox,
        (event) => events.push(event),
      );
      await sender.appendHistory('r1', rows(0));
      await sender.drain();
      expect(sent).toEqual([]);
      expect(outbox.records.size).toBe(1);
      expect(events.at(-1)).toMatchObject({ type: 'kept', error: { code: 'E_UNAUTHORIZED' } });
    },
  );

  it('drops a 404 that the same user gets again after reading the session anew', async () => {
    const sent: number[] = [];
    const outbox = new MemoryOutbox();
    let refreshed = 0;
    const sender = new Sender(
      connectionAnswering([refusal(404), refusal(404)], sent, async () => {
        refreshed++;
        return true;
      }),
      outbox as unknown as Outbox,
    );
    await sender.appendHistory('r1', rows(0));
    await sender.drain();
    expect(refreshed).toBe(1);
    expect(outbox.records.size).toBe(0);
  });

  it('removes records of another shape read back from the outbox, reports them, and sends the rest', async () => {
    const outbox = new MemoryOutbox();
    const base = { server: 'http://server', actor: 'mia', runId: 'old', createdAt: 0, owner: 'gone-page' };
    await outbox.add({ ...base, kind: 'history', label: 'ok', payload: rows(3) });
    await outbox.add({ ...base, kind: 'commit', label: 'no files', payload: { name: 'm', files: 'x' } });
    await outbox.add({ ...base, kind: 'history', label: 'bad count', payload: rows(4), attempts: -1 });
    await outbox.add({ ...base, kind: 'upload' as 'commit', label: 'unknown kind', payload: {} });
    const sent: number[] = [];
    const events: OutboxEvent[] = [];
    const sender = new Sender(connectionAnswering([], sent), outbox as unknown as Outbox, (event) =>
      events.push(event),
    );
    expect(await sender.sendPending()).toEqual({ sent: 1, kept: 0, dropped: 2 });
    expect(sent).toEqual([3]);
    // A kind this version does not know (a newer SDK in another tab wrote it) is left alone.
    expect([...outbox.records.values()].map((record) => record.label)).toEqual(['unknown kind']);
    expect(events.find((event) => event.type === 'dropped')).toMatchObject({ error: { code: 'E_IO' } });
  });

  it('finish() rejects while work is kept, leaving the run open, and sends it when called again', async () => {
    const sent: number[] = [];
    const outbox = new MemoryOutbox();
    const answers: Array<Error | 'ok'> = Array.from({ length: 100 }, unreachable);
    const connection = connectionAnswering(answers, sent);
    const sender = new Sender(connection, outbox as unknown as Outbox);
    const identity = {
      id: 'r1',
      entity: 'mia',
      project: 'p',
      name: 'r1',
      jobType: null,
      group: null,
      tags: [],
      notes: null,
      config: {},
    };
    const run = new Run(connection, sender, identity, { sent: 0, kept: 0, dropped: 0 });
    run.log({ loss: 1 });
    // The metrics, and the run's end behind them: both kept (a next page would send both).
    await expect(run.finish()).rejects.toMatchObject({ code: 'E_UNAVAILABLE', details: { pending: 2 } });
    expect([...outbox.records.values()].map((record) => record.kind)).toEqual(['history', 'finish']);
    await expect(run.finish()).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    expect(finished).not.toContain('r1');
    answers.length = 0; // the server is back
    await expect(run.finish()).resolves.toMatchObject({ state: 'finished' });
    expect(sent).toEqual([0]);
    expect(finished.filter((id) => id === 'r1')).toHaveLength(1);
    expect(outbox.records.size).toBe(0);
    expect(() => run.log({ loss: 2 })).toThrow(/finished/);
  });

  it('two finish() calls at once: neither resolves before the run’s end is on the server', async () => {
    const sent: number[] = [];
    const answers: Array<Error | 'ok'> = Array.from({ length: 100 }, unreachable);
    const connection = connectionAnswering(answers, sent);
    const run = new Run(
      connection,
      new Sender(connection, new MemoryOutbox() as unknown as Outbox),
      {
        id: 'r2',
        entity: 'mia',
        project: 'p',
        name: 'r2',
        jobType: null,
        group: null,
        tags: [],
        notes: null,
        config: {},
      },
      { sent: 0, kept: 0, dropped: 0 },
    );
    run.log({ loss: 1 });
    const outcomes = await Promise.allSettled([run.finish(), run.finish()]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(finished).not.toContain('r2');
    answers.length = 0;
    await expect(run.finish()).resolves.toMatchObject({ state: 'finished' });
    expect(finished.filter((id) => id === 'r2')).toHaveLength(1);
  });
});
