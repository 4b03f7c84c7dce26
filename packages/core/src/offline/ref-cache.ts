import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ArtifactVersionInfo, ManifestEntry, ResolvedRef } from '../contract/index.js';
import { assertStoredManifest } from '../manifest-validation.js';
import { formatParsedRef, parseRef } from '../ref.js';
import { writeFileAtomically } from './bundle.js';

/**
 * What this machine fetched online, for reads offline: per ref, the version it resolved to (the
 * pin), its entries, and the folder its files were downloaded into. `<QUIVER_DIR>/cache/refs/`.
 * Read back as input: a record whose entries do not hash to its version's digest is ignored.
 */
export interface CachedRef {
  ref: string;
  resolved: ResolvedRef;
  entries: ManifestEntry[];
  /** Where the files were downloaded (verified), if they were. */
  folder?: string;
  fetchedAt: string;
}

const versionSchema = z
  .object({
    id: z.string().min(1).max(64),
    entity: z.string(),
    project: z.string(),
    name: z.string(),
    type: z.string(),
    version: z.number().int().min(0),
    ref: z.string(),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().min(0),
    fileCount: z.number().int().min(0),
  })
  .passthrough();

const cachedSchema = z.object({
  ref: z.string(),
  resolved: z.object({ version: versionSchema }).passthrough(),
  entries: z.array(
    z.object({ path: z.string(), sha256: z.string(), size: z.number(), ref: z.string().optional() }).strict(),
  ),
  folder: z.string().optional(),
  fetchedAt: z.string(),
});

/** `ref` in one spelling: entity filled in with `entity`, `latest` spelled out by leaving it off. */
export function normalizeRef(ref: string, entity: string): string {
  const parsed = parseRef(ref);
  return formatParsedRef({ ...parsed, entity: parsed.entity ?? entity });
}

export class RefCache {
  private readonly dir: string;
  /** Records read and checked already, by file name and modification time (a file is replaced whole). */
  private readonly loaded = new Map<string, { mtimeMs: number; record: CachedRef | undefined }>();

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'refs');
  }

  private fileOf(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  /**
   * Records what `ref` resolved to, under each spelling in `refs` and its canonical
   * `entity/project/name:vN` (the pin). Best effort.
   */
  remember(
    refs: readonly string[],
    resolved: ResolvedRef,
    entries: readonly ManifestEntry[],
    folder?: string,
  ): void {
    const ref = refs[0]!;
    try {
      mkdirSync(this.dir, { recursive: true });
      const record: CachedRef = {
        ref,
        resolved,
        entries: [...entries],
        ...(folder ? { folder } : {}),
        fetchedAt: new Date().toISOString(),
      };
      const text = `${JSON.stringify(record)}\n`;
      for (const key of new Set([...refs, resolved.version.ref])) writeFileAtomically(this.fileOf(key), text);
    } catch {
      // A cache that cannot be written only means no reads offline.
    }
  }

  /** What `ref` resolved to when it was last fetched, or undefined. */
  lookup(ref: string): CachedRef | undefined {
    return this.read(this.fileOf(ref));
  }

  /** The cached version with this id, if any was fetched. */
  byVersionId(id: string): CachedRef | undefined {
    for (const record of this.all()) if (record.resolved.version.id === id) return record;
    return undefined;
  }

  /** A downloaded file holding `sha256` (with that size), if a cached version has one. */
  fileWith(sha256: string): string | undefined {
    for (const record of this.all()) {
      if (!record.folder) continue;
      const entry = record.entries.find((candidate) => candidate.sha256 === sha256 && !candidate.ref);
      if (!entry) continue;
      const file = join(record.folder, entry.path);
      try {
        if (statSync(file).size === entry.size) return file;
      } catch {}
    }
    return undefined;
  }

  private *all(): Iterable<CachedRef> {
    if (!existsSync(this.dir)) return;
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      let mtimeMs: number;
      try {
        mtimeMs = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      // Each record is parsed and its manifest hashed once, not on every blob a reader misses.
      let seen = this.loaded.get(name);
      if (seen?.mtimeMs !== mtimeMs) {
        seen = { mtimeMs, record: this.read(file) };
        this.loaded.set(name, seen);
      }
      if (seen.record) yield seen.record;
    }
  }

  private read(file: string): CachedRef | undefined {
    try {
      const parsed = cachedSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) return undefined;
      const record = parsed.data as unknown as CachedRef;
      assertStoredManifest(record.entries, record.resolved.version as ArtifactVersionInfo);
      return record;
    } catch {
      return undefined;
    }
  }
}

/** Appends a use of a cached (server) version to a bundle's `uses.jsonl`, for `quiver sync`. */
export function recordOfflineUse(file: string, ref: string, version: string): void {
  appendFileSync(file, `${JSON.stringify({ ref, version, at: new Date().toISOString() })}\n`);
}

/** The uses a bundle recorded offline: the pinned server version refs (malformed lines are skipped). */
export function offlineUses(file: string): string[] {
  if (!existsSync(file)) return [];
  const refs: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const value = JSON.parse(line) as { version?: unknown };
      if (typeof value.version === 'string' && value.version.length <= 1024) refs.push(value.version);
    } catch {
      // A line torn by a kill: the use before it was complete, this one is not.
    }
  }
  return [...new Set(refs)];
}
