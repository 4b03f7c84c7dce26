/**
 * How the `quiver` command line behaves as a program: where relative paths resolve when it runs
 * as `pnpm quiver` (the user's folder, not the package root), and usage errors (exit status 2,
 * the same code with and without `--json`, JSON and nothing else under `--json`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TS_NODE_ARGS } from './support/processes.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without QUIVER_* and package-manager script variables, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('QUIVER_') && key !== 'INIT_CWD' && !key.startsWith('npm_')) env[key] = value;
  return { ...env, QUIVER_ENTITY: 'tester', ...extra };
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const BIN = join(ROOT, 'packages/cli/src/bin.ts');
/** tsx by absolute URL: `--import tsx` would be looked up from the child's working folder. */
const NODE_ARGS = TS_NODE_ARGS.map((arg) =>
  arg === 'tsx' ? pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href : arg,
);
/** The CLI from the sources, started directly (no package manager) in `cwd`. */
const cli = (args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()) =>
  run(process.execPath, [...NODE_ARGS, BIN, ...args], cwd, env);

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('pnpm quiver resolves relative paths against the folder it was run from', () => {
  it('put and get from a subfolder of the checkout write there, not at the repository root', {
    timeout: 120_000,
  }, async () => {
    // A subfolder of the checkout that git and biome ignore (.quiver/), as a user's folder would be.
    mkdirSync(join(ROOT, '.quiver'), { recursive: true });
    const base = mkdtempSync(join(ROOT, '.quiver', 'cli-usage-'));
    scratch.push(base);
    const sub = join(base, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'weights.bin'), 'relative weights');
    const tag = base.slice(-6);
    const store = `store-${tag}`;
    const out = `model-${tag}`;
    const pnpm = (args: string[]) => run('pnpm', ['--silent', 'quiver', ...args], sub, cleanEnv());

    const put = await pnpm([
      'artifact',
      'put',
      'demo/relative',
      './weights.bin',
      '--dir',
      `./${store}`,
      '--json',
    ]);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ ref: 'tester/demo/relative:v0', fileCount: 1 });
    const get = await pnpm(['get', 'demo/relative', `./${out}`, '--dir', `./${store}`, '--json']);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).dir).toBe(join(sub, out));

    expect(existsSync(join(sub, store, 'quiver.db'))).toBe(true);
    expect(readFileSync(join(sub, out, 'weights.bin'), 'utf8')).toBe('relative weights');
    expect(existsSync(join(ROOT, store))).toBe(false);
    expect(existsSync(join(ROOT, out))).toBe(false);
  });

  it('only the pass-through `quiver` script moves to INIT_CWD, and only when it runs in its package root', {
    timeout: 60_000,
  }, async () => {
    const pkg = mkdtempSync(join(tmpdir(), 'quiver-usage-pkg-'));
    const user = mkdtempSync(join(tmpdir(), 'quiver-usage-user-'));
    scratch.push(pkg, user);
    const script = (event: string, packageJson = join(pkg, 'package.json')) =>
      cleanEnv({ npm_lifecycle_event: event, npm_package_json: packageJson, INIT_CWD: user });
    const where = async (env: NodeJS.ProcessEnv, store: string): Promise<string> => {
      const result = await cli(['artifact', 'ls', '--dir', store, '--json'], pkg, env);
      expect(result.code, result.stderr).toBe(0);
      return existsSync(join(user, store)) ? 'user' : existsSync(join(pkg, store)) ? 'package' : 'nowhere';
    };
    expect(await where(script('quiver'), 'as-quiver')).toBe('user');
    // Another script (e.g. "fetch-model": "quiver get …") means its own package root, as npm scripts do.
    expect(await where(script('fetch-model'), 'as-other-script')).toBe('package');
    // A `quiver` script that changed folder itself ("cd tools && quiver …") keeps that folder.
    expect(await where(script('quiver', join(user, 'package.json')), 'after-cd')).toBe('package');
    // Not run by a package manager at all.
    expect(await where(cleanEnv({ INIT_CWD: user }), 'plain')).toBe('package');
  });
});

describe('usage errors', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'quiver-usage-'));
  scratch.push(cwd);
  const env = cleanEnv({ QUIVER_DIR: join(cwd, 'store') });

  const USAGE: Array<{ args: string[]; code: string; says: string }> = [
    { args: ['lineage'], code: 'E_USAGE', says: "missing required argument 'ref'" },
    {
      args: ['lineage', 'p/n', '--depth', 'abc'],
      code: 'E_INVALID_OPTION',
      says: '--depth takes a whole number',
    },
    { args: ['gc', '--grace', '-1'], code: 'E_INVALID_OPTION', says: '--grace takes a duration' },
    { args: ['artifact', 'ls', '--nope'], code: 'E_INVALID_OPTION', says: "unknown option '--nope'" },
    { args: ['nope'], code: 'E_USAGE', says: "unknown command 'nope'" },
    { args: ['registry'], code: 'E_USAGE', says: "'quiver registry' needs a command" },
  ];

  it.each(USAGE.map((entry) => [entry.args.join(' '), entry] as const))(
    '%s: exit 2, JSON under --json, the same code in text',
    {
      timeout: 60_000,
    },
    async (_name, entry) => {
      const json = await cli([...entry.args, '--json'], cwd, env);
      expect(json.code, json.stdout + json.stderr).toBe(2);
      expect(json.stderr).toBe('');
      const parsed = JSON.parse(json.stdout);
      expect(parsed).toEqual({
        error: {
          code: entry.code,
          message: expect.stringContaining(entry.says),
          details: expect.any(Object),
        },
      });

      const text = await cli(entry.args, cwd, env);
      expect(text.code, text.stdout + text.stderr).toBe(2);
      expect(text.stdout).toBe('');
      expect(text.stderr).toContain(`error [${entry.code}]: ${entry.says}`);
    },
  );

  it('--json before the subcommand counts; --help and --version exit 0; valid numbers are accepted', {
    timeout: 120_000,
  }, async () => {
    const listed = await cli(['--json', 'artifact', 'ls'], cwd, env);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const help = await cli(['gc', '--help'], cwd, env);
    expect(help.code, help.stdout + help.stderr).toBe(0);
    expect(help.stdout).toContain('0 to 36500d');
    expect((await cli(['--version'], cwd, env)).code).toBe(0);
    const gc = await cli(['gc', '--grace', '0', '--dry-run', '--json'], cwd, env);
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ dryRun: true, blobs: 0 });
    const missing = await cli(['lineage', 'p/n', '--depth', '0', '--json'], cwd, env);
    expect(missing.code).toBe(1); // a valid depth: the failure is the missing artifact, not the option
    expect(JSON.parse(missing.stdout).error.code).toBe('E_NOT_FOUND');
  });
});
