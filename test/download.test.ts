// Downloads against hostile manifests and hostile destinations: every failure is a typed error,
// leaves nothing partial and writes nothing outside the target; a killed download is cleaned up.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  Artifact,
  type ArtifactVersion,
  type EmbeddedBackend,
  init,
  type ManifestEntry,
  type Store,
} from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialPathFor } from '../packages/core/src/blobs/download-files.js';
import { downloadEntries } from '../packages/core/src/download.js';
import { createTestStore, type TestStore, testBackends } from './support/backends.js';
import { runScript, spawnScript } from './support/processes.js';

const MiB = 1024 * 1024;
const CHILD = 'test/children/download-into.ts';

/** Every path under `root` (folders end with '/'), sorted: the state of a folder tree. */
function tree(root: string): string[] {
  if (!existsSync(root)) return [];
  const paths: string[] = [];
  const walk = (dir: string): void => {
    for (const dirent of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, dirent.name);
      paths.push(relative(root, path) + (dirent.isDirectory() ? '/' : ''));
      if (dirent.isDirectory()) walk(path);
    }
  };
  walk(root);
  return paths.sort();
}

const partialsIn = (root: string): string[] => tree(root).filter((path) => path.endsWith('.quiver-partial'));

function patterned(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let index = 0; index < size; index += 4) bytes.writeUInt32LE((index * 2654435761 + seed) >>> 0, index);
  return bytes;
}

/** Mounts a fresh tmpfs of `size` at `dir` (root only); returns the unmount. */
function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return () => execFileSync('umount', ['-l', dir]);
}

const canMount = process.getuid?.() === 0;

/** `downloadEntries` is internal: it takes core's own `Store` type (its source, not its build). */
type InternalStore = Parameters<typeof downloadEntries>[0];
const internal = (store: Store): InternalStore => store as unknown as InternalStore;

