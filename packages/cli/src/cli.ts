#!/usr/bin/env node
/** `ecf8` executable entry point. */
import { installSignalCleanup } from '@ecf8/safetensors';
import { main } from './commands.js';

// SIGINT, SIGTERM, SIGHUP, SIGQUIT: every temporary output is removed, then the process ends by the same signal
// (even while a file-system call is blocked), for every command.
installSignalCleanup((signal) => process.stderr.write(`\necf8: interrupted (${signal}); partial output removed\n`));

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
