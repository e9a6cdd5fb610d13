/**
 * @ecf8/fast bundles for browsers as is: its Node-only modules (worker_threads, os) are loaded at run time by a
 * variable specifier, so `esbuild --platform=browser` has nothing Node-only to resolve. (The packaging test,
 * scripts/packaging-test.ts, also runs such a bundle from the packed tarballs in headless Chromium.)
 */
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

describe('browser bundle', () => {
  it('esbuild --platform=browser bundles the package without resolving any Node built-in', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      external: ['@ecf8/core'],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/(?:from|import)\s*["']node:/);
    expect(code).toMatch(/importNodeOnly\("node:worker_threads"\)/);
  });
});
