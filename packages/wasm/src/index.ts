/**
 * @ecf8/wasm — the ECF8 codec's hot loops in WebAssembly (AssemblyScript, assembly/), bit-exact with @ecf8/core.
 * Importing it registers the `cpu-wasm` backend (priority 15: above cpu-fast, below cpu-workers) and
 * `cpu-wasm-workers` (22, above cpu-workers: the module in @ecf8/fast's worker pool, workers.ts).
 */
import { registerBackend, type Ecf8Backend } from '@ecf8/core';
import { decodeWasm, decodeWasmInto } from './decode.js';
import { initWasm, kernel } from './instance.js';

export { decodeWasm, decodeWasmInto, DEFAULT_CHUNK_THREADS, type WasmDecodeOptions } from './decode.js';
export { encodeWasm, encodeWasmInto, type WasmEncodeOptions } from './encode.js';
export { initWasm, simdSupported, setSimd, wasmBinary, wasmModule } from './instance.js';
export { cpuWasmWorkersBackend, getWasmPool, terminateWasmPool, wasmWorkerHandler, wasmWorkerProvider } from './workers.js';
import { cpuWasmWorkersBackend } from './workers.js';

/** Whether the instance in use runs the SIMD build (instantiates it if needed). */
export function usesSimd(): boolean {
  return kernel().simd;
}

/** Single-thread WebAssembly decoder as a backend; available wherever WebAssembly can instantiate the module. */
export const cpuWasmBackend: Ecf8Backend<Uint8Array> = {
  name: 'cpu-wasm',
  isAvailable: async () => {
    try {
      await initWasm();
      return { available: true };
    } catch (e) {
      return { available: false, reason: (e as Error)?.message ?? String(e) };
    }
  },
  decode: async (stream, options) => {
    await initWasm();
    return decodeWasm(stream, options);
  },
  decodeInto: async (stream, target, offset = 0, options) => {
    await initWasm();
    return decodeWasmInto(stream, target, offset, options);
  },
  dispose: () => {},
};

registerBackend(cpuWasmBackend, 15);
// Above cpu-workers (20): 1.69-1.82x faster than @ecf8/fast's workers on 7-34 MB streams, and small streams go to
// cpu-wasm on the calling thread, 2.2-2.4x faster than cpu-fast (docs/benchmarks.md, quiet 2-core machine).
registerBackend(cpuWasmWorkersBackend, 22);
