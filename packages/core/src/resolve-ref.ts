import { type ArtifactVersionInfo, resolveArtifactRef } from './artifact-records.js';
import { parseRef } from './ref.js';
import { type RegistryVersionInfo, resolveRegistryRef } from './registry/registry-records.js';
import type { Store } from './store.js';

/** A resolved ref: the artifact version, and the registry version when the ref named one. */
export interface ResolvedRef {
  version: ArtifactVersionInfo;
  registryVersion?: RegistryVersionInfo;
}

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
