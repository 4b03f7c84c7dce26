/**
 * The repos the stand-in hosts, in memory: immutable commits (each holds its whole file tree,
 * so any file resolves at any commit), refs (branches and `refs/pr/N`), regular blobs by git
 * id and LFS objects by sha256. Protocol errors are thrown as {@link HubHttpError}s.
 */
import { createHash, randomBytes } from 'node:crypto';
import { buildCommit } from './commit-builder.js';
import { DEFAULT_GITATTRIBUTES } from './git-objects.js';
import { badRequest, forbidden, HubHttpError, revisionNotFound } from './hub-errors.js';
import type { RepoType } from './hub-types.js';
import type { FileEntry, RepoTree } from './repo-tree.js';
import { StoredBytes } from './stored-bytes.js';

export interface Commit {
  oid: string;
  parents: string[];
  summary: string;
  description: string;
  author: string;
  date: Date;
  files: ReadonlyMap<string, FileEntry>;
  tree: RepoTree;
  added: string[];
  deleted: string[];
}

export interface Repo {
  type: RepoType;
  /** `ns/name`. */
  name: string;
  /** The designation clients use: `ns/name`, `datasets/ns/name`, `spaces/ns/name`. */
  key: string;
  id: string;
  private: boolean;
  sdk?: string;
  createdAt: Date;
  /** Multipart threshold set at creation (`lfsmultipartthresh`). */
  multipartThreshold?: number;
  /** Every commit ever made, oldest first. */
  commits: Map<string, Commit>;
  /** Branch names and `refs/pr/N` → commit oid. */
  refs: Map<string, string>;
  /** LFS storage: sha256 → content. */
  lfsObjects: Map<string, StoredBytes>;
  /** Regular files: git blob id → content. */
  blobs: Map<string, StoredBytes>;
  pullRequests: number;
}

/** One operation of a commit, decoded from the NDJSON lines. */
export type CommitOperation =
  | { kind: 'file'; path: string; content: Buffer }
  | { kind: 'lfsFile'; path: string; oid: string; size?: number }
  | { kind: 'copy'; path: string; from: string }
  | { kind: 'deleteFile'; path: string }
  | { kind: 'deleteFolder'; path: string };

export interface CommitRequest {
  /** The branch committed to; with `pullRequest`, the branch the PR starts from. */
  branch: string;
  pullRequest?: boolean;
  parentCommit?: string;
  summary: string;
  description?: string;
  author: string;
  operations: readonly CommitOperation[];
}

/** `ns/name` of the repo kinds, as the URLs carry them (`/api/{type}s/…`, `/{type}s/…`). */
export function repoKey(type: RepoType, name: string): string {
  return type === 'model' ? name : `${type}s/${name}`;
}

/** A client-style designation (`ns/name`, `datasets/ns/name`, `spaces/ns/name`) split up. */
export function parseRepoKey(designation: string): { type: RepoType; name: string } {
  const [first, ...rest] = designation.split('/');
  if (first === 'datasets' || first === 'spaces')
    return { type: first === 'datasets' ? 'dataset' : 'space', name: rest.join('/') };
  return { type: 'model', name: designation };
}

const NAME_PART = /^(?![-.])(?!.*(--|\.\.))[\w.-]{1,96}(?<![-.])$/;
const BRANCH_NAME = /^(?!refs\/|-)[\w.\-/]+(?<![/.])$/;

export class RepoStore {
  readonly #repos = new Map<string, Repo>();

  get(key: string): Repo | undefined {
    return this.#repos.get(key);
  }

