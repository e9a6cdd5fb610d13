#!/usr/bin/env node
/**
 * Copies into a package, just before `npm pack` / `npm publish` (its prepack script), the files from elsewhere in
 * the monorepo that it needs at run time, and removes them again afterwards (postpack), so the copies are never
 * committed and never go stale:
 *   conformance -> conformance/test-vectors/   the shared vectors (manifest, valid/, invalid/, header-only/)
 *   cuda        -> packages/cuda/cuda-src/      the CUDA/C++ sources and CMake files of cuda/ (built on install)
 *
 *   node scripts/pack-assets.mjs copy|clean conformance|cuda
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = {
  conformance: { from: 'test-vectors', to: 'conformance/test-vectors', items: ['README.md', 'manifest.json', 'valid', 'invalid', 'header-only'] },
  cuda: { from: 'cuda', to: 'packages/cuda/cuda-src', items: ['CMakeLists.txt', 'include', 'src'] },
};

const [action, name] = process.argv.slice(2);
const a = assets[name];
if (!a || (action !== 'copy' && action !== 'clean')) {
  console.error(`usage: pack-assets.mjs copy|clean ${Object.keys(assets).join('|')}`);
  process.exit(2);
}
const target = join(root, a.to);
rmSync(target, { recursive: true, force: true });
if (action === 'copy') {
  for (const item of a.items) {
    const src = join(root, a.from, item);
    if (!existsSync(src)) {
      console.error(`pack-assets: ${src} is missing`);
      process.exit(1);
    }
    cpSync(src, join(target, item), { recursive: true });
  }
}
