/**
 * How a commit is built from its parent and the operations of an NDJSON commit: inline files
 * stored as git blobs, LFS files pointing at objects already in the repo's LFS storage,
 * copies, deletions; then the Hub's own edit (LFS paths added to `.gitattributes`) and the
 * git ids of the resulting tree and commit.
 */
import { createHash } from 'node:crypto';
import { gitBlobOid, gitCommitOid, lfsPatterns, lfsPointer } from './git-objects.js';
import { badRequest, entryNotFound } from './hub-errors.js';
import type { Commit, CommitOperation, Repo } from './repo-store.js';
import { type FileEntry, RepoTree } from './repo-tree.js';
import { StoredBytes } from './stored-bytes.js';

/** Builds the commit that applies `operations` to `parent`'s files (does not record it). */
export function buildCommit(
  repo: Repo,
  parent: Commit | undefined,
  operations: readonly CommitOperation[],
  header: { summary: string; description?: string; author: string },
): Commit {
  const files = new Map(parent?.files);
  const newLfsPaths: string[] = [];
  for (const operation of operations) {
    validatePath(operation.path);
    switch (operation.kind) {
      case 'file':
        files.set(operation.path, storeBlob(repo, operation.path, operation.content));
        break;
      case 'lfsFile': {
        const stored = repo.lfsObjects.get(operation.oid);
        if (!stored || (operation.size !== undefined && operation.size !== stored.size)) {
          throw badRequest(
            'Invalid request: your push was rejected because it contains an LFS pointer pointed to a file that ' +
              `does not exist. Offending file: - ${operation.path}`,
          );
        }
        files.set(operation.path, lfsEntry(operation.path, operation.oid, stored.size));
        newLfsPaths.push(operation.path);
        break;
      }
      case 'copy': {
        const source = parent?.files.get(operation.from);
        if (!source) throw entryNotFound(operation.from);
        files.set(operation.path, { ...source, path: operation.path });
        break;
      }
      case 'deleteFile':
        if (!files.delete(operation.path)) throw entryNotFound(operation.path);
        break;
      case 'deleteFolder': {
        const prefix = `${operation.path.replace(/\/$/, '')}/`;
        const inside = [...files.keys()].filter((path) => path.startsWith(prefix));
        if (inside.length === 0) throw entryNotFound(operation.path);
        for (const path of inside) files.delete(path);
        break;
      }
    }
  }
  trackInGitattributes(repo, files, newLfsPaths);
  checkNoFileIsAlsoAFolder(files);
  const tree = new RepoTree(files);
  const date = new Date();
  const description = header.description ?? '';
  const message = description ? `${header.summary}\n\n${description}` : header.summary;
  const parents = parent ? [parent.oid] : [];
  return {
    oid: gitCommitOid({ tree: tree.oid, parents, author: header.author, date, message }),
    parents,
    summary: header.summary,
    description,
    author: header.author,
    date,
    files,
    tree,
    added: [...files.values()]
      .filter((file) => parent?.files.get(file.path)?.oid !== file.oid)
      .map((file) => file.path),
    deleted: [...(parent?.files.keys() ?? [])].filter((path) => !files.has(path)),
  };
}

/** Adds LFS paths that no `.gitattributes` pattern covers to it, as the Hub's commit does. */
function trackInGitattributes(repo: Repo, files: Map<string, FileEntry>, lfsPaths: readonly string[]): void {
  const current = files.get('.gitattributes');
  const text = current ? (repo.blobs.get(current.oid)?.toBuffer().toString('utf8') ?? '') : '';
  const patterns = lfsPatterns(text);
  const untracked = lfsPaths.filter((path) => !patterns.some((matches) => matches(path)));
  if (untracked.length === 0) return;
  const lines = untracked.map((path) => `${path} filter=lfs diff=lfs merge=lfs -text\n`);
  const updated = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${lines.join('')}`;
  files.set('.gitattributes', storeBlob(repo, '.gitattributes', Buffer.from(updated)));
}

/** Stores a regular file's content as a git blob. */
function storeBlob(repo: Repo, path: string, content: Buffer): FileEntry {
  const oid = gitBlobOid([content], content.byteLength);
  repo.blobs.set(oid, StoredBytes.of(content));
  return {
    path,
    size: content.byteLength,
    oid,
    sha256: createHash('sha256').update(content).digest('hex'),
  };
}

/** The tree entry of an LFS file: its oid is the pointer's blob id, `lfs.oid` the sha256. */
function lfsEntry(path: string, sha256: string, size: number): FileEntry {
  const pointer = Buffer.from(lfsPointer(sha256, size));
  return {
    path,
    size,
    oid: gitBlobOid([pointer], pointer.byteLength),
    sha256,
    lfs: { oid: sha256, size, pointerSize: pointer.byteLength },
  };
}

function validatePath(path: string): void {
  const segments = path.split('/');
  if (
    path === '' ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    segments[0] === '.git'
  ) {
    throw badRequest(`Invalid path: "${path}"`);
  }
}

function checkNoFileIsAlsoAFolder(files: ReadonlyMap<string, FileEntry>): void {
  for (const path of files.keys()) {
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (files.has(folder)) throw badRequest(`"${folder}" cannot be both a file and a folder`);
    }
  }
}
