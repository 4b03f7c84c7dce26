import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      // Deeper entries first: an alias also matches the paths under it.
      '@quiver/core/browser': source('./packages/core/src/browser/index.ts'),
      '@quiver/tfjs/browser': source('./packages/tfjs/src/browser.ts'),
      '@quiver/core': source('./packages/core/src/index.ts'),
      '@quiver/cli': source('./packages/cli/src/index.ts'),
      '@quiver/server': source('./packages/server/src/index.ts'),
      '@quiver/tfjs': source('./packages/tfjs/src/index.ts'),
      '@quiver/onnx': source('./packages/onnx/src/index.ts'),
      '@quiver/transformers/testing': source('./packages/transformers/src/testing/index.ts'),
      '@quiver/transformers': source('./packages/transformers/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Memory bounds are checked after a forced collection (global.gc).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    // Two test files at a time on CI's 2 cores (vitest's default there is one): most suites spend
    // their time waiting on child processes, servers and disks. Measured on this machine: 1252 s
    // of tests in one worker, 852 s in two.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
