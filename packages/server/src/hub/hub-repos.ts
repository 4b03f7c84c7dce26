/**
 * Hub repos over Quiver's own records. A repo `<entity>/<name>` is a registered model of a
 * registry (the `/hf` and `/hf-registry/<registry>` endpoints) or an artifact of a project
 * (`/hf-project/<project>`); a revision is `main` (= `latest`), `vN`, an alias, or the 40-hex
 * commit sha that names one artifact version; a commit is a new artifact version.
 */
import { createHash } from 'node:crypto';
import {
  type ArtifactVersionInfo,
  assertEntryPath,
  DEFAULT_REGISTRY,
  type EmbeddedBackend,
  isQuiverError,
  type JsonObject,
  LATEST_ALIAS,
  type ManifestEntry,
  type RegistryVersionInfo,
} from '@quiver/core';
import {
  badRequest,
  entryNotFound,
  HubError,
  type HubRepo,
  repoNotFound,
  revisionNotFound,
} from './hub-http.js';

/** The project that holds the artifact versions pushed to a registry repo through the Hub routes. */
export const HUB_PROJECT = 'hub';

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The commit sha of a version: stable, 40 hex digits as git's, and unique to the version. */
export function commitOf(version: ArtifactVersionInfo): string {
  return createHash('sha1').update(`quiver-version:${version.id}`).digest('hex');
}

/** A repo at one revision: the artifact version it shows, and the registry version when it is a model's. */
export interface Revision {
  version: ArtifactVersionInfo;
  registryVersion?: RegistryVersionInfo;
  commit: string;
}

function selectorOf(revision: string): string {
  return revision === 'main' || revision === 'HEAD' ? LATEST_ALIAS : revision;
}

/** The Quiver ref of a repo at a selector (`latest`, `vN` or an alias). */
export function refOf(repo: HubRepo, selector: string): string {
  if (repo.scope.kind === 'project') return `${repo.entity}/${repo.scope.project}/${repo.name}:${selector}`;
  const registry = repo.scope.registry === DEFAULT_REGISTRY ? '' : `${repo.scope.registry}/`;
  return `${repo.entity}/registry/${registry}${repo.name}:${selector}`;
}

function locatorOf(repo: HubRepo & { scope: { kind: 'registry' } }) {
  return { entity: repo.entity, registry: repo.scope.registry, model: repo.name };
}

const isNotFound = (error: unknown): boolean => isQuiverError(error) && error.code === 'E_NOT_FOUND';
const isBadRef = (error: unknown): boolean =>
  isQuiverError(error) && (error.code === 'E_INVALID_REF' || error.code === 'E_INVALID_NAME');

/** Whether the repo exists (a registered model, or an artifact with a version). */
export async function repoExists(backend: EmbeddedBackend, repo: HubRepo): Promise<boolean> {
  try {
    if (repo.scope.kind === 'registry') {
      await backend.registry.model(locatorOf(repo as HubRepo & { scope: { kind: 'registry' } }));
      return true;
    }
    return (
      (await backend.artifacts.typeOf({
        entity: repo.entity,
        project: repo.scope.project,
        name: repo.name,
      })) !== null
    );
  } catch (error) {
    if (isNotFound(error) || isBadRef(error)) return false;
    throw error;
  }
}

/**
 * The repo at a revision, or undefined for an empty repo at `main` (a registered model nothing is
 * linked into yet). RepoNotFound when the repo does not exist, RevisionNotFound when it does but
 * the revision names nothing.
 */
export async function openRevision(
  backend: EmbeddedBackend,
  repo: HubRepo,
  revision: string,
): Promise<Revision | undefined> {
  if (COMMIT_SHA.test(revision)) {
    const found = await findCommit(backend, repo, revision);
    if (found) return found;
  } else {
    try {
      const resolved = await backend.artifacts.resolve(refOf(repo, selectorOf(revision)));
      return { ...resolved, commit: commitOf(resolved.version) };
    } catch (error) {
      if (!isNotFound(error) && !isBadRef(error)) throw error;
    }
  }
  if (!(await repoExists(backend, repo))) throw repoNotFound(repo);
  if (selectorOf(revision) === LATEST_ALIAS) return undefined;
  throw revisionNotFound(revision);
}

/** The version a commit sha names (looked for among the repo's versions). */
async function findCommit(
  backend: EmbeddedBackend,
  repo: HubRepo,
  sha: string,
): Promise<Revision | undefined> {
  try {
    if (repo.scope.kind === 'registry') {
      const model = await backend.registry.model(
        locatorOf(repo as HubRepo & { scope: { kind: 'registry' } }),
      );
      const registryVersion = model.versions.find((version) => commitOf(version.source) === sha);
      return registryVersion && { version: registryVersion.source, registryVersion, commit: sha };
    }
    const artifact = { entity: repo.entity, project: repo.scope.project, name: repo.name };
    let cursor: string | null = null;
    do {
      const page = await backend.artifacts.versions(artifact, { limit: 1000, cursor });
      const version = page.items.find((item) => commitOf(item) === sha);
      if (version) return { version, commit: sha };
      cursor = page.next;
    } while (cursor);
    return undefined;
  } catch (error) {
    if (isNotFound(error) || isBadRef(error)) return undefined;
    throw error;
  }
}

