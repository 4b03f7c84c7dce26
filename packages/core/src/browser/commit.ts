import type { CommitOptions, CommitProgress } from '../artifact-commit.js';
import { QuiverError } from '../contract/errors.js';
import type { CommitResult, JsonObject, ManifestEntry } from '../contract/index.js';
import { serializeJsonObject } from '../metadata.js';
import { assertAlias, assertName, assertTag } from '../names.js';
import { isSha256 } from '../stored-manifest.js';
import type { Artifact } from './artifact.js';
import type { Connection } from './connection.js';
import { sha256Hex } from './hash.js';

/** A commit's options and progress: those of the Node SDK. */
export type { CommitOptions, CommitProgress } from '../artifact-commit.js';

/** A draft checked and frozen for sending: what the outbox keeps until the server took it. */
export interface PendingCommit {
  entity: string;
  project: string;
  name: string;
  type: string;
  description: string | null;
  metadata: JsonObject;
  runId: string | null;
  aliases: string[];
  tags: string[];
  files: Array<{ path: string; bytes: Uint8Array }>;
}

/** Checks a draft as the Node SDK does and freezes it (its bytes are copied). */
export function pendingCommit(
  connection: Connection,
  artifact: Artifact,
  options: CommitOptions,
): PendingCommit {
  const entity = assertName(options.entity ?? connection.backend.principal.entity, 'entity');
  const project = assertName(options.project, 'project');
  const aliases = [...new Set((options.aliases ?? []).map((alias) => assertAlias(alias)))];
  const tags = [...new Set((options.tags ?? []).map((tag) => assertTag(tag)))];
  const metadata = JSON.parse(serializeJsonObject(artifact.metadata, 'metadata')) as JsonObject;
  if (artifact.entries.length === 0)
    throw new QuiverError(
      'E_EMPTY_ARTIFACT',
      `The artifact '${artifact.name}' has no entries; add files with addFile, addDir, addBytes or addReference.`,
    );
  return {
    entity,
    project,
    name: artifact.name,
    type: artifact.type,
    description: artifact.description ?? null,
    metadata,
    runId: options.runId ?? null,
    aliases,
    tags,
    files: artifact.entries.map((entry) => ({ path: entry.path, bytes: entry.bytes.slice() })),
  };
}

/**
 * Sends a frozen draft: hashes each file, uploads the blobs the server lacks, then commits the
 * version in one request. Every step is safe to repeat (blobs by digest, the commit by content),
 * so a commit cut off by a closed page is sent again whole.
 */
export async function sendCommit(
  connection: Connection,
  pending: PendingCommit,
  onProgress?: (progress: CommitProgress) => void,
): Promise<CommitResult> {
  const { artifacts } = connection.backend;
  const existing = await artifacts.typeOf({
    entity: pending.entity,
    project: pending.project,
    name: pending.name,
  });
  if (existing !== null && existing !== pending.type)
    throw new QuiverError(
      'E_TYPE_MISMATCH',
      `The artifact '${pending.project}/${pending.name}' has type '${existing}', not '${pending.type}'; use type '${existing}' or another name.`,
      { details: { expected: existing, actual: pending.type } },
    );
  const progress: CommitProgress = {
    bytesDone: 0,
    bytesTotal: pending.files.reduce((sum, file) => sum + file.bytes.length, 0),
    filesDone: 0,
    filesTotal: pending.files.length,
  };
  const manifest: ManifestEntry[] = [];
  for (const file of pending.files)
    manifest.push({ path: file.path, sha256: await sha256Hex(file.bytes), size: file.bytes.length });
  const answer: unknown = await artifacts.missingBlobs(
    manifest.map(({ sha256, size }) => ({ sha256, size })),
  );
  if (!Array.isArray(answer) || !answer.every(isSha256))
    throw new QuiverError(
      'E_INTERNAL',
      'The server answered the missing-blobs check with something else than digests.',
    );
  const missing = new Set<string>(answer);
  for (const [index, file] of pending.files.entries()) {
    const { sha256 } = manifest[index]!;
    if (missing.delete(sha256)) await connection.upload(sha256, file.bytes);
    progress.bytesDone += file.bytes.length;
    progress.filesDone++;
    onProgress?.({ ...progress });
  }
  const { files: _files, ...input } = pending;
  return artifacts.commit({ ...input, manifest });
}
