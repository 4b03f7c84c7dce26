import { resolve } from 'node:path';
import { Artifact } from './artifact.js';
import { QuiverError } from './contract/errors.js';
import type { ArtifactVersionInfo, JsonObject, ManifestEntry } from './contract/index.js';
import { type DownloadProgress, downloadEntries, type VerifyReport, verifyEntries } from './download.js';
import { readEntry } from './entry-read.js';
import { assertStoredManifest } from './manifest-validation.js';
import { openStore, type Store } from './store.js';

/**
 * A committed, immutable artifact version. Get one from `run.logArtifact`, `run.useArtifact` or
 * `client.artifact(ref)`.
 */
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
  /** Set when the stored record cannot be trusted (listed so it can be deleted); see `verify`. */
  readonly problem?: string;

  constructor(
    private readonly store: Store,
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
    if (info.problem !== undefined) this.problem = info.problem;
  }

  /**
   * Runs `work` on this version's store, or — when that store was closed (say by `run.finish()`
   * after `run.logArtifact` returned this version) — on the same store opened again for the call
   * and closed after it, so a version stays usable for as long as a program holds it.
   */
  private async withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
    if (!this.store.closed) return work(this.store);
    const store = await openStore(this.store.settings);
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }

  /** The entries (path, sha256, size, and the URI of references), sorted by path. */
  entries(): Promise<ManifestEntry[]> {
    return this.withStore((store) => this.entriesOn(store));
  }

  /** The entries as the backend gives them, checked again here against this version's digest. */
  private async entriesOn(store: Store): Promise<ManifestEntry[]> {
    const entries = await store.backend.artifacts.entries(this.id);
    // A deleted version keeps its record but no entries.
    if (entries.length > 0) assertStoredManifest(entries, this);
    return entries;
  }

  /**
   * The local files holding this version's stored entries, when the store keeps blobs on this
   * machine's disk (undefined otherwise): read them, never write them. References are left out.
   */
  async localFiles(): Promise<
    Array<{ path: string; file: string; sha256: string; size: number }> | undefined
  > {
    return this.withStore(async (store) => {
      const localPath = store.backend.blobs.localPath?.bind(store.backend.blobs);
      if (!localPath) return undefined;
      return (await this.entriesOn(store))
        .filter((entry) => entry.ref === undefined)
        .map((entry) => ({
          path: entry.path,
          file: localPath(entry.sha256),
          sha256: entry.sha256,
          size: entry.size,
        }));
    });
  }

  /**
   * The bytes of one entry, read into memory and verified against its sha256 and size
   * (`E_CHECKSUM_MISMATCH`, `E_BLOB_MISSING`, or `E_NOT_FOUND` when the version has no such entry).
   */
  async read(path: string): Promise<Uint8Array> {
    return this.withStore(async (store) => {
      const entries = await this.entriesOn(store);
      const entry = entries.find((candidate) => candidate.path === path);
      if (!entry) {
        throw new QuiverError(
          'E_NOT_FOUND',
          `${this.ref} has no entry '${path}' (entries: ${entries
            .slice(0, 20)
            .map((item) => item.path)
            .join(', ')}${entries.length > 20 ? ', …' : ''}).`,
          { details: { ref: this.ref, path } },
        );
      }
      return readEntry(store, entry);
    });
  }

  /**
   * Downloads every entry into `dir` (default `./artifacts/<name>-v<N>`), verifying each byte, and
   * returns the folder. Files already there with the right digest are kept.
   */
  async download(
    dir?: string,
    options: { onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<string> {
    const target = resolve(dir ?? `artifacts/${this.name}-v${this.version}`);
    await this.withStore(async (store) =>
      downloadEntries(store, await this.entriesOn(store), target, {
        ...options,
        ref: this.ref,
      }),
    );
    return target;
  }

  /** Checks that `dir` holds every entry with the right size and sha256. */
  async verify(dir: string): Promise<VerifyReport> {
    return verifyEntries(await this.entries(), resolve(dir));
  }

  /** A draft holding this version's entries (no bytes copied), to commit as the next version. */
  async newDraft(): Promise<Artifact> {
    const draft = new Artifact(this.name, this.type, {
      metadata: this.metadata,
      ...(this.description !== null ? { description: this.description } : {}),
    });
    for (const entry of await this.entries())
      draft.addStored(entry.path, entry.sha256, entry.size, entry.ref);
    return draft;
  }

  toJSON(): ArtifactVersionInfo & { deduplicated: boolean } {
    const { store: _store, ...rest } = this as unknown as { store: Store } & ArtifactVersionInfo & {
        deduplicated: boolean;
      };
    return rest;
  }
}
