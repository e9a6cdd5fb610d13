/**
 * Splitting a validated stream into dispatches ("chunks") of whole ECF8 blocks, and laying out what each chunk's
 * kernel reads. Shared by the WebGPU host code and by the CPU mirror of the kernel (src/mirror.ts), so the mirror
 * test exercises exactly the bytes and parameters the GPU gets.
 *
 * A chunk covers blocks [b0, b1). Its input buffer holds, each at a 4-byte-aligned offset:
 *
 *   tables    n_luts * 256 bytes (spec §6), then the multi-symbol table (MULTI_ENTRIES u32, src/tables.ts)
 *   positions (b1 - b0 + 1) u32, pos[b] - pos[b0]
 *   gaps      gap bytes of threads b0*T .. b1*T (+1 thread, for the gap chain check across the chunk's end)
 *   exponents bitstream bytes [64*b0*T/8, 8*b1*T + 16) (the last windows' 16-byte lookahead), clamped to the section
 *   nibbles   nibble bytes of elements pos[b0] .. pos[b1] + 3 (continuation), from a 4-byte-aligned start
 *
 * b0 is a multiple of 8 blocks so that every section slice starts at a multiple of 4 bytes (even for T = 1).
 */
import { BYTES_PER_THREAD, type ParsedStream } from '@ecf8/core';
import type { KernelTables } from './tables.js';

/** Number of u32 kernel parameters (the `Params` struct of decode.wgsl; a multiple of 4 for the uniform layout). */
export const PARAM_WORDS = 20;

export const P = {
  T: 0,
  nBlocks: 1,
  bitsRel: 2,
  firstChunk: 3,
  posOff: 4,
  gapOff: 5,
  expOff: 6,
  expEnd: 7,
  nibOff: 8,
  nibEnd: 9,
  nibBase: 10,
  outByte0: 11,
  gridStride: 12,
  lutWords: 13,
  lenOff: 14,
  gapLimit: 15,
  mtabOff: 16,
  elemLimit: 17,
  vecWords: 18,
  tailWords: 19,
} as const;

/** One slice of the stream copied into a chunk's input buffer at byte offset `dst`. */
export interface InputRange {
  dst: number;
  bytes: Uint8Array;
}

export interface Chunk {
  b0: number;
  b1: number;
  /** First element and one past the last element owned by the chunk's blocks (global indices). */
  e0: number;
  e1: number;
  /** Input buffer size in bytes (multiple of 4). */
  inputBytes: number;
  ranges: InputRange[];
  /** Parameters that do not depend on the output target; outByte0 and gridStride are filled per dispatch. */
  params: Uint32Array;
}

export interface PlanLimits {
  /** Largest storage-buffer binding (and buffer) the device allows, in bytes. */
  maxBindingBytes: number;
  /** Most workgroups per dispatch dimension. */
  maxWorkgroups: number;
  /** Optional cap on blocks per dispatch (tests use it to force splitting). */
  maxBlocksPerChunk?: number;
}

const WORD = 4;
const roundup4 = (x: number) => Math.ceil(x / WORD) * WORD;

/** Blocks per chunk: a multiple of 8 that keeps every binding and every u32 index of the kernel in range. */
export function blocksPerChunk(T: number, limits: PlanLimits): number {
  // Per block at most: 64T output bytes; 8T exponent + 32T nibble + T/2 gap + 4 position input bytes.
  const perBlock = 64 * T + 8;
  const overhead = 16384; // tables (§6 and multi-symbol), lookahead, binding alignment
  let blocks = Math.floor((limits.maxBindingBytes - overhead) / perBlock);
  blocks = Math.min(blocks, limits.maxWorkgroups, Math.floor((2 ** 26 - 2) / T));
  if (limits.maxBlocksPerChunk !== undefined) blocks = Math.min(blocks, limits.maxBlocksPerChunk);
  blocks = Math.floor(blocks / 8) * 8;
  if (blocks < 8) throw new RangeError(`device limits allow fewer than 8 blocks of ${T} threads per dispatch`);
  return blocks;
}

