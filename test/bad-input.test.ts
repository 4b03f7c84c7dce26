/**
 * Bad input, table-driven: every case performs one user action with one bad input and checks that
 * (1) it fails with a QuiverError of the expected stable code, (2) the message names the offending
 * value and says what to do, and (3) the store is exactly as it was (rows of every table, stored and
 * temporary blobs, and any folder the action was pointed at). Runs against every store backend.
 */
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Artifact,
  type ArtifactVersion,
  type EmbeddedBackend,
  init,
  isQuiverError,
  type JsonObject,
  openClient,
  QuiverClient,
  type QuiverErrorCode,
  type QuiverMode,
  Run,
  type Store,
} from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendName, createTestStore, type TestStore, testBackends } from './support/backends.js';

const PROJECT = 'demo';
const SEED = 'seed-model';
const SEED_REF = `${PROJECT}/${SEED}`;

/** Everything a case may act on: the seeded store, a live run, and a scratch folder of local files. */
interface Context {
  backend: BackendName;
  testStore: TestStore<EmbeddedBackend>;
  store: Store<EmbeddedBackend>;
  client: QuiverClient;
  run: Run;
  /** The committed seed version (`demo/seed-model:v0`, aliases `best` and `latest`). */
  seed: ArtifactVersion;
  /** Scratch folder (outside the store) holding the local files cases add. */
  work: string;
}

interface BadInputCase {
  /** What the user does, with which bad input. */
  name: string;
  code: QuiverErrorCode;
  /** Substrings the message must contain: the offending value or part, and the guidance. */
  message: readonly string[] | ((ctx: Context) => readonly string[]);
  /** The action. Synchronous throws count like rejections. */
  act: (ctx: Context) => unknown;
  /** Runs before the "before" snapshot (e.g. to create the destination of a download). */
  setup?: (ctx: Context) => void | Promise<void>;
  /** Folders outside the store whose contents must not change either. */
  watch?: (ctx: Context) => string[];
  /** Environment variables set for the action (every other QUIVER_* variable is unset). */
  env?: Record<string, string>;
  /** Text that must appear nowhere in the error (message, details, cause): a secret, a ref the user never typed. */
  absent?: readonly string[];
}

const long = (length: number, char = 'x'): string => char.repeat(length);
const shown40 = (value: string): string => JSON.stringify(`${value.slice(0, 40)}…`);
const asJson = (value: unknown): JsonObject => value as JsonObject;
const draft = (name = 'draft-model', type = 'model'): Artifact => new Artifact(name, type);
let freshCount = 0;
/** A draft with one entry whose bytes are new to the store (unique per call, so cases cannot share blobs). */
const withBytes = (name = 'draft-model', type = 'model'): Artifact =>
  draft(name, type).addBytes('weights.bin', `fresh bytes never stored #${++freshCount} ${process.pid}`);
/** `init` on the test store: through `dir` for SQLite (as a user would), through an open store for PostgreSQL. */
const initOnStore = (ctx: Context, options: Parameters<typeof init>[0] = {}): Promise<Run> =>
  ctx.backend === 'sqlite'
    ? init({ ...options, dir: ctx.testStore.dir })
    : init({ ...options, store: ctx.store });

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Metadata nested `levels` levels deep: {d: {d: … {}}} (the top-level object is level 1). */
const nested = (levels: number): JsonObject => {
  let value: JsonObject = {};
  for (let level = 1; level < levels; level++) value = { d: value };
  return value;
};

/** The store's settings as an explicit option, so an open call on either backend reaches the same store. */
const storeOptions = (ctx: Context): { dir: string; databaseUrl?: string } => ({
  dir: ctx.testStore.dir,
  ...(ctx.testStore.env.QUIVER_DATABASE_URL ? { databaseUrl: ctx.testStore.env.QUIVER_DATABASE_URL } : {}),
});

const circular = (): JsonObject => {
  const value: Record<string, unknown> = { epoch: 3 };
  value.self = value;
  return asJson(value);
};

const NAME_RULE = "use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit";
const TYPE_RULE = "use 1–64 lowercase letters, digits, '_' or '-', starting with a letter";
const ALIAS_RULE = "use 1–64 letters, digits, '.', '_' or '-'";
const REF_GRAMMAR = 'Expected [entity/]project/name[:vN|:alias]';
const VERSION_SHAPED = 'versions are v<N>';
const CREDENTIALS_ADVICE = 'put credentials in headers or environment variables';