describe.each(testBackends())('downloads on %s', (backend) => {
  let testStore: TestStore<EmbeddedBackend>;
  let store: Store<EmbeddedBackend>;
  let small: ArtifactVersion;
  let large: ArtifactVersion;
  const work = mkdtempSync(join(tmpdir(), 'quiver-download-'));

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    const run = await init({ project: 'dl', store });
    small = await run.logArtifact(
      new Artifact('small', 'model')
        .addBytes('model.json', '{"layers":2}')
        .addBytes('weights/a.bin', patterned(100_000, 1))
        .addBytes('weights/b.bin', patterned(200_000, 2)),
    );
    large = await run.logArtifact(
      new Artifact('large', 'model')
        .addBytes('config.json', '{"big":true}')
        .addBytes('shards/one.bin', patterned(40 * MiB, 3))
        .addBytes('shards/two.bin', patterned(3 * MiB, 4)),
    );
    await run.finish();
  });
  afterAll(async () => {
    await testStore.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const fresh = (name: string): string => mkdtempSync(join(work, `${name}-`));

  it('a target that is an existing file is refused with E_NOT_A_DIRECTORY, the file untouched', async () => {
    const folder = fresh('file-target');
    const file = join(folder, 'taken.txt');
    writeFileSync(file, 'mine');
    for (const target of [file, join(file, 'below')]) {
      await expect(small.download(target)).rejects.toMatchObject({
        name: 'QuiverError',
        code: 'E_NOT_A_DIRECTORY',
        message: expect.stringContaining(file),
      });
    }
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(tree(folder)).toEqual(['taken.txt']);
  });

  it.runIf(canMount)('a read-only target file system gives E_READ_ONLY and writes nothing', async () => {
    const mount = fresh('read-only');
    const unmount = mountTmpfs(mount, '1m');
    try {
      mkdirSync(join(mount, 'existing'));
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      for (const target of [join(mount, 'new', 'deeper'), join(mount, 'existing')]) {
        await expect(small.download(target)).rejects.toMatchObject({
          code: 'E_READ_ONLY',
          details: { side: 'target' },
          message: expect.stringContaining('read-only'),
        });
      }
      expect(tree(mount)).toEqual(['existing/']);
    } finally {
      unmount();
    }
  });

  it.runIf(canMount).each([
    ['a streamed file', 'large', 'shards/'],
    ['small files', 'many', 'files/'],
  ])(
    'a full target disk (%s) gives E_DISK_FULL naming the target side, with no partial left and nothing outside',
    async (_, which) => {
      let version = large;
      if (which === 'many') {
        const run = await init({ project: 'dl', store });
        const draft = new Artifact('many-small', 'dataset');
        for (let index = 0; index < 24; index++)
          draft.addBytes(`files/${String(index).padStart(2, '0')}.bin`, patterned(100_000, 100 + index));
        version = await run.logArtifact(draft);
        await run.finish();
      }
      const parent = fresh('full');
      const mount = join(parent, 'disk');
      const unmount = mountTmpfs(mount, '1m');
      try {
        const before = tree(parent);
        const error = await version.download(join(mount, 'out')).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toMatchObject({
          name: 'QuiverError',
          code: 'E_DISK_FULL',
          details: { side: 'target' },
          message: expect.stringMatching(/disk of the download target .* is full/),
        });
        expect(partialsIn(mount)).toEqual([]);
        // Only the download's own folder changed: nothing beside it, nothing above it.
        expect(tree(parent).filter((path) => !path.startsWith('disk/out/'))).toEqual(before);
      } finally {
        unmount();
      }
    },
  );

  it('a target under /proc fails at once with a typed error instead of hanging', async () => {
    // In a child: on the old code the recursive mkdir spins forever and blocks its thread.
    const child = spawnScript(CHILD, ['dl/small', '/proc/quiver-cannot-exist/out'], testStore.env);
    const started = Date.now();
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (code, signal) => resolve([code, signal])),
    );
    clearTimeout(timer);
    expect(signal).toBeNull();
    expect(Date.now() - started).toBeLessThan(15_000); // start-up included; the failure is instant
    const { error } = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(error.code).toBe('E_READ_ONLY');
    expect(error.message).toContain('/proc/quiver-cannot-exist');
    expect(error.message).toMatch(/Choose a(nother)? folder/);
  });

  it('a killed download leaves partial files that the next download removes; the files verify', async () => {
    const target = join(fresh('killed'), 'out');
    const child = spawnScript(CHILD, ['dl/large', target, '--hang-mid-download'], testStore.env);
    await new Promise<void>((resolve, reject) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"mid":true')) resolve();
      });
      child.on('close', () => reject(new Error(`the child ended before stopping mid-download: ${stdout}`)));
    });
    // The large file's partial is on disk (the kernel copy may still be filling it).
    for (let waited = 0; partialsIn(target).length === 0 && waited < 5_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const closed = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGKILL');
    await closed;
    const left = partialsIn(target);
    expect(left.length).toBeGreaterThan(0);

    // A live download's partial in the same folder is kept; an abandoned old-style one is removed.
    const live = partialPathFor(join(target, 'shards', 'one.bin'));
    writeFileSync(live, 'being written by a live process');
    const abandoned = join(target, 'shards', '.0123456789ab.quiver-partial');
    writeFileSync(abandoned, 'left by an old version two days ago');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    utimesSync(abandoned, twoDaysAgo, twoDaysAgo);

    const again = await runScript(CHILD, ['dl/large', target], testStore.env);
    expect(JSON.parse(again.stdout.trim())).toEqual({ ok: true });
    expect(partialsIn(target)).toEqual([relative(target, live)]);
    unlinkSync(live);
    expect(await large.verify(target)).toMatchObject({ ok: true, extra: [] });
  });

  it('a failing download removes its own partial files at once', async () => {
    const target = fresh('corrupt');
    const entry = (await large.entries()).find((item) => item.path === 'shards/two.bin')!;
    const blob = store.backend.blobs.localPath!(entry.sha256);
    const original = readFileSync(blob);
    chmodSync(blob, 0o644);
    const flipped = Buffer.from(original);
    flipped[2 * MiB] = flipped[2 * MiB]! ^ 0xff;
    writeFileSync(blob, flipped);
    try {
      await expect(large.download(target)).rejects.toMatchObject({
        code: 'E_CHECKSUM_MISMATCH',
        details: { path: 'shards/two.bin' },
      });
      expect(partialsIn(target)).toEqual([]);
      expect(existsSync(join(target, 'shards', 'two.bin'))).toBe(false);
    } finally {
      writeFileSync(blob, original);
      chmodSync(blob, 0o444);
    }
  });

  it('a corrupt small blob is caught before anything is written for it', async () => {
    const target = fresh('corrupt-small');
    const entry = (await small.entries()).find((item) => item.path === 'weights/a.bin')!;
    const blob = store.backend.blobs.localPath!(entry.sha256);
    const original = readFileSync(blob);
    chmodSync(blob, 0o644);
    const flipped = Buffer.from(original);
    flipped[10] = flipped[10]! ^ 0xff;
    writeFileSync(blob, flipped);
    try {
      await expect(small.download(target)).rejects.toMatchObject({
        code: 'E_CHECKSUM_MISMATCH',
        details: { path: 'weights/a.bin' },
      });
      expect(tree(target).filter((path) => path.startsWith('weights/'))).not.toContain('weights/a.bin');
      expect(partialsIn(target)).toEqual([]);
    } finally {
      writeFileSync(blob, original);
      chmodSync(blob, 0o444);
    }
  });

  it('a blob that cannot be read is blamed on the store, not the target', async () => {
    const target = fresh('unreadable');
    const entry = (await small.entries()).find((item) => item.path === 'weights/b.bin')!;
    const blob = store.backend.blobs.localPath!(entry.sha256);
    const original = readFileSync(blob);
    unlinkSync(blob);
    symlinkSync(blob, blob); // opening it fails with ELOOP
    try {
      await expect(small.download(target)).rejects.toMatchObject({
        name: 'QuiverError',
        details: { side: 'store', path: blob },
      });
      expect(partialsIn(target)).toEqual([]);
    } finally {
      unlinkSync(blob);
      writeFileSync(blob, original, { mode: 0o444 });
    }
  });

  describe('hostile entries given straight to downloadEntries', () => {
    const hostile: [string, Partial<ManifestEntry>][] = [
      ['a parent segment', { path: '../x' }],
      ['an absolute path', { path: '/abs/x' }],
      ['a parent segment inside', { path: 'a/../../b' }],
      ['a NUL character', { path: 'a\u0000b' }],
      ['2,000 characters', { path: 'x'.repeat(2000) }],
      ['a backslash', { path: '..\\x' }],
      ['a negative size', { size: -1 }],
      ['a fractional size', { size: 1.5 }],
      ['an unsafe size', { size: 2 ** 60 }],
      ['a digest that is not sha256', { sha256: 'ab'.repeat(20) }],
      ['an uppercase digest', { sha256: 'A'.repeat(64) }],
    ];
    it.each(hostile)('%s is refused with nothing written anywhere', async (_, change) => {
      const scratch = fresh('hostile');
      const target = join(scratch, 'a', 'b', 'target');
      mkdirSync(join(scratch, 'a', 'b'), { recursive: true });
      const entries = await small.entries();
      const victim = entries.find((entry) => entry.path === 'weights/a.bin')!;
      const tampered = entries.map((entry) => (entry === victim ? { ...entry, ...change } : entry));
      const before = tree(scratch);
      await expect(
        downloadEntries(internal(store), tampered, target, { ref: 'dl/small:v0' }),
      ).rejects.toMatchObject({
        code: 'E_CORRUPT_MANIFEST',
        message: expect.stringContaining('dl/small:v0'),
      });
      expect(tree(scratch)).toEqual(before); // not even the target folder was created
      expect(existsSync('/abs')).toBe(false);
    });

    it.each([
      ['a path listed twice', (entries: ManifestEntry[]) => [...entries, { ...entries[0]! }]],
      [
        'a file that is also a folder',
        (entries: ManifestEntry[]) => [...entries, { ...entries[0]!, path: 'model.json/inner' }],
      ],
    ])('%s is refused with nothing written', async (_, tamper) => {
      const target = join(fresh('conflict'), 'target');
      await expect(
        downloadEntries(internal(store), tamper(await small.entries()), target),
      ).rejects.toMatchObject({
        code: 'E_CORRUPT_MANIFEST',
      });
      expect(existsSync(target)).toBe(false);
    });
  });

  it('downloads many small files into many folders and a re-run keeps them', async () => {
    const run = await init({ project: 'dl', store });
    const draft = new Artifact('tree', 'dataset');
    for (let index = 0; index < 300; index++)
      draft.addBytes(`d${index % 7}/e${index % 3}/f${index}.txt`, `file ${index}`);
    const version = await run.logArtifact(draft);
    await run.finish();
    const target = join(fresh('tree'), 'out');
    const seen: number[] = [];
    await version.download(target, { onProgress: ({ filesDone }) => seen.push(filesDone) });
    expect(seen.at(-1)).toBe(300);
    expect(await version.verify(target)).toMatchObject({ ok: true, checked: 300, extra: [] });
    const result = await downloadEntries(internal(store), await version.entries(), target);
    expect(result).toEqual({ written: 0, skipped: 300 });
    writeFileSync(join(target, 'd0', 'e0', 'f0.txt'), 'changed');
    expect(await downloadEntries(internal(store), await version.entries(), target)).toEqual({
      written: 1,
      skipped: 299,
    });
    expect(readFileSync(join(target, 'd0', 'e0', 'f0.txt'), 'utf8')).toBe('file 0');
  });
});
