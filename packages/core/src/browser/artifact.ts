import { QuiverError } from '../contract/errors.js';
import type { JsonObject } from '../contract/index.js';
import { assertEntryPath } from '../entry-path.js';
import { serializeJsonObject } from '../metadata.js';
import { assertName, assertType } from '../names.js';

/** One entry of a browser draft: bytes held in memory. */
export interface BytesEntry {
  kind: 'bytes';
  path: string;
  bytes: Uint8Array;
}

/** Options of {@link Artifact}. */
export interface ArtifactOptions {
  /** Markdown description of this version. */
  description?: string;
  /** JSON metadata of this version (at most 1 MiB serialised). */
  metadata?: JsonObject;
}

const encoder = new TextEncoder();

function noFiles(method: string): never {
  throw new QuiverError(
    'E_INVALID_OPTION',
    `${method}() reads the file system, which a page has not: add the content with addBytes(path, bytes).`,
  );
}

/**
 * A draft artifact in a page: name, type, description, metadata and in-memory entries; commit it
 * with `run.logArtifact(artifact)`. The same checks and errors as the Node SDK's `Artifact`.
 */
export class Artifact {
  readonly name: string;
  readonly type: string;
  description: string | undefined;
  private metadataValue: JsonObject = {};
  private readonly entryMap = new Map<string, BytesEntry>();

  constructor(name: string, type: string, options: ArtifactOptions = {}) {
    this.name = assertName(name, 'artifact');
    this.type = assertType(type);
    this.description = options.description;
    if (options.metadata !== undefined) this.metadata = options.metadata;
  }

  /** The version's metadata. Assigning checks it is plain JSON of at most 1 MiB. */
  get metadata(): JsonObject {
    return this.metadataValue;
  }
  set metadata(value: JsonObject) {
    this.metadataValue = JSON.parse(serializeJsonObject(value, 'metadata')) as JsonObject;
  }

  /** Adds bytes held in memory (a text is stored as its UTF-8). */
  addBytes(path: string, content: Uint8Array | string): this {
    assertEntryPath(path);
    if (this.entryMap.has(path))
      throw new QuiverError(
        'E_DUPLICATE_ENTRY',
        `The artifact already has an entry '${path}'; remove it first or choose another name.`,
        { details: { path } },
      );
    const bytes = typeof content === 'string' ? encoder.encode(content) : content;
    this.entryMap.set(path, { kind: 'bytes', path, bytes });
    return this;
  }

  addFile(_path: string): this {
    return noFiles('addFile');
  }

  addDir(_path: string): this {
    return noFiles('addDir');
  }

  /** Removes an entry from the draft. */
  removeEntry(path: string): this {
    if (!this.entryMap.delete(path))
      throw new QuiverError('E_NOT_FOUND', `The draft has no entry '${path}'.`, { details: { path } });
    return this;
  }

  /** The entries added so far, sorted by path. */
  get entries(): readonly BytesEntry[] {
    return [...this.entryMap.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
