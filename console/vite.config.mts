import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console's build (docs/console.md): Preact + uPlot bundled by Vite into dist/console, which the service
 * itself serves at /console (src/console/console-assets.ts). Nothing is loaded from another origin at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // Preact's automatic JSX runtime; no React, no compat layer.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // The preload polyfill is an inline script, which the console's CSP (script-src 'self') refuses.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
