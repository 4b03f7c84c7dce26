import { type Dirent, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { QuiverError } from './contract/errors.js';
import type { JsonObject } from './contract/index.js';
import { assertEntryPath } from './entry-path.js';
import { fileSystemError } from './fs-errors.js';
import { serializeJsonObject } from './metadata.js';
import { assertName, assertType } from './names.js';
import { referenceHandlerFor } from './references/index.js';

/** One entry of a draft, before it is committed. */
export type DraftEntry =
  | { kind: 'file'; path: string; source: string; size: number }
  | { kind: 'bytes'; path: string; bytes: Uint8Array }
  | { kind: 'stored'; path: string; sha256: string; size: number }
  | {
      kind: 'reference';
      path: string;
      uri: string;
      sha256?: string;
      size?: number;
      /** Read the object(s) for their sha256 where the scheme records less without it (`s3://`). */
      checksum?: boolean;
      /** For a URI naming many objects (an `s3://` prefix): the most it may hold. */
      maxObjects?: number;
    };

/** Options of {@link Artifact}. */
export interface ArtifactOptions {
  /** Markdown description of this version. */
  description?: string;
  /** JSON metadata of this version (at most 1 MiB serialised). */
  metadata?: JsonObject;
}

function statOrThrow(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new QuiverError(
        'E_SYMLINK_LOOP',
        `${what} ${path} is a symbolic link that loops back on itself; fix or remove the link.`,
        { cause: error },
      );
    }
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new QuiverError('E_FILE_NOT_FOUND', `${what} ${path} does not exist (${code}); check the path.`, {
        cause: error,
        details: { path },
      });
    throw fileSystemError(error, { side: 'source', path, outcome: 'Nothing was added.' });
  }
}

/**
 * A draft artifact: name, type, description, metadata and entries. Commit it with
 * `run.logArtifact(artifact)` to create a version.
 *
 * @example
 * const artifact = new Artifact('mnist-mlp', 'model', { metadata: { epoch: 3 } });
 * artifact.addFile('./model.json').addDir('./weights', { prefix: 'weights' });
 * await run.logArtifact(artifact, { aliases: ['best'] });
 */
export class Artifact {
  readonly name: string;
  readonly type: string;
  description: string | undefined;
  private metadataValue: JsonObject;
  private readonly entryMap = new Map<string, DraftEntry>();

  constructor(name: string, type: string, options: ArtifactOptions = {}) {
    this.name = assertName(name, 'artifact');
    this.type = assertType(type);
    this.description = options.description;
    this.metadataValue = {};
    if (options.metadata !== undefined) this.metadata = options.metadata;
  }

  /** The version's metadata. Assigning checks it is plain JSON of at most 1 MiB. */
  get metadata(): JsonObject {
    return this.metadataValue;
  }
  set metadata(value: JsonObject) {
    this.metadataValue = JSON.parse(serializeJsonObject(value, 'metadata')) as JsonObject;
  }

  private add(entry: DraftEntry): this {
    assertEntryPath(entry.path);
    if (this.entryMap.has(entry.path)) {
      throw new QuiverError(
        'E_DUPLICATE_ENTRY',
        `The artifact already has an entry '${entry.path}'; remove it first or choose another name.`,
        {
          details: { path: entry.path },
        },
      );
    }
    this.entryMap.set(entry.path, entry);
    return this;
  }

  /** Adds one file, stored under `name` (default: its base name). The bytes are read at commit. */
  addFile(localPath: string, options: { name?: string } = {}): this {
    const source = resolve(localPath);
    const stats = statOrThrow(source, 'The file');
    if (!stats.isFile()) {
      throw new QuiverError('E_NOT_A_FILE', `${source} is not a regular file; use addDir() for a folder.`, {
        details: { path: source },
      });
    }
    return this.add({
      kind: 'file',
      path: options.name ?? basename(source),
      source,
      size: Number(stats.size),
    });
  }

