import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Node arguments that run a TypeScript file against the workspace sources (no build needed). */
export const TS_NODE_ARGS = ['--import', 'tsx', '--conditions=source'];

/** Starts `node` on a TypeScript script of the repository, with extra environment. */
export function spawnScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): ChildProcess {
  return spawn(process.execPath, [...TS_NODE_ARGS, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** How a script ended, with everything it printed. */
export interface ScriptOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a script: the process (to signal it) and how it ends. */
export function startScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): { child: ChildProcess; ended: Promise<ScriptOutcome> } {
  const child = spawnScript(script, args, env);
  return { child, ended: outcomeOf(child) };
}

/** How a started process ends, with everything it printed (its stdout and stderr piped). */
export function outcomeOf(child: ChildProcess): Promise<ScriptOutcome> {
  return new Promise<ScriptOutcome>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs a script to completion and returns its exit code and output. */
export function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ScriptOutcome> {
  return startScript(script, args, env).ended;
}

/** Runs the `quiver` CLI from the sources. */
export function runCli(args: readonly string[], env: Record<string, string>) {
  return runScript('packages/cli/src/bin.ts', args, env);
}
