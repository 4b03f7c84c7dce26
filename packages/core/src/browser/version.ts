import { QuiverError } from '../contract/errors.js';
import type { ArtifactVersionInfo, JsonObject, ManifestEntry } from '../contract/index.js';
import { assertManifestDigest, assertManifestShape, manifestLines } from '../stored-manifest.js';
import type { Connection } from './connection.js';
import { sha256Hex } from './hash.js';

/** Progress of reading a version's files. */
export interface ReadProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

/** A committed, immutable artifact version, read from the server. */
export class ArtifactVersion implements ArtifactVersionInfo {
  readonly id: string;
  readonly entity: string;
  readonly project: string;
  readonly name: string;
  readonly type: string;
  readonly version: number;
  readonly ref: string;
  readonly digest: string;
  readonly description: string | null;
  readonly metadata: JsonObject;
  readonly size: number;
  readonly fileCount: number;
  readonly createdAt: string;
  readonly producedBy: string | null;
  readonly aliases: string[];
  readonly tags: string[];
  /** True when committing created no new version because this one had the same content. */
  readonly deduplicated: boolean;
  private manifest: Promise<ManifestEntry[]> | undefined;

  constructor(
    private readonly connection: Connection,
    info: ArtifactVersionInfo,
    deduplicated = false,
  ) {
    this.id = info.id;
    this.entity = info.entity;
    this.project = info.project;
    this.name = info.name;
    this.type = info.type;
    this.version = info.version;
    this.ref = info.ref;
    this.digest = info.digest;
    this.description = info.description;
    this.metadata = info.metadata;
    this.size = info.size;
    this.fileCount = info.fileCount;
    this.createdAt = info.createdAt;
    this.producedBy = info.producedBy;
    this.aliases = info.aliases;
    this.tags = info.tags;
    this.deduplicated = deduplicated;
  }

  /** The entries (path, sha256, size), checked against the version's digest. */
  entries(): Promise<ManifestEntry[]> {
    this.manifest ??= (async () => {
      const entries = await this.connection.backend.artifacts.entries(this.id);
      if (!Array.isArray(entries))
        throw new QuiverError(
          'E_INTERNAL',
          `The server answered the entries of ${this.ref} with something else than a list.`,
        );
      assertManifestShape(entries, this);
      assertManifestDigest(this, await sha256Hex(manifestLines(entries)));
      return entries;
    })();
    this.manifest.catch(() => {
      this.manifest = undefined;
    });
    return this.manifest;
  }

  /** The bytes of one entry, verified against its sha256 and size. */
  async read(path: string): Promise<Uint8Array> {
    const entry = (await this.entries()).find((item) => item.path === path);
    if (!entry)
      throw new QuiverError('E_NOT_FOUND', `${this.ref} has no entry '${path}'.`, { details: { path } });
    if (entry.ref !== undefined)
      throw new QuiverError(
        'E_INVALID_OPTION',
        `'${path}' of ${this.ref} is a reference to ${new URL(entry.ref).origin}; a page does not read references.`,
      );
    return this.connection.read(entry.sha256, entry.size, `'${path}' of ${this.ref}`);
  }

  /** Every stored entry's bytes by path, verified, with progress. */
  async readAll(
    options: { onProgress?: (progress: ReadProgress) => void } = {},
  ): Promise<Map<string, Uint8Array>> {
    const entries = (await this.entries()).filter((entry) => entry.ref === undefined);
    const progress: ReadProgress = {
      bytesDone: 0,
      bytesTotal: entries.reduce((sum, entry) => sum + entry.size, 0),
      filesDone: 0,
      filesTotal: entries.length,
    };
    const files = new Map<string, Uint8Array>();
    for (const entry of entries) {
      files.set(
        entry.path,
        await this.connection.read(entry.sha256, entry.size, `'${entry.path}' of ${this.ref}`),
      );
      progress.bytesDone += entry.size;
      progress.filesDone++;
      options.onProgress?.({ ...progress });
    }
    return files;
  }

  toJSON(): ArtifactVersionInfo & { deduplicated: boolean } {
    const {
      connection: _connection,
      manifest: _manifest,
      ...info
    } = this as unknown as Record<string, unknown>;
    return info as unknown as ArtifactVersionInfo & { deduplicated: boolean };
  }
}