const CASES: BadInputCase[] = [
  // ── names ────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'artifact name: empty',
    code: 'E_INVALID_NAME',
    message: ['artifact name ""', NAME_RULE],
    act: () => draft(''),
  },
  {
    name: 'artifact name: spaces',
    code: 'E_INVALID_NAME',
    message: ['artifact name "my model"', NAME_RULE],
    act: () => draft('my model'),
  },
  {
    name: 'artifact name: a/b',
    code: 'E_INVALID_NAME',
    message: ['artifact name "a/b"', NAME_RULE],
    act: () => draft('a/b'),
  },
  {
    name: 'artifact name: 200 characters',
    code: 'E_INVALID_NAME',
    message: [`artifact name ${shown40(long(200))}`, NAME_RULE],
    act: () => draft(long(200)),
  },
  {
    name: 'project name: empty (init)',
    code: 'E_INVALID_NAME',
    message: ['project name ""', NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: '' }),
  },
  {
    name: 'project name: spaces (init)',
    code: 'E_INVALID_NAME',
    message: ['project name "my project"', NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: 'my project' }),
  },
  {
    name: 'project name: a/b (commit)',
    code: 'E_INVALID_NAME',
    message: ['project name "a/b"', NAME_RULE],
    act: (ctx) => ctx.client.commit(withBytes(), { project: 'a/b' }),
  },
  {
    name: 'project name: 200 characters (commit)',
    code: 'E_INVALID_NAME',
    message: [`project name ${shown40(long(200, 'p'))}`, NAME_RULE],
    act: (ctx) => ctx.client.commit(withBytes(), { project: long(200, 'p') }),
  },
  {
    name: 'project name: reserved "registry" (init)',
    code: 'E_INVALID_NAME',
    message: ["project name 'registry' is reserved", 'choose another'],
    act: (ctx) => initOnStore(ctx, { project: 'registry' }),
  },
  {
    name: 'project name: reserved "registry" (commit)',
    code: 'E_INVALID_NAME',
    message: ["project name 'registry' is reserved", 'choose another'],
    act: (ctx) => ctx.client.commit(withBytes(), { project: 'registry' }),
  },
  {
    name: 'entity name: empty (init)',
    code: 'E_INVALID_NAME',
    message: ['entity name ""', NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, entity: '' }),
  },
  {
    name: 'entity name: spaces (commit)',
    code: 'E_INVALID_NAME',
    message: ['entity name "my team"', NAME_RULE],
    act: (ctx) => ctx.client.commit(withBytes(), { project: PROJECT, entity: 'my team' }),
  },
  {
    name: 'entity name: a/b (versions)',
    code: 'E_INVALID_NAME',
    message: ['entity name "a/b"', NAME_RULE],
    act: (ctx) => ctx.client.versions(PROJECT, SEED, 'a/b'),
  },
  {
    name: 'entity name: 200 characters (init)',
    code: 'E_INVALID_NAME',
    message: [`entity name ${shown40(long(200, 'e'))}`, NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, entity: long(200, 'e') }),
  },
  {
    name: 'run name: spaces (init)',
    code: 'E_INVALID_NAME',
    message: ['run name "my run"', NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, name: 'my run' }),
  },

  // ── types ────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'type: Model (uppercase)',
    code: 'E_INVALID_TYPE',
    message: ['artifact type "Model"', TYPE_RULE, "'model'"],
    act: () => draft('x', 'Model'),
  },
  {
    name: 'type: empty',
    code: 'E_INVALID_TYPE',
    message: ['artifact type ""', TYPE_RULE],
    act: () => draft('x', ''),
  },
  {
    name: 'type: a b',
    code: 'E_INVALID_TYPE',
    message: ['artifact type "a b"', TYPE_RULE],
    act: () => draft('x', 'a b'),
  },

  // ── aliases ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'alias: v3 (setAlias)',
    code: 'E_INVALID_ALIAS',
    message: ["'v3' looks like a version number", "choose a name such as 'best'"],
    act: (ctx) => ctx.client.setAlias(SEED_REF, 'v3'),
  },
  ...['v-1', 'v1.5', 'V3', 'v03', 'v1e3'].map(
    (alias): BadInputCase => ({
      name: `alias: ${alias}, shaped like a version (setAlias)`,
      code: 'E_INVALID_ALIAS',
      message: [`'${alias}' looks like a version number`, VERSION_SHAPED, 'aliases cannot look like them'],
      act: (ctx) => ctx.client.setAlias(SEED_REF, alias),
    }),
  ),
  {
    name: 'alias: v1.5, shaped like a version (logArtifact)',
    code: 'E_INVALID_ALIAS',
    message: ["'v1.5' looks like a version number", VERSION_SHAPED],
    act: (ctx) => ctx.run.logArtifact(withBytes(), { aliases: ['v1.5'] }),
  },
  {
    name: 'alias: v-1, shaped like a version (registry link)',
    code: 'E_INVALID_ALIAS',
    message: ["'v-1' looks like a version number", VERSION_SHAPED],
    act: (ctx) => ctx.client.registry.link(SEED_REF, { model: 'seed' }, { create: true, aliases: ['v-1'] }),
  },
  {
    name: 'alias: latest set by hand (setAlias)',
    code: 'E_ALIAS_RESERVED',
    message: ["'latest'", 'newest version', 'cannot be set by hand'],
    act: (ctx) => ctx.client.setAlias(SEED_REF, 'latest'),
  },
  {
    name: 'alias: latest set by hand (logArtifact)',
    code: 'E_ALIAS_RESERVED',
    message: ["'latest'", 'cannot be set by hand'],
    act: (ctx) => ctx.run.logArtifact(withBytes(), { aliases: ['latest'] }),
  },
  {
    name: 'alias: "bad alias" (logArtifact)',
    code: 'E_INVALID_ALIAS',
    message: ['alias "bad alias"', ALIAS_RULE],
    act: (ctx) => ctx.run.logArtifact(withBytes(), { aliases: ['bad alias'] }),
  },
  {
    name: 'alias: empty (setAlias)',
    code: 'E_INVALID_ALIAS',
    message: ['alias ""', ALIAS_RULE],
    act: (ctx) => ctx.client.setAlias(SEED_REF, ''),
  },
  {
    name: 'alias: remove one the version does not hold',
    code: 'E_NOT_FOUND',
    message: ['does not hold the alias', "'staging'"],
    act: (ctx) => ctx.client.removeAlias(SEED_REF, 'staging'),
  },
  {
    name: 'tag: "bad tag" (logArtifact)',
    code: 'E_INVALID_TAG',
    message: ['tag "bad tag"', ALIAS_RULE],
    act: (ctx) => ctx.run.logArtifact(withBytes(), { tags: ['bad tag'] }),
  },
  {
    name: 'delete a version that holds an alias',
    code: 'E_ALIAS_HELD',
    message: ["'best'", 'move it first', '--force'],
    act: (ctx) => ctx.client.deleteVersion(SEED_REF),
  },

  // ── refs ─────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'ref: justname',
    code: 'E_INVALID_REF',
    message: ["'justname'", 'needs at least a project and a name', REF_GRAMMAR],
    act: (ctx) => ctx.client.artifact('justname'),
  },
  {
    name: 'ref: a/b/c/d',
    code: 'E_INVALID_REF',
    message: ["'a/b/c/d'", 'too many', REF_GRAMMAR],
    act: (ctx) => ctx.client.artifact('a/b/c/d'),
  },
  {
    name: 'ref: a/b/c/d (useArtifact)',
    code: 'E_INVALID_REF',
    message: ["'a/b/c/d'", 'too many', REF_GRAMMAR],
    act: (ctx) => ctx.run.useArtifact('a/b/c/d'),
  },
  {
    name: 'ref: p/n: (empty selector)',
    code: 'E_INVALID_REF',
    message: ["'p/n:'", 'nothing follows ":"', 'give vN or an alias'],
    act: (ctx) => ctx.client.artifact('p/n:'),
  },
  {
    name: 'ref: p/n:v01 (leading zero)',
    code: 'E_INVALID_REF',
    message: ["'p/n:v01'", "'v01'", 'leading zero'],
    act: (ctx) => ctx.client.artifact('p/n:v01'),
  },
  {
    name: 'ref: p/n:v99999999999999999999 (beyond the safe integer range)',
    code: 'E_INVALID_REF',
    message: ["'p/n:v99999999999999999999'", 'is too large', 'up to v9007199254740991'],
    absent: ['v100000000000000000000'],
    act: (ctx) => ctx.client.artifact('p/n:v99999999999999999999'),
  },
  {
    name: 'ref: seed:v9007199254740993, just beyond the safe range (useArtifact)',
    code: 'E_INVALID_REF',
    message: [`'${SEED_REF}:v9007199254740993'`, 'is too large'],
    absent: ['9007199254740992'],
    act: (ctx) => ctx.run.useArtifact(`${SEED_REF}:v9007199254740993`),
  },
  ...['v-1', 'V3', 'v1.5'].map(
    (selector): BadInputCase => ({
      name: `ref: ${SEED_REF}:${selector} (shaped like a version, not read as an alias)`,
      code: 'E_INVALID_REF',
      message: [`'${SEED_REF}:${selector}'`, 'looks like a version but is not one', VERSION_SHAPED],
      act: (ctx) => ctx.client.artifact(`${SEED_REF}:${selector}`),
    }),
  ),
  {
    name: 'ref: p/n:bad alias',
    code: 'E_INVALID_REF',
    message: ["'p/n:bad alias'", 'the alias is wrong', '"bad alias"', REF_GRAMMAR],
    act: (ctx) => ctx.client.artifact('p/n:bad alias'),
  },
  {
    name: 'ref: /n (empty project)',
    code: 'E_INVALID_REF',
    message: ["'/n'", 'the project is wrong', REF_GRAMMAR],
    act: (ctx) => ctx.client.artifact('/n'),
  },
  {
    name: 'ref: alias no version holds',
    code: 'E_NOT_FOUND',
    message: [`'${SEED_REF}:nope'`, "no version holds the alias 'nope'", `quiver artifact ls ${SEED_REF}`],
    act: (ctx) => ctx.client.artifact(`${SEED_REF}:nope`),
  },

  // ── entry paths ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'entry path: ../x (addBytes)',
    code: 'E_INVALID_PATH',
    message: ['"../x"', "'..' segment", 'outside the artifact'],
    act: () => draft().addBytes('../x', 'b'),
  },
  {
    name: 'entry path: /abs (addFile name)',
    code: 'E_INVALID_PATH',
    message: ['"/abs"', 'absolute', 'relative to the artifact root'],
    act: (ctx) => draft().addFile(join(ctx.work, 'model.json'), { name: '/abs' }),
  },
  {
    name: 'entry path: a//b (addDir prefix)',
    code: 'E_INVALID_PATH',
    message: ['"a//b"', 'empty segment'],
    act: (ctx) => draft().addDir(join(ctx.work, 'weights'), { prefix: 'a//b' }),
  },
  {
    name: 'entry path: NUL byte',
    code: 'E_INVALID_PATH',
    message: ['"a\\u0000b"', 'NUL or control character'],
    act: () => draft().addBytes('a\u0000b', 'b'),
  },
  {
    name: 'entry path: backslash a\\b',
    code: 'E_INVALID_PATH',
    message: ['"a\\\\b"', "use '/' to separate folders"],
    act: () => draft().addBytes('a\\b', 'b'),
  },
  {
    name: 'entry path: backslash in a file name (addDir)',
    code: 'E_INVALID_PATH',
    message: ['"win\\\\style.txt"', "use '/' to separate folders"],
    act: (ctx) => draft().addDir(join(ctx.work, 'backslash')),
  },
  {
    name: 'entry path: 2,000 characters',
    code: 'E_INVALID_PATH',
    message: [`"${long(60, 'd')}…"`, '2000 characters', 'the limit is 1024'],
    act: () => draft().addBytes(long(2000, 'd'), 'b'),
  },
  {
    name: 'entry path: ./x (addReference name)',
    code: 'E_INVALID_PATH',
    message: ['"./x"', "'.' segment"],
    act: (ctx) => draft().addReference(`file://${join(ctx.work, 'model.json')}`, { name: './x' }),
  },
  {
    name: 'entry path: same path added twice (addBytes)',
    code: 'E_DUPLICATE_ENTRY',
    message: ["'model.bin'", 'already has an entry', 'remove it first or choose another name'],
    act: () => draft().addBytes('model.bin', 'one').addBytes('model.bin', 'two'),
  },
  {
    name: 'entry path: same file added twice (addFile)',
    code: 'E_DUPLICATE_ENTRY',
    message: ["'model.json'", 'already has an entry'],
    act: (ctx) => draft().addFile(join(ctx.work, 'model.json')).addFile(join(ctx.work, 'model.json')),
  },

  // ── metadata ─────────────────────────────────────────────────────────────────────────────────
  {
    name: 'metadata: circular object',
    code: 'E_INVALID_METADATA',
    message: ['metadata at self', 'circular reference', 'plain tree'],
    act: () => new Artifact('x', 'model', { metadata: circular() }),
  },
  {
    name: 'metadata: a function',
    code: 'E_INVALID_METADATA',
    message: ['metadata at callback', 'a function cannot be stored as JSON', 'plain objects'],
    act: () => new Artifact('x', 'model', { metadata: asJson({ epoch: 3, callback: () => 1 }) }),
  },
  {
    name: 'metadata: a BigInt',
    code: 'E_INVALID_METADATA',
    message: ['metadata at count', 'a bigint cannot be stored as JSON'],
    act: () => new Artifact('x', 'model', { metadata: asJson({ count: BigInt(10) }) }),
  },
  {
    name: 'metadata: NaN',
    code: 'E_INVALID_METADATA',
    message: ['metadata at loss', 'NaN is not a JSON number', 'store it as a string or leave it out'],
    act: () => new Artifact('x', 'model', { metadata: asJson({ loss: Number.NaN }) }),
  },
  {
    name: 'metadata: Infinity nested in an array (setter)',
    code: 'E_INVALID_METADATA',
    message: ['metadata at scores[1]', 'Infinity is not a JSON number'],
    act: () => {
      draft().metadata = asJson({ scores: [1, Number.POSITIVE_INFINITY] });
    },
  },
  {
    name: 'metadata: a Date',
    code: 'E_INVALID_METADATA',
    message: ['metadata at trainedAt', 'a Date is not a plain object', 'convert it to plain JSON'],
    act: () => new Artifact('x', 'model', { metadata: asJson({ trainedAt: new Date(0) }) }),
  },
  {
    name: 'metadata: a class instance',
    code: 'E_INVALID_METADATA',
    message: ['metadata at origin', 'a Point is not a plain object'],
    act: () => new Artifact('x', 'model', { metadata: asJson({ origin: new Point(1, 2) }) }),
  },
  {
    name: 'metadata: nested 30,000 levels deep',
    code: 'E_INVALID_METADATA',
    message: ['Invalid metadata at d.d.d', 'nested more than 100 levels deep', 'artifact file'],
    act: () => new Artifact('x', 'model', { metadata: nested(30_000) }),
  },
  {
    name: 'metadata: nested 101 levels deep (setter)',
    code: 'E_INVALID_METADATA',
    message: ['nested more than 100 levels deep'],
    act: () => {
      draft().metadata = nested(101);
    },
  },
  {
    name: 'metadata: JSON text nested 30,000 levels deep',
    code: 'E_INVALID_METADATA',
    message: ['nested more than 100 levels deep'],
    act: () =>
      new Artifact('x', 'model', { metadata: asJson(`${'{"d":'.repeat(29_999)}{}${'}'.repeat(29_999)}`) }),
  },
  {
    name: 'config: nested 30,000 levels deep (init)',
    code: 'E_INVALID_METADATA',
    message: ['Invalid config at d.d.d', 'nested more than 100 levels deep'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, config: nested(30_000) }),
  },
  {
    name: 'metadata: larger than 1 MiB',
    code: 'E_INVALID_METADATA',
    message: ['bytes serialised', 'the limit is 1048576', 'artifact file instead'],
    act: () => new Artifact('x', 'model', { metadata: { notes: long(1024 * 1024 + 16, 'n') } }),
  },
  {
    name: 'metadata: JSON text that is not JSON',
    code: 'E_INVALID_METADATA',
    message: ['Invalid metadata', 'the text is not JSON'],
    act: () => new Artifact('x', 'model', { metadata: asJson('{"epoch": 3') }),
  },
  {
    name: 'metadata: JSON text of an array, not an object',
    code: 'E_INVALID_METADATA',
    message: ['Invalid metadata', 'must be a JSON object such as {"epoch": 3}'],
    act: () => new Artifact('x', 'model', { metadata: asJson('[1, 2]') }),
  },
  {
    name: 'config: a function (init)',
    code: 'E_INVALID_METADATA',
    message: ['config at schedule', 'a function cannot be stored as JSON'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, config: asJson({ lr: 0.1, schedule: () => 0.1 }) }),
  },

  // ── local files ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'addFile: missing path',
    code: 'E_FILE_NOT_FOUND',
    message: (ctx) => [join(ctx.work, 'missing.bin'), 'does not exist', 'check the path'],
    act: (ctx) => draft().addFile(join(ctx.work, 'missing.bin')),
  },
  {
    name: 'addFile: dangling symlink',
    code: 'E_FILE_NOT_FOUND',
    message: (ctx) => [join(ctx.work, 'dangling'), 'does not exist'],
    act: (ctx) => draft().addFile(join(ctx.work, 'dangling')),
  },
  {
    name: 'addDir: missing path',
    code: 'E_FILE_NOT_FOUND',
    message: (ctx) => [join(ctx.work, 'missing-dir'), 'does not exist'],
    act: (ctx) => draft().addDir(join(ctx.work, 'missing-dir')),
  },
  {
    name: 'addFile: a directory',
    code: 'E_NOT_A_FILE',
    message: (ctx) => [join(ctx.work, 'weights'), 'not a regular file', 'use addDir()'],
    act: (ctx) => draft().addFile(join(ctx.work, 'weights')),
  },
  {
    name: 'addDir: a file',
    code: 'E_NOT_A_DIRECTORY',
    message: (ctx) => [join(ctx.work, 'model.json'), 'not a folder', 'use addFile()'],
    act: (ctx) => draft().addDir(join(ctx.work, 'model.json')),
  },
  {
    name: 'addFile: symlink pointing to itself',
    code: 'E_SYMLINK_LOOP',
    message: (ctx) => [join(ctx.work, 'self-link'), 'loops back on itself', 'fix or remove the link'],
    act: (ctx) => draft().addFile(join(ctx.work, 'self-link')),
  },
  {
    name: 'addDir: folder with a symlink to its own parent',
    code: 'E_SYMLINK_LOOP',
    message: (ctx) => [
      join(ctx.work, 'looped', 'sub', 'up'),
      'links back to',
      'remove the link or add a narrower folder',
    ],
    act: (ctx) => draft().addDir(join(ctx.work, 'looped')),
  },

  // ── references ───────────────────────────────────────────────────────────────────────────────
  {
    name: "addReference('ftp://x/y')",
    code: 'E_REFERENCE_SCHEME',
    message: ["'ftp:'", 'Supported: file, http, https', 'registerReferenceHandler'],
    act: () => draft().addReference('ftp://x/y'),
  },
  {
    name: 'logArtifact of a draft holding an ftp:// reference',
    code: 'E_REFERENCE_SCHEME',
    message: ["'ftp:'", 'Supported: file, http, https'],
    act: (ctx) => {
      const artifact = withBytes();
      try {
        artifact.addReference('ftp://x/y');
      } catch {
        // Once addReference refuses the scheme itself, reach the commit the way newDraft() does.
        artifact.addStored('y', long(64, '0'), 1, 'ftp://x/y');
      }
      return ctx.run.logArtifact(artifact);
    },
  },
  {
    name: "addReference('http://user:secret@host/…'): credentials in the URL",
    code: 'E_INVALID_REF',
    message: ['http://***@127.0.0.1:9/data.csv', CREDENTIALS_ADVICE, 'not in the URL'],
    absent: ['secret', 'user:'],
    act: () => draft().addReference('http://user:secret@127.0.0.1:9/data.csv'),
  },
  {
    name: "addReference('https://token@host/…'): a token in the URL",
    code: 'E_INVALID_REF',
    message: ['https://***@example.com/data.csv', CREDENTIALS_ADVICE],
    absent: ['hf_s3cr3tT0ken'],
    act: () =>
      draft().addReference('https://hf_s3cr3tT0ken@example.com/data.csv', { sha256: long(64, '0'), size: 1 }),
  },
  {
    name: 'logArtifact of a draft holding a reference with credentials (checked at commit)',
    code: 'E_INVALID_REF',
    message: ['http://***@127.0.0.1:9/y', CREDENTIALS_ADVICE],
    absent: ['secret'],
    act: (ctx) => {
      const artifact = withBytes();
      try {
        artifact.addReference('http://user:secret@127.0.0.1:9/y');
      } catch {
        // addReference refuses it; reach the commit the way newDraft() does.
        artifact.addStored('y', long(64, '0'), 1, 'http://user:secret@127.0.0.1:9/y');
      }
      return ctx.run.logArtifact(artifact);
    },
  },

  // ── commits ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'logArtifact: empty artifact',
    code: 'E_EMPTY_ARTIFACT',
    message: ["'empty-model'", 'has no entries', 'addFile, addDir, addBytes or addReference'],
    act: (ctx) => ctx.run.logArtifact(draft('empty-model')),
  },
  {
    name: 'logArtifact: existing name with a different type',
    code: 'E_TYPE_MISMATCH',
    message: [`'${SEED_REF}'`, "has type 'model', not 'dataset'", "use type 'model' or another name"],
    act: (ctx) => ctx.run.logArtifact(withBytes(SEED, 'dataset')),
  },
  {
    name: 'useArtifact: missing version',
    code: 'E_NOT_FOUND',
    message: ['seed-model:v9', 'version v9 does not exist', `quiver artifact ls ${SEED_REF}`],
    act: (ctx) => ctx.run.useArtifact(`${SEED}:v9`),
  },
  {
    name: 'useArtifact: missing artifact',
    code: 'E_NOT_FOUND',
    message: ["there is no artifact 'no-such-model'", 'quiver artifact ls'],
    act: (ctx) => ctx.run.useArtifact(`${PROJECT}/no-such-model:v0`),
  },

  // ── downloads ────────────────────────────────────────────────────────────────────────────────
  {
    name: 'download: destination holds a symlink to a folder outside it',
    code: 'E_UNSAFE_DESTINATION',
    message: (ctx) => [
      "'weights/layer1.bin'",
      join(ctx.work, 'dest-link', 'weights'),
      'symbolic link',
      'Remove the link or download into an empty folder',
    ],
    setup: (ctx) => {
      mkdirSync(join(ctx.work, 'outside'), { recursive: true });
      mkdirSync(join(ctx.work, 'dest-link'), { recursive: true });
      symlinkSync(join(ctx.work, 'outside'), join(ctx.work, 'dest-link', 'weights'));
    },
    watch: (ctx) => [join(ctx.work, 'dest-link'), join(ctx.work, 'outside')],
    act: (ctx) => ctx.seed.download(join(ctx.work, 'dest-link')),
  },
  {
    name: 'download: destination holds a file where an entry needs a folder',
    code: 'E_UNSAFE_DESTINATION',
    message: (ctx) => ["'weights/layer1.bin'", join(ctx.work, 'dest-file', 'weights'), 'not a folder'],
    setup: (ctx) => {
      mkdirSync(join(ctx.work, 'dest-file'), { recursive: true });
      writeFileSync(join(ctx.work, 'dest-file', 'weights'), 'a file, not a folder');
    },
    watch: (ctx) => [join(ctx.work, 'dest-file')],
    act: (ctx) => ctx.seed.download(join(ctx.work, 'dest-file')),
  },

  // ── metrics ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'run.log: decreasing step',
    code: 'E_INVALID_STEP',
    message: ['step 3 is before the last logged step 5', 'steps only increase', 'Omit step to use 6'],
    setup: async (ctx) => {
      ctx.run.log({ loss: 1 }, { step: 5 });
      await ctx.run.flush();
    },
    act: (ctx) => ctx.run.log({ loss: 0.5 }, { step: 3 }),
  },
  {
    name: 'run.log: negative step',
    code: 'E_INVALID_STEP',
    message: ['step must be a whole number ≥ 0', 'got -1'],
    act: (ctx) => ctx.run.log({ loss: 0.5 }, { step: -1 }),
  },
  {
    name: 'run.log: fractional step',
    code: 'E_INVALID_STEP',
    message: ['step must be a whole number ≥ 0', 'got 7.5'],
    act: (ctx) => ctx.run.log({ loss: 0.5 }, { step: 7.5 }),
  },
  {
    name: 'run.log: NaN metric',
    code: 'E_INVALID_METRIC',
    message: ["Metric 'loss' is NaN", 'log finite numbers only'],
    act: (ctx) => ctx.run.log({ loss: Number.NaN }),
  },
  {
    name: 'run.log: Infinity metric next to a good one',
    code: 'E_INVALID_METRIC',
    message: ["Metric 'grad' is Infinity", 'log finite numbers only'],
    act: (ctx) => ctx.run.log({ acc: 0.9, grad: Number.POSITIVE_INFINITY }),
  },
  {
    name: 'run.log: reserved metric name _step',
    code: 'E_INVALID_METRIC',
    message: ["Metric name '_step' is not allowed", "not starting with '_'"],
    act: (ctx) => ctx.run.log({ _step: 1 }),
  },

  // ── environment ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'env: QUIVER_MODE=bogus',
    code: 'E_INVALID_ENV',
    env: { QUIVER_MODE: 'bogus' },
    message: ['QUIVER_MODE="bogus"', 'use one of local, offline, disabled'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT }),
  },
  {
    name: 'env: QUIVER_MODE=bogus (openClient, as the CLI opens the store)',
    code: 'E_INVALID_ENV',
    env: { QUIVER_MODE: 'bogus' },
    message: ['QUIVER_MODE="bogus"', 'use one of local, offline, disabled'],
    act: (ctx) => openClient(storeOptions(ctx)),
  },
  {
    name: 'env: QUIVER_MODE=online (openClient)',
    code: 'E_INVALID_ENV',
    env: { QUIVER_MODE: 'online' },
    message: ['QUIVER_MODE="online"', 'QUIVER_BASE_URL'],
    act: (ctx) => openClient(storeOptions(ctx)),
  },
  {
    name: 'env: QUIVER_MODE=online (a server is chosen by QUIVER_BASE_URL)',
    code: 'E_INVALID_ENV',
    env: { QUIVER_MODE: 'online' },
    message: ['QUIVER_MODE="online"', 'QUIVER_BASE_URL', 'use local, offline or disabled'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT }),
  },
  {
    name: 'env: QUIVER_DATABASE_URL that is not PostgreSQL, with a password in it',
    code: 'E_INVALID_ENV',
    env: { QUIVER_DATABASE_URL: 'mysql://quiver:hunter22@db.internal/quiver' },
    message: ['QUIVER_DATABASE_URL', 'postgres://'],
    absent: ['hunter22'],
    act: () => openClient(),
  },
  {
    name: "env: QUIVER_PROJECT='bad name'",
    code: 'E_INVALID_ENV',
    env: { QUIVER_PROJECT: 'bad name' },
    message: ['QUIVER_PROJECT="bad name"', NAME_RULE],
    act: (ctx) => initOnStore(ctx),
  },
  {
    name: "env: QUIVER_TAGS='ok,bad tag'",
    code: 'E_INVALID_ENV',
    env: { QUIVER_TAGS: 'ok,bad tag' },
    message: ['QUIVER_TAGS="ok,bad tag"', 'tag "bad tag"', ALIAS_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT }),
  },
  {
    name: "env: QUIVER_JOB_TYPE='bad job'",
    code: 'E_INVALID_ENV',
    env: { QUIVER_JOB_TYPE: 'bad job' },
    message: ['QUIVER_JOB_TYPE="bad job"', ALIAS_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT }),
  },
  {
    name: "env: QUIVER_RUN_NAME='a/b'",
    code: 'E_INVALID_ENV',
    env: { QUIVER_RUN_NAME: 'a/b' },
    message: ['QUIVER_RUN_NAME="a/b"', NAME_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT }),
  },

  // ── options ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'init: no project at all',
    code: 'E_INVALID_OPTION',
    env: {},
    message: ['No project', 'init({ project })', 'QUIVER_PROJECT'],
    act: (ctx) => initOnStore(ctx),
  },
  {
    name: 'init: unknown option',
    code: 'E_INVALID_OPTION',
    message: ['init()', 'projct'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, projct: 'typo' } as Parameters<typeof init>[0]),
  },
  {
    name: "init: mode 'online'",
    code: 'E_INVALID_OPTION',
    message: ["option 'mode'", 'local', 'disabled'],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, mode: 'online' as QuiverMode }),
  },
  {
    name: "init: tags ['bad tag']",
    code: 'E_INVALID_TAG',
    message: ['tag "bad tag"', ALIAS_RULE],
    act: (ctx) => initOnStore(ctx, { project: PROJECT, tags: ['bad tag'] }),
  },
];