  all(): Repo[] {
    return [...this.#repos.values()];
  }

  /** Creates a repo whose first commit holds the Hub's default `.gitattributes` and `files`. */
  create(options: {
    type: RepoType;
    name: string;
    private: boolean;
    author: string;
    sdk?: string;
    multipartThreshold?: number;
    files?: readonly { path: string; content: Buffer; lfs: boolean }[];
  }): Repo {
    const key = repoKey(options.type, options.name);
    const [namespace, name, extra] = options.name.split('/');
    if (!namespace || !name || extra !== undefined || !NAME_PART.test(namespace) || !NAME_PART.test(name)) {
      throw badRequest(`Invalid repo name: "${options.name}"`);
    }
    if (this.#repos.has(key)) throw new HubHttpError(409, `You already created this ${options.type} repo`);
    const repo: Repo = {
      type: options.type,
      name: options.name,
      key,
      id: randomBytes(12).toString('hex'),
      private: options.private,
      ...(options.sdk !== undefined && { sdk: options.sdk }),
      createdAt: new Date(),
      ...(options.multipartThreshold !== undefined && { multipartThreshold: options.multipartThreshold }),
      commits: new Map(),
      refs: new Map(),
      lfsObjects: new Map(),
      blobs: new Map(),
      pullRequests: 0,
    };
    const operations: CommitOperation[] = [
      { kind: 'file', path: '.gitattributes', content: Buffer.from(DEFAULT_GITATTRIBUTES) },
    ];
    for (const file of options.files ?? []) {
      if (!file.lfs) operations.push({ kind: 'file', path: file.path, content: file.content });
      else
        operations.push({
          kind: 'lfsFile',
          path: file.path,
          oid: this.storeLfsObject(repo, StoredBytes.of(file.content)),
        });
    }
    this.#record(
      repo,
      'main',
      buildCommit(repo, undefined, operations, { summary: 'initial commit', author: options.author }),
    );
    this.#repos.set(key, repo);
    return repo;
  }

  delete(key: string): boolean {
    return this.#repos.delete(key);
  }

  /** Stores an LFS object (already verified) and returns its sha256. */
  storeLfsObject(repo: Repo, content: StoredBytes, sha256?: string): string {
    const oid = sha256 ?? sha256Of(content);
    repo.lfsObjects.set(oid, content);
    return oid;
  }

  /**
   * The commit a revision names: a branch, `refs/pr/N`, `HEAD` (main), or a commit id (full, or
   * an unambiguous prefix of at least 7 characters).
   */
  resolve(repo: Repo, revision: string): Commit {
    const ref = repo.refs.get(revision === 'HEAD' ? 'main' : revision);
    const commit = ref === undefined ? this.#findCommit(repo, revision) : repo.commits.get(ref);
    if (!commit) throw revisionNotFound(revision);
    return commit;
  }

  /** Applies a commit (see {@link CommitRequest}); returns it and the PR number if one was opened. */
  commit(repo: Repo, request: CommitRequest): { commit: Commit; pullRequest?: number } {
    const headOid = repo.refs.get(request.branch);
    if (headOid === undefined) throw revisionNotFound(request.branch);
    if (request.pullRequest) {
      const base = request.parentCommit
        ? this.resolve(repo, request.parentCommit)
        : repo.commits.get(headOid);
      const commit = buildCommit(repo, base, request.operations, request);
      repo.pullRequests += 1;
      this.#record(repo, `refs/pr/${repo.pullRequests}`, commit);
      return { commit, pullRequest: repo.pullRequests };
    }
    if (request.parentCommit !== undefined && !sameCommit(headOid, request.parentCommit)) {
      throw new HubHttpError(412, 'A commit has happened since. Please refresh and try again.');
    }
    const commit = buildCommit(repo, repo.commits.get(headOid), request.operations, request);
    this.#record(repo, request.branch, commit);
    return { commit };
  }

  /**
   * Points a new branch at `from` (default `main`), or at a new parentless commit without files
   * when `empty`. An existing branch is an error (409) unless `overwrite`; `overwrite` alone
   * leaves an existing branch as it is.
   */
  createBranch(
    repo: Repo,
    branch: string,
    options: { from?: string; empty?: boolean; overwrite?: boolean; author: string },
  ): void {
    if (!BRANCH_NAME.test(branch) || branch.includes('..') || branch.endsWith('.lock')) {
      throw badRequest(`Invalid reference for a branch: ${branch}`);
    }
    const exists = repo.refs.has(branch);
    if (exists && !options.overwrite) throw new HubHttpError(409, 'Reference already exists');
    if (exists && options.from === undefined && !options.empty) return;
    const commit = options.empty
      ? buildCommit(repo, undefined, [], { summary: 'Empty branch', author: options.author })
      : this.resolve(repo, options.from ?? 'main');
    this.#record(repo, branch, commit);
  }

  deleteBranch(repo: Repo, branch: string): void {
    if (branch === 'main') throw forbidden('You cannot delete the default branch');
    if (!repo.refs.has(branch) || branch.startsWith('refs/')) throw revisionNotFound(branch);
    repo.refs.delete(branch);
  }

  /** The stored bytes of a file: its LFS object or its blob (undefined if storage lost them). */
  content(repo: Repo, file: FileEntry): StoredBytes | undefined {
    return file.lfs ? repo.lfsObjects.get(file.lfs.oid) : repo.blobs.get(file.oid);
  }

  /** Replaces the stored bytes of a file, leaving every recorded id (oid, sha256, size) as it was. */
  tamper(repo: Repo, file: FileEntry, bytes: StoredBytes): void {
    if (file.lfs) repo.lfsObjects.set(file.lfs.oid, bytes);
    else repo.blobs.set(file.oid, bytes);
  }

  /** The last commit, walking back from `from` along first parents, that changed `path`. */
  lastChange(repo: Repo, from: Commit, path: string): Commit {
    let commit = from;
    for (;;) {
      const parent = commit.parents[0] === undefined ? undefined : repo.commits.get(commit.parents[0]);
      if (!parent || parent.tree.oidOf(path) !== commit.tree.oidOf(path)) return commit;
      commit = parent;
    }
  }

  /** Commits reachable from `from`, newest first (breadth-first over parents). */
  history(repo: Repo, from: Commit): Commit[] {
    const seen = new Set([from.oid]);
    const queue = [from];
    for (let index = 0; index < queue.length; index++) {
      for (const parentOid of (queue[index] as Commit).parents) {
        const parent = repo.commits.get(parentOid);
        if (parent && !seen.has(parentOid)) {
          seen.add(parentOid);
          queue.push(parent);
        }
      }
    }
    return queue;
  }

  #findCommit(repo: Repo, revision: string): Commit | undefined {
    if (!/^[0-9a-f]{7,40}$/.test(revision)) return undefined;
    const exact = repo.commits.get(revision);
    if (exact) return exact;
    const matches = [...repo.commits.values()].filter((commit) => commit.oid.startsWith(revision));
    return matches.length === 1 ? matches[0] : undefined;
  }

  #record(repo: Repo, ref: string, commit: Commit): void {
    repo.commits.set(commit.oid, commit);
    repo.refs.set(ref, commit.oid);
  }
}

export function sha256Of(content: StoredBytes): string {
  const hash = createHash('sha256');
  for (const chunk of content.range()) hash.update(chunk);
  return hash.digest('hex');
}

/** A commit id against a `parentCommit` that may be shortened (7+ characters), as the Hub accepts. */
function sameCommit(oid: string, parentCommit: string): boolean {
  return parentCommit.length >= 7 && oid.startsWith(parentCommit.toLowerCase());
}
