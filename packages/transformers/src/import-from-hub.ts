/**
 * Brings a Hub revision into Quiver as a version, so it has lineage and can be linked in the
 * registry: as `hf://` references pinned to the commit (default), or copied into the store.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { downloadFile, listFiles, modelInfo, type RepoDesignation } from '@huggingface/hub';
import {
  Artifact,
  type ArtifactVersion,
  assertEntryPath,
  formatHfUri,
  hashChunks,
  hubConnection,
  hubError,
  QuiverError,
  type Run,
  retryingFetch,
  type Store,
  withClient,
} from '@quiver/core';

export interface ImportFromHubOptions {
  /** A branch, tag or commit (default `main`); the version pins the commit it resolves to. */
  revision?: string;
  /** Copy the files into the store instead of referencing them (default false). */
  copy?: boolean;
  /** The artifact's name (default `hub-<repo name>`). */
  name?: string;
  aliases?: readonly string[];
  /** Record the import as produced by this run (else `project` says where it goes). */
  run?: Run;
  /** The project of the version when no run is given. */
  project?: string;
  store?: Store;
  hubUrl?: string;
  token?: string;
}

/**
 * Imports `repo` at `revision` as a `model` version. Each LFS file's sha256 is its LFS oid (a
 * copied file is checked against it); other files are read once and hashed.
 */
export async function importFromHub(
  repo: string,
  options: ImportFromHubOptions = {},
): Promise<ArtifactVersion> {
  if (!options.run && !options.project)
    throw new QuiverError(
      'E_INVALID_OPTION',
      'importFromHub needs { run } or { project } to know where the version goes.',
      {
        details: { option: 'project' },
      },
    );
  const connection = { ...hubConnection(options), fetch: retryingFetch() };
  const designation: RepoDesignation = { type: 'model', name: repo };
  const requested = options.revision ?? 'main';
  const artifact = new Artifact(options.name ?? `hub-${repo.split('/').at(-1)}`, 'model');
  let commit: string;
  // Copies stream into a scratch folder while they are hashed (never whole files in memory).
  const scratch = options.copy ? await mkdtemp(join(tmpdir(), 'quiver-hub-import-')) : undefined;
  try {
    commit = (await modelInfo({ name: repo, revision: requested, additionalFields: ['sha'], ...connection }))
      .sha;
    for await (const entry of listFiles({
      repo: designation,
      revision: commit,
      recursive: true,
      ...connection,
    })) {
      if (entry.type !== 'file') continue;
      const pinned = { repo, revision: commit, path: entry.path };
      const needsBytes = options.copy === true || entry.lfs === undefined;
      const blob = needsBytes
        ? await downloadFile({
            repo: designation,
            path: entry.path,
            revision: commit,
            xet: false,
            ...connection,
          })
        : null;
      if (needsBytes && !blob)
        throw new QuiverError('E_HUB_NOT_FOUND', `${entry.path} vanished from ${repo}@${commit}.`);
      if (scratch) {
        assertEntryPath(entry.path);
        const target = join(scratch, String(artifact.entries.length));
        const actual = await saveHashing(blob as Blob, target);
        if (entry.lfs && actual !== entry.lfs.oid)
          throw new QuiverError(
            'E_CHECKSUM_MISMATCH',
            `${entry.path} of ${repo}@${commit} does not match its LFS oid (sha256 ${actual}, expected ${entry.lfs.oid}); nothing was imported.`,
            { details: { path: entry.path } },
          );
        artifact.addFile(target, { name: entry.path });
      } else {
        const sha256 =
          entry.lfs?.oid ??
          (await hashChunks((blob as Blob).stream() as unknown as AsyncIterable<Uint8Array>)).sha256;
        artifact.addReference(formatHfUri(pinned), {
          name: entry.path,
          sha256,
          size: entry.lfs?.size ?? entry.size,
        });
      }
    }
    artifact.metadata = {
      format: 'huggingface-hub',
      hub: {
        repo,
        hubUrl: connection.hubUrl,
        revision: commit,
        requestedRevision: requested,
        imported: options.copy ? 'copy' : 'reference',
      },
    };
    if (options.run) return await options.run.logArtifact(artifact, { aliases: options.aliases ?? [] });
    return await withClient(options.store, (client) =>
      client.commit(artifact, { project: options.project as string, aliases: options.aliases ?? [] }),
    );
  } catch (error) {
    throw hubError(error, `Importing ${repo}@${requested}`, connection.accessToken);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Streams a downloaded file to `target`, returning its sha256. */
async function saveHashing(blob: Blob, target: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    Readable.fromWeb(blob.stream() as WebReadableStream<Uint8Array>),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
    createWriteStream(target, { flags: 'wx' }),
  );
  return hash.digest('hex');
}
