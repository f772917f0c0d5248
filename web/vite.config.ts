/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The node serves web/dist as static files (--http.static_dir web/dist) under a Content-Security-Policy without
// 'unsafe-inline' (web/README.md): everything must end up in files of its own, never inline in index.html.
const node = process.env.DCCS_NODE ?? 'http://127.0.0.1:8090';

export default defineConfig({
  // Relative asset URLs: the app works wherever the node (or a proxy in front of it) mounts the folder.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Every browser the dashboard supports has <link rel=modulepreload>; the polyfill would only add code.
    modulePreload: { polyfill: false },
    // The offline world map is a lazily loaded chunk of about 0.75 MB (web/README.md, "Map").
    chunkSizeWarningLimit: 900,
  },
  server: {
    // `npm run dev`: the API and the operator socket come from a running node (DCCS_NODE).
    proxy: {
      '/api': { target: node, changeOrigin: true },
      '/ws': {
        target: node,
        ws: true,
        changeOrigin: true,
        // The node accepts a browser upgrade only from its own origin (docs/security.md, "Origin").
        headers: { origin: node },
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
