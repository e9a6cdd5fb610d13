#!/usr/bin/env node
// Runs the TypeScript sources through tsx (a dependency of this package), so no build step is needed.
import { register } from 'tsx/esm/api';
register();
const { conformanceMain } = await import('../src/cli.ts');
process.exitCode = await conformanceMain(process.argv.slice(2));
