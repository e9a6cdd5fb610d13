/**
 * The buffers of the paper authors' official layout (spec/ecf8-safetensors-v1.md §8) and their decoders. Per compressed module (a
 * transformer block, or one linear layer) it stores:
 *   luts               U8 [n_luts, 256]  root table, 8-bit-prefix subtables (pointer 256 - row), code-length row last
 *   encoded            U8 [n_bytes]      exponent codes, MSB-first, windows of 8 bytes per thread
 *   packed_other_4bits U8 [n / 2]        sign+mantissa nibbles, element 2j in the high nibble (n is even)
 *   output_positions   U8 [8 * k]        u64 little-endian: elements before each thread block, then n
 *   gaps               U8                4-bit bit offset of each thread's first code, even thread in the high nibble
 *   split_positions    I64 [parts - 1]   element offsets where the concatenated layers of the block are split
 * with threads_per_block (512) and bytes_per_thread (8) in a config. Their Huffman codes need not be canonical and
 * carry an end-of-data symbol whose bits may fill the last byte. {@link decodeOfficial} decodes the buffers
 * sequentially with their own tables (checking gaps and positions); {@link officialBuffersFromStream} slices one of our
 * streams (whose tables are already in this format) and {@link emulateOfficialKernel} checks buffers the way the
 * authors' thread-parallel decoder reads them.
 */
import {
  buildDecodeTables,
  DEFAULT_THREADS_PER_BLOCK,
  ErrorCode,
  parseStream,
} from '@ecf8/core';
import { ModelErrorCode, modelFail } from './errors.js';

export const OFFICIAL_BUFFER_NAMES = ['luts', 'encoded', 'packed_other_4bits', 'output_positions', 'gaps', 'split_positions'] as const;
export const OFFICIAL_BYTES_PER_THREAD = 8;

export interface OfficialBuffers {
  luts: Uint8Array;
  encoded: Uint8Array;
  packedOther4bits: Uint8Array;
  /** u64 little-endian values as bytes. */
  outputPositions: Uint8Array;
  gaps: Uint8Array;
  /** Element offsets where the block's concatenated tensors are split (parts - 1 values). */
  splitPositions: number[];
}

export function bad(message: string): never {
  return modelFail(ModelErrorCode.BAD_OFFICIAL_LAYOUT, message);
}

