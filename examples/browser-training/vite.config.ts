import { defaultClientConditions, defineConfig } from 'vite';

// `source` resolves the workspace's @quiver packages to their TypeScript (a published install
// resolves their built `dist`); `browser` picks their page entries, free of Node built-ins.
export default defineConfig({
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 5173 },
});
