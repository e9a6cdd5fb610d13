#!/usr/bin/env node
/** `ecf8` executable entry point. */
import { main } from './commands.js';

main(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`ecf8: ECF8_IO_ERROR: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