export function readU64s(bytes: Uint8Array, what: string): number[] {
  if (bytes.length % 8 !== 0) bad(`${what} is ${bytes.length} bytes, not a whole number of u64 values`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const v = dv.getBigUint64(i, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what}[${i / 8}] = ${v} is out of range`);
    out.push(Number(v));
  }
  return out;
}

const gapOf = (gaps: Uint8Array, t: number) => (t & 1 ? gaps[t >> 1] & 0x0f : gaps[t >> 1] >> 4);

/**
 * Decodes one module's buffers to its FP8 bytes, sequentially, with the buffers' own tables; checks that the gaps
 * and output positions agree with the bitstream (so the authors' parallel decoder would produce the same bytes).
 */
export function decodeOfficial(b: OfficialBuffers, threadsPerBlock = DEFAULT_THREADS_PER_BLOCK, bytesPerThread = OFFICIAL_BYTES_PER_THREAD): Uint8Array {
  const T = threadsPerBlock;
  const B = bytesPerThread;
  if (!Number.isInteger(T) || T < 1 || T > 1024) bad(`threads_per_block ${T} is not in 1..1024`);
  if (B !== OFFICIAL_BYTES_PER_THREAD) bad(`bytes_per_thread ${B} is not supported (the layout uses ${OFFICIAL_BYTES_PER_THREAD})`);
  const { luts, encoded, packedOther4bits: packed, gaps } = b;
  if (luts.length === 0 || luts.length % 256 !== 0) bad(`luts is ${luts.length} bytes, not a non-empty multiple of 256`);
  const nLuts = luts.length / 256;
  if (nLuts < 2) bad('luts needs at least a root table and the code-length row');
  const lenRow = 256 * (nLuts - 1);
  const n = packed.length * 2;
  const nBytes = encoded.length;
  const windowBits = 8 * B;
  const nBlocks = Math.ceil(nBytes / (B * T));
  const nThreads = nBlocks * T;
  if (gaps.length < Math.ceil(nThreads / 2)) bad(`gaps holds ${gaps.length} bytes; ${nThreads} threads need ${Math.ceil(nThreads / 2)}`);
  const pos = readU64s(b.outputPositions, 'output_positions');
  if (pos.length !== nBlocks + 1 && !(pos.length === nBlocks && nBlocks > 0)) bad(`output_positions has ${pos.length} values; ${nBlocks} blocks need ${nBlocks + 1}`);
  if (pos[pos.length - 1] !== n) bad(`last output position is ${pos[pos.length - 1]}, not the element count ${n}`);
  const totalBits = 8 * nBytes;
  const out = new Uint8Array(n);
  let p = 0;
  let nextThread = 0;
  let lastStart = -1;
  for (let i = 0; i < n; i++) {
    while (nextThread < nThreads && nextThread * windowBits <= p) {
      const w = nextThread * windowBits;
      if (gapOf(gaps, nextThread) !== p - w) bad(`thread ${nextThread}: gap ${gapOf(gaps, nextThread)} but its first code starts ${p - w} bits into its window`);
      if (nextThread % T === 0) {
        const blk = nextThread / T;
        if (blk < pos.length && pos[blk] !== i) bad(`output_positions[${blk}] = ${pos[blk]} but ${i} elements precede block ${blk}`);
      }
      nextThread++;
    }
    if (p >= totalBits) bad(`encoded ends after ${i} of ${n} codes`);
    const k = p >>> 3;
    const w16 = ((((encoded[k] ?? 0) << 16) | ((encoded[k + 1] ?? 0) << 8) | (encoded[k + 2] ?? 0)) >>> (8 - (p & 7))) & 0xffff;
    let x = luts[w16 >>> 8];
    if (x >= 240) {
      const row = 256 - x;
      if (row < 1 || row > nLuts - 2) bad(`luts root entry ${w16 >>> 8} points to row ${row}, outside 1..${nLuts - 2}`);
      x = luts[256 * row + (w16 & 0xff)];
      if (x >= 240) bad('luts chains more than two levels (codes longer than 16 bits are not supported)');
    }
    if (x > 15) bad(`luts decodes bit ${p} to ${x}, not an exponent 0..15`);
    const len = luts[lenRow + x];
    if (len < 1 || len > 16) bad(`code length of exponent ${x} is ${len}`);
    if (p + len > totalBits) bad(`code of element ${i} runs past the end of encoded`);
    const q = i & 1 ? packed[i >> 1] & 0x0f : packed[i >> 1] >> 4;
    out[i] = ((q & 0x08) << 4) | (x << 3) | (q & 0x07);
    lastStart = p;
    p += len;
  }
  const bits = p;
  if (Math.ceil(bits / 8) !== nBytes) bad(`encoded is ${nBytes} bytes but its ${n} codes use ${Math.ceil(bits / 8)}`);
  // Windows after the last code start hold only its tail: gap points to the end, or 0 when the end is byte-aligned.
  while (nextThread < nThreads && nextThread * windowBits < bits) {
    const g = gapOf(gaps, nextThread);
    if (g !== bits - nextThread * windowBits && g !== 0) bad(`thread ${nextThread}: gap ${g} in the tail window`);
    nextThread++;
  }
  if (pos.length === nBlocks && lastStart >= (nBlocks - 1) * T * windowBits) bad(`output_positions lacks the entry of block ${nBlocks - 1}`);
  return out;
}

/** Element ranges of the parts of a module. */
export function splitRanges(splits: readonly number[], n: number): [number, number][] {
  const bounds = [0, ...splits, n];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (!(bounds[i + 1] >= bounds[i]) || bounds[i + 1] > n) bad(`split_positions ${JSON.stringify(splits)} are not non-decreasing within 0..${n}`);
    out.push([bounds[i], bounds[i + 1]]);
  }
  return out;
}

/** The official buffers of one of our streams (no re-encoding; our decode tables are already in their format). */
export function officialBuffersFromStream(stream: Uint8Array): OfficialBuffers {
  const { header, layout: l } = parseStream(stream);
  if (l.elementCount % 2 !== 0) modelFail(ErrorCode.INVALID_ARGUMENT, `${l.elementCount} elements: the official layout stores n / 2 nibble bytes and needs an even count`);
  return {
    luts: buildDecodeTables(header.codeLengths).bytes,
    encoded: stream.slice(l.exponentsOffset, l.exponentsOffset + l.usedBytes),
    packedOther4bits: stream.slice(l.nibblesOffset, l.nibblesOffset + l.elementCount / 2),
    outputPositions: stream.slice(l.positionsOffset, l.positionsOffset + l.positionsSize),
    gaps: stream.slice(l.gapsOffset, l.gapsOffset + Math.ceil(l.nThreads / 2)),
    splitPositions: [],
  };
}

/**
 * Emulates the authors' thread-parallel decoder on a module's buffers: per thread, a 10-byte window (8 + 2 bytes of
 * look-ahead, zero past the end), decode from its gap while the code starts inside its 64-bit window; block-wide
 * prefix sums from output_positions; writes clamped to n; each block copies out its staged elements. Returns the
 * bytes, or -1 where the emulated kernel would leave memory unwritten.
 */
export function emulateOfficialKernel(b: OfficialBuffers, threadsPerBlock: number, bytesPerThread = OFFICIAL_BYTES_PER_THREAD): Int16Array {
  const T = threadsPerBlock;
  const B = bytesPerThread;
  const { luts, encoded, packedOther4bits: packed, gaps } = b;
  const nLuts = luts.length / 256;
  const lenRow = 256 * (nLuts - 1);
  const n = packed.length * 2;
  const nBytes = encoded.length;
  const nBlocks = Math.ceil(nBytes / (B * T));
  const pos = readU64s(b.outputPositions, 'output_positions');
  const out = new Int16Array(n).fill(-1);
  const reg = new Uint8Array(B + 2);
  for (let blk = 0; blk < nBlocks; blk++) {
    const symbols: number[][] = [];
    for (let t = 0; t < T; t++) {
      const g = blk * T + t;
      for (let k = 0; k < B + 2; k++) reg[k] = g * B + k < nBytes ? encoded[g * B + k] : 0;
      const list: number[] = [];
      let p = gapOf(gaps, g) ?? 0;
      while (p < 8 * B) {
        const k = p >>> 3;
        const w16 = (((reg[k] << 16) | ((reg[k + 1] ?? 0) << 8) | (reg[k + 2] ?? 0)) >>> (8 - (p & 7))) & 0xffff;
        let x = luts[w16 >>> 8];
        if (x >= 240) x = luts[256 * (256 - x) + (w16 & 0xff)] ?? 0;
        const len = luts[lenRow + x] ?? 0;
        list.push(x);
        if (len === 0) break; // a real kernel would spin here; the emulation stops
        p += len;
      }
      symbols.push(list);
    }
    const start = pos[blk] ?? n;
    const end = pos[blk + 1] ?? n;
    const staging = new Int16Array(Math.max(0, Math.min(end, n) - start)).fill(-1);
    let idx = start;
    for (let t = 0; t < T; t++) {
      const stop = Math.min(idx + symbols[t].length, n);
      for (let j = 0; idx < stop; j++, idx++) {
        const q = idx & 1 ? packed[idx >> 1] & 0x0f : packed[idx >> 1] >> 4;
        const v = ((q & 0x08) << 4) | (symbols[t][j] << 3) | (q & 0x07);
        if (idx - start < staging.length) staging[idx - start] = v & 0xff;
      }
      idx = Math.max(idx, stop);
    }
    for (let i = 0; i < staging.length; i++) out[start + i] = staging[i];
  }
  return out;
}
