#!/usr/bin/env node
// The `ecf8-conformance` command: runs the built runner (dist/), or says in one line how to build it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('ecf8-conformance: @ecf8/conformance is not built (no dist/index.js); run `npm run build` in the ecf8 repository first\n');
  process.exit(1);
}
const { conformanceMain } = await import(entry.href);
try {
  process.exitCode = await conformanceMain(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`ecf8-conformance: ${e?.message ?? e}\n`);
  process.exitCode = 2;
}
