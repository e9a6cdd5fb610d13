// The shared backend suite (conformance/src/backend-suite.ts) run against every backend @ecf8/core registers.
import { listBackends } from '../src/index.js';
import { describeBackendSuite } from '../../../conformance/src/backend-suite.js';

for (const { backend } of listBackends()) describeBackendSuite(backend);
