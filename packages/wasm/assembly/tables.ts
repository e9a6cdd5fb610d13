/**
 * Code tables from the header's code lengths (spec §5.2 canonical codes). Decoding uses its own 12-bit
 * multi-symbol tables instead of spec §6's byte tables (any method that decodes the same codes conforms, §6):
 *  - DEC_TABLE[i] (u64): the exponents of the up to 6 codes that lie wholly in the 12 bits i, exponent j as the
 *    byte x << 3 in byte lane j (an FP8 byte without its nibble, §2), their count in byte 6 and the bits they
 *    consume in byte 7; bit 63 alone when the first code is longer than 12 bits.
 *  - INC_TABLE[i] (u64): the same step's advance of a lane's state (bits consumed | count << 32), 0 when the
 *    first code is longer than 12 bits (the lane stalls there; see scripts/generate-lanes.mjs).
 *  - META_TABLE[i] (u32): bits consumed | mask of the code starts (bit k = a code starts at offset k) << 8.
 *  - SYM_TABLE[i] (u16): symbol | length << 4 of the first code, 0xffff when it is longer than 12 bits.
 *  - LONG_TABLE: canonical decoding of the codes longer than 12 bits (first code, first index and count per length,
 *    then the symbols in canonical order).
 */
import { CODE_LENGTHS, DEC_TABLE, ENC_CODES_LEFT, ENC_PAIR_LENGTHS, ENC_PAIRS, ENC_TABLE, INC_TABLE, LONG_TABLE, META_TABLE, SYM_TABLE } from './layout';

export const LOOKUP_BITS: i32 = 12;
export const MAX_PER_LOOKUP: i32 = 6;
export const LONG_ENTRY: u64 = 1 << 63;

const FIRST_CODE: usize = LONG_TABLE;
const FIRST_INDEX: usize = LONG_TABLE + 128;
const COUNT: usize = LONG_TABLE + 256;
const SORTED: usize = LONG_TABLE + 384;

const CODES: usize = ENC_TABLE; // 16 u32
const LENGTHS: usize = ENC_TABLE + 64; // 16 u32

/**
 * The code lengths the decode tables were last built for (two u64 words), valid while `decodeTablesValid`: a stream
 * with the same code (the next tensor of a model often has one) skips the rebuild. Building encode tables rewrites
 * LONG_TABLE, so canonical() drops the decode tables.
 */
let builtLo: u64 = 0;
let builtHi: u64 = 0;
let decodeTablesValid = false;

/** Canonical codes (spec §5.2) into CODES/LENGTHS and the per-length data of LONG_TABLE. */
function canonical(): void {
  decodeTablesValid = false;
  memory.fill(LONG_TABLE, 0, 512);
  let code: u32 = 0;
  let prevLen: u32 = 0;
  let index: i32 = 0;
  for (let len: u32 = 1; len <= 16; len++) {
    for (let x: usize = 0; x < 16; x++) {
      if (<u32>load<u8>(CODE_LENGTHS + x) != len) continue;
      code = index == 0 ? 0 : (code + 1) << (len - prevLen);
      prevLen = len;
      store<u32>(CODES + (x << 2), code);
      if (load<i32>(COUNT + (len << 2)) == 0) {
        store<i32>(FIRST_CODE + (len << 2), code);
        store<i32>(FIRST_INDEX + (len << 2), index);
      }
      store<i32>(COUNT + (len << 2), load<i32>(COUNT + (len << 2)) + 1);
      store<i32>(SORTED + (<usize>index << 2), <i32>x);
      index++;
    }
  }
  for (let x: usize = 0; x < 16; x++) {
    const len = <u32>load<u8>(CODE_LENGTHS + x);
    store<u32>(LENGTHS + (x << 2), len);
    if (len == 0) store<u32>(CODES + (x << 2), 0);
  }
}

