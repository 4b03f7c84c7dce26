import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.js';

// Done-when 6 of the team-server issue: the README's "Team server" commands, run as written. The
// only changes: the port (8080 → a free one, also given as QUIVER_SERVER_PORT), the data folder
// (a temporary one), the admin key put where the README says <admin key>, and alice's key typed
// in when `quiver login` asks for it.

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = /<!-- team-server -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const KEY = /qvr_[A-Za-z0-9_-]{43}/g;

const scratch = mkdtempSync(join(tmpdir(), 'quiver-team-readme-'));
let server: ChildProcess | undefined;

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** The environment of a fresh user: its own HOME, no Quiver settings but those the README sets. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('QUIVER_')) env[name] = value;
  return {
    ...env,
    HOME: join(scratch, 'home'),
    XDG_CONFIG_HOME: join(scratch, 'home', '.config'),
    XDG_DATA_HOME: join(scratch, 'home', '.local', 'share'),
    ...extra,
  };
}

function bash(
  script: string,
  env: NodeJS.ProcessEnv,
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the README team-server section', () => {
  it('runs as written: a server, a team, a user with a key, login, whoami and the demo logging into the team', {
    timeout: 240_000,
  }, async () => {
    const [serverPart, adminPart, alicePart] = block.split(/\n\n/);
    expect(serverPart).toContain('pnpm quiver server start --data ./quiver-data');
    expect(adminPart).toContain('<admin key>');
    expect(alicePart).toContain('pnpm quiver login http://127.0.0.1:8080\n');
    const port = await freePort();
    const data = join(scratch, 'quiver-data');
    const at = (text: string) => text.replaceAll('8080', String(port)).replaceAll('./quiver-data', data);
    const env = cleanEnv({
      QUIVER_SERVER_PORT: String(port),
      QUIVER_CREDENTIALS: join(scratch, 'home', 'credentials.json'),
    });

    // terminal 1
    const startLine = serverPart!.split('\n').find((line) => line.startsWith('pnpm quiver server start'))!;
    server = spawn('bash', ['-c', at(startLine)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const adminKey = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = out.match(KEY);
        if (found) resolve(found[0]);
      });
      server!.once('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
    });
    expect(readFileSync(join(data, 'quiver.db')).length).toBeGreaterThan(0);

    // terminal 2, as the admin
    const admin = await bash(at(adminPart!).replace('<admin key>', adminKey), env);
    expect(admin.stderr.replace(/^\$ .*\n/gm, ''), admin.stdout).toBe('');
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain('created user alice');
    expect(admin.stdout).toContain('team vision: alice (member)');
    const aliceKey = admin.stdout.match(KEY)?.[0];
    expect(aliceKey).toBeDefined();
    expect(aliceKey).not.toBe(adminKey);

    // as alice
    const alice = await bash(at(alicePart!), env, `${aliceKey}\n`);
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.stdout).toContain(`logged in to http://127.0.0.1:${port} as alice`);
    expect(alice.stdout).toMatch(/alice on http:\/\/127\.0\.0\.1:\d+\n {2}alice: admin\n {2}vision: member/);
    expect(alice.stdout).toContain('finished: finished; best vision/quiver-demo/');
    expect(alice.stdout).toMatch(/spiral-classifier/);
    expect(alice.stdout).toMatch(/staging/);
    // The key is kept only where the README says, readable by its owner alone, and printed nowhere.
    const credentials = join(scratch, 'home', 'credentials.json');
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    expect(readFileSync(credentials, 'utf8')).toContain(aliceKey!);
    expect(readFileSync(credentials, 'utf8')).not.toContain(adminKey);
    expect(alice.stdout + alice.stderr).not.toContain(aliceKey!);
  });
});
