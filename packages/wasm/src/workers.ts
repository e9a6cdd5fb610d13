/**
 * The WebAssembly decoder in @ecf8/fast's worker pool: a {@link WorkerKernelProvider} whose worker-side code
 * instantiates the compiled module (posted to each worker with its first message; one instance per worker) and
 * answers the pool's 'decode' messages for blocks [b0, b1) with transport 'shared' (stream and output in shared
 * memory). The pool, the split by blocks, the combination of the workers' flags and CRCs and so the error
 * precedence (spec §11.2 steps 17-19) are @ecf8/fast's decodeParallel, unchanged. Messages it does not answer
 * (transport 'copy', encode's 'scan' and 'encode') go to the pool's JavaScript kernel.
 */
import type { DecodeOptions, Ecf8Backend } from '@ecf8/core';
import { chooseTransport, decodeParallel, decodeParallelInto, WorkerPool, workersAvailable, type ParallelOptions, type WorkerKernelProvider } from '@ecf8/fast';
import { wasmModule } from './instance.js';

/**
 * Worker-side code, evaluated from its source in every worker (so it must stay self-contained: no imports, no
 * helpers from this file). Phase C of blocks [b0, b1) as in decode.ts, one chunk of whole blocks at a time through
 * the instance's memory; answers [gap flag, position flag, CRC-32C of the range's output] per range, as
 * @ecf8/fast's kernel.decodeRange does.
 */
export function wasmWorkerHandler(module: WebAssembly.Module): (m: any) => unknown {
  let k: any = null;
  const open = () => {
    const x = (new WebAssembly.Instance(module, {}).exports as any);
    const buffer = x.memory.buffer;
    const at = (name: string) => x[name].value as number;
    return {
      x,
      mem: new Uint8Array(buffer),
      i32: new Int32Array(buffer),
      CHUNK_THREADS: at('CHUNK_THREADS'),
      CODE_LENGTHS: at('CODE_LENGTHS'),
      POS_IN: at('POS_IN'),
      GAPS_IN: at('GAPS_IN'),
      EX_IN: at('EX_IN'),
      NIB_IN: at('NIB_IN'),
      OUT: at('OUT'),
    };
  };
  const u64At = (s: Uint8Array, p: number) =>
    ((s[p] | (s[p + 1] << 8) | (s[p + 2] << 16) | (s[p + 3] << 24)) >>> 0) + ((s[p + 4] | (s[p + 5] << 8) | (s[p + 6] << 16) | (s[p + 7] << 24)) >>> 0) * 2 ** 32;
  // Sections are contiguous (spec §4): each one's size is the distance to the next offset.
  const decodeBlocks = (s: Uint8Array, g: any, out: Uint8Array, outOffset: number, from: number, to: number, verify: boolean): number[] => {
    const { T, nBlocks, bits } = g;
    const gapsSize = g.exponentsOffset - g.gapsOffset;
    const exponentsSize = g.nibblesOffset - g.exponentsOffset;
    const { x, mem, i32 } = k;
    x.setCrcState(-1);
    const blocksPerChunk = Math.max(1, Math.floor(k.CHUNK_THREADS / T));
    const posIn = k.POS_IN >>> 2;
    let positionError = 0;
    let posStart = u64At(s, g.positionsOffset + 8 * from);
    for (let b0 = from; b0 < to; ) {
      const b1 = Math.min(b0 + blocksPerChunk, to);
      for (let b = b0; b <= b1; b++) i32[posIn + b - b0] = u64At(s, g.positionsOffset + 8 * b) - posStart;
      const posEnd = posStart + i32[posIn + b1 - b0];
      const thread0 = b0 * T;
      const gEnd = Math.min(Math.floor((b1 * T) / 2) + 1, gapsSize);
      mem.set(s.subarray(g.gapsOffset + Math.floor(thread0 / 2), g.gapsOffset + gEnd), k.GAPS_IN);
      const e0 = b0 * 8 * T;
      const eEnd = Math.min(b1 * 8 * T + 16, exponentsSize);
      mem.set(s.subarray(g.exponentsOffset + e0, g.exponentsOffset + eEnd), k.EX_IN);
      mem.fill(0, k.EX_IN + eEnd - e0, k.EX_IN + eEnd - e0 + 32);
      const n0 = Math.floor(posStart / 2);
      const nEnd = Math.ceil(posEnd / 2);
      mem.set(s.subarray(g.nibblesOffset + n0, g.nibblesOffset + nEnd), k.NIB_IN);
      mem.fill(0, k.NIB_IN + nEnd - n0, k.NIB_IN + nEnd - n0 + 16);
      const nOut = posEnd - posStart;
      const live = Math.min(bits - e0 * 8, 2 ** 30);
      const flags = x.decodeChunk(b1 - b0, T, live, thread0 % 2, b0 === 0 ? 1 : 0, b1 === nBlocks ? 1 : 0, nOut, posStart % 2, verify && !positionError ? 1 : 0, eEnd - e0);
      if (flags & 1) return [1, positionError, 0]; // gap chain broken (step 17): the range stops here
      if (flags & 2) positionError = 1;
      out.set(mem.subarray(k.OUT, k.OUT + nOut), outOffset + posStart);
      posStart = posEnd;
      b0 = b1;
    }
    return [0, positionError, ~x.getCrcState() >>> 0];
  };
  return (m: any) => {
    if (m.op === 'wasm-simd') return (k ??= open()).x.simd(); // which build this worker runs (tests)
    // Transport 'shared' only: with 'copy' the stream is a gathered slice (JavaScript kernel's read bounds).
    if (m.op !== 'decode' || m.giveBack || typeof SharedArrayBuffer !== 'function' || !(m.stream instanceof SharedArrayBuffer)) return undefined;
    k ??= open();
    const s = new Uint8Array(m.stream, m.streamByteOffset, m.streamLength);
    const out = new Uint8Array(m.out, m.outByteOffset, m.outLength);
    k.mem.set(m.codeLengths, k.CODE_LENGTHS);
    k.x.buildDecodeTables();
    try {
      return m.ranges.map(([b0, b1]: [number, number]) => decodeBlocks(s, m.g, out, m.outOffset, b0, b1, m.crc));
    } catch (e) {
      k = null; // a trap (never raised by a correct module): the next message gets a fresh instance
      throw e;
    }
  };
}

/** The provider for {@link WorkerPool}: this module's handler, started with the compiled module. */
export const wasmWorkerProvider: WorkerKernelProvider = {
  source: wasmWorkerHandler.toString(),
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
  decode: (stream: Uint8Array, options?: DecodeOptions) => decodeParallel(stream, withPool(options)),
  decodeInto: (stream: Uint8Array, target: Uint8Array, offset = 0, options?: DecodeOptions) => decodeParallelInto(stream, target, offset, withPool(options)),
  dispose: async () => {
    await terminateWasmPool();
  },
};

function withPool(options?: DecodeOptions): DecodeOptions & ParallelOptions {
  const merged: DecodeOptions & ParallelOptions = { ...cpuWasmWorkersBackend.options, ...options, transport: 'shared' };
  merged.pool ??= getWasmPool();
  chooseTransport(merged); // ECF8_BACKEND_UNAVAILABLE without SharedArrayBuffer
  return merged;
}
