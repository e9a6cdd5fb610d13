/**
 * The page for the WebGPU browser test and the browser bench: the built packages (with an import map for
 * @ecf8/core), the shared test vectors, and a page that exposes the package on `window`. The server and the
 * Chromium launch settings are shared (scripts/browser-harness.ts).
 */
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, ensureBuilt as ensurePackagesBuilt, packageMounts, packagesPage, startStaticServer } from '../../../scripts/browser-harness.js';

export { CHROMIUM, CHROMIUM_ARGS } from '../../../scripts/browser-harness.js';

export const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const PAGE = packagesPage('ecf8 webgpu test page', ['core', 'webgpu']);

/** Builds the packages the page imports when their dist/ is missing or older than src/. */
export function ensureBuilt(): void {
  ensurePackagesBuilt('core', 'webgpu');
}

export function startServer(): Promise<{ server: Server; url: string }> {
  return startStaticServer({
    mounts: {
      ...packageMounts(['core', 'webgpu']),
      '/vectors/': join(ROOT, 'test-vectors'),
      '/bench/': join(PKG_DIR, 'bench'),
    },
    pages: { '/': { html: PAGE }, '/index.html': { html: PAGE } },
  });
}
