import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Server {
  url: string;
  key: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the server as a user would (`quiver server start`), from the sources, on a free port. */
export async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      join(ROOT, 'packages/cli/src/bin.ts'),
      'server',
      'start',
      '--port',
      '0',
      '--json',
      '--data',
      dataDir,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, QUIVER_BASE_URL: '', QUIVER_API_KEY: '', QUIVER_DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const first = await new Promise<{ url: string; adminKey: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as { url: string; adminKey: string });
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: first.url,
    key: first.adminKey,
    process: child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
