/**
 * Public types of the Hub stand-in: its options, its seeds (tokens, repos), the faults tests
 * inject, and what its inspection helpers return.
 */

/** The repo kinds the stand-in hosts (buckets and kernels are not modelled). */
export type RepoType = 'model' | 'dataset' | 'space';

/** A token's role, as the Hub's `whoami-v2` reports it: `read` may not write anything. */
export type TokenRole = 'read' | 'write';

/** How a file travels in a commit: inline in the NDJSON (`regular`) or through LFS. */
export type UploadMode = 'lfs' | 'regular';

/** A token to accept in `Authorization: Bearer …`. The user (and its orgs) exist from then on. */
export interface HubTokenOptions {
  /** The user the token belongs to: it owns (may write) repos in its own namespace. */
  user: string;
  /** @default 'write' */
  role?: TokenRole;
  /** Organizations the user belongs to: it owns their namespaces too. */
  orgs?: string[];
  /** The token itself (must start with `hf_`); a random one by default. */
  token?: string;
  /** Display name reported by `whoami-v2`. @default `${user}-${role}` */
  name?: string;
}

/** A repo created before the test starts, with one commit holding `.gitattributes` and `files`. */
export interface HubRepoSeed {
  /** As the client designates repos: `ns/name`, `datasets/ns/name` or `spaces/ns/name`. */
  repo: string;
  /** @default false */
  private?: boolean;
  /** Files of the first commit; stored through LFS when the upload-mode rule says so. */
  files?: Record<string, string | Uint8Array>;
}

/** A file as the preupload endpoint sees it, for a custom {@link HubServerOptions.uploadMode} rule. */
export interface PreuploadFile {
  repo: string;
  path: string;
  size: number;
  /** The first (up to) 512 bytes, as the client samples them. */
  sample: Buffer;
}

export interface HubServerOptions {
  /** @default 0 (a random free port). The server always listens on 127.0.0.1. */
  port?: number;
  tokens?: HubTokenOptions[];
  repos?: HubRepoSeed[];
  /**
   * Preupload answers `lfs` for files at least this big (the Hub's rule is 10 MiB), for files
   * matching an LFS pattern of `.gitattributes`, and for binary samples (a NUL byte).
   * @default 10 MiB
   */
  lfsThreshold?: number;
  /** Overrides the preupload rule; return undefined to fall back to it. */
  uploadMode?: (file: PreuploadFile) => UploadMode | undefined;
  /**
   * LFS objects at least this big are offered the `multipart` transfer (part URLs plus a
   * completion URL); smaller ones `basic` (one PUT). A repo created with `lfsmultipartthresh`
   * uses that instead, as the Hub does. @default 20 MiB
   */
  multipartThreshold?: number;
  /** Part size of multipart transfers (the `chunk_size` header). @default 10 MiB */
  multipartChunkSize?: number;
  /** Entries per page of the tree listing (pages chain through the `Link` header). @default 1000 */
  treePageSize?: number;
  /**
   * Answer `resolve` of LFS files with a 302 to a signed storage URL (`/lfs-cdn/…`) as the Hub
   * does with its CDN, instead of serving the bytes directly. The redirect carries
   * `X-Linked-Etag` / `X-Linked-Size`; a client that follows it sees the storage response only.
   * @default false
   */
  redirectLfs?: boolean;
  /** Largest JSON / NDJSON request body accepted (inline commit files are base64 in it). @default 512 MiB */
  maxJsonBodySize?: number;
}

/** The protocol operations the stand-in tells apart (for matching faults and reading the log). */
export type HubEndpoint =
  | 'whoami'
  | 'create-repo'
  | 'delete-repo'
  | 'repo-info'
  | 'create-branch'
  | 'delete-branch'
  | 'preupload'
  | 'lfs-batch'
  | 'lfs-upload'
  | 'lfs-part'
  | 'lfs-complete'
  | 'lfs-cdn'
  | 'commit'
  | 'tree'
  | 'paths-info'
  | 'list-commits'
  | 'resolve'
  | 'raw'
  | 'unknown';

/** A request as faults match it. */
export interface HubRequestInfo {
  method: string;
  /** Path without the query string. */
  path: string;
  endpoint: HubEndpoint;
  /** The repo the request is about (`ns/name`, `datasets/ns/name`, …), when there is one. */
  repo?: string;
}

/**
 * Which requests a fault applies to: every field given must match (`path` as a substring or a
 * RegExp of the path), or a predicate. No matcher: every request.
 */
export type RequestMatcher =
  | {
      method?: string;
      endpoint?: HubEndpoint | HubEndpoint[];
      path?: string | RegExp;
      repo?: string;
    }
  | ((request: HubRequestInfo) => boolean);

export interface FailOptions {
  /** Status to answer, e.g. 500, 503, 401, 403, 404, 409. */
  status: number;
  /** How many matching requests to fail. @default 1 */
  count?: number;
  match?: RequestMatcher;
  /** The `error` of the JSON body. @default a message naming the injected fault */
  message?: string;
  /** Sent as `X-Error-Code` (e.g. `EntryNotFound`). */
  errorCode?: string;
}

export interface DropOptions {
  /** @default 1 */
  count?: number;
  match?: RequestMatcher;
  /**
   * When to destroy the connection:
   * - `request` (default): as the request arrives, before the server acts on it;
   * - `response`: after the server has acted (a commit is recorded), instead of answering;
   * - `mid-response`: after sending the headers and half of the body.
   */
  when?: 'request' | 'response' | 'mid-response';
}

export interface DelayOptions {
  /** How long each matching request waits before the server reads it. */
  ms: number;
  /** @default Infinity (until released) */
  count?: number;
  match?: RequestMatcher;
}

/** Control over a {@link DelayOptions delay}. */
export interface DelayHandle {
  /** Settles when the first matching request starts waiting. */
  reached: Promise<HubRequestInfo>;
  /** Lets waiting requests through now and stops delaying new ones. */
  release(): void;
}

/** One request as the server saw it. Tokens are never recorded, only the user they belong to. */
export interface RequestLogEntry {
  id: string;
  method: string;
  path: string;
  /** The query string, with its leading `?`, or ''. */
  query: string;
  endpoint: HubEndpoint;
  repo?: string;
  /** The authenticated user, if any. */
  user?: string;
  /** `in-flight` until answered; `dropped` when a fault (or the client) cut the connection. */
  state: 'in-flight' | 'answered' | 'dropped';
  /** The status answered, 0 while in flight or when dropped. */
  status: number;
  /** The fault injected into this request, if any. */
  fault?: 'fail' | 'drop' | 'delay';
  startedAt: Date;
  durationMs?: number;
}

/** A commit of a repo, as the inspection helpers report it. */
export interface CommitSummary {
  oid: string;
  /** Empty for a root commit. */
  parents: string[];
  summary: string;
  description: string;
  author: string;
  date: Date;
  /** Paths added or changed by the commit. */
  added: string[];
  deleted: string[];
  /** Branches and refs (`refs/pr/1`) pointing at this commit now. */
  refs: string[];
}

/** A file of a repo at a revision, as the inspection helpers report it. */
export interface TreeFile {
  path: string;
  size: number;
  /** git blob id (of the pointer file for LFS files), as the Hub's tree API reports it. */
  oid: string;
  /** sha256 of the content as recorded at upload. */
  sha256: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

export interface TamperOptions {
  /** @default 'main' */
  revision?: string;
  /** The new stored bytes. @default the original with its first byte flipped */
  bytes?: Uint8Array | ((original: Buffer) => Uint8Array);
}
