#!/usr/bin/env node
// The `ecf8` command. A committed file (not the build output) so that npm links the bin at install time, before
// anything is built; it runs the built CLI, or says in one line how to build it.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('ecf8: ECF8_IO_ERROR: @ecf8/cli is not built (no dist/cli.js); run `npm run build` in the ecf8 repository first\n');
  process.exit(1);
}
await import(cli.href);