// ── snapshots ─────────────────────────────────────────────────────────────────────────────────

const TABLES = [
  'runs',
  'run_history',
  'artifacts',
  'artifact_versions',
  'manifest_entries',
  'aliases',
  'version_tags',
  'artifact_usage',
] as const;
/** Columns a live run refreshes on its own (heartbeat, flush time); everything else must not move. */
const VOLATILE_COLUMNS = new Set(['heartbeat_at', 'logged_at']);

interface Snapshot {
  counts: Record<string, number>;
  rows: Record<string, string[]>;
  blobs: string[];
  temporaryBlobs: string[];
  watched: Record<string, string[]>;
}

/** Every file, folder and link below `root` (links are listed with their target, never followed). */
function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      const path = prefix ? `${prefix}/${name}` : name;
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) {
        out.push(`${path} -> ${readlinkSync(full)}`);
      } else if (stats.isDirectory()) {
        out.push(`${path}/`);
        walk(full, path);
      } else {
        out.push(`${path} (${createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16)})`);
      }
    }
  };
  walk(root, '');
  return out;
}

async function snapshot(ctx: Context, watch: readonly string[]): Promise<Snapshot> {
  // Buffered metrics are written first, so a bad value that slipped into the buffer shows up here.
  await ctx.run.flush();
  const counts: Record<string, number> = {};
  const rows: Record<string, string[]> = {};
  for (const table of TABLES) {
    const found = (await ctx.store.backend.connection.db.selectFrom(table).selectAll().execute()) as Record<
      string,
      unknown
    >[];
    counts[table] = found.length;
    rows[table] = found
      .map((row) => JSON.stringify(Object.entries(row).filter(([column]) => !VOLATILE_COLUMNS.has(column))))
      .sort();
  }
  const blobsDir = join(ctx.testStore.dir, 'blobs');
  return {
    counts,
    rows,
    blobs: listTree(join(blobsDir, 'sha256')),
    temporaryBlobs: listTree(join(blobsDir, 'tmp')),
    watched: Object.fromEntries(watch.map((dir) => [dir, listTree(dir)])),
  };
}