/** One change of a commit: a file set to stored bytes, or a file or folder removed. */
export type HubChange =
  | { kind: 'file'; path: string; sha256: string; size: number }
  | { kind: 'delete-file'; path: string }
  | { kind: 'delete-folder'; path: string };

export interface CommitInput {
  changes: HubChange[];
  summary: string;
  description: string;
  /** The commit the client based this on: refused (412) when `main` has moved since. */
  parentCommit?: string;
}

export interface CommitOutcome {
  commit: string;
  version: ArtifactVersionInfo;
  /** False when the content equalled an existing version (nothing new was recorded). */
  created: boolean;
}

/**
 * Applies a commit on top of the repo's `main`: the result is a new artifact version (or the
 * existing one of equal content), and for a registry repo a link of it into the model.
 */
export async function commitToRepo(
  backend: EmbeddedBackend,
  repo: HubRepo,
  input: CommitInput,
  options: { createModel?: boolean } = {},
): Promise<CommitOutcome> {
  if (repo.scope.kind === 'registry' && !(await repoExists(backend, repo))) {
    if (!options.createModel) throw repoNotFound(repo);
    await backend.registry.createModel(locatorOf(repo as HubRepo & { scope: { kind: 'registry' } }));
  }
  const head = await openRevision(backend, repo, 'main').catch((error: unknown) => {
    // A project repo is made by its first commit.
    if (repo.scope.kind === 'project' && error instanceof HubError && error.code === 'RepoNotFound')
      return undefined;
    throw error;
  });
  if (input.parentCommit !== undefined && input.parentCommit !== (head?.commit ?? input.parentCommit))
    throw new HubError(412, 'A commit has happened since. Please refresh and try again.');
  const files = new Map<string, ManifestEntry>();
  if (head)
    for (const entry of await backend.artifacts.entries(head.version.id)) files.set(entry.path, entry);
  for (const change of input.changes) {
    const path = checkedPath(change.path);
    if (change.kind === 'file') files.set(path, { path, sha256: change.sha256, size: change.size });
    else if (change.kind === 'delete-file') {
      if (!files.delete(path)) throw entryNotFound(path);
    } else {
      let removed = 0;
      for (const key of [...files.keys()])
        if (key.startsWith(`${path}/`)) {
          files.delete(key);
          removed++;
        }
      if (removed === 0) throw entryNotFound(path);
    }
  }
  const manifest = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (manifest.length === 0)
    throw badRequest('This commit would leave the repo without files; a Quiver version holds at least one.');
  const fresh = manifest.filter((entry) => entry.ref === undefined);
  const missing = await backend.blobs.missing(fresh);
  if (missing.length > 0)
    throw new HubError(
      422,
      `Your push was rejected because ${missing.length} LFS object(s) were not uploaded (first: ${missing[0]}). Upload them through the LFS batch API first.`,
    );
  const title = input.summary.trim() === '' ? 'Upload files' : input.summary.trim();
  const description = input.description.trim() === '' ? title : `${title}\n\n${input.description.trim()}`;
  const metadata: JsonObject = { hub: { summary: title, author: backend.principal.actor } };
  const project = repo.scope.kind === 'project' ? repo.scope.project : HUB_PROJECT;
  const type =
    head?.version.type ??
    (repo.scope.kind === 'project'
      ? ((await backend.artifacts.typeOf({ entity: repo.entity, project, name: repo.name })) ?? 'model')
      : await registryType(backend, repo.entity, repo.scope.registry));
  const committed = await backend.artifacts.commit({
    entity: repo.entity,
    project,
    name: repo.name,
    type,
    description,
    metadata,
    manifest,
    runId: null,
    aliases: [],
    tags: [],
  });
  let created = !committed.deduplicated;
  if (repo.scope.kind === 'registry') {
    const link = await backend.registry.link(
      committed.version.ref,
      locatorOf(repo as HubRepo & { scope: { kind: 'registry' } }),
      {},
    );
    created = link.linked;
  }
  return { commit: commitOf(committed.version), version: committed.version, created };
}

/** The first type a registry accepts (what a version pushed to one of its models is). */
async function registryType(backend: EmbeddedBackend, entity: string, registry: string): Promise<string> {
  const info = (await backend.registry.registries(entity)).find((item) => item.name === registry);
  return info?.acceptedTypes[0] ?? 'model';
}

/** A path of the Hub client as a Quiver entry path (a 400 that quotes it otherwise). */
export function checkedPath(path: string): string {
  try {
    return assertEntryPath(path);
  } catch (error) {
    if (isQuiverError(error)) throw badRequest(error.message);
    throw error;
  }
}
