/**
 * Bad input to the `quiver` CLI, table-driven. Every case runs the real CLI (a child process, from
 * the sources) with `--json` and one bad input, and checks:
 *
 * 1. the JSON error on stdout has the expected stable code (and nothing, no help text, on stderr);
 * 2. the exit status is the documented one: 2 for usage errors (the command line's shape: unknown
 *    command or option, missing or extra argument, an option value out of range), 1 for every
 *    other failure (bad refs, names, files, file systems, environment);
 * 3. the message says what to do (each case lists the guidance it must contain);
 * 4. the stores are unchanged: artifacts, every version with its aliases, tags, digest and size,
 *    runs, registered models and the registry's event log (read through the SDK), and every file
 *    under the blob folder with its size; plus any folder the case watches (download targets);
 * 5. it finishes within 10 s: the child is killed at 10 s and a kill fails the case (a hang).
 *
 * File systems: the tests run as root, which ignores file modes, so the cases about unreadable
 * sources and unwritable targets run the CLI as root *without* CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH (`setpriv --bounding-set=-dac_override,-dac_read_search`): the process keeps
 * uid 0, so it still owns and reaches the store, but file modes apply to it. Read-only and full
 * file systems are small tmpfs mounts (`mount -t tmpfs`), unmounted in cleanup. "/proc" stands for
 * a folder that cannot be created.
 *
 * All cases run on SQLite; the ones marked `pg` run on PostgreSQL too (each case is a child
 * process of ~1–2 s of CPU, so the full table on both backends would double the time for little).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Artifact, type EmbeddedBackend, type QuiverClient, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestStore,
  type EmbeddedBackendName,
  type TestStore,
  testBackends,
} from './support/backends.js';
import { ROOT, TS_NODE_ARGS } from './support/processes.js';

const CASE_TIMEOUT_MS = 10_000;
const PROJECT = 'demo';
const SEED = `${PROJECT}/seed-model`;
const BIG = `${PROJECT}/big-model`;
const TAMPERED = `${PROJECT}/tampered-model`;
const MiB = 1024 * 1024;

interface Context {
  backend: EmbeddedBackendName;
  main: TestStore<EmbeddedBackend>;
  /** A store whose folder is a 2 MiB tmpfs (full-disk puts). */
  tiny: TestStore;
  clients: { main: QuiverClient; tiny: QuiverClient };
  /** Scratch folder outside the stores. */
  work: string;
  /** A 1 KiB source file. */
  small: string;
  /** A 4 MiB source file (more than the tiny tmpfs holds). */
  big: string;
  /** A file with mode 000. */
  unreadable: string;
  /** A folder with mode 000 holding a readable file (`inside`). */
  locked: { dir: string; inside: string };
  /** A folder holding one readable and one mode-000 file. */
  mixed: string;
  /** A folder with mode 555 (no writes for a process that honours modes). */
  noWrite: string;
  /** A plain file, to download "into". */
  plainFile: string;
  /** tmpfs mounted read-only. */
  readOnly: string;
  /** 2 MiB tmpfs for full-disk downloads. */
  tinyTarget: string;
  mounts: string[];
}

interface CliCase {
  name: string;
  /** The command line; `--json` is appended. */
  args: (ctx: Context) => string[];
  code: string;
  exit: 1 | 2;
  /** What the message must contain: the offending part and the guidance. */
  message: ReadonlyArray<string | RegExp> | ((ctx: Context) => ReadonlyArray<string | RegExp>);
  /** Which store the CLI is pointed at (default: main). */
  store?: 'main' | 'tiny';
  /** Extra environment for the CLI. */
  env?: (ctx: Context) => Record<string, string>;
  /** Run without the capabilities that let root ignore file modes. */
  restricted?: boolean;
  /** Text that must appear nowhere in stdout or stderr (secrets, refs the user never typed). */
  absent?: readonly string[];
  /** Folders whose contents (paths and sizes) must not change. */
  watch?: (ctx: Context) => string[];
  /** Also run on PostgreSQL. */
  pg?: boolean;
}

const REF_GRAMMAR = 'Expected [entity/]project/name[:vN|:alias]';
const HELP = /Run 'quiver( [a-z]+)* --help' for usage\./;
const VERSION_SHAPED = 'versions are v<N>';