  /** Adds every file below a folder, under `prefix` when given. Symbolic links are followed; loops are an error. */
  addDir(localPath: string, options: { prefix?: string } = {}): this {
    const root = resolve(localPath);
    const stats = statOrThrow(root, 'The folder');
    if (!stats.isDirectory()) {
      throw new QuiverError(
        'E_NOT_A_DIRECTORY',
        `${root} is not a folder; use addFile() for a single file.`,
        { details: { path: root } },
      );
    }
    const visiting = new Set<string>();
    const walk = (directory: string, prefix: string): void => {
      const real = realpathSync(directory);
      if (visiting.has(real)) {
        throw new QuiverError(
          'E_SYMLINK_LOOP',
          `The folder ${directory} links back to ${real}, a folder being added; remove the link or add a narrower folder.`,
          {
            details: { path: directory },
          },
        );
      }
      visiting.add(real);
      let dirents: Dirent[];
      try {
        dirents = readdirSync(directory, { withFileTypes: true });
      } catch (error) {
        throw fileSystemError(error, { side: 'source', path: directory, outcome: 'Nothing was added.' });
      }
      for (const dirent of dirents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const full = join(directory, dirent.name);
        const entryPath = prefix ? `${prefix}/${dirent.name}` : dirent.name;
        if (dirent.isDirectory()) {
          walk(full, entryPath);
          continue;
        }
        if (!dirent.isSymbolicLink() && !dirent.isFile()) continue;
        const linked = statOrThrow(full, 'The file');
        if (linked.isDirectory()) {
          walk(full, entryPath);
          continue;
        }
        if (!linked.isFile()) continue;
        const size = Number(linked.size);
        this.add({ kind: 'file', path: entryPath, source: full, size });
      }
      visiting.delete(real);
    };
    if (options.prefix !== undefined) assertEntryPath(options.prefix);
    walk(root, options.prefix ?? '');
    return this;
  }

  /** Adds bytes held in memory (hashed in memory and written to the store once). */
  addBytes(path: string, content: Uint8Array | string): this {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return this.add({ kind: 'bytes', path, bytes });
  }

  /**
   * Records an object by URI with its size and sha256, without copying it (`file://`,
   * `http(s)://`, `hf://`, `s3://`, `gs://`, and any scheme registered with
   * `registerReferenceHandler`). When both are already known (e.g. the sha256 LFS oid of a Hub
   * file), pass them and the object is not read.
   *
   * `s3://bucket/key` records size, ETag and version id (sha256 too with `checksum: true`, which
   * reads the object once); `s3://bucket/prefix/` records every object under the prefix as
   * `<name>/<key after the prefix>` — more than `maxObjects` (default 10,000) is refused.
   */
  addReference(
    uri: string,
    options: { name?: string; sha256?: string; size?: number; checksum?: boolean; maxObjects?: number } = {},
  ): this {
    const { url } = referenceHandlerFor(uri);
    if (
      options.maxObjects !== undefined &&
      !(Number.isSafeInteger(options.maxObjects) && options.maxObjects >= 1)
    )
      throw new QuiverError(
        'E_INVALID_OPTION',
        `addReference('${uri}'): maxObjects is a whole number of at least 1.`,
        {
          details: { uri },
        },
      );
    let name = options.name;
    if (name === undefined && url.pathname.endsWith('/')) {
      try {
        name = decodeURIComponent(basename(url.pathname.replace(/\/+$/, ''))) || url.hostname;
      } catch {
        name = '';
      }
    }
    if (name === undefined) {
      try {
        name = decodeURIComponent(basename(url.pathname));
      } catch {
        name = '';
      }
    }
    if (!name) {
      throw new QuiverError('E_INVALID_PATH', `Cannot derive an entry name from '${uri}'; pass { name }.`, {
        details: { uri },
      });
    }
    if (
      (options.sha256 === undefined) !== (options.size === undefined) ||
      (options.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(options.sha256)) ||
      (options.size !== undefined && !(Number.isSafeInteger(options.size) && options.size >= 0))
    )
      throw new QuiverError(
        'E_INVALID_OPTION',
        `addReference('${uri}'): give both sha256 (64 lowercase hex digits) and size (a byte count), or neither to read the object once.`,
        { details: { uri } },
      );
    const extra = {
      ...(options.checksum !== undefined ? { checksum: options.checksum } : {}),
      ...(options.maxObjects !== undefined ? { maxObjects: options.maxObjects } : {}),
    };
    return this.add(
      options.sha256 === undefined
        ? { kind: 'reference', path: name, uri: url.href, ...extra }
        : {
            kind: 'reference',
            path: name,
            uri: url.href,
            sha256: options.sha256,
            size: options.size as number,
          },
    );
  }

  /** Keeps an entry of a previous version (used by `newDraft()`). */
  addStored(path: string, sha256: string, size: number, uri?: string): this {
    return uri
      ? this.add({ kind: 'reference', path, uri, sha256, size })
      : this.add({ kind: 'stored', path, sha256, size });
  }

  /** Removes an entry from the draft. */
  removeEntry(path: string): this {
    if (!this.entryMap.delete(path)) {
      throw new QuiverError('E_NOT_FOUND', `The draft has no entry '${path}'.`, { details: { path } });
    }
    return this;
  }

  /** The entries added so far, sorted by path. */
  get entries(): readonly DraftEntry[] {
    return [...this.entryMap.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
