import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // @ecf8/core stays an import (resolved by the consumer: node_modules in Node, an import map or bundler in browsers).
  external: ['@ecf8/core', 'webgpu'],
  esbuildPlugins: [
    {
      // `import src from './decode.wgsl?raw'` (the vite convention, so vitest runs the sources directly): inline
      // the shader as a string.
      name: 'wgsl-raw',
      setup(build) {
        build.onResolve({ filter: /\.wgsl\?raw$/ }, (args) => ({
          path: new URL(args.path.replace(/\?raw$/, ''), `file://${args.resolveDir}/`).pathname,
          namespace: 'wgsl-raw',
        }));
        build.onLoad({ filter: /.*/, namespace: 'wgsl-raw' }, async (args) => ({
          contents: await readFile(args.path, 'utf8'),
          loader: 'text',
        }));
      },
    },
  ],
});
