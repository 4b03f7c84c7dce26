import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type EmbeddedBackend, openEmbeddedBackend } from '../backends/embedded/index.js';
import { QuiverError } from '../contract/errors.js';
import { ensureFolder } from '../folders.js';
import { assertName } from '../names.js';
import type { StoreSettings } from '../settings.js';
import { type Store, storeOver } from '../store.js';
import { withOfflineReads } from './offline-reads.js';

/** Uses of versions read from this machine's cache (server versions), for `quiver sync`. */
export const USES_FILE = 'uses.jsonl';

/** Changes to versions committed on the server before a run spooled, for `quiver sync` to apply. */
export const DEFERRED_FILE = 'deferred.jsonl';

/** The file that makes a folder an offline bundle. */
export const BUNDLE_FILE = 'bundle.json';

/** Where offline bundles go: `<QUIVER_DIR>/offline/run-<id>/`. */
export function offlineFolder(dir: string): string {
  return join(dir, 'offline');
}

/** The bundle folder of a run recorded under `dir`. */
export function bundlePathOf(dir: string, runId: string): string {
  return join(offlineFolder(dir), `run-${runId}`);
}

/** The machine-wide blob folder bundles of one `QUIVER_DIR` share content with (hard links). */
function sharedBlobs(dir: string): string {
  return join(offlineFolder(dir), '.blobs');
}

/** How long a run in offline mode keeps logged metrics in memory before writing them to its bundle. */
const BUNDLE_FLUSH_MS = 200;

/** What `bundle.json` says: the run the bundle holds and who recorded it. */
export interface BundleInfo {
  format: 'quiver-offline-bundle';
  version: 1;
  runId: string;
  project: string;
  /** The entity named when the run started, or null when it defaulted (sync then uses the server's). */
  entity: string | null;
  /** The entity the bundle's records carry (the named one, or the local user). */
  localEntity: string;
  host: string;
  createdAt: string;
  /** `offline`: the run was started offline; `spool`: an online run spooled here while its server was unreachable. */
  origin: 'offline' | 'spool';
}

const bundleSchema = z.strictObject({
  format: z.literal('quiver-offline-bundle'),
  version: z.literal(1),
  runId: z.string().regex(/^[0-9a-z]{8,32}$/),
  project: z.string().min(1).max(128),
  entity: z.string().min(1).max(128).nullable(),
  localEntity: z.string().min(1).max(128),
  host: z.string().max(256),
  createdAt: z.string().max(64),
  origin: z.enum(['offline', 'spool']),
});

/** Writes a small file whole or not at all: a temporary file, fsynced, renamed over the target. */
export function writeFileAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  // The rename itself survives a power loss only once the folder is on disk too.
  const folder = openSync(dirname(path), 'r');
  try {
    fsyncSync(folder);
  } finally {
    closeSync(folder);
  }
}

/** Reads and checks a bundle's `bundle.json` (it is input: a copied folder may hold anything). */
export function readBundleInfo(path: string): BundleInfo {
  const file = join(path, BUNDLE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new QuiverError(
      'E_INVALID_BUNDLE',
      code === 'ENOENT'
        ? `${path} is not an offline bundle (it has no ${BUNDLE_FILE}). Pass a bundle folder or the folder holding bundles (default <QUIVER_DIR>/offline).`
        : `${file} cannot be read as JSON (${(error as Error).message}). The bundle is damaged; nothing was sent from it.`,
      { cause: error, details: { path } },
    );
  }
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success)
    throw new QuiverError(
      'E_INVALID_BUNDLE',
      `${file} is not a valid bundle description (${parsed.error.issues[0]!.path.join('.') || 'root'}: ${parsed.error.issues[0]!.message}). Nothing was sent from it.`,
      { details: { path } },
    );
  const info = parsed.data;
  assertName(info.project, 'project');
  assertName(info.localEntity, 'entity');
  if (info.entity !== null) assertName(info.entity, 'entity');
  if (!existsSync(join(path, 'quiver.db')))
    throw new QuiverError(
      'E_INVALID_BUNDLE',
      `${path} has a ${BUNDLE_FILE} but no quiver.db: copy the whole folder. Nothing was sent from it.`,
      { details: { path } },
    );
  return info;
}

/** True when `path` is a bundle folder (it holds `bundle.json`). */
export function isBundle(path: string): boolean {
  return existsSync(join(path, BUNDLE_FILE));
}

