import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // @ecf8/core stays an import; the addon is loaded at run time from ../build/ecf8_cuda.node.
  external: ['@ecf8/core'],
});
