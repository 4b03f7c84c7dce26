import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, defaultClientConditions, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';

// What a page ships of Quiver: the browser entries of @quiver/core and @quiver/tfjs (TF.js itself
// left out, as the page has it anyway), bundled and minified for browsers as Vite does for an app.
const ENTRY = resolve(import.meta.dirname, 'bundle-entry.ts');
const LIMIT_GZIP = 60 * 1024;
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

async function bundle(): Promise<{ code: string; modules: string[]; imports: string[] }> {
  const imports = new Set<string>();
  const output = (await build({
    root: import.meta.dirname,
    configFile: false,
    logLevel: 'silent',
    resolve: { conditions: ['source', ...defaultClientConditions] },
    plugins: [
      {
        name: 'record-imports',
        enforce: 'pre',
        resolveId(id, importer) {
          if (importer) imports.add(id);
          return null;
        },
      },
    ],
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      lib: { entry: ENTRY, formats: ['es'], fileName: 'quiver' },
      rollupOptions: { external: [/^@tensorflow\//] },
    },
  })) as Rollup.RollupOutput[];
  const chunks = output.flatMap((result) => result.output).filter((item) => item.type === 'chunk');
  return {
    code: chunks.map((chunk) => chunk.code).join('\n'),
    modules: chunks.flatMap((chunk) => Object.keys(chunk.modules)),
    imports: [...imports],
  };
}

describe('the browser bundle of core and the tfjs callback', () => {
  it('is at most 60 KB gzipped and holds no Node built-in', async () => {
    const { code, modules, imports } = await bundle();
    const gzipped = gzipSync(code, { level: 9 }).length;
    console.log(
      JSON.stringify({
        bundle: 'core+tfjs browser',
        bytes: code.length,
        gzipBytes: gzipped,
        limit: LIMIT_GZIP,
      }),
    );
    expect(gzipped).toBeLessThanOrEqual(LIMIT_GZIP);
    // It is the SDK: the page client and the callback are in it.
    expect(modules.some((id) => id.endsWith('core/src/browser/run.ts'))).toBe(true);
    expect(modules.some((id) => id.endsWith('tfjs/src/checkpoint-callback.ts'))).toBe(true);
    expect(code).toContain('quiver-outbox');
    // No Node built-in asked for, none shimmed, and none of the Node SDK's heavy dependencies.
    expect(imports.filter((id) => NODE_BUILTINS.has(id))).toEqual([]);
    expect(
      modules.filter((id) =>
        /__vite-browser-external|node_modules\/(zod|undici|kysely|pg|better-sqlite3)\//.test(id),
      ),
    ).toEqual([]);
    expect(code).not.toMatch(/\brequire\(|from ?["']node:/);
    // Node's globals: none used (process only behind a typeof check).
    expect(code).not.toMatch(/\bBuffer\b|\bsetImmediate\(|process\.(?!env\b)/);
  }, 120_000);
});
