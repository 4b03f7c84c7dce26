/**
 * The directory structure of one commit: every directory's git tree id and children, so the
 * tree API can list a folder (flat or recursive) in git's order and report directory oids.
 */
import { type GitTreeEntry, gitTreeOid, inGitOrder } from './git-objects.js';

/** A file of a commit. LFS files keep their pointer's blob id as `oid`, as git does. */
export interface FileEntry {
  path: string;
  /** Size of the content (not of the pointer), as the Hub reports it. */
  size: number;
  /** git blob id: of the content for regular files, of the pointer file for LFS files. */
  oid: string;
  /** sha256 of the content, as recorded when it was uploaded. */
  sha256: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

/** A listed entry: a file, or a directory with its git tree id. */
export type TreeItem =
  | { type: 'file'; path: string; file: FileEntry }
  | { type: 'directory'; path: string; oid: string };

interface DirectoryNode {
  oid: string;
  /** Children in git's order. */
  children: GitTreeEntry[];
}

export class RepoTree {
  readonly #files: ReadonlyMap<string, FileEntry>;
  readonly #directories = new Map<string, DirectoryNode>();

  constructor(files: ReadonlyMap<string, FileEntry>) {
    this.#files = files;
    const children = new Map<string, Map<string, boolean>>([['', new Map()]]);
    for (const path of files.keys()) {
      const parts = path.split('/');
      parts.forEach((name, depth) => {
        const isDirectory = depth < parts.length - 1;
        const self = parts.slice(0, depth + 1).join('/');
        if (isDirectory && !children.has(self)) children.set(self, new Map());
        children.get(parts.slice(0, depth).join('/'))?.set(name, isDirectory);
      });
    }
    const build = (directory: string): string => {
      const entries: GitTreeEntry[] = [];
      for (const [name, isDirectory] of children.get(directory) ?? []) {
        const path = join(directory, name);
        entries.push({
          name,
          directory: isDirectory,
          oid: isDirectory ? build(path) : (files.get(path)?.oid as string),
        });
      }
      const oid = gitTreeOid(entries);
      this.#directories.set(directory, { oid, children: inGitOrder(entries) });
      return oid;
    };
    build('');
  }

  /** The commit's root tree id. */
  get oid(): string {
    return this.#directories.get('')?.oid as string;
  }

  /** The git id of the file or directory at `path`, if there is one. */
  oidOf(path: string): string | undefined {
    return this.#files.get(path)?.oid ?? this.#directories.get(path)?.oid;
  }

  /** The file or directory at `path` as a listed item. */
  item(path: string): TreeItem | undefined {
    const file = this.#files.get(path);
    if (file) return { type: 'file', path, file };
    const directory = this.#directories.get(path);
    return directory && path !== '' ? { type: 'directory', path, oid: directory.oid } : undefined;
  }

  /**
   * The entries of a directory ('' for the root), depth-first in git's order when recursive
   * (a directory comes right before its content). Undefined when `directory` is not one.
   */
  list(directory: string, recursive: boolean): TreeItem[] | undefined {
    if (!this.#directories.has(directory)) return undefined;
    const items: TreeItem[] = [];
    const visit = (path: string): void => {
      for (const child of this.#directories.get(path)?.children ?? []) {
        const childPath = join(path, child.name);
        items.push(this.item(childPath) as TreeItem);
        if (child.directory && recursive) visit(childPath);
      }
    };
    visit(directory);
    return items;
  }
}

function join(directory: string, name: string): string {
  return directory === '' ? name : `${directory}/${name}`;
}
