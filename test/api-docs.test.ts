import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/processes.js';

// docs/api is the TypeDoc reference the READMEs link to. It is generated (`pnpm run docs`, part of
// `pnpm build`) and committed so the links work on GitHub; this test regenerates it into a temp
// folder and fails when the committed copy differs from what the sources produce now.

const COMMITTED = join(ROOT, 'docs/api');
const README_LINK = /^API reference: \[docs\/api\]\((\.\.\/)*docs\/api\/(@quiver\/[a-z]+\/)?README\.md\)$/m;

function files(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(dir, path), readFileSync(path, 'utf8'));
  }
  return found;
}

describe('the API reference in docs/api', () => {
  const out = mkdtempSync(join(tmpdir(), 'quiver-api-docs-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('is what `pnpm run docs` generates from the sources now (run `pnpm run docs` and commit docs/api if not)', {
    timeout: 180_000,
  }, async () => {
    // What `pnpm run docs` runs: typedoc, then biome's formatter (so `pnpm lint` passes on docs/api).
    const run = (bin: string, args: string[]) =>
      promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', bin), ...args], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        maxBuffer: 16 * 1024 * 1024,
      });
    expect((await run('typedoc/bin/typedoc', ['--out', out])).stdout).toContain('markdown generated at');
    await run('@biomejs/biome/bin/biome', ['format', '--write', out]);
    const generated = files(out);
    const committed = files(COMMITTED);
    expect(generated.size).toBeGreaterThan(100);
    const missing = [...generated.keys()].filter((path) => !committed.has(path));
    const extra = [...committed.keys()].filter((path) => !generated.has(path));
    const changed = [...generated].filter(
      ([path, text]) => committed.has(path) && committed.get(path) !== text,
    );
    expect({ missing, extra, changed: changed.map(([path]) => path) }).toEqual({
      missing: [],
      extra: [],
      changed: [],
    });
  });

  it('has no machine- or commit-specific text (it must regenerate identically anywhere)', () => {
    for (const [path, text] of files(COMMITTED)) {
      expect.soft(text, path).not.toContain(ROOT);
      expect.soft(text, path).not.toMatch(/blob\/[0-9a-f]{7,40}\//);
      expect.soft(text, path).not.toMatch(/Generated (by|using) TypeDoc/i);
    }
  });

  it('is linked from every README with a link that resolves', () => {
    const readmes = [
      'README.md',
      // Every package with an API (an index.ts); the web UI is an app, with none.
      ...readdirSync(join(ROOT, 'packages'))
        .filter((p) => existsSync(join(ROOT, 'packages', p, 'src', 'index.ts')))
        .map((p) => `packages/${p}/README.md`),
    ];
    const committed = files(COMMITTED);
    for (const readme of readmes) {
      const text = readFileSync(join(ROOT, readme), 'utf8');
      const link = README_LINK.exec(text);
      expect(link, `${readme} has "API reference: [docs/api](…)"`).not.toBeNull();
      const target = /\((.+)\)/.exec(link![0])![1]!;
      const resolved = relative(COMMITTED, join(ROOT, readme, '..', target));
      expect(committed.has(resolved), `${readme} → ${target}`).toBe(true);
      const pkg = /^packages\/([a-z]+)\//.exec(readme)?.[1];
      expect(resolved, `${readme} links to its own package's page`).toBe(
        pkg ? `@quiver/${pkg}/README.md` : 'README.md',
      );
    }
  });
});
