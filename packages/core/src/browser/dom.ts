/**
 * The few browser APIs the page client uses, typed here: the SDK compiles without the DOM
 * library, so nothing of it can leak into the Node SDK's types.
 */

export interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}

export interface IdbObjectStore {
  add(value: unknown): IdbRequest<unknown>;
  put(value: unknown): IdbRequest<unknown>;
  delete(key: number): IdbRequest<undefined>;
  getAll(): IdbRequest<unknown[]>;
  index(name: string): { getAll(query: unknown): IdbRequest<unknown[]> };
  createIndex(name: string, keyPath: string[]): unknown;
}

export interface IdbTransaction {
  readonly error: unknown;
  objectStore(name: string): IdbObjectStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  /** Commits without waiting for the page's next task (so that it lands while a page goes away). */
  commit?(): void;
}

export interface IdbDatabase {
  transaction(
    store: string,
    mode: 'readonly' | 'readwrite',
    options?: { durability?: 'default' | 'strict' | 'relaxed' },
  ): IdbTransaction;
  createObjectStore(name: string, options: { keyPath: string; autoIncrement: boolean }): IdbObjectStore;
  close(): void;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}

/** The Web Locks API (held locks are released when their page goes away). */
export interface LockManager {
  request<T>(
    name: string,
    options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal },
    callback: () => Promise<T>,
  ): Promise<T>;
  query(): Promise<{ held?: Array<{ name?: string }> }>;
}

/** `persisted`: the page goes into the back/forward cache and may come back. */
export type PageHideListener = (event: { persisted?: boolean }) => void;

interface BrowserGlobals {
  navigator?: { locks?: LockManager };
  addEventListener?: (type: 'pagehide', listener: PageHideListener) => void;
  removeEventListener?: (type: 'pagehide', listener: PageHideListener) => void;
  indexedDB?: { open(name: string, version: number): IdbOpenRequest };
  location?: { host: string; origin: string };
}

/** The page's globals (undefined where there are none, as in Node). */
export const browserGlobals = globalThis as BrowserGlobals;
