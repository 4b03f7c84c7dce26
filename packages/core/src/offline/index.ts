import { existsSync } from 'node:fs';
import { QuiverError } from '../contract/errors.js';
import type { Store } from '../store.js';
import { findBundles, offlineFolder } from './bundle.js';
import { type SyncOptions, type SyncReport, syncBundle } from './sync.js';

export {
  BUNDLE_FILE,
  type BundleInfo,
  findBundles,
  isBundle,
  offlineFolder,
  readBundleInfo,
} from './bundle.js';
export type { SyncOptions, SyncOutcome, SyncProgress, SyncRecord, SyncReport } from './sync.js';

/** What {@link syncOffline} did: a report per bundle, and the bundles that could not be synced. */
export interface SyncResult {
  reports: SyncReport[];
  failures: Array<{ bundle: string; code: string; message: string }>;
}

/**
 * Sends offline bundles to `target`: each path is a bundle or a folder of bundles (default:
 * `<QUIVER_DIR>/offline` of the target's settings). A bundle that cannot be synced (damaged, the
 * server unreachable) is listed in `failures` and the others still go; run it again to finish.
 */
export async function syncOffline(
  target: Store,
  paths: readonly string[] = [],
  options: SyncOptions = {},
): Promise<SyncResult> {
  const bundles = findBundles(paths.length > 0 ? paths : defaultFolder(target));
  const result: SyncResult = { reports: [], failures: [] };
  for (const bundle of bundles) {
    try {
      result.reports.push(await syncBundle(bundle, target, options));
    } catch (error) {
      const code = error instanceof QuiverError ? error.code : 'E_INTERNAL';
      result.failures.push({ bundle, code, message: (error as Error).message });
    }
  }
  return result;
}

/** `<QUIVER_DIR>/offline` when it exists (no folder: nothing recorded offline yet, nothing to send). */
function defaultFolder(target: Store): string[] {
  const folder = offlineFolder(target.settings.dir);
  return existsSync(folder) ? [folder] : [];
}
