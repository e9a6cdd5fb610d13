/**
 * The decode kernel this package had before the CUDA-design rewrite (two passes, no staging, workgroup-memory scan),
 * kept reachable for the regression-guard benchmark only: its sources are taken from git at LEGACY_COMMIT and
 * bundled into bench/.cache/legacy/index.js (@ecf8/core and webgpu stay imports). Needs git and the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The last commit with the previous kernel (src/decode.wgsl, backend.ts, plan.ts, gpu.ts, mirror.ts). */
export const LEGACY_COMMIT = 'a6411e0bec98c03b41ec50b23dab28504f462e1c';

const BENCH = dirname(fileURLToPath(import.meta.url));
export const LEGACY_DIR = join(BENCH, '.cache', 'legacy');
export const LEGACY_BUNDLE = join(LEGACY_DIR, 'index.js');

/** Builds the legacy bundle once (it depends only on LEGACY_COMMIT); returns its path. */
export async function buildLegacy() {
  const stamp = join(LEGACY_DIR, 'commit');
  if (existsSync(LEGACY_BUNDLE) && existsSync(stamp) && readFileSync(stamp, 'utf8') === LEGACY_COMMIT) return LEGACY_BUNDLE;
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: BENCH, encoding: 'utf8' }).trim();
  const src = join(LEGACY_DIR, 'src');
  mkdirSync(src, { recursive: true });
  for (const f of ['index.ts', 'backend.ts', 'plan.ts', 'gpu.ts', 'mirror.ts', 'decode.wgsl']) {
    writeFileSync(join(src, f), execFileSync('git', ['show', `${LEGACY_COMMIT}:packages/webgpu/src/${f}`], { cwd: root, maxBuffer: 1 << 24 }));
  }
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(src, 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile: LEGACY_BUNDLE,
    external: ['@ecf8/core', 'webgpu'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'wgsl-raw',
        setup(b) {
          b.onResolve({ filter: /\.wgsl\?raw$/ }, (a) => ({ path: resolve(a.resolveDir, a.path.replace(/\?raw$/, '')), namespace: 'wgsl-raw' }));
          b.onLoad({ filter: /.*/, namespace: 'wgsl-raw' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'text' }));
        },
      },
    ],
  });
  writeFileSync(stamp, LEGACY_COMMIT);
  return LEGACY_BUNDLE;
}