/**
 * The bundles named by `paths`: a bundle folder itself, or every bundle directly inside a folder
 * (oldest first). A path that is neither is an error that says what to pass.
 */
export function findBundles(paths: readonly string[]): string[] {
  const found: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(path);
    } catch (error) {
      throw new QuiverError(
        'E_FILE_NOT_FOUND',
        `${path} does not exist: pass an offline bundle or a folder of them.`,
        {
          cause: error,
          details: { path },
        },
      );
    }
    if (!stats.isDirectory())
      throw new QuiverError(
        'E_INVALID_BUNDLE',
        `${path} is not a folder: pass an offline bundle or a folder of them.`,
        {
          details: { path },
        },
      );
    if (isBundle(path)) {
      found.push(path);
      continue;
    }
    const inside = readdirSync(path, { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && !entry.name.startsWith('.') && isBundle(join(path, entry.name)),
      )
      .map((entry) => join(path, entry.name));
    inside.sort((a, b) => statSync(join(a, BUNDLE_FILE)).mtimeMs - statSync(join(b, BUNDLE_FILE)).mtimeMs);
    found.push(...inside);
  }
  return [...new Set(found)];
}

/** Options of {@link createBundleStore}. */
export interface CreateBundleOptions {
  runId: string;
  project: string;
  /** The entity named at `init` (option or `QUIVER_ENTITY`), if any. */
  entity: string | undefined;
  origin: BundleInfo['origin'];
}

/**
 * Creates a run's bundle under `<settings.dir>/offline/` and opens it as a store: an embedded
 * store (SQLite + blobs) in the bundle folder, whose blobs are hard-linked with the other bundles
 * of this machine. The client's own state (digest cache, download cache) stays in `settings.dir`.
 * `bundle.json` is written before anything else, so every bundle folder can be told for what it is.
 */
export async function createBundleStore(
  settings: StoreSettings,
  options: CreateBundleOptions,
): Promise<Store> {
  ensureFolder(settings.dir, { side: 'store' });
  const path = bundlePathOf(settings.dir, options.runId);
  mkdirSync(path, { recursive: true });
  const localEntity = options.entity ?? settings.entity;
  const info: BundleInfo = {
    format: 'quiver-offline-bundle',
    version: 1,
    runId: options.runId,
    project: options.project,
    entity: options.entity ?? null,
    localEntity,
    host: hostname(),
    createdAt: new Date().toISOString(),
    origin: options.origin,
  };
  if (!isBundle(path)) writeFileAtomically(join(path, BUNDLE_FILE), `${JSON.stringify(info, null, 2)}\n`);
  const backend = await openBundleBackend(path, settings, info);
  // What the bundle lacks, a run reads from what this machine fetched online.
  return storeOver(
    withOfflineReads(backend, join(settings.dir, 'cache'), join(path, USES_FILE)),
    { ...settings, entity: localEntity },
    { metricsFlushMs: BUNDLE_FLUSH_MS },
  );
}

function openBundleBackend(
  path: string,
  settings: StoreSettings,
  info: BundleInfo,
): Promise<EmbeddedBackend> {
  return openEmbeddedBackend({
    dir: path,
    principal: { actor: settings.actor, entity: info.localEntity },
    shareBlobsWith: sharedBlobs(settings.dir),
  });
}

/** Opens an existing bundle as a store (to sync it, or to read what it holds). */
export async function openBundleStore(
  path: string,
  settings: StoreSettings,
): Promise<Store<EmbeddedBackend>> {
  const info = readBundleInfoOrNew(path);
  return storeOver(await openBundleBackend(path, settings, info), { ...settings, entity: info.localEntity });
}

/** `readBundleInfo`, except that a bundle created this moment may not have its database yet. */
function readBundleInfoOrNew(path: string): BundleInfo {
  try {
    return readBundleInfo(path);
  } catch (error) {
    if (!existsSync(join(path, 'quiver.db')) && isBundle(path)) {
      const raw = JSON.parse(readFileSync(join(path, BUNDLE_FILE), 'utf8')) as unknown;
      const parsed = bundleSchema.safeParse(raw);
      if (parsed.success) return parsed.data;
    }
    throw error;
  }
}

/** A short name of a bundle for messages and progress: its folder name. */
export function bundleName(path: string): string {
  return basename(path);
}
