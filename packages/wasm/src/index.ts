/**
 * @ecf8/wasm — the ECF8 codec's hot loops in WebAssembly (AssemblyScript, assembly/), bit-exact with @ecf8/core.
 * Importing it registers the `cpu-wasm` backend (priority 15: above cpu-fast, below cpu-workers) and
 * `cpu-wasm-workers` (18: the module in @ecf8/fast's worker pool, workers.ts).
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
// Below cpu-workers (20) so that the automatic choice does not change until its speed-up is measured on more machines.
registerBackend(cpuWasmWorkersBackend, 18);
