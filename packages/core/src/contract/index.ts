/**
 * The contract under the SDK: types and error classes only, no implementation. An embedded
 * store, a team server's remote client and an offline spool each implement {@link QuiverBackendV1};
 * the SDK and every plugin talk to nothing else.
 *
 * @module
 */
export * from './accounts.js';
export * from './automations.js';
export type * from './backend.js';
export type * from './blob-store.js';
export * from './errors.js';
export type * from './records.js';
