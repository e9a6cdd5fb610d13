/**
 * The WebAssembly decoder in @ecf8/fast's worker pool: a {@link WorkerKernelProvider} whose worker-side code
 * instantiates the compiled module (posted to each worker with its first message; one instance per worker) and
 * answers the pool's 'decode' messages for blocks [b0, b1) with transport 'shared' (stream and output in shared
 * memory). The pool, the split by blocks, the combination of the workers' flags and CRCs and so the error
 * precedence (spec §11.2 steps 17-19) are @ecf8/fast's decodeParallel, unchanged; phase C of a range is range.ts,
 * the function the single-thread decoder uses. Messages it does not answer
 * (transport 'copy', encode's 'scan' and 'encode') go to the pool's JavaScript kernel.
 */
import { parseStream, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { chooseTransport, decodeParallel, decodeParallelInto, WorkerPool, workersAvailable, type ParallelOptions, type WorkerKernelProvider } from '@ecf8/fast';
import { decodeWasm, decodeWasmInto, DEFAULT_CHUNK_THREADS } from './decode.js';
import { initWasm, wasmModule } from './instance.js';
import { createRangeDecoder } from './range.js';

/**
 * Worker-side code, evaluated from its source in every worker (so it must stay self-contained: no imports, no
 * helpers from this file; `rangeDecoder` is range.ts's createRangeDecoder, passed in as source too, and
 * `chunkThreads` decode.ts's default chunk). Instantiates
 * `module` on first use (one instance per worker) and answers the pool's 'decode' messages with
 * [gap flag, position flag, CRC-32C of the range's output] per range, as @ecf8/fast's kernel.decodeRange does.
 */
export function wasmWorkerHandler(module: WebAssembly.Module, rangeDecoder: typeof createRangeDecoder, chunkThreads: number): (m: any) => unknown {
  let x: any = null;
  let decodeBlocks: ReturnType<typeof createRangeDecoder> | null = null;
  return (m: any) => {
    if (!x) {
      x = new WebAssembly.Instance(module, {}).exports;
      decodeBlocks = rangeDecoder(x);
    }
    if (m.op === 'wasm-simd') return x.simd(); // which build this worker runs (tests)
    // Transport 'shared' only: with 'copy' the stream is a gathered slice (the JavaScript kernel's read bounds).
    if (m.op !== 'decode' || m.giveBack || typeof SharedArrayBuffer !== 'function' || !(m.stream instanceof SharedArrayBuffer)) return undefined;
    const s = new Uint8Array(m.stream, m.streamByteOffset, m.streamLength);
    const out = new Uint8Array(m.out, m.outByteOffset, m.outLength);
    new Uint8Array(x.memory.buffer).set(m.codeLengths, x.CODE_LENGTHS.value);
    x.buildDecodeTables();
    try {
      return m.ranges.map(([b0, b1]: [number, number]) => decodeBlocks!(s, m.g, out, m.outOffset, b0, b1, m.crc, chunkThreads));
    } catch (e) {
      x = null; // a trap (never raised by a correct module): the next message gets a fresh instance
      throw e;
    }
  };
}

/** The provider for {@link WorkerPool}: this module's handler, started with the compiled module. */
export const wasmWorkerProvider: WorkerKernelProvider = {
  source: `(module) => (${wasmWorkerHandler.toString()})(module, ${createRangeDecoder.toString()}, ${DEFAULT_CHUNK_THREADS})`,
  start: () => wasmModule(),
};

let defaultWasmPool: WorkerPool | null = null;
/** The shared pool of WebAssembly workers (created on first use, one worker per available core). */
export function getWasmPool(): WorkerPool {
  defaultWasmPool ??= new WorkerPool(0, wasmWorkerProvider);
  return defaultWasmPool;
}
/** Terminates the shared WebAssembly pool (a later call creates a new one). */
export async function terminateWasmPool(): Promise<void> {
  const p = defaultWasmPool;
  defaultWasmPool = null;
  await p?.terminate();
}

/**
 * Worker-thread WebAssembly decoder: @ecf8/fast's parallel decode on a pool whose workers run this package's
 * module. Needs SharedArrayBuffer (Node; cross-origin isolated pages): its transport is always 'shared' (with 'copy'
 * the JavaScript kernel would do the work). `options.pool` may name another pool made with {@link wasmWorkerProvider}.
 */
export const cpuWasmWorkersBackend: Ecf8Backend<Uint8Array> & { options: ParallelOptions } = {
  name: 'cpu-wasm-workers',
  options: {},
  isAvailable: async () => {
    const a = workersAvailable();
    if (!a.available) return a;
    try {
      if (typeof SharedArrayBuffer !== 'function') {
        return { available: false, reason: 'SharedArrayBuffer is unavailable (the page is not cross-origin isolated); the WebAssembly workers need shared memory' };
      }
      await (cpuWasmWorkersBackend.options.pool ?? getWasmPool()).ready();
      return { available: true };
    } catch (e) {
      return { available: false, reason: (e as Error)?.message ?? String(e) };
    }
  },
  decode: async (stream: Uint8Array, options?: DecodeOptions) => {
    const o = withPool(options);
    if (!onCallingThread(stream, o)) return decodeParallel(stream, o);
    await initWasm(); // browsers compile the module asynchronously on the main thread
    return decodeWasm(stream, o);
  },
  decodeInto: async (stream: Uint8Array, target: Uint8Array, offset = 0, options?: DecodeOptions) => {
    const o = withPool(options);
    if (!onCallingThread(stream, o)) return decodeParallelInto(stream, target, offset, o);
    await initWasm();
    return decodeWasmInto(stream, target, offset, o);
  },
  dispose: async () => {
    await terminateWasmPool();
  },
};

/**
 * Whether a call is below `minParallelElements` (default 1 Mi elements, as decodeParallel's): it is decoded on the
 * calling thread by this package's decoder, where decodeParallel would use @ecf8/fast's JavaScript one. A stream that
 * fails phase A goes to decodeParallel, which reports its error in decodeParallel's own order of checks.
 */
function onCallingThread(stream: Uint8Array, options: DecodeOptions & ParallelOptions): boolean {
  let n: number;
  try {
    n = parseStream(stream, options).layout.elementCount;
  } catch {
    return false;
  }
  return n < (options.minParallelElements ?? 1 << 20);
}

function withPool(options?: DecodeOptions): DecodeOptions & ParallelOptions {
  const merged: DecodeOptions & ParallelOptions = { ...cpuWasmWorkersBackend.options, ...options, transport: 'shared' };
  merged.pool ??= getWasmPool();
  chooseTransport(merged); // ECF8_BACKEND_UNAVAILABLE without SharedArrayBuffer
  return merged;
}
