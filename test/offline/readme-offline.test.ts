import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outcomeOf, ROOT } from '../support/processes.js';
import { syncServerFixture } from './support.js';

// The README's "Offline" commands, run as written. The only changes: the server and the key are
// in the environment (as `quiver login` would keep them), and /mnt/usb/offline is a copy of the
// bundles folder made before that line.

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = /<!-- offline -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

const fixture = syncServerFixture('quiver-offline-readme-');

function bash(line: string, env: Record<string, string>) {
  return outcomeOf(
    spawn('bash', ['-euo', 'pipefail', '-c', line], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

describe("the README's offline commands", () => {
  it('record the demo offline, list it, sync it, and sync a copied folder', async () => {
    const lines = block
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(lines).toHaveLength(4);
    const dir = join(fixture.root, 'laptop');
    const env = {
      QUIVER_DIR: dir,
      QUIVER_BASE_URL: fixture.srv.url,
      QUIVER_API_KEY: fixture.srv.memberKey,
      QUIVER_MODE: '',
    };
    const outputs: string[] = [];
    for (const line of lines) {
      let command = line;
      if (line.includes('/mnt/usb/offline')) {
        const copy = join(fixture.root, 'usb', 'offline');
        cpSync(join(dir, 'offline'), copy, { recursive: true });
        command = line.replace('/mnt/usb/offline', copy);
      }
      const result = await bash(command, env);
      expect(result.code, `${command}\n${result.stderr}`).toBe(0);
      outputs.push(result.stdout);
    }
    expect(outputs[0]).toContain('finished offline: finished');
    expect(outputs[1]).toMatch(/would send \d+ record\(s\)/);
    expect(outputs[2]).toMatch(/sent \d+ version\(s\)/);
    expect(outputs[2]).toContain('complete');
    const copied = JSON.parse(outputs[3]!);
    expect(copied.reports[0]).toMatchObject({ complete: true, versions: 0, bytesUploaded: 0 });
    const store = await fixture.srv.store();
    try {
      const model = await store.backend.registry.model({ entity: 'vision', model: 'spiral-classifier' });
      expect(model.versions).toHaveLength(1);
      expect(model.aliases).toMatchObject({ staging: 0 });
      expect(model.versions[0]!.source.aliases).toContain('best');
    } finally {
      await store.close();
    }
  }, 180_000);
});
