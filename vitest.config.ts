import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of every workspace package (no build step needed).
    alias: [
      { find: /^@ecf8\/conformance$/, replacement: `${root}conformance/src/index.ts` },
      { find: /^@ecf8\/conformance\/(.*)$/, replacement: `${root}conformance/src/$1.ts` },
      { find: /^@ecf8\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@ecf8\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
  test: {
    // WebGPU adapters must be created outside worker threads, so every test file runs in a forked process.
    pool: 'forks',
    include: ['packages/*/test/**/*.test.ts', 'conformance/test/**/*.test.ts', 'cuda/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