const deepMetadata = (levels: number): string => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

const CASES: CliCase[] = [
  // ── refs ─────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'show: a ref without a name',
    args: () => ['artifact', 'show', 'demo'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ["'demo'", REF_GRAMMAR],
    pg: true,
  },
  {
    name: 'show: a version with a leading zero',
    args: () => ['artifact', 'show', `${SEED}:v01`],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['leading zero', REF_GRAMMAR],
  },
  {
    name: 'show: nothing after ":"',
    args: () => ['artifact', 'show', `${SEED}:`],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['nothing follows ":"', 'give vN or an alias'],
  },
  {
    name: 'get: too many "/" parts',
    args: (ctx) => ['get', 'a/b/c/d', join(ctx.work, 'out-parts')],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['too many', REF_GRAMMAR],
    watch: (ctx) => [ctx.work],
  },
  {
    name: 'show: a version beyond the safe integer range',
    args: () => ['artifact', 'show', 'p/n:v99999999999999999999'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['v99999999999999999999', /too large|beyond|up to v9007199254740991/],
    absent: ['v100000000000000000000'],
    pg: true,
  },
  {
    name: 'show: a version-shaped selector (v-1) is not an alias',
    args: () => ['artifact', 'show', `${SEED}:v-1`],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['v-1', VERSION_SHAPED],
  },
  {
    name: 'lineage: a name with a space',
    args: () => ['lineage', 'demo/my model'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['demo/my model', REF_GRAMMAR],
  },
  {
    name: 'put: a target that names a version',
    args: (ctx) => ['artifact', 'put', `${SEED}:v0`, ctx.small],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['names a version', '[entity/]project/name'],
  },
  {
    name: 'show: a version that does not exist',
    args: () => ['artifact', 'show', `${SEED}:v7`],
    code: 'E_NOT_FOUND',
    exit: 1,
    message: ['v7'],
  },
  {
    name: 'registry alias set: version N beyond the safe range',
    args: () => ['registry', 'alias', 'set', 'seed-model', 'staging', '99999999999999999999'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['99999999999999999999', 'give vN with a smaller N'],
  },

  // ── names, aliases, tags, types ──────────────────────────────────────────────────────────────
  ...['v-1', 'v1.5', 'V3', 'v03'].map(
    (alias): CliCase => ({
      name: `alias: the version-shaped name ${alias}`,
      args: () => ['artifact', 'alias', `${SEED}:v0`, alias],
      code: 'E_INVALID_ALIAS',
      exit: 1,
      message: [`'${alias}'`, 'looks like a version', "choose a name such as 'best'"],
      pg: alias === 'V3',
    }),
  ),
  {
    name: 'put: --alias v1.5',
    args: (ctx) => ['artifact', 'put', SEED, ctx.small, '--alias', 'v1.5'],
    code: 'E_INVALID_ALIAS',
    exit: 1,
    message: ["'v1.5'", 'looks like a version'],
  },
  {
    name: 'alias: a name with "!"',
    args: () => ['artifact', 'alias', `${SEED}:v0`, 'best!'],
    code: 'E_INVALID_ALIAS',
    exit: 1,
    message: ['best!', "letters, digits, '.', '_' or '-'"],
  },
  {
    name: 'put: an artifact name with a space',
    args: (ctx) => ['artifact', 'put', 'demo/my model', ctx.small],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['demo/my model', REF_GRAMMAR],
  },
  {
    name: 'put: a type with capitals',
    args: (ctx) => ['artifact', 'put', SEED, ctx.small, '--type', 'Model'],
    code: 'E_INVALID_TYPE',
    exit: 1,
    message: ['Model', 'lowercase'],
  },
  {
    name: 'registry link: a model name with a space',
    args: () => ['registry', 'link', `${SEED}:v0`, 'my model', '--create'],
    code: 'E_INVALID_NAME',
    exit: 1,
    message: ['my model', "letters, digits, '.', '_' or '-'"],
  },
  {
    name: 'registry alias set: production without --force',
    args: () => ['registry', 'alias', 'set', 'seed-model', 'production'],
    code: 'E_ALIAS_PROTECTED',
    exit: 1,
    message: ['production', '--force'],
    pg: true,
  },
  {
    name: 'rm: a version that holds an alias',
    args: () => ['artifact', 'rm', `${SEED}:v0`],
    code: 'E_ALIAS_HELD',
    exit: 1,
    message: ['--force'],
  },

  // ── numeric options ──────────────────────────────────────────────────────────────────────────
  ...[
    ['abc', 'not a number'],
    ['-1', 'negative'],
    ['1.5', 'a fraction'],
    ['1e3', 'an exponent'],
    ['99999999999999999999', 'beyond the safe integer range'],
    ['1001', 'above the maximum'],
    ['', 'empty'],
  ].map(
    ([value, what]): CliCase => ({
      name: `lineage --depth '${value}' (${what})`,
      args: () => ['lineage', SEED, '--depth', value!],
      code: 'E_INVALID_OPTION',
      exit: 2,
      message: ['--depth', 'a whole number from 0 to 1000', `'${value}'`],
      pg: value === 'abc',
    }),
  ),
  ...[
    ['abc', 'not a duration'],
    ['-5m', 'negative'],
    ['1.5h', 'a fraction'],
    ['2w', 'an unknown unit'],
    ['99999999999999999999d', 'beyond the safe integer range'],
    ['36501d', 'above the maximum'],
  ].map(
    ([value, what]): CliCase => ({
      name: `gc --grace '${value}' (${what})`,
      args: () => ['gc', '--grace', value!],
      code: 'E_INVALID_OPTION',
      exit: 2,
      message: ['--grace', 'from 0 to 36500d', 'e.g. 0, 90s, 30m, 2h or 1d', `'${value}'`],
    }),
  ),

  // ── the command line's shape ─────────────────────────────────────────────────────────────────
  {
    name: 'get: the ref is missing',
    args: () => ['get'],
    code: 'E_USAGE',
    exit: 2,
    message: ["missing required argument 'ref'", HELP],
    pg: true,
  },
  {
    name: 'put: no paths',
    args: () => ['artifact', 'put', SEED],
    code: 'E_USAGE',
    exit: 2,
    message: ["missing required argument 'paths'", HELP],
  },
  {
    name: 'show: an extra argument',
    args: () => ['artifact', 'show', `${SEED}:v0`, 'extra'],
    code: 'E_USAGE',
    exit: 2,
    message: ['too many arguments', HELP],
  },
  {
    name: 'an unknown command',
    args: () => ['artifact', 'frobnicate'],
    code: 'E_USAGE',
    exit: 2,
    message: ["unknown command 'frobnicate'", HELP],
  },
  {
    name: 'no command at all',
    args: () => [],
    code: 'E_USAGE',
    exit: 2,
    message: ["'quiver' needs a command", HELP],
  },
  {
    name: 'an unknown option',
    args: () => ['artifact', 'ls', '--frobnicate'],
    code: 'E_INVALID_OPTION',
    exit: 2,
    message: ["unknown option '--frobnicate'", HELP],
  },
  {
    name: 'an option without its value',
    args: () => ['lineage', '--json', SEED, '--depth'],
    code: 'E_INVALID_OPTION',
    exit: 2,
    message: ["'--depth <hops>' argument missing", HELP],
  },

  // ── metadata ─────────────────────────────────────────────────────────────────────────────────
  {
    name: 'put: --metadata that is not JSON',
    args: (ctx) => ['artifact', 'put', SEED, ctx.small, '--metadata', '{epoch: 3'],
    code: 'E_INVALID_METADATA',
    exit: 1,
    message: ['--metadata is not JSON', `'{"epoch": 3}'`],
    pg: true,
  },
  {
    name: 'put: --metadata that is an array',
    args: (ctx) => ['artifact', 'put', SEED, ctx.small, '--metadata', '[1, 2]'],
    code: 'E_INVALID_METADATA',
    exit: 1,
    message: ['must be a JSON object', 'an array'],
  },
  {
    name: 'put: --metadata nested 30,000 levels deep',
    args: (ctx) => ['artifact', 'put', SEED, ctx.small, '--metadata', deepMetadata(30_000)],
    code: 'E_INVALID_METADATA',
    exit: 1,
    message: [/nest|deep|levels/i],
  },

  // ── sources ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'put: a source file that does not exist',
    args: (ctx) => ['artifact', 'put', SEED, join(ctx.work, 'no-such-file.bin')],
    code: 'E_FILE_NOT_FOUND',
    exit: 1,
    message: (ctx) => [join(ctx.work, 'no-such-file.bin')],
    pg: true,
  },
  {
    name: 'put: an unreadable source file (mode 000)',
    args: (ctx) => ['artifact', 'put', SEED, ctx.unreadable],
    code: 'E_PERMISSION_DENIED',
    exit: 1,
    message: (ctx) => [ctx.unreadable, 'make it readable'],
    restricted: true,
  },
  {
    name: 'put: a source in a folder that cannot be entered (mode 000)',
    args: (ctx) => ['artifact', 'put', SEED, ctx.locked.inside],
    code: 'E_PERMISSION_DENIED',
    exit: 1,
    message: ['make it readable'],
    restricted: true,
  },
  {
    name: 'put: a source folder with an unreadable file in it',
    args: (ctx) => ['artifact', 'put', SEED, ctx.mixed],
    code: 'E_PERMISSION_DENIED',
    exit: 1,
    message: ['make it readable'],
    restricted: true,
  },
  {
    name: 'put: a source that fails to read (EIO: /proc/self/mem)',
    args: () => ['artifact', 'put', SEED, '/proc/self/mem'],
    code: 'E_IO',
    exit: 1,
    message: ['/proc/self/mem', 'try again'],
  },
  {
    name: 'registry model create: a --card file that does not exist',
    args: (ctx) => ['registry', 'model', 'create', 'carded', '--card', join(ctx.work, 'no-card.md')],
    code: 'E_FILE_NOT_FOUND',
    exit: 1,
    message: (ctx) => [join(ctx.work, 'no-card.md'), 'check the path'],
  },

  // ── download targets ─────────────────────────────────────────────────────────────────────────
  {
    name: 'get: the target is an existing file',
    args: (ctx) => ['get', SEED, ctx.plainFile],
    code: 'E_NOT_A_DIRECTORY',
    exit: 1,
    message: (ctx) => [ctx.plainFile, 'choose another folder'],
    watch: (ctx) => [ctx.work],
    pg: true,
  },
  {
    name: 'get: the target is under an existing file',
    args: (ctx) => ['get', SEED, join(ctx.plainFile, 'sub')],
    code: 'E_NOT_A_DIRECTORY',
    exit: 1,
    message: (ctx) => [ctx.plainFile, 'choose another folder'],
    watch: (ctx) => [ctx.work],
  },
  {
    name: 'get: a target under /proc (cannot be created) fails fast',
    args: () => ['get', SEED, '/proc/quiver-no-such-dir/model'],
    code: 'E_READ_ONLY',
    exit: 1,
    message: ['/proc/quiver-no-such-dir/model', 'Choose a folder on a regular disk'],
    pg: true,
  },
  {
    name: '--dir under /proc (a store folder that cannot be created) fails fast',
    args: () => ['artifact', 'ls', '--dir', '/proc/quiver-no-such-dir/store'],
    code: 'E_READ_ONLY',
    exit: 1,
    message: ['/proc/quiver-no-such-dir/store', 'Choose a folder on a regular disk'],
  },
  {
    name: 'get: the target is a read-only file system',
    args: (ctx) => ['get', SEED, ctx.readOnly],
    code: 'E_READ_ONLY',
    exit: 1,
    message: (ctx) => [ctx.readOnly, 'read-only', 'choose a writable location'],
    watch: (ctx) => [ctx.readOnly],
  },
  {
    name: 'get: a new folder on a read-only file system',
    args: (ctx) => ['get', SEED, join(ctx.readOnly, 'model')],
    code: 'E_READ_ONLY',
    exit: 1,
    message: ['read-only', 'choose a writable location'],
    watch: (ctx) => [ctx.readOnly],
  },
  {
    name: 'get: a target folder without write permission (mode 555)',
    args: (ctx) => ['get', SEED, ctx.noWrite],
    code: 'E_PERMISSION_DENIED',
    exit: 1,
    message: (ctx) => [ctx.noWrite, 'make it writable'],
    restricted: true,
    watch: (ctx) => [ctx.noWrite],
  },
  {
    name: 'get: a new folder inside a folder without write permission',
    args: (ctx) => ['get', SEED, join(ctx.noWrite, 'model')],
    code: 'E_PERMISSION_DENIED',
    exit: 1,
    message: ['make it writable'],
    restricted: true,
    watch: (ctx) => [ctx.noWrite],
  },
  {
    name: 'get: the target file system fills up (4 MiB into 2 MiB)',
    args: (ctx) => ['get', BIG, join(ctx.tinyTarget, 'model')],
    code: 'E_DISK_FULL',
    exit: 1,
    message: ['download target', /free space/i],
    watch: (ctx) => [ctx.tinyTarget],
  },
  {
    name: 'put: the store file system fills up (4 MiB into 2 MiB)',
    store: 'tiny',
    args: (ctx) => ['artifact', 'put', BIG, ctx.big],
    code: 'E_DISK_FULL',
    exit: 1,
    message: ['store', /free space/i, /nothing was committed/i],
    pg: true,
  },
  {
    name: 'get: a stored manifest path tampered to ../evil.txt',
    args: (ctx) => ['get', TAMPERED, join(ctx.work, 'tampered-out')],
    code: 'E_CORRUPT_MANIFEST',
    exit: 1,
    message: ['not trustworthy', 'quiver verify'],
    watch: (ctx) => [ctx.work],
  },

  // ── references ───────────────────────────────────────────────────────────────────────────────
  {
    name: 'put: a reference URL with a user and password',
    args: () => ['artifact', 'put', SEED, 'http://user:secret@127.0.0.1:9/x.bin'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['http://***@127.0.0.1:9/x.bin', 'credentials'],
    absent: ['secret', 'user:'],
    pg: true,
  },
  {
    name: 'put: a reference URL with a token as the user',
    args: () => ['artifact', 'put', SEED, 'https://hf_s3cr3tT0ken@example.com/x.bin'],
    code: 'E_INVALID_REF',
    exit: 1,
    message: ['https://***@example.com/x.bin', 'credentials'],
    absent: ['hf_s3cr3tT0ken'],
  },

  // ── environment ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'QUIVER_MODE=bogus',
    args: () => ['artifact', 'ls'],
    env: () => ({ QUIVER_MODE: 'bogus' }),
    code: 'E_INVALID_ENV',
    exit: 1,
    message: ['QUIVER_MODE', 'bogus', 'local, offline, disabled'],
    pg: true,
  },
  {
    name: 'QUIVER_DATABASE_URL that is not a PostgreSQL URL (with a password in it)',
    args: () => ['artifact', 'ls'],
    env: () => ({ QUIVER_DATABASE_URL: 'mysql://admin:hunter2@127.0.0.1/quiver' }),
    code: 'E_INVALID_ENV',
    exit: 1,
    message: ['QUIVER_DATABASE_URL', 'postgres://'],
    absent: ['hunter2'],
  },
  {
    name: 'QUIVER_DATABASE_URL pointing at a port where nothing listens',
    args: () => ['artifact', 'ls'],
    env: () => ({ QUIVER_DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:9/quiver' }),
    code: 'E_DATABASE',
    exit: 1,
    message: ['QUIVER_DATABASE_URL'],
    absent: ['hunter2'],
  },
  {
    name: 'QUIVER_ENTITY with a space',
    args: () => ['artifact', 'ls'],
    env: () => ({ QUIVER_ENTITY: 'my team' }),
    code: 'E_INVALID_ENV',
    exit: 1,
    message: ['QUIVER_ENTITY', 'my team'],
  },
];

// ── running the CLI ──────────────────────────────────────────────────────────────────────────────

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** The environment of a CLI child: no QUIVER_* or package-manager script variables but the case's. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('QUIVER_') && key !== 'INIT_CWD' && !key.startsWith('npm_')) env[key] = value;
  return { ...env, ...extra };
}

function runCliCase(
  args: readonly string[],
  env: Record<string, string>,
  restricted: boolean,
): Promise<CliResult> {
  const node = [process.execPath, ...TS_NODE_ARGS, 'packages/cli/src/bin.ts', ...args];
  const [command, ...rest] = restricted
    ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--', ...node]
    : node;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command!, rest, {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

// ── snapshots ────────────────────────────────────────────────────────────────────────────────────

/** Every file under `dir` (recursively) with its size; folders too, marked with a trailing "/". */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string): void => {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch (error) {
      out.push(`${relative(dir, folder) || '.'}: unreadable (${(error as NodeJS.ErrnoException).code})`);
      return;
    }
    for (const name of names) {
      const path = join(folder, name);
      const stats = statSync(path, { throwIfNoEntry: false });
      if (!stats) continue;
      if (stats.isDirectory()) {
        out.push(`${relative(dir, path)}/`);
        walk(path);
      } else out.push(`${relative(dir, path)} ${stats.size}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  else out.push('(absent)');
  return out;
}

async function storeSnapshot(client: QuiverClient, dir: string): Promise<unknown> {
  const artifacts = await client.artifacts();
  const versions = [];
  for (const artifact of artifacts)
    versions.push(
      (await client.versions(artifact.project, artifact.name, artifact.entity)).map((version) => ({
        ref: version.ref,
        digest: version.digest,
        size: version.size,
        fileCount: version.fileCount,
        aliases: version.aliases,
        tags: version.tags,
        metadata: version.metadata,
      })),
    );
  return {
    artifacts,
    versions,
    runs: await client.runs(),
    models: await client.registry.models(),
    events: await client.registry.events(),
    // Files only: opening a store may create its empty folders.
    blobs: listing(join(dir, 'blobs')).filter((line) => !line.endsWith('/')),
  };
}

async function snapshot(ctx: Context, watch: readonly string[]): Promise<unknown> {
  return {
    main: await storeSnapshot(ctx.clients.main, ctx.main.dir),
    tiny: await storeSnapshot(ctx.clients.tiny, ctx.tiny.dir),
    watched: Object.fromEntries(watch.map((dir) => [dir, listing(dir)])),
  };
}

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────────

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

async function createContext(backend: EmbeddedBackendName): Promise<Context> {
  const main = await createTestStore(backend);
  const tiny = await createTestStore(backend);
  const work = mkdtempSync(join(tmpdir(), 'quiver-cli-bad-'));
  const mounts: string[] = [];
  const ctx = { backend, main, tiny, work, mounts } as Partial<Context> as Context;
  try {
    await seedContext(ctx);
  } catch (error) {
    await destroyContext(ctx);
    throw error;
  }
  return ctx;
}

/** Fills a fresh context: source files, folders with odd modes, tmpfs mounts and the seeded stores. */
async function seedContext(ctx: Context): Promise<void> {
  const { main, tiny, work, mounts } = ctx;

  // The tiny store: its folder is a 2 MiB tmpfs, with one small version already in it.
  mountTmpfs(tiny.dir, 'size=2m');
  mounts.push(tiny.dir);

  const small = join(work, 'small.bin');
  writeFileSync(small, randomBytes(1024));
  const big = join(work, 'big.bin');
  writeFileSync(big, randomBytes(4 * MiB));
  const plainFile = join(work, 'plain.txt');
  writeFileSync(plainFile, 'a plain file\n');
  const unreadable = join(work, 'unreadable.bin');
  writeFileSync(unreadable, 'no one may read this');
  chmodSync(unreadable, 0o000);
  const lockedDir = join(work, 'locked');
  mkdirSync(lockedDir);
  const inside = join(lockedDir, 'inside.bin');
  writeFileSync(inside, 'behind a locked folder');
  chmodSync(lockedDir, 0o000);
  const mixed = join(work, 'mixed');
  mkdirSync(mixed);
  writeFileSync(join(mixed, 'ok.bin'), 'readable');
  writeFileSync(join(mixed, 'hidden.bin'), 'unreadable');
  chmodSync(join(mixed, 'hidden.bin'), 0o000);
  const noWrite = join(work, 'no-write');
  mkdirSync(noWrite);
  chmodSync(noWrite, 0o555);
  const readOnly = join(work, 'read-only');
  mountTmpfs(readOnly, 'size=1m,ro');
  mounts.push(readOnly);
  const tinyTarget = join(work, 'tiny-target');
  mountTmpfs(tinyTarget, 'size=2m');
  mounts.push(tinyTarget);
  Object.assign(ctx, {
    small,
    big,
    plainFile,
    unreadable,
    locked: { dir: lockedDir, inside },
    mixed,
    noWrite,
    readOnly,
    tinyTarget,
  });

  const mainStore: Store<EmbeddedBackend> = await main.open();
  ctx.clients = { main: await main.client(), tiny: await tiny.client() };
  const client = ctx.clients.main;
  const seed = new Artifact('seed-model', 'model')
    .addBytes('weights.bin', 'seed weights')
    .addBytes('config.json', '{}');
  await client.commit(seed, { project: PROJECT, aliases: ['best'] });
  await client.commit(new Artifact('big-model', 'model').addFile(big), { project: PROJECT });
  const tampered = await client.commit(
    new Artifact('tampered-model', 'model').addBytes('model.bin', 'honest bytes'),
    { project: PROJECT },
  );
  const db = mainStore.backend.connection.db;
  const { id: tamperedKey } = await db
    .selectFrom('artifact_versions')
    .select('id')
    .where('uid', '=', tampered.id)
    .executeTakeFirstOrThrow();
  await db
    .updateTable('manifest_entries')
    .set({ path: '../evil.txt' })
    .where('version_id', '=', tamperedKey)
    .execute();
  await client.registry.link(`${SEED}:v0`, { model: 'seed-model' }, { create: true, aliases: ['staging'] });
  await ctx.clients.tiny.commit(new Artifact('seed-model', 'model').addBytes('weights.bin', 'tiny seed'), {
    project: PROJECT,
  });
}

async function destroyContext(ctx: Context | undefined): Promise<void> {
  if (!ctx) return;
  await Promise.all([ctx.clients?.main.close(), ctx.clients?.tiny.close()]);
  await ctx.main.cleanup(); // closes the stores opened for seeding before their folders go
  for (const mount of [...ctx.mounts].reverse()) {
    try {
      execFileSync('umount', [mount]);
    } catch {
      execFileSync('umount', ['-l', mount]);
    }
  }
  if (ctx.locked) chmodSync(ctx.locked.dir, 0o755);
  rmSync(ctx.work, { recursive: true, force: true });
  await ctx.tiny.cleanup();
}

// ── the table ────────────────────────────────────────────────────────────────────────────────────

describe.each(testBackends())('quiver CLI bad input on %s', (backend) => {
  const cases = backend === 'sqlite' ? CASES : CASES.filter((entry) => entry.pg);
  let ctx: Context | undefined;

  beforeAll(async () => {
    ctx = await createContext(backend);
  }, 120_000);
  afterAll(async () => {
    await destroyContext(ctx);
  }, 60_000);

  it('has at least 40 cases, each with a typed code and guidance', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    for (const entry of CASES) expect(entry.code, entry.name).toMatch(/^E_[A-Z_]+$/);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s',
    { timeout: 60_000 },
    async (_name, entry) => {
      const c = ctx!;
      const store = entry.store === 'tiny' ? c.tiny : c.main;
      const watch = entry.watch?.(c) ?? [];
      const before = await snapshot(c, watch);
      const args = entry.args(c);
      const result = await runCliCase(
        args.includes('--json') ? args : [...args, '--json'],
        { ...store.env, ...(entry.env?.(c) ?? {}) },
        entry.restricted === true,
      );
      const shown = `quiver ${args.join(' ').slice(0, 200)}\nexit ${result.code} after ${result.ms} ms\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 2000)}`;

      expect(result.timedOut, `hung (killed after ${CASE_TIMEOUT_MS} ms): ${shown}`).toBe(false);
      expect(result.stderr, shown).toBe('');
      let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } };
      try {
        parsed = JSON.parse(result.stdout);
      } catch {
        throw new Error(`stdout is not one JSON document: ${shown}`);
      }
      expect(parsed.error, shown).toEqual({
        code: expect.any(String),
        message: expect.any(String),
        details: expect.any(Object),
      });
      expect(parsed.error?.code, shown).toBe(entry.code);
      expect(result.code, shown).toBe(entry.exit);
      const message = String(parsed.error?.message);
      const expected = typeof entry.message === 'function' ? entry.message(c) : entry.message;
      for (const part of expected) {
        if (typeof part === 'string') expect(message, shown).toContain(part);
        else expect(message, shown).toMatch(part);
      }
      for (const secret of entry.absent ?? []) {
        expect(result.stdout, `'${secret}' printed: ${shown}`).not.toContain(secret);
        expect(result.stderr, `'${secret}' printed: ${shown}`).not.toContain(secret);
      }
      expect(await snapshot(c, watch), `the stores or watched folders changed: ${shown}`).toEqual(before);
    },
  );
});