/** Splits a stream that passed phases A and B (`pos` from validateMetadata) into chunks. */
export function planChunks(parsed: ParsedStream, pos: Float64Array, tables: KernelTables, limits: PlanLimits): Chunk[] {
  const { stream, layout } = parsed;
  const { nBlocks, threadsPerBlock: T, exponentBitCount: bits, elementCount: n } = layout;
  const per = blocksPerChunk(T, limits);
  const chunks: Chunk[] = [];
  const lutBytes = tables.lut.length;
  const multiBytes = new Uint8Array(tables.multi.buffer, tables.multi.byteOffset, tables.multi.byteLength);
  for (let b0 = 0; b0 < nBlocks; b0 += per) {
    const b1 = Math.min(nBlocks, b0 + per);
    const nb = b1 - b0;
    const e0 = pos[b0];
    const e1 = pos[b1];
    const ranges: InputRange[] = [];
    let at = 0;
    const add = (bytes: Uint8Array) => {
      ranges.push({ dst: at, bytes });
      const off = at;
      at += roundup4(bytes.length);
      return off;
    };
    add(tables.lut);
    const mtabOff = add(multiBytes);
    const posWords = new Uint32Array(nb + 1);
    for (let b = 0; b <= nb; b++) posWords[b] = pos[b0 + b] - e0;
    const posOff = add(new Uint8Array(posWords.buffer));
    // Gaps: threads b0*T .. b1*T inclusive (b0*T is a multiple of 8, so the slice starts on a 4-byte boundary).
    const g0 = (b0 * T) / 2;
    const g1 = Math.min(layout.gapsSize, roundup4(Math.floor((b1 * T) / 2) + 1));
    const gapOff = add(stream.subarray(layout.gapsOffset + g0, layout.gapsOffset + g1));
    // Exponents: the chunk's windows plus the 16-byte lookahead of its last window (spec §7).
    const x0 = b0 * T * BYTES_PER_THREAD;
    const x1 = Math.min(layout.exponentsSize, b1 * T * BYTES_PER_THREAD + 16);
    const expOff = add(stream.subarray(layout.exponentsOffset + x0, layout.exponentsOffset + x1));
    // Nibbles of elements e0 .. min(e1 + 3, n) (the last thread's continuation), from a 4-byte-aligned byte.
    const n0 = Math.floor(e0 / 8) * 4;
    const n1 = Math.min(layout.nibblesSize, roundup4(Math.ceil(Math.min(e1 + 3, n) / 2)));
    const nibOff = add(stream.subarray(layout.nibblesOffset + n0, layout.nibblesOffset + Math.max(n1, n0)));
    const params = new Uint32Array(PARAM_WORDS);
    params[P.T] = T;
    params[P.nBlocks] = nb;
    params[P.mtabOff] = mtabOff / WORD;
    params[P.bitsRel] = Math.min(bits - b0 * T * 8 * BYTES_PER_THREAD, 0xffffffff);
    params[P.firstChunk] = b0 === 0 ? 1 : 0;
    params[P.posOff] = posOff / WORD;
    params[P.gapOff] = gapOff / WORD;
    params[P.expOff] = expOff / WORD;
    params[P.expEnd] = (expOff + roundup4(x1 - x0)) / WORD;
    params[P.nibOff] = nibOff / WORD;
    params[P.nibEnd] = (nibOff + roundup4(Math.max(n1 - n0, 0))) / WORD;
    params[P.nibBase] = e0 - 2 * n0;
    params[P.lutWords] = lutBytes / WORD;
    params[P.lenOff] = tables.lengthTableOffset;
    params[P.gapLimit] = 2 * (g1 - g0);
    chunks.push({ b0, b1, e0, e1, inputBytes: Math.max(at, WORD), ranges, params });
  }
  return chunks;
}

/**
 * Where a chunk writes: the output range [bindOffset, end) of the target as two non-overlapping bindings (WebGPU
 * forbids two writable bindings of one range): a vec4 view up to the last offset aligned for a binding, then the tail
 * as u32 words. A view of size 0 is bound to a small placeholder buffer instead.
 */
export interface ChunkTarget {
  bindOffset: number;
  vecBytes: number;
  tailBytes: number;
  params: Uint32Array;
}

/**
 * Per-dispatch parameters for writing chunk `c` of a stream of `n` elements at byte `offset` of a target of
 * `targetSize` bytes (a multiple of 4, holding offset + n), with `grid` workgroups dispatched (each loops over the
 * chunk's blocks with that stride).
 */
export function chunkTarget(c: Chunk, n: number, offset: number, targetSize: number, alignment: number, grid: number): ChunkTarget {
  const params = c.params.slice();
  params[P.gridStride] = grid;
  // The last words of a chunk hold up to 3 elements of the next one (continuation, see decode.wgsl).
  const elemLimit = Math.min(n - c.e0, c.e1 - c.e0 + 3);
  params[P.elemLimit] = elemLimit;
  if (elemLimit <= 0) {
    // Nothing to write (a chunk that is only the tail of the final code); still dispatched for its checks.
    params[P.outByte0] = 0;
    return { bindOffset: 0, vecBytes: 0, tailBytes: 0, params };
  }
  const first = offset + c.e0;
  const bindOffset = Math.floor(first / alignment) * alignment;
  const end = Math.min(targetSize, roundup4(first + elemLimit));
  const split = Math.max(bindOffset, Math.floor(end / alignment) * alignment);
  params[P.outByte0] = first - bindOffset;
  params[P.vecWords] = (split - bindOffset) / WORD;
  params[P.tailWords] = (end - split) / WORD;
  return { bindOffset, vecBytes: split - bindOffset, tailBytes: end - split, params };
}

/** Workgroups one dispatch of `blocks` ECF8 blocks uses: each loads the tables once and loops over its blocks. */
export function gridFor(blocks: number, maxGrid = DEFAULT_MAX_GRID): number {
  return Math.max(1, Math.min(blocks, maxGrid));
}

/** Default cap on workgroups per dispatch (several waves on the largest GPUs; each decodes >= 1 block). */
export const DEFAULT_MAX_GRID = 2048;
