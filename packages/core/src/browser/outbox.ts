/**
 * Work a page has to send to the server, kept in IndexedDB until the server took it: metric rows
 * and checkpoint commits (their bytes included). A page that closes or loses the network keeps
 * what was not sent; the next page on the same origin sends it on start.
 */

import { browserGlobals, type IdbDatabase, type IdbRequest } from './dom.js';

/** One piece of pending work. */
export interface OutboxRecord {
  /** Its place in the queue (set when added). */
  seq?: number;
  /** The server it goes to (`origin` + path). */
  server: string;
  /** The user it was made by: only a page signed in as that user sends it. */
  actor: string;
  /** Metric rows, a version to commit, or the end of a run (sent after the run's other work). */
  kind: 'history' | 'commit' | 'finish';
  runId: string;
  /** What it is, for a page to show (`epoch-3` of `model-abc`). */
  label: string;
  payload: unknown;
  createdAt: number;
  /** The page that queued it (a page holds a Web Lock under this id for as long as it lives). */
  owner?: string;
  /** How many starts of later pages tried to send it. */
  attempts?: number;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown, max = 1024): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;
const isTexts = (value: unknown): boolean => Array.isArray(value) && value.every((item) => isText(item));
const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * True for a record as a page of this version writes it. What is read back from IndexedDB is
 * input too (another version of the SDK, an extension, a damaged profile may have written it): a
 * record of another shape is dropped, never sent or left to block the queue.
 */
export function isWellFormed(record: unknown): record is OutboxRecord {
  if (!isObject(record) || !isCount(record.seq) || !isText(record.label)) return false;
  if (typeof record.runId !== 'string' || record.runId.length > 256) return false;
  if (!Number.isFinite(record.createdAt)) return false;
  if (record.owner !== undefined && !isText(record.owner, 256)) return false;
  if (record.attempts !== undefined && !isCount(record.attempts)) return false;
  const payload = record.payload;
  if (!isObject(payload)) return false;
  if (record.kind === 'history') return Array.isArray(payload.rows) && isObject(payload.summary);
  if (record.kind === 'finish') return Number.isSafeInteger(payload.exitCode);
  if (record.kind !== 'commit') return false;
  return (
    ['entity', 'project', 'name', 'type'].every((key) => isText(payload[key], 256)) &&
    (payload.description === null || typeof payload.description === 'string') &&
    (payload.runId === null || isText(payload.runId, 256)) &&
    isObject(payload.metadata) &&
    isTexts(payload.aliases) &&
    isTexts(payload.tags) &&
    Array.isArray(payload.files) &&
    payload.files.length > 0 &&
    payload.files.every(
      (file: unknown) => isObject(file) && isText(file.path, 4096) && file.bytes instanceof Uint8Array,
    )
  );
}

/** The kinds of record this version writes; another version's kinds are left for it to send. */
const KINDS: ReadonlySet<unknown> = new Set(['history', 'commit', 'finish']);

/**
 * Sorts records read back: well-formed ones (oldest first), and the `seq` of malformed ones to
 * remove. A kind this version does not know was written by a newer SDK (another tab, a cached
 * page): it is in neither, left for that version to send.
 */
export function sortRead(read: unknown[]): { records: OutboxRecord[]; malformed: number[] } {
  const records: OutboxRecord[] = [];
  const malformed: number[] = [];
  for (const record of read) {
    const { kind, seq } = (isObject(record) ? record : {}) as { kind?: unknown; seq?: unknown };
    if (isWellFormed(record)) records.push(record);
    else if (typeof kind === 'string' && !KINDS.has(kind)) continue;
    else if (typeof seq === 'number') malformed.push(seq);
  }
  return { records: records.sort((a, b) => a.seq! - b.seq!), malformed };
}

const DATABASE = 'quiver-outbox';
const STORE = 'records';
/** Records by server and user: a start reads only its own. */
const BY_TARGET = 'by-target';

function done<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The queue in IndexedDB; `open()` gives undefined where there is none (Node, private modes). */
export class Outbox {
  private constructor(private readonly db: IdbDatabase) {}

  static async open(name = DATABASE): Promise<Outbox | undefined> {
    const factory = browserGlobals.indexedDB;
    if (factory === undefined) return undefined;
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
      store.createIndex(BY_TARGET, ['server', 'actor']);
    };
    try {
      return new Outbox(await done(request));
    } catch {
      // Storage refused (a private window, a full quota): the page goes on without a queue.
      return undefined;
    }
  }

  private store(mode: 'readonly' | 'readwrite') {
    return this.db.transaction(STORE, mode, { durability: 'strict' }).objectStore(STORE);
  }

  /** Adds a record; resolves once it is on disk, with its `seq`. */
  async add(record: OutboxRecord): Promise<number> {
    const { seq: _seq, ...rest } = record;
    const transaction = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
    const added = done(transaction.objectStore(STORE).add(rest));
    const committed = new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    // Committed at once, not at the end of this task: a page going away (pagehide) keeps it.
    transaction.commit?.();
    const [seq] = await Promise.all([added, committed]);
    return seq as number;
  }

  /** Writes a record back (its `seq` kept), e.g. with one more attempt counted. */
  async put(record: OutboxRecord): Promise<void> {
    await done(this.store('readwrite').put(record));
  }

  async remove(seq: number): Promise<void> {
    await done(this.store('readwrite').delete(seq));
  }

  /**
   * The records for a server and user, oldest first; `malformed` counts those of another shape,
   * removed (see {@link isWellFormed}). Records of a kind this version does not know are left.
   */
  async list(server: string, actor: string): Promise<{ records: OutboxRecord[]; malformed: number }> {
    const read = (await done(this.store('readonly').index(BY_TARGET).getAll([server, actor]))) as unknown[];
    const { records, malformed } = sortRead(read);
    for (const seq of malformed) await this.remove(seq).catch(() => undefined);
    return { records, malformed: malformed.length };
  }

  close(): void {
    this.db.close();
  }
}
