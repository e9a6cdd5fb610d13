import { afterAll, describe, expect, it, vi } from 'vitest';
import { resolveBackend } from '@ecf8/core';
import '@ecf8/fast';
import { cpuWasmBackend, decodeWasm, setSimd } from '../src/index.js';
import { loadVectors } from '../../../conformance/src/vectors.js';

// An engine without WebAssembly (this file runs in its own process; the stub is removed afterwards).
describe('cpu-wasm where WebAssembly is missing', () => {
  vi.stubGlobal('WebAssembly', undefined);
  setSimd(null);
  afterAll(() => {
    vi.unstubAllGlobals();
    setSimd(null);
  });

  it('reports itself unavailable with the reason, and resolution falls back to cpu-fast', async () => {
    expect(await cpuWasmBackend.isAvailable()).toEqual({ available: false, reason: expect.stringMatching(/WebAssembly is not available/) });
    expect((await resolveBackend(['cpu-wasm', 'cpu-fast'])).name).toBe('cpu-fast');
  });

  it('its functions throw ECF8_BACKEND_UNAVAILABLE', () => {
    const v = loadVectors().valid.find((v) => v.elements > 0)!;
    expect(() => decodeWasm(v.stream)).toThrow(expect.objectContaining({ code: 'ECF8_BACKEND_UNAVAILABLE' }));
  });
});
