/**
 * Encoding with the WebAssembly kernel, byte-identical to @ecf8/core's reference encoder (spec §12): a first pass
 * over chunks of the input (histogram and content CRC-32C in the module), the code lengths by package-merge
 * (@ecf8/core's buildCodeLengths, the reference's own function), then a second pass writing each chunk's bitstream,
 * nibbles, gaps and block positions in the module and copying them into the stream.
 */
import {
  buildCodeLengths,
  DEFAULT_THREADS_PER_BLOCK,
  ErrorCode,
  fail,
  isValidThreadsPerBlock,
  layoutOf,
  type EncodeOptions,
  type Layout,
} from '@ecf8/core';
// The header fields and the metadata CRC (spec §4.1, §10): the same step as @ecf8/fast's encoder.
import { finishStream } from '@ecf8/fast';
import { withKernel, type WasmKernel } from './instance.js';

/** Encode options of this package: `chunkElements` (a multiple of 8, at most 2^19) exists for tests. */
export interface WasmEncodeOptions extends EncodeOptions {
  chunkElements?: number;
}

function checkInput(fp8: Uint8Array, options: WasmEncodeOptions): number {
  if (!(fp8 instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'input must be a Uint8Array of FP8 bytes');
  const T = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
  if (!isValidThreadsPerBlock(T)) fail(ErrorCode.INVALID_ARGUMENT, `threadsPerBlock ${T} is not a power of two in 1..1024`);
  return T;
}

interface Plan {
  layout: Layout;
  codeLengths: Uint8Array;
  cuts: number[];
  contentCrc: number;
}

/**
 * Chunks scanned between two reads of the module's histogram: at most 2^30 elements (2048 x ENC_CHUNK = 2^19), so
 * that no u32 count in it overflows. (Counted in chunks, so that the tests' small chunks read it several times.)
 */
const HISTOGRAM_CHUNKS = 2048;

function planOf(k: WasmKernel, fp8: Uint8Array, T: number, chunk: number): Plan {
  const n = fp8.length;
  const cuts = [0];
  for (let i = chunk; i < n; i += chunk) cuts.push(i);
  cuts.push(n);
  const x = k.exports;
  x.setCrcState(-1);
  const total = new Float64Array(16);
  const addHistogram = () => {
    x.scanHistogram();
    for (let s = 0; s < 16; s++) total[s] += k.u32[(k.HIST >>> 2) + s];
    x.scanStart();
  };
  x.scanStart();
  for (let r = 0; r + 1 < cuts.length; r++) {
    const len = cuts[r + 1] - cuts[r];
    if (len === 0) continue;
    if (r > 0 && r % HISTOGRAM_CHUNKS === 0) addHistogram();
    k.mem.set(fp8.subarray(cuts[r], cuts[r + 1]), k.ENC_IN);
    x.scanChunk(len);
  }
  addHistogram();
  const codeLengths = buildCodeLengths(total);
  let bits = 0;
  for (let s = 0; s < 16; s++) bits += total[s] * codeLengths[s];
  return { layout: layoutOf(n, bits, T), codeLengths, cuts, contentCrc: ~x.getCrcState() >>> 0 };
}

/** The second pass: every section of the stream `out` (zero-filled, the stream's exact size). */
function writeSections(k: WasmKernel, fp8: Uint8Array, plan: Plan, out: Uint8Array): void {
  const { layout, cuts } = plan;
  const { threadsPerBlock: T, exponentBitCount: bits } = layout;
  const x = k.exports;
  const mem = k.mem;
  mem.set(plan.codeLengths, k.CODE_LENGTHS);
  x.buildEncodeTables();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const putU64 = (at: number, v: number) => {
    dv.setUint32(at, v % 2 ** 32, true);
    dv.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
  };
  const chunks = cuts.length - 1;
  let p1 = 0; // where the codes written so far end (each chunk's codes follow the previous chunk's)
  for (let r = 0; r < chunks; r++) {
    const i0 = cuts[r];
    const len = cuts[r + 1] - i0;
    if (len === 0) continue;
    if (chunks > 1) mem.set(fp8.subarray(i0, i0 + len), k.ENC_IN); // a single chunk is still there from the scan
    const p0 = p1;
    const pBase = Math.floor(p0 / 64) * 64;
    const thread0 = pBase / 64;
    const partial = x.encodeChunk(len, p0 - pBase, Math.min(bits - pBase, 2 ** 31 - 1), T, thread0 % T, thread0 % 2);
    const result = k.RESULT >>> 2;
    p1 = pBase + k.i32[result];
    // Bitstream bytes: the first is shared with the chunk before, the final partial one with the chunk after.
    const exAt = layout.exponentsOffset + pBase / 8;
    const first = (p0 - pBase) >>> 3;
    const end = (p1 - pBase) >>> 3;
    if (end > first) {
      out[exAt + first] |= mem[k.ENC_EX + first];
      out.set(mem.subarray(k.ENC_EX + first + 1, k.ENC_EX + end), exAt + first + 1);
    }
    if (partial >= 0) out[exAt + end] |= partial;
    // Nibbles (i0 is even).
    out.set(mem.subarray(k.ENC_NIB, k.ENC_NIB + Math.ceil(len / 2)), layout.nibblesOffset + i0 / 2);
    // Gaps of the windows that start in the chunk: the first byte may hold the previous window's gap.
    const gAt = layout.gapsOffset + Math.floor(thread0 / 2);
    const gBytes = Math.min(k.i32[result + 2], layout.gapsOffset + layout.gapsSize - gAt);
    out[gAt] |= mem[k.ENC_GAPS];
    out.set(mem.subarray(k.ENC_GAPS + 1, k.ENC_GAPS + gBytes), gAt + 1);
    // Output positions of the blocks that start in the chunk (windows thread0 + 1 ...).
    const posCount = k.i32[result + 1];
    const firstBlock = Math.floor(thread0 / T) + 1;
    for (let j = 0; j < posCount; j++) putU64(layout.positionsOffset + 8 * (firstBlock + j), i0 + k.i32[(k.ENC_POS >>> 2) + j]);
  }
  if (p1 !== bits) throw new Error(`cpu-wasm encoder: the codes ended at bit ${p1}, the histogram says ${bits}`);
  putU64(layout.positionsOffset + 8 * layout.nBlocks, layout.elementCount);
}

function chunkOf(k: WasmKernel, options: WasmEncodeOptions): number {
  const c = options.chunkElements ?? k.ENC_CHUNK;
  if (!Number.isInteger(c) || c < 8 || c % 8 !== 0 || c > k.ENC_CHUNK) fail(ErrorCode.INVALID_ARGUMENT, `chunkElements ${c} is not a multiple of 8 in 8..${k.ENC_CHUNK}`);
  return c;
}

/** Encodes FP8 bytes; the stream is byte-identical to @ecf8/core's `encode` for the same input and T. */
export function encodeWasm(fp8: Uint8Array, options: WasmEncodeOptions = {}): Uint8Array {
  const T = checkInput(fp8, options);
  return withKernel((k) => {
    const plan = planOf(k, fp8, T, chunkOf(k, options));
    const out = new Uint8Array(plan.layout.streamSize);
    if (plan.layout.elementCount > 0) writeSections(k, fp8, plan, out);
    finishStream(out, plan.layout, plan.codeLengths, plan.contentCrc);
    return out;
  });
}

/**
 * Encodes into out[offset, offset + size) and returns the stream's size (the bytes of {@link encodeWasm}); throws
 * ECF8_OUTPUT_TOO_SMALL, writing nothing, when the stream does not fit.
 */
export function encodeWasmInto(fp8: Uint8Array, out: Uint8Array, offset = 0, options: WasmEncodeOptions = {}): number {
  const T = checkInput(fp8, options);
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
  return withKernel((k) => {
    const plan = planOf(k, fp8, T, chunkOf(k, options));
    const size = plan.layout.streamSize;
    if (offset > out.length || out.length - offset < size) {
      fail(ErrorCode.OUTPUT_TOO_SMALL, `the stream needs ${size} bytes; the output holds ${Math.max(0, out.length - offset)} at offset ${offset}`);
    }
    const region = out.subarray(offset, offset + size);
    region.fill(0); // chunks OR their shared bytes into zeroed memory; every padding byte is zero (spec §3)
    if (plan.layout.elementCount > 0) writeSections(k, fp8, plan, region);
    finishStream(region, plan.layout, plan.codeLengths, plan.contentCrc);
    return size;
  });
}
