/**
 * What every endpoint handler gets: the server's state, its settings, the parsed request and
 * who sent it. Also the preupload rule, shared by the preupload endpoint and repo seeding.
 */
import type { IncomingMessage } from 'node:http';
import type { AccessControl, Caller } from './hub-auth.js';
import type { HubResponse } from './hub-http.js';
import type { Route } from './hub-routes.js';
import type { HubServerOptions, PreuploadFile, UploadMode } from './hub-types.js';
import type { LfsStorage } from './lfs-storage.js';
import type { RepoStore } from './repo-store.js';

const MiB = 1024 * 1024;

export type HubSettings = Required<Omit<HubServerOptions, 'port' | 'tokens' | 'repos' | 'uploadMode'>> &
  Pick<HubServerOptions, 'uploadMode'>;

export function resolveSettings(options: HubServerOptions): HubSettings {
  return {
    lfsThreshold: options.lfsThreshold ?? 10 * MiB,
    multipartThreshold: options.multipartThreshold ?? 20 * MiB,
    multipartChunkSize: options.multipartChunkSize ?? 10 * MiB,
    treePageSize: options.treePageSize ?? 1000,
    redirectLfs: options.redirectLfs ?? false,
    maxJsonBodySize: options.maxJsonBodySize ?? 512 * MiB,
    ...(options.uploadMode && { uploadMode: options.uploadMode }),
  };
}

export interface HubContext {
  store: RepoStore;
  access: AccessControl;
  lfs: LfsStorage;
  settings: HubSettings;
  /** `http://127.0.0.1:<port>`: the origin of every URL the server hands out. */
  baseUrl: string;
}

export interface HandlerInput {
  route: Route;
  request: IncomingMessage;
  url: URL;
  caller: Caller;
}

export type Handler = (context: HubContext, input: HandlerInput) => Promise<HubResponse>;

/**
 * The Hub's preupload rule: LFS for files matching an LFS pattern of `.gitattributes`, files of
 * at least `lfsThreshold` bytes, and binary files (a NUL byte in the sample); a custom
 * `uploadMode` rule decides first.
 */
export function decideUploadMode(
  settings: HubSettings,
  file: PreuploadFile,
  lfsPatterns: readonly ((path: string) => boolean)[],
): UploadMode {
  const custom = settings.uploadMode?.(file);
  if (custom) return custom;
  const tracked = lfsPatterns.some((matches) => matches(file.path));
  return tracked || file.size >= settings.lfsThreshold || file.sample.includes(0) ? 'lfs' : 'regular';
}
