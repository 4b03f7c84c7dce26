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
  delete(key: number): IdbRequest<undefined>;
  getAll(): IdbRequest<unknown[]>;
}

export interface IdbTransaction {
  readonly error: unknown;
  objectStore(name: string): IdbObjectStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

export interface IdbDatabase {
  transaction(
    store: string,
    mode: 'readonly' | 'readwrite',
    options?: { durability?: 'default' | 'strict' | 'relaxed' },
  ): IdbTransaction;
  createObjectStore(name: string, options: { keyPath: string; autoIncrement: boolean }): unknown;
  close(): void;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}

interface BrowserGlobals {
  indexedDB?: { open(name: string, version: number): IdbOpenRequest };
  location?: { host: string };
}

/** The page's globals (undefined where there are none, as in Node). */
export const browserGlobals = globalThis as BrowserGlobals;
