/**
 * The page for the WebGPU browser test and the browser bench: the built packages (with an import map for
 * @ecf8/core), the shared test vectors, and a page that exposes the package on `window`. The server and the
 * Chromium launch settings are shared (scripts/browser-harness.ts).
 */
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, ensureBuilt as ensurePackagesBuilt, startStaticServer } from '../../../scripts/browser-harness.js';

export { CHROMIUM, CHROMIUM_ARGS } from '../../../scripts/browser-harness.js';

export const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ecf8 webgpu</title>
<script type="importmap">{ "imports": { "@ecf8/core": "/core/index.js", "@ecf8/webgpu": "/webgpu/index.js" } }</script>
<script type="module">
  import * as core from '@ecf8/core';
  import * as webgpu from '@ecf8/webgpu';
  window.ecf8 = { core, webgpu };
  window.ecf8Ready = true;
</script></head><body>ecf8 webgpu test page</body></html>`;

/** Builds the packages the page imports when their dist/ is missing or older than src/. */
export function ensureBuilt(): void {
  ensurePackagesBuilt('core', 'webgpu');
}

export function startServer(): Promise<{ server: Server; url: string }> {
  return startStaticServer({
    mounts: {
      '/webgpu/': join(PKG_DIR, 'dist'),
      '/core/': join(ROOT, 'packages', 'core', 'dist'),
      '/vectors/': join(ROOT, 'test-vectors'),
      '/bench/': join(PKG_DIR, 'bench'),
    },
    pages: { '/': { html: PAGE }, '/index.html': { html: PAGE } },
  });
}
