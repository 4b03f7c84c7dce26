import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/** nginx in front of replicas, started for a test with the configuration of docs/deploy.md. */
export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

/** The nginx block of docs/deploy.md (under `<!-- nginx-config -->`), exactly as documented. */
export function documentedNginxConfig(): string {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const match = /<!-- nginx-config -->\s*```nginx\n([\s\S]*?)```/.exec(doc);
  if (!match) throw new Error('docs/deploy.md has no nginx block under <!-- nginx-config -->');
  return match[1]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's nginx (installed by the test command) in the foreground on a free port, with
 * the documented configuration whose only changes are the replicas' addresses and the port —
 * plus the main-context lines a private instance needs (pid file, temp folders, logs in a scratch
 * folder).
 */
export async function startLoadBalancer(replicas: readonly string[]): Promise<LoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const documented = documentedNginxConfig();
  const upstreams = replicas
    .map((url) => `    server ${new URL(url).host} max_fails=1 fail_timeout=10s;`)
    .join('\n');
  const site = documented
    .replace(/( {4}server 10\.0\.0\.\d+:8080[^\n]*\n)+/, `${upstreams}\n`)
    .replace('listen 80;', `listen 127.0.0.1:${port};`);
  if (site === documented || !site.includes(`127.0.0.1:${port}`))
    throw new Error('the documented nginx configuration no longer has the lines this test changes');
  const config = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), config);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (attempt > 100) throw new Error(`nginx did not answer on ${url}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
