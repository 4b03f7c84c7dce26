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
  kind: 'history' | 'commit';
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
    const seq = await done(transaction.objectStore(STORE).add(rest));
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    return seq as number;
  }

  /** Writes a record back (its `seq` kept), e.g. with one more attempt counted. */
  async put(record: OutboxRecord): Promise<void> {
    await done(this.store('readwrite').put(record));
  }

  async remove(seq: number): Promise<void> {
    await done(this.store('readwrite').delete(seq));
  }

  /** The records for a server and user, oldest first. */
  async list(server: string, actor: string): Promise<OutboxRecord[]> {
    const records = (await done(
      this.store('readonly').index(BY_TARGET).getAll([server, actor]),
    )) as OutboxRecord[];
    return records.sort((a, b) => a.seq! - b.seq!);
  }

  close(): void {
    this.db.close();
  }
}
