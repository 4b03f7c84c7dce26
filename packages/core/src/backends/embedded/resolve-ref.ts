import type { ArtifactVersionInfo, ResolvedRef } from '../../contract/index.js';
import { parseRef } from '../../ref.js';
import { resolveArtifactRef } from './artifact-records.js';
import type { EmbeddedContext as Store } from './context.js';
import { resolveRegistryRef } from './registry/registry-records.js';

/** Resolves an artifact ref or a registry ref, following a registry ref to the version it bookmarks. */
export async function resolveRef(store: Store, ref: string): Promise<ResolvedRef> {
  const parsed = parseRef(ref);
  // One snapshot, so the version and the aliases it reports agree even while aliases move.
  return store.connection.readTransaction(async (trx) => {
    if (parsed.kind === 'artifact') return { version: await resolveArtifactRef(store, parsed, trx) };
    const registryVersion = await resolveRegistryRef(store, parsed, trx);
    return { version: registryVersion.source, registryVersion };
  });
}

/** Resolves any ref to the committed artifact version behind it. */
export async function resolveVersion(store: Store, ref: string): Promise<ArtifactVersionInfo> {
  return (await resolveRef(store, ref)).version;
}
