import { describe, expect, it } from 'vitest';
import { describeBackendSuite } from '../../../conformance/src/backend-suite.js';
import { cpuWasmBackend, setSimd, usesSimd } from '../src/index.js';

// The build for engines without WebAssembly SIMD, forced here (each test file runs in its own process).
setSimd(false);

describe('cpu-wasm baseline build', () => {
  it('runs the build without SIMD', () => {
    expect(usesSimd()).toBe(false);
  });
});

describeBackendSuite({ ...cpuWasmBackend, name: 'cpu-wasm (baseline, no SIMD)' });
