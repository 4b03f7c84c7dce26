import type { ChildProcess } from 'node:child_process';
import { spawnScript } from './processes.js';

/** A Quiver server process started for a test, and how to reach it as its first admin. */
export interface TestServer {
  url: string;
  /** The first admin's key (undefined when the data folder had users already). */
  adminKey: string;
  process: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (its logs). */
  output(): string;
  /** SIGTERM, then waits for the process to exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Starts `quiver server start --port 0 --json` on `dataDir` (and PostgreSQL when `databaseUrl`
 * is given) as a real process, and waits for the line that names its URL.
 */
export async function startTestServer(options: {
  dataDir: string;
  databaseUrl?: string;
  /** Default: any free port. */
  port?: number;
  /** More environment (webhook settings, QUIVER_SECRET_KEY). */
  env?: Record<string, string>;
}): Promise<TestServer> {
  const env: Record<string, string> = { QUIVER_BASE_URL: '', QUIVER_API_KEY: '', ...options.env };
  if (options.databaseUrl) env.QUIVER_DATABASE_URL = options.databaseUrl;
  const child = spawnScript(
    'packages/cli/src/bin.ts',
    ['server', 'start', '--port', String(options.port ?? 0), '--json', '--data', options.dataDir],
    env,
  );
  let stderr = '';
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const first = await new Promise<{ url: string; adminKey: string }>((resolve, reject) => {
    let stdout = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      child.stdout?.off('data', onData);
      try {
        resolve(JSON.parse(stdout.slice(0, newline)) as { url: string; adminKey: string });
      } catch (error) {
        reject(new Error(`the server printed ${stdout.slice(0, newline)}: ${String(error)}`));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the server exited (${code}) before listening: ${stderr}`)),
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: first.url,
    adminKey: first.adminKey,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
