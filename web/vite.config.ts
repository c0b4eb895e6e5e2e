import { defineConfig } from 'vitest/config';

// base './': every URL in the built index.html is relative, so the output folder works
// from any sub-path of any static server (photoatlas serve, python -m http.server, ...).
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
