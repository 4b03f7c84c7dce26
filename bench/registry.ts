/**
 * The registry suite: link + alias latency and listing a large registry, on the embedded store,
 * each beside a baseline measured in the same run. Works in a scratch folder, removed at the end.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureLinkAndAlias } from './registry/link-alias.js';
import { measureListing } from './registry/listing.js';
import type { Measurement } from './support/figures.js';
import { removeTree } from './support/files.js';
import { progress } from './support/measure.js';

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-registry-'));
  progress(`scratch folder ${scratch}`);
  try {
    progress('figure 1: link + alias');
    const linkAndAlias = await measureLinkAndAlias(join(scratch, 'store-link'));
    progress('figure 2: listing 1,000 models × 100 versions');
    const listing = await measureListing(join(scratch, 'store-listing'));
    return [linkAndAlias, listing];
  } finally {
    await removeTree(scratch);
  }
}
