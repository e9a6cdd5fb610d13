import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // WebGPU adapters must be created outside worker threads, so every test file runs in a forked process.
    pool: 'forks',
    include: ['packages/*/test/**/*.test.ts', 'conformance/test/**/*.test.ts', 'cuda/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
