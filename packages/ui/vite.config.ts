import { defineConfig } from 'vite';

// The app is served by the Quiver server at `/`, same origin as the API. `pnpm dev` proxies the
// API to a server on QUIVER_UI_PROXY (default http://127.0.0.1:8080).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The first page loads the shell; pages with heavy libraries (charts, graphs) are split off.
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': {
        target: process.env.QUIVER_UI_PROXY ?? 'http://127.0.0.1:8080',
        changeOrigin: true,
        // The server refuses cookie-authenticated writes from another origin: say it is its own.
        configure: (proxy, options) =>
          proxy.on('proxyReq', (request) => request.setHeader('origin', String(options.target))),
      },
    },
  },
});