// ── local fixtures ────────────────────────────────────────────────────────────────────────────

function createFixtures(work: string): void {
  writeFileSync(join(work, 'model.json'), '{"layers": 2}');
  mkdirSync(join(work, 'weights'));
  writeFileSync(join(work, 'weights', 'layer1.bin'), 'layer one weights');
  symlinkSync(join(work, 'self-link'), join(work, 'self-link'));
  symlinkSync(join(work, 'nowhere'), join(work, 'dangling'));
  mkdirSync(join(work, 'looped', 'sub'), { recursive: true });
  writeFileSync(join(work, 'looped', 'sub', 'data.txt'), 'data');
  symlinkSync('..', join(work, 'looped', 'sub', 'up'));
  mkdirSync(join(work, 'backslash'));
  writeFileSync(join(work, 'backslash', 'win\\style.txt'), 'windows style');
}

/** Runs `action` with exactly the QUIVER_* variables of `env` (test-harness variables kept), then restores the environment. */
async function withEnvironment<T>(
  env: Record<string, string> | undefined,
  action: () => Promise<T>,
): Promise<T> {
  if (env === undefined) return action();
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('QUIVER_') && !key.startsWith('QUIVER_TEST_')) delete process.env[key];
  }
  Object.assign(process.env, env);
  try {
    return await action();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Releases whatever an action returned when it wrongly succeeded (a run keeps a heartbeat timer). */
async function release(value: unknown, ctx: Context): Promise<void> {
  if (value instanceof Run && value !== ctx.run) await value.finish().catch(() => undefined);
  if (value instanceof QuiverClient && value !== ctx.client) await value.close().catch(() => undefined);
}

function describeOutcome(outcome: { error?: unknown; value?: unknown; threw: boolean }): string {
  if (!outcome.threw)
    return `no error: the action succeeded and returned ${typeof outcome.value === 'object' ? (outcome.value?.constructor?.name ?? 'null') : String(outcome.value)}`;
  const error = outcome.error;
  return isQuiverError(error) ? `${error.code}: ${error.message}` : `not a QuiverError: ${String(error)}`;
}

// ── the suite ─────────────────────────────────────────────────────────────────────────────────

describe('bad input', () => {
  it('has at least 35 cases, each with a unique name', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(35);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });
});