/** The decode tables of the code lengths at CODE_LENGTHS (validated in phase A: a complete code). */
export function buildDecodeTables(): void {
  const lo = load<u64>(CODE_LENGTHS);
  const hi = load<u64>(CODE_LENGTHS, 8);
  if (decodeTablesValid && lo == builtLo && hi == builtHi) return;
  canonical();
  memory.fill(SYM_TABLE, 0xff, 2 << LOOKUP_BITS);
  for (let x: usize = 0; x < 16; x++) {
    const len = load<u32>(LENGTHS + (x << 2));
    if (len == 0 || len > <u32>LOOKUP_BITS) continue;
    const code = load<u32>(CODES + (x << 2));
    const from = code << (<u32>LOOKUP_BITS - len);
    const to = (code + 1) << (<u32>LOOKUP_BITS - len);
    for (let i = from; i < to; i++) store<u16>(SYM_TABLE + (<usize>i << 1), <u16>(x | (len << 4)));
  }
  const mask: u32 = (1 << LOOKUP_BITS) - 1;
  for (let i: u32 = 0; i <= mask; i++) {
    let consumed: u32 = 0;
    let count: u32 = 0;
    let starts: u32 = 0;
    let exps: u64 = 0;
    while (count < <u32>MAX_PER_LOOKUP) {
      const s = <u32>load<u16>(SYM_TABLE + (<usize>((i << consumed) & mask) << 1));
      if (s == 0xffff || (s >>> 4) > <u32>LOOKUP_BITS - consumed) break;
      starts |= 1 << consumed;
      exps |= <u64>((s & 15) << 3) << (8 * count);
      consumed += s >>> 4;
      count++;
    }
    store<u64>(DEC_TABLE + (<usize>i << 4), count == 0 ? LONG_ENTRY : exps | (<u64>count << 48) | (<u64>consumed << 56));
    store<u64>(INC_TABLE + (<usize>i << 4), <u64>consumed | (<u64>count << 32));
    store<u32>(META_TABLE + (<usize>i << 2), consumed | (starts << 8));
  }
  builtLo = lo;
  builtHi = hi;
  decodeTablesValid = true;
}

/** Symbol | length << 4 of the code whose first 16 bits (MSB first) are w16. */
export function symbolOf(w16: u32): u32 {
  const s = <u32>load<u16>(SYM_TABLE + (<usize>(w16 >>> 4) << 1));
  if (s != 0xffff) return s;
  for (let len: u32 = <u32>LOOKUP_BITS + 1; len <= 16; len++) {
    const count = load<i32>(COUNT + (<usize>len << 2));
    const d = <i32>(w16 >>> (16 - len)) - load<i32>(FIRST_CODE + (<usize>len << 2));
    if (count > 0 && d >= 0 && d < count) return <u32>load<i32>(SORTED + (<usize>(load<i32>(FIRST_INDEX + (<usize>len << 2)) + d) << 2)) | (len << 4);
  }
  return 16 << 4; // unreachable for a complete code (phase A)
}

/**
 * Encode tables: per pair of exponents (e0 | e1 << 4) in ENC_PAIRS the bits code(e0) code(e1) left-aligned in a u64
 * and in ENC_PAIR_LENGTHS their length; per exponent in ENC_CODES_LEFT its code left-aligned. Left-aligned codes go
 * into a bit accumulator with one shift and one OR (spec §7: codes are written MSB first).
 */
export function buildEncodeTables(): void {
  canonical();
  for (let a: usize = 0; a < 16; a++) {
    const la = load<u32>(LENGTHS + (a << 2));
    store<u64>(ENC_CODES_LEFT + (a << 3), la == 0 ? 0 : <u64>load<u32>(CODES + (a << 2)) << (64 - la));
    for (let b: usize = 0; b < 16; b++) {
      const lb = load<u32>(LENGTHS + (b << 2));
      const at = (a | (b << 4)) << 3;
      const code = (<u64>load<u32>(CODES + (a << 2)) << lb) | <u64>load<u32>(CODES + (b << 2));
      // Unused exponents have length 0 and never occur; their entries are left zero.
      store<u64>(ENC_PAIRS + at, la == 0 || lb == 0 ? 0 : code << (64 - la - lb));
      store<u64>(ENC_PAIR_LENGTHS + at, <u64>(la + lb));
    }
  }
}

// @ts-ignore: decorator
@inline export function lengthOf(x: u32): u32 {
  return load<u32>(LENGTHS + (<usize>x << 2));
}
