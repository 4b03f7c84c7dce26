import { QuiverError } from '../contract/errors.js';
import type { ArtifactVersionInfo, HistoryRow, LineageGraph, RunInfo } from '../contract/index.js';
import { assertName } from '../names.js';
import { Paged } from '../paged.js';
import { parseRef } from '../ref.js';
import { RegistryClient } from '../registry-client.js';
import type { Artifact } from './artifact.js';
import { type CommitOptions, pendingCommit, sendCommit } from './commit.js';
import type { Connection } from './connection.js';
import { ArtifactVersion } from './version.js';

function artifactOf(ref: string): { entity?: string; project: string; name: string } {
  const parsed = parseRef(ref);
  if (parsed.kind !== 'artifact')
    throw new QuiverError('E_INVALID_REF', `'${ref}' names a registry model; give project/name.`, {
      details: { ref },
    });
  return { ...(parsed.entity ? { entity: parsed.entity } : {}), project: parsed.project, name: parsed.name };
}

/**
 * A page's client of a Quiver server: artifacts, aliases, runs and the registry, with the methods
 * and errors of the Node SDK's `QuiverClient` (less what needs a file system).
 */
export class QuiverClient {
  readonly registry: RegistryClient;

  constructor(readonly connection: Connection) {
    this.registry = new RegistryClient(connection);
  }

  private get backend() {
    return this.connection.backend;
  }

  private wrap = (info: ArtifactVersionInfo): ArtifactVersion => new ArtifactVersion(this.connection, info);

  /** The version a ref resolves to (a registry ref is followed to the version it bookmarks). */
  async artifact(ref: string): Promise<ArtifactVersion> {
    return this.wrap((await this.backend.artifacts.resolve(ref)).version);
  }

  /** Commits a draft without a run. */
  async commit(artifact: Artifact, options: CommitOptions): Promise<ArtifactVersion> {
    const { version, deduplicated } = await sendCommit(
      this.connection,
      pendingCommit(this.connection, artifact, options),
      options.onProgress,
    );
    return new ArtifactVersion(this.connection, version, deduplicated);
  }

  /** Versions of an artifact (`[entity/]project/name`, or project, name and entity), newest first. */
  versions(refOrProject: string, name?: string, entity?: string): Paged<ArtifactVersion> {
    return new Paged(async (page) => {
      const artifact =
        name === undefined && entity === undefined
          ? artifactOf(refOrProject)
          : { entity, project: refOrProject, name };
      const locator = {
        entity: assertName(artifact.entity ?? this.backend.principal.entity, 'entity'),
        project: assertName(artifact.project, 'project'),
        name: assertName(artifact.name, 'artifact'),
      };
      const result = await this.backend.artifacts.versions(locator, page);
      return { items: result.items.map(this.wrap), next: result.next };
    });
  }

  /** Points `alias` at the version `ref` names, moving it from the version that held it. */
  async setAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.setAlias(ref, alias));
  }

  async removeAlias(ref: string, alias: string): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.removeAlias(ref, alias));
  }

  async tag(ref: string, add: readonly string[], remove: readonly string[] = []): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.tag(ref, [...add], [...remove]));
  }

  /** Deletes a version (refused while it holds a chosen alias, unless `force`, or is linked). */
  async deleteVersion(ref: string, options: { force?: boolean } = {}): Promise<ArtifactVersion> {
    return this.wrap(await this.backend.artifacts.deleteVersion(ref, options));
  }

  lineage(ref: string, depth = 3): Promise<LineageGraph> {
    return this.backend.artifacts.lineage(ref, depth);
  }

  runs(filter: { entity?: string; project?: string } = {}): Paged<RunInfo> {
    return new Paged((page) => this.backend.runs.list({ ...filter, ...page }));
  }

  history(runId: string): Paged<HistoryRow> {
    return new Paged((page) => this.backend.runs.history(runId, page));
  }

  /** Nothing to release: requests hold no connection between calls. */
  async close(): Promise<void> {}
}
