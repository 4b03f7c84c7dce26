import type { QuiverError } from '../../contract/errors.js';
import type { GcReport, ManifestEntry, StoreProblem, StoreVerifyReport } from '../../contract/index.js';
import { assertStoredManifest } from '../../manifest-validation.js';
import type { EmbeddedContext as Store } from './context.js';

/** Default grace period: blobs and temp files younger than this are never collected. */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

/** How many candidates gc re-checks and removes under one hold of the blob lock. */
const REMOVE_BATCH = 500;

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
 * Removes blobs that no version references and abandoned temporary files.
 *
 * Correct beside concurrent commits at any grace period: the first pass only nominates blobs
 * (unreferenced and older than the grace period); each batch is then re-checked and taken into a
 * trash folder in a write transaction holding the exclusive blob lock (deleted only once that
 * transaction committed, put back otherwise), which a commit holds shared while it
 * checks that its blobs exist and records them. So a blob is removed only if, at a moment when no
 * commit can record it, nothing references it and no commit has reused it within the grace
 * period (staging refreshes a reused blob's time) and no commit in flight has pinned it. A commit
 * pins its blobs once staged and stages again what vanished before the pin; one that still finds a
 * blob missing under the lock records nothing and stages again, and never commits without its
 * content.
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
  const candidates: string[] = [];
  for await (const blob of store.blobs.list()) {
    if (referenced.has(blob.sha256) || blob.modifiedAt.getTime() > cutoff) continue;
    if (dryRun) {
      report.blobs++;
      report.bytes += blob.size;
    } else candidates.push(blob.sha256);
  }
  // A gc that was killed, or lost its lock, between taking blobs and committing: put them back.
  if (!dryRun) await store.blobs.restoreAbandonedRemovals();
  for (let offset = 0; offset < candidates.length; offset += REMOVE_BATCH) {
    const batch = candidates.slice(offset, offset + REMOVE_BATCH);
    const removal = store.blobs.beginRemoval();
    let removed: { blobs: number; bytes: number };
    try {
      removed = await store.connection.writeTransaction(async (trx) => {
        await removal.restore(); // this work runs again after a dropped connection
        await store.connection.lockBlobs(trx, 'exclusive');
        const stillReferenced = new Set(
          (
            await trx
              .selectFrom('manifest_entries')
              .select('sha256')
              .distinct()
              .where('ref_uri', 'is', null)
              .where('sha256', 'in', batch)
              .execute()
          ).map((row) => row.sha256),
        );
        const pinned = await store.blobs.pinned(graceMs);
        let blobs = 0;
        let bytes = 0;
        for (const sha256 of batch) {
          if (stillReferenced.has(sha256) || pinned.has(sha256)) continue;
          const blob = await store.blobs.info(sha256);
          // Reused by a commit since the first pass (within the grace period): leave it.
          if (!blob || blob.modifiedAt.getTime() > Date.now() - graceMs) continue;
          if (!(await removal.take(sha256))) continue;
          blobs++;
          bytes += blob.size;
        }
        return { blobs, bytes };
      });
    } catch (error) {
      // The lock may have ended before the transaction did: nothing taken may be deleted.
      await removal.restore();
      await removal.finish();
      throw error;
    }
    // Committed: the lock was held while every blob was taken, so no commit recorded one.
    await removal.finish();
    report.blobs += removed.blobs;
    report.bytes += removed.bytes;
  }
  if (!dryRun) {
    const removed = await store.blobs.removeStaleStaging(graceMs);
    report.temporaries = removed.files;
    report.temporaryBytes = removed.bytes;
  }
  return report;
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
    .select([
      'e.sha256',
      'e.size',
      'e.path',
      'e.ref_uri',
      'a.entity',
      'a.project',
      'a.name',
      'v.id',
      'v.version',
      'v.digest',
      'v.file_count',
    ])
    .where('v.state', '=', 'committed')
    .execute();
  const problems: StoreProblem[] = [];
  problems.push(...manifestProblems(entries));
  const bySha = new Map<
    string,
    { size: number; affected: Array<{ ref: string; path: string; size: number }> }
  >();
  for (const entry of entries) {
    if (entry.ref_uri !== null) continue;
    const item = bySha.get(entry.sha256) ?? { size: Number(entry.size), affected: [] };
    item.affected.push({
      ref: `${entry.entity}/${entry.project}/${entry.name}:v${entry.version}`,
      path: entry.path,
      size: Number(entry.size),
    });
    bySha.set(entry.sha256, item);
  }
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
        affected: (bySha.get(blob.sha256)?.affected ?? []).map(({ ref, path }) => ({ ref, path })),
        detail: `content hashes to ${actual?.sha256 ?? 'nothing (unreadable)'}`,
      });
      continue;
    }
    const wrongSize = (bySha.get(blob.sha256)?.affected ?? []).filter((item) => item.size !== actual.size);
    if (wrongSize.length > 0) {
      problems.push({
        kind: 'corrupt-manifest',
        sha256: blob.sha256,
        affected: wrongSize.map(({ ref, path }) => ({ ref, path })),
        detail: `entries record ${[...new Set(wrongSize.map((item) => item.size))].join(', ')} bytes for content of ${actual.size} bytes`,
      });
    }
  }
  for (const [sha256, item] of bySha) {
    if (!present.has(sha256))
      problems.push({
        kind: 'missing-blob',
        sha256,
        affected: item.affected.map(({ ref, path }) => ({ ref, path })),
        detail: 'no stored content for this digest',
      });
  }
  return {
    ok: problems.length === 0,
    blobsChecked,
    entriesChecked: entries.filter((entry) => entry.ref_uri === null).length,
    problems,
  };
}

/** Every version whose stored manifest fails {@link assertStoredManifest} (a changed row). */
function manifestProblems(
  rows: ReadonlyArray<{
    id: number;
    entity: string;
    project: string;
    name: string;
    version: number;
    digest: string;
    file_count: number;
    path: string;
    sha256: string;
    size: number;
    ref_uri: string | null;
  }>,
): StoreProblem[] {
  const versions = new Map<
    number,
    { ref: string; digest: string; fileCount: number; entries: ManifestEntry[] }
  >();
  for (const row of rows) {
    let version = versions.get(row.id);
    if (!version) {
      version = {
        ref: `${row.entity}/${row.project}/${row.name}:v${row.version}`,
        digest: row.digest,
        fileCount: row.file_count,
        entries: [],
      };
      versions.set(row.id, version);
    }
    version.entries.push({
      path: row.path,
      sha256: row.sha256,
      size: Number(row.size),
      ...(row.ref_uri !== null ? { ref: row.ref_uri } : {}),
    });
  }
  const problems: StoreProblem[] = [];
  for (const version of versions.values()) {
    try {
      assertStoredManifest(version.entries, version);
    } catch (error) {
      problems.push({
        kind: 'corrupt-manifest',
        sha256: version.digest,
        affected: [{ ref: version.ref, path: String((error as QuiverError).details?.path ?? '') }],
        detail: (error as Error).message,
      });
    }
  }
  return problems;
}
