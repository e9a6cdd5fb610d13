/**
 * The decode-table cascade (spec §6): 256-byte subtables, root first, one subtable per 8-bit prefix of codes longer
 * than 8 bits (pointer entries 256 - j), and a final length table. A pure function of the code lengths.
 */
import { canonicalCodes } from './canonical.js';
import { SYMBOL_COUNT } from './element.js';

/** Entries >= this value are pointers to subtable `256 - entry` (spec §6). */
export const POINTER_BASE = 240;

export interface DecodeTables {
  /** `n_luts * 256` bytes: table k at `[256k, 256k + 256)`. */
  bytes: Uint8Array;
  nLuts: number;
  /** Sorted 8-bit prefixes P_1..P_m of the subtables. */
  prefixes: number[];
  /** Byte offset of the length table (= 256 * (n_luts - 1)). */
  lengthTableOffset: number;
}

/** Builds the tables of spec §6 from (validated, complete or all-zero) code lengths. */
export function buildDecodeTables(codeLengths: ArrayLike<number>): DecodeTables {
  const codes = canonicalCodes(codeLengths);
  // Step 1: distinct 8-bit prefixes of long codes, ascending.
  const prefixSet = new Set<number>();
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    const len = codeLengths[x];
    if (len > 8) prefixSet.add(codes[x] >>> (len - 8));
  }
  const prefixes = [...prefixSet].sort((a, b) => a - b);
  // Step 2: n_luts = m + 2.
  const nLuts = prefixes.length + 2;
  const bytes = new Uint8Array(nLuts * 256);
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    const len = codeLengths[x];
    if (len === 0) continue;
    if (len <= 8) {
      // Step 3: every root entry whose top `len` bits equal the code.
      const first = codes[x] << (8 - len);
      bytes.fill(x, first, first + (1 << (8 - len)));
    } else {
      // Step 4: entries of the prefix's subtable whose top `len - 8` bits equal the code's last bits.
      const j = prefixes.indexOf(codes[x] >>> (len - 8)) + 1;
      const first = (codes[x] << (16 - len)) & 0xff;
      bytes.fill(x, 256 * j + first, 256 * j + first + (1 << (16 - len)));
    }
  }
  // Step 3 (pointers): root entries equal to a long prefix.
  prefixes.forEach((p, idx) => {
    bytes[p] = 256 - (idx + 1);
  });
  // Step 5: the length table.
  const lengthTableOffset = 256 * (nLuts - 1);
  for (let x = 0; x < SYMBOL_COUNT; x++) bytes[lengthTableOffset + x] = codeLengths[x];
  return { bytes, nLuts, prefixes, lengthTableOffset };
}

/**
 * Decodes one symbol from the 16 bits `w` (first bit most significant) with the cascade (spec §6); returns
 * `symbol | (length << 8)`.
 */
export function lookupSymbol(t: DecodeTables, w: number): number {
  let x = t.bytes[w >>> 8];
  if (x >= POINTER_BASE) x = t.bytes[256 * (256 - x) + (w & 0xff)];
  return x | (t.bytes[t.lengthTableOffset + x] << 8);
}
