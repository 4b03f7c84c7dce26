import type { Store } from './store.js';

/** What `gc` removed (or, with `dryRun`, would remove). */
export interface GcReport {
  blobs: number;
  bytes: number;
  temporaries: number;
  temporaryBytes: number;
  dryRun: boolean;
}

/** Default grace period: blobs and temp files younger than this are never collected. */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

async function referencedDigests(store: Store): Promise<Set<string>> {
  const rows = await store.connection.db
    .selectFrom('manifest_entries')
    .select('sha256')
    .distinct()
    .where('ref_uri', 'is', null)
    .execute();
  return new Set(rows.map((row) => row.sha256));
}

/**
 * Removes blobs that no version references and abandoned temporary files, both older than the
 * grace period, so a commit in flight (which refreshes the time of every blob it reuses) is never
 * collected.
 */
export async function collectGarbage(
  store: Store,
  options: { graceMs?: number; dryRun?: boolean } = {},
): Promise<GcReport> {
  const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  const dryRun = options.dryRun ?? false;
  const cutoff = Date.now() - graceMs;
  const referenced = await referencedDigests(store);
  const report: GcReport = { blobs: 0, bytes: 0, temporaries: 0, temporaryBytes: 0, dryRun };
  for await (const blob of store.blobs.list()) {
    if (referenced.has(blob.sha256) || blob.modifiedAt.getTime() > cutoff) continue;
    report.blobs++;
    report.bytes += blob.size;
    if (!dryRun) await store.blobs.remove(blob.sha256);
  }
  if (!dryRun) {
    const removed = await store.blobs.removeStaleTemporaries(graceMs);
    report.temporaries = removed.files;
    report.temporaryBytes = removed.bytes;
  }
  return report;
}

/** One problem `verify` found in the store. */
export interface StoreProblem {
  kind: 'corrupt-blob' | 'missing-blob';
  sha256: string;
  /** Versions (`entity/project/name:vN`) and entry paths affected. */
  affected: Array<{ ref: string; path: string }>;
  detail: string;
}

export interface StoreVerifyReport {
  ok: boolean;
  blobsChecked: number;
  entriesChecked: number;
  problems: StoreProblem[];
}

/** Re-hashes every blob and checks that every manifest entry's blob exists with the right size. */
export async function verifyStore(
  store: Store,
  options: { onBlob?: (done: number) => void } = {},
): Promise<StoreVerifyReport> {
  const db = store.connection.db;
  const entries = await db
    .selectFrom('manifest_entries as e')
    .innerJoin('artifact_versions as v', 'v.id', 'e.version_id')
    .innerJoin('artifacts as a', 'a.id', 'v.artifact_id')
    .select(['e.sha256', 'e.size', 'e.path', 'a.entity', 'a.project', 'a.name', 'v.version'])
    .where('e.ref_uri', 'is', null)
    .where('v.state', '=', 'committed')
    .execute();
  const bySha = new Map<string, { size: number; affected: Array<{ ref: string; path: string }> }>();
  for (const entry of entries) {
    const item = bySha.get(entry.sha256) ?? { size: Number(entry.size), affected: [] };
    item.affected.push({
      ref: `${entry.entity}/${entry.project}/${entry.name}:v${entry.version}`,
      path: entry.path,
    });
    bySha.set(entry.sha256, item);
  }
  const problems: StoreProblem[] = [];
  const present = new Set<string>();
  let blobsChecked = 0;
  for await (const blob of store.blobs.list()) {
    present.add(blob.sha256);
    const actual = await store.blobs.rehash(blob.sha256);
    blobsChecked++;
    options.onBlob?.(blobsChecked);
    if (actual?.sha256 !== blob.sha256) {
      problems.push({
        kind: 'corrupt-blob',
        sha256: blob.sha256,
        affected: bySha.get(blob.sha256)?.affected ?? [],
        detail: `content hashes to ${actual?.sha256 ?? 'nothing (unreadable)'}`,
      });
    }
  }
  for (const [sha256, item] of bySha) {
    if (!present.has(sha256))
      problems.push({
        kind: 'missing-blob',
        sha256,
        affected: item.affected,
        detail: 'no stored content for this digest',
      });
  }
  return { ok: problems.length === 0, blobsChecked, entriesChecked: entries.length, problems };
}
