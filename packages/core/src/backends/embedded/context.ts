import type { BlobStore, Principal } from '../../contract/index.js';
import type { DatabaseConnection } from './database/connection.js';

/** What the embedded backend's code works on: its database, its blobs, and who acts. */
export interface EmbeddedContext {
  readonly connection: DatabaseConnection;
  readonly blobs: BlobStore;
  /** Who every call acts for: taken from the backend's binding, never from the process. */
  readonly principal: Principal;
  /** This machine's name, to tell a crashed local run by its dead process. */
  readonly host: string;
}
