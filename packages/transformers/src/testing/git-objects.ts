/**
 * The git side of a Hub repo: object ids computed exactly as git computes them (blob, tree,
 * commit), LFS pointer files, and the `.gitattributes` patterns that route files to LFS.
 */
import { createHash } from 'node:crypto';

/** The `.gitattributes` the Hub writes into every new repo (its LFS patterns). */
export const DEFAULT_GITATTRIBUTES = `${[
  '*.7z',
  '*.arrow',
  '*.bin',
  '*.bz2',
  '*.ckpt',
  '*.ftz',
  '*.gz',
  '*.h5',
  '*.joblib',
  '*.lfs.*',
  '*.mlmodel',
  '*.model',
  '*.msgpack',
  '*.npy',
  '*.npz',
  '*.onnx',
  '*.ot',
  '*.parquet',
  '*.pb',
  '*.pickle',
  '*.pkl',
  '*.pt',
  '*.pth',
  '*.rar',
  '*.safetensors',
  'saved_model/**/*',
  '*.tar.*',
  '*.tar',
  '*.tflite',
  '*.tgz',
  '*.wasm',
  '*.xz',
  '*.zip',
  '*.zst',
  '*tfevents*',
]
  .map((pattern) => `${pattern} filter=lfs diff=lfs merge=lfs -text`)
  .join('\n')}\n`;

/** `git hash-object`: the sha1 of `blob <size>\0<content>`. */
export function gitBlobOid(chunks: Iterable<Uint8Array>, size: number): string {
  const hash = createHash('sha1').update(`blob ${size}\0`);
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/** The LFS pointer file git stores in place of an LFS object. */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

/** One entry of a git tree: a file (blob) or a directory (tree), by name within its parent. */
export interface GitTreeEntry {
  name: string;
  oid: string;
  directory: boolean;
}

/** The id of a tree object, entries in git's order (directories compare as `name/`). */
export function gitTreeOid(entries: readonly GitTreeEntry[]): string {
  const body = Buffer.concat(
    inGitOrder(entries).map((entry) =>
      Buffer.concat([
        Buffer.from(`${entry.directory ? '40000' : '100644'} ${entry.name}\0`),
        Buffer.from(entry.oid, 'hex'),
      ]),
    ),
  );
  return createHash('sha1').update(`tree ${body.byteLength}\0`).update(body).digest('hex');
}

/** The id of a commit object. */
export function gitCommitOid(commit: {
  tree: string;
  parents: readonly string[];
  author: string;
  date: Date;
  message: string;
}): string {
  const identity = `${commit.author} <${commit.author}@users.noreply.huggingface.co> ${Math.floor(commit.date.getTime() / 1000)} +0000`;
  const body = [
    `tree ${commit.tree}`,
    ...commit.parents.map((parent) => `parent ${parent}`),
    `author ${identity}`,
    `committer ${identity}`,
    '',
    commit.message,
  ].join('\n');
  const bytes = Buffer.from(`${body}\n`);
  return createHash('sha1').update(`commit ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** Tree entries sorted as git sorts them: by name bytes, a directory named as if `name/`. */
export function inGitOrder<T extends { name: string; directory: boolean }>(entries: readonly T[]): T[] {
  const sortKey = (entry: T): Buffer => Buffer.from(entry.directory ? `${entry.name}/` : entry.name);
  return [...entries].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
}

/** The patterns of a `.gitattributes` file that carry `filter=lfs`, as matchers of repo paths. */
export function lfsPatterns(gitattributes: string): ((path: string) => boolean)[] {
  const matchers: ((path: string) => boolean)[] = [];
  for (const line of gitattributes.split('\n')) {
    const [pattern, ...attributes] = line.trim().split(/\s+/);
    if (!pattern || pattern.startsWith('#') || !attributes.includes('filter=lfs')) continue;
    matchers.push(globMatcher(pattern));
  }
  return matchers;
}

/**
 * A gitattributes pattern as a path matcher: without a slash it matches the file name at any
 * depth; with one it is anchored at the root. `*` stays within a segment, `**` crosses them.
 */
function globMatcher(pattern: string): (path: string) => boolean {
  const anchored = pattern.includes('/');
  const glob = pattern.replace(/^\//, '');
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] as string;
    if (char === '*' && glob[index + 1] === '*') {
      source += '.*';
      index++;
      if (glob[index + 1] === '/') index++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`);
  return anchored ? (path) => regex.test(path) : (path) => regex.test(path.split('/').at(-1) ?? path);
}