describe.each(testBackends())('bad input on %s', (backend) => {
  let ctx: Context;

  beforeAll(async () => {
    const testStore = await createTestStore(backend);
    const work = mkdtempSync(join(tmpdir(), `quiver-bad-input-${backend}-`));
    createFixtures(work);
    const store = await testStore.open();
    const run = await init({ project: PROJECT, store });
    const seed = await run.logArtifact(
      new Artifact(SEED, 'model', { metadata: { epoch: 3 } })
        .addFile(join(work, 'model.json'), { name: 'config.json' })
        .addDir(join(work, 'weights'), { prefix: 'weights' }),
      { aliases: ['best'] },
    );
    ctx = { backend, testStore, store, client: new QuiverClient(store), run, seed, work };
  });

  afterAll(async () => {
    if (!ctx) return;
    await ctx.run.finish().catch(() => undefined);
    await ctx.testStore.cleanup();
    rmSync(ctx.work, { recursive: true, force: true });
  });

  it('seeded one committed version', async () => {
    expect(ctx.seed.ref).toBe(`tester/${SEED_REF}:v0`);
    expect(ctx.seed.aliases).toEqual(['best', 'latest']);
    expect((await ctx.seed.entries()).map((entry) => entry.path)).toEqual([
      'config.json',
      'weights/layer1.bin',
    ]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.setup?.(ctx);
    const watch = c.watch?.(ctx) ?? [];
    const before = await snapshot(ctx, watch);

    const outcome = await withEnvironment(c.env, async () => {
      try {
        return { threw: false, value: await c.act(ctx) };
      } catch (error) {
        return { threw: true, error };
      }
    });
    await release(outcome.value, ctx);

    // (1) a QuiverError with the stable code
    const error = outcome.error;
    expect.soft(isQuiverError(error), describeOutcome(outcome)).toBe(true);
    expect.soft(isQuiverError(error) ? error.code : describeOutcome(outcome)).toBe(c.code);
    // (2) an actionable message: it names the value or part, and says what to do
    if (isQuiverError(error)) {
      const expected = typeof c.message === 'function' ? c.message(ctx) : c.message;
      for (const part of expected) expect.soft(error.message, `message of ${error.code}`).toContain(part);
      expect.soft(error.message).not.toMatch(/undefined|\[object Object\]/);
      const everything = [
        error.message,
        JSON.stringify(error.details),
        String((error.cause as Error | undefined)?.message ?? ''),
      ].join('\n');
      for (const text of c.absent ?? []) expect.soft(everything, `error text`).not.toContain(text);
    }
    // (3) the store, and any folder the action was pointed at, are unchanged
    const after = await snapshot(ctx, watch);
    expect.soft(after.counts, 'row counts').toEqual(before.counts);
    expect.soft(after.rows, 'row contents').toEqual(before.rows);
    expect.soft(after.blobs, 'stored blobs').toEqual(before.blobs);
    expect.soft(after.temporaryBlobs, 'temporary blobs').toEqual(before.temporaryBlobs);
    expect.soft(after.watched, 'watched folders').toEqual(before.watched);
  });
});
