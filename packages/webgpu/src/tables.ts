/**
 * Host-built tables the WebGPU kernels read: the multi-symbol decode table (an implementation detail beside the
 * spec's §6 tables, as in the CUDA kernel) and the CRC-32C tables and shift operators (spec §10) of the GPU content
 * checksum. Flat typed arrays, built once per stream (decode) or once per process (CRC).
 */
import { buildDecodeTables, canonicalCodes, SYMBOL_COUNT } from '@ecf8/core';

/** Bits a multi-symbol lookup indexes (1024 entries, 4 KB: small enough for compatibility-mode workgroup memory). */
export const MULTI_BITS = 10;
export const MULTI_ENTRIES = 1 << MULTI_BITS;
/** Most symbols one entry lists (their nibbles fill bits 12..31). */
export const MULTI_MAX_SYMBOLS = 5;

/**
 * Multi-symbol table: entry `i` lists the codes lying wholly inside the MULTI_BITS bits `i` (first bit most
 * significant), greedily from the first, at most MULTI_MAX_SYMBOLS. Layout of a u32 entry (0 when the first code is
 * longer than MULTI_BITS):
 *   bits 0..3   consumed    total code length of the n symbols (1..10); bit 4 is 0
 *   bits 5..7   n           number of symbols (1..5)
 *   bits 8..11  last_start  bit offset of the n-th symbol's code
 *   bits 12..31 symbols     symbol i in bits 12+4i .. 15+4i
 */
export function buildMultiSymbolTable(codeLengths: ArrayLike<number>): Uint32Array {
  const codes = canonicalCodes(codeLengths);
  // Symbol and length of every code of at most MULTI_BITS bits, by its bits left-aligned in MULTI_BITS.
  const symbolOf = new Int16Array(MULTI_ENTRIES).fill(-1);
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    const len = codeLengths[x];
    if (len === 0 || len > MULTI_BITS) continue;
    const first = codes[x] << (MULTI_BITS - len);
    symbolOf.fill(x, first, first + (1 << (MULTI_BITS - len)));
  }
  const table = new Uint32Array(MULTI_ENTRIES);
  for (let i = 0; i < MULTI_ENTRIES; i++) {
    let used = 0;
    let n = 0;
    let last = 0;
    let syms = 0;
    while (n < MULTI_MAX_SYMBOLS && used < MULTI_BITS) {
      const x = symbolOf[(i << used) & (MULTI_ENTRIES - 1)];
      if (x < 0 || used + codeLengths[x] > MULTI_BITS) break;
      syms |= x << (4 * n);
      last = used;
      used += codeLengths[x];
      n++;
    }
    table[i] = n === 0 ? 0 : (used | (n << 5) | (last << 8) | (syms << 12)) >>> 0;
  }
  return table;
}

/** Everything the decode kernel copies into workgroup memory: the §6 tables, then the multi-symbol table. */
export interface KernelTables {
  /** The §6 tables (n_luts * 256 bytes). */
  lut: Uint8Array;
  lengthTableOffset: number;
  multi: Uint32Array;
}

export function buildKernelTables(codeLengths: ArrayLike<number>): KernelTables {
  const t = buildDecodeTables(codeLengths);
  return { lut: t.bytes, lengthTableOffset: t.lengthTableOffset, multi: buildMultiSymbolTable(codeLengths) };
}

// ---- CRC-32C (spec §10) on the GPU -------------------------------------------------------------------------------
// The content checksum of n bytes is computed from raw CRCs (initial value 0, no final XOR) of chunks of CRC_CHUNK
// bytes counted from the END of the message (chunk j = bytes [n - (j+1) S, n - j S), clipped at 0), so every chunk but
// the first in message order is full and a group of 2^l chunks combines with the operator x^(8 S 2^l).

export const CRC_POLY = 0x82f63b78;
/** Bytes per CRC chunk (one invocation each). */
export const CRC_CHUNK = 1024;
/** Invocations per CRC workgroup (each combines 256 chunk CRCs into one). */
export const CRC_WG = 256;
/** Levels of shift operators kept (chunks up to 2^CRC_LEVELS). */
export const CRC_LEVELS = 48;

/** a * b mod P in the reflected representation (bit 31 = x^0). */
export function crcMulMod(a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(8 len) mod P: the operator that appends len zero bytes. */
export function crcShift(len: number): number {
  let p = 0x80000000;
  let sq = 1 << 23; // x^8
  let l = len;
  while (l > 0) {
    if (l % 2 === 1) p = crcMulMod(sq, p);
    sq = crcMulMod(sq, sq);
    l = Math.floor(l / 2);
  }
  return p >>> 0;
}

/** Raw CRC of A||B from the raw CRCs of A and B and the length of B. */
export function crcCombineRaw(a: number, b: number, lenB: number): number {
  return (crcMulMod(crcShift(lenB), a) ^ b) >>> 0;
}

/** The finalised CRC-32C of `len` bytes whose raw CRC is `raw`. */
export function crcFinalize(raw: number, len: number): number {
  return (raw ^ crcMulMod(crcShift(len), 0xffffffff) ^ 0xffffffff) >>> 0;
}

/** The CRC kernel's constant input: slicing-by-4 tables (4 x 256 words, t[0] the byte table), then the shift
 *  operators K[l] = x^(8 CRC_CHUNK 2^l), l < CRC_LEVELS. */
export const CRC_TABLE_WORDS = 1024 + CRC_LEVELS;
export function crcKernelTables(): Uint32Array {
  const t = new Uint32Array(CRC_TABLE_WORDS);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC_POLY : c >>> 1;
    t[b] = c >>> 0;
  }
  for (let s = 1; s < 4; s++) for (let b = 0; b < 256; b++) t[256 * s + b] = (t[256 * (s - 1) + b] >>> 8) ^ t[t[256 * (s - 1) + b] & 0xff];
  let p = crcShift(CRC_CHUNK);
  for (let l = 0; l < CRC_LEVELS; l++) {
    t[1024 + l] = p;
    p = crcMulMod(p, p);
  }
  return t;
}
