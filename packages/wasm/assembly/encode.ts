/**
 * The encoder's second pass (spec §12) over one chunk of FP8 bytes in ENC_IN, once the host has chosen the code
 * (package-merge, @ecf8/core) and built the pair tables (tables.ts): the chunk's bitstream (§7) into ENC_EX, its
 * nibbles (§9) into ENC_NIB, the gaps (§8.2) of the windows that start inside it into ENC_GAPS and the output
 * position (§8.1) of each block that starts inside it into ENC_POS. The first pass is scan.ts.
 * Bit coordinates are relative to pBase, the start of the window holding the chunk's first code; the host copies
 * the results into place and ORs the bytes shared with the neighbouring chunks.
 */
import {
  CODE_LENGTHS,
  ENC_CODES_LEFT,
  ENC_EX,
  ENC_EX_REV_END,
  ENC_GAPS,
  ENC_IN,
  ENC_LOG,
  ENC_MASKS,
  ENC_NIB,
  ENC_PAIR_ADDR,
  ENC_PAIR_LENGTHS,
  ENC_PAIRS,
  ENC_POS,
  RESULT,
} from './layout';
import { lengthOf } from './tables';

// Masks of the SIMD loops, read from memory into locals before each loop: V8 keeps such a local in a register,
// while a v128.const operand is rebuilt from general registers (two to four instructions) at every use.
const NIBBLE_LOW: usize = ENC_MASKS; // i8x16 7
const NIBBLE_SIGN: usize = ENC_MASKS + 16; // i8x16 8
const NIBBLE_HIGH: usize = ENC_MASKS + 32; // i16x8 0xf0
const PAIR_LOW: usize = ENC_MASKS + 48; // i16x8 0x78
const PAIR_HIGH: usize = ENC_MASKS + 64; // i16x8 0x780

function storeMasks(): void {
  if (ASC_FEATURE_SIMD) {
    v128.store(NIBBLE_LOW, i8x16.splat(7));
    v128.store(NIBBLE_SIGN, i8x16.splat(8));
    v128.store(NIBBLE_HIGH, i16x8.splat(0xf0));
    v128.store(PAIR_LOW, i16x8.splat(0x78));
    v128.store(PAIR_HIGH, i16x8.splat(0x780));
  }
}

/**
 * Sign/mantissa nibbles of the chunk's elements (spec §2, §9): byte j = nibble 2j << 4 | nibble 2j + 1; and the
 * pair-table offset of each pair of elements into ENC_PAIR_ADDR (for the groups of eight, so past `len` when it
 * is not a multiple of 16; those offsets are never used).
 */
function prepare(len: i32): void {
  const end = <usize>len;
  const blocksEnd = end & ~(<usize>15);
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    storeMasks();
    const low = v128.load(NIBBLE_LOW);
    const sign = v128.load(NIBBLE_SIGN);
    const high = v128.load(NIBBLE_HIGH);
    const pairLow = v128.load(PAIR_LOW);
    const pairHigh = v128.load(PAIR_HIGH);
    for (; i < blocksEnd; i += 16) {
      const v = v128.load(i, ENC_IN);
      const v4 = i16x8.shr_u(v, 4);
      const q = v128.or(v128.and(v, low), v128.and(v4, sign));
      // 16-bit lane k = q(2k) | q(2k + 1) << 8 -> q(2k) << 4 | q(2k + 1), then narrowed to bytes.
      const pairs = v128.or(v128.and(i16x8.shl(q, 4), high), i16x8.shr_u(q, 8));
      v128.store64_lane(i >>> 1, i8x16.narrow_i16x8_u(pairs, pairs), 0, ENC_NIB);
      // Pair offsets: per 16-bit lane b0 | b1 << 8, (e0 | e1 << 4) << 3 = (b0 & 0x78) | (b1 & 0x78) << 4.
      v128.store(i, v128.or(v128.and(v, pairLow), v128.and(v4, pairHigh)), ENC_PAIR_ADDR);
    }
    if (i < end) {
      const v = v128.load(i, ENC_IN);
      v128.store(i, v128.or(v128.and(v, pairLow), v128.and(i16x8.shr_u(v, 4), pairHigh)), ENC_PAIR_ADDR);
    }
  } else {
    for (; i < blocksEnd; i += 16) {
      const x0 = load<u64>(i, ENC_IN);
      const x1 = load<u64>(i, ENC_IN + 8);
      store<u32>(i >>> 1, packWord(x0), ENC_NIB);
      store<u32>(i >>> 1, packWord(x1), ENC_NIB + 4);
      store<u64>(i, pairOffsets(x0), ENC_PAIR_ADDR);
      store<u64>(i, pairOffsets(x1), ENC_PAIR_ADDR + 8);
    }
    if (i < end) {
      store<u64>(i, pairOffsets(load<u64>(i, ENC_IN)), ENC_PAIR_ADDR);
      store<u64>(i, pairOffsets(load<u64>(i, ENC_IN + 8)), ENC_PAIR_ADDR + 8);
    }
  }
  for (; i < end; i++) {
    const v = <u32>load<u8>(i, ENC_IN);
    const nibble = ((v >>> 4) & 8) | (v & 7);
    const at = ENC_NIB + (i >>> 1);
    if (i & 1) store<u8>(at, load<u8>(at) | <u8>nibble);
    else store<u8>(at, <u8>(nibble << 4));
  }
}

/** Per 16-bit lane b0 | b1 << 8 of eight FP8 bytes: (e0 | e1 << 4) << 3 = (b0 & 0x78) | (b1 & 0x78) << 4. */
// @ts-ignore: decorator
@inline function pairOffsets(x: u64): u64 {
  return (x & 0x0078007800780078) | ((x >>> 4) & 0x0780078007800780);
}

/** Eight FP8 bytes (little-endian) to their four nibble bytes (little-endian). */
// @ts-ignore: decorator
@inline function packWord(v: u64): u32 {
  const q = (v & 0x0707070707070707) | ((v >>> 4) & 0x0808080808080808);
  const pairs = ((q << 4) & 0x00f000f000f000f0) | ((q >>> 8) & 0x000f000f000f000f); // byte 2k = pair k
  const x = (pairs | (pairs >>> 8)) & 0x0000ffff0000ffff;
  return <u32>((x | (x >>> 16)) & 0xffffffff);
}

/** ENC_EX[0, len) from the byte-reversed bitstream (rounded up to 16 bytes). */
function unreverse(len: usize): void {
  const end = (len + 15) & ~(<usize>15);
  for (let i: usize = 0; i < end; i += 16) {
    if (ASC_FEATURE_SIMD) {
      const v = v128.load(ENC_EX_REV_END - 16 - i);
      v128.store(i, i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), ENC_EX);
    } else {
      store<u64>(i, bswap<u64>(load<u64>(ENC_EX_REV_END - 8 - i)), ENC_EX);
      store<u64>(i, bswap<u64>(load<u64>(ENC_EX_REV_END - 16 - i)), ENC_EX + 8);
    }
  }
}

/**
 * Window log: a group of codes starting at bit p (relative) and element i, at most 63 bits long, contains at most
 * one window start in (p, p + its bits]; that window is w = p / 64 + 1. Every group writes its entry there, so the
 * last to write w's entry is the group that crosses w's start, and windowGaps finds w's first code from it.
 */
// @ts-ignore: decorator
@inline function logGroup(p: usize, i: i32): void {
  const slot = (p >>> 3) & ~(<usize>7);
  store<u32>(slot, <u32>p, ENC_LOG + 8);
  store<i32>(slot, i, ENC_LOG + 12);
}

// The bit writer of encodeChunk while putElements runs (codes go in MSB first, spec §7; the bitstream is stored
// byte-reversed, so a little-endian store of the accumulator writes its top byte first).
let writerAcc: u64 = 0; // pending bits, MSB-aligned
let writerBits: u64 = 0; // how many (0..7 between calls)
let writerAt: usize = 0; // the stream byte (relative) the accumulator's top byte belongs to

/** Elements [from, to) one code at a time, each its own group in the window log. */
function putElements(from: i32, to: i32): void {
  let acc = writerAcc;
  let bits = writerBits;
  let at = writerAt;
  for (let i = from; i < to; i++) {
    const x = <usize>((<u32>load<u8>(<usize>i, ENC_IN) >>> 3) & 15);
    logGroup((at << 3) | <usize>bits, i);
    acc |= load<u64>(x << 3, ENC_CODES_LEFT) >>> bits;
    bits += <u64>lengthOf(<u32>x);
    store<u64>(ENC_EX_REV_END - 8 - at, acc);
    at += <usize>(bits >>> 3);
    acc <<= bits & ~7;
    bits &= 7;
  }
  writerAcc = acc;
  writerBits = bits;
  writerAt = at;
}

/**
 * Gap (spec §8.2) of every window w >= 1 of the chunk that starts at or before bit pEnd and before `live`: the
 * first code start at or after it, found from the window log; at a block's first window (global index % T == 0)
 * also the block's output position (§8.1), the element of that code. Returns the positions written.
 */
function windowGaps(pEnd: i32, live: i32, T: i32, phase: i32, parity: i32): i32 {
  const last = pEnd < live - 1 ? pEnd : live - 1;
  let posCount = 0;
  for (let w = 1; w << 6 <= last; w++) {
    const p = load<i32>(<usize>w << 3, ENC_LOG);
    const i = load<i32>(<usize>w << 3, ENC_LOG + 4);
    const found = firstCodeAtOrAfter(i, (w << 6) - p);
    const gap = <u32>(found & 0xff);
    const e = i + (found >>> 8);
    const g = w + parity;
    const at = ENC_GAPS + (<usize>(g >>> 1));
    store<u8>(at, <u8>(load<u8>(at) | (g & 1 ? gap : gap << 4)));
    if (((phase + w) & (T - 1)) == 0) {
      store<i32>(ENC_POS + (<usize>posCount << 2), e);
      posCount++;
    }
  }
  return posCount;
}

/**
 * Of the codes of elements i, i + 1, ... starting at bits 0, l(i), l(i) + l(i + 1), ... (relative to the group's
 * start), the first at or after bit d (1..63, within the group's first eight codes): its start - d | its index
 * after i << 8. Without SIMD a walk; with SIMD the eight codes' lengths come from one swizzle of the code-length
 * vector as the bytes of a u64, their end offsets from one multiply (byte k = the sum of bytes 0..k, at most
 * 8 x 15), and the count of ends before d from the high bits of (ends | 0x80..) - d, so nothing branches on them.
 */
// @ts-ignore: decorator
@inline function firstCodeAtOrAfter(i: i32, d: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    const x = v128.and(i16x8.shr_u(v128.load64_zero(<usize>i, ENC_IN), 3), i8x16.splat(15));
    const lengths = i64x2.extract_lane(i8x16.swizzle(v128.load(CODE_LENGTHS), x), 0); // byte k: l(i + k)
    const ends = lengths * 0x0101010101010101; // byte k: the end of code k = the start of code k + 1
    const high: u64 = 0x8080808080808080;
    const atOrAfter = <i32>popcnt<u64>(((ends | high) - <u64>d * 0x0101010101010101) & high);
    const before = 8 - atOrAfter; // codes ending before d = codes starting before it, after the first
    const end = <i32>((ends >>> (<u64>before << 3)) & 0xff);
    return (end - d) | ((before + 1) << 8);
  } else {
    let s = 0;
    let k = 0;
    while (s < d) {
      s += <i32>lengthOf((<u32>load<u8>(<usize>(i + k), ENC_IN) >>> 3) & 15);
      k++;
    }
    return (s - d) | (k << 8);
  }
}

/**
 * Groups of eight elements from `from` (a multiple of 8) to groupsEnd while each fits the accumulator: four pair
 * entries (left-aligned codes) shifted in, one 8-byte store, one window-log entry. Returns where it stopped: at
 * groupsEnd or at a group longer than the accumulator holds (at most 63 bits with the pending ones). A leaf
 * function, so that V8 keeps the loop's values in registers.
 */
function putGroups(from: i32, groupsEnd: i32): i32 {
  let acc = writerAcc;
  let bits = writerBits;
  let at = writerAt;
  let i = from;
  for (; i < groupsEnd; i += 8) {
    const a0 = <usize>load<u16>(<usize>i, ENC_PAIR_ADDR);
    const a1 = <usize>load<u16>(<usize>i, ENC_PAIR_ADDR + 2);
    const a2 = <usize>load<u16>(<usize>i, ENC_PAIR_ADDR + 4);
    const a3 = <usize>load<u16>(<usize>i, ENC_PAIR_ADDR + 6);
    let b = bits;
    let x = acc | (load<u64>(a0, ENC_PAIRS) >>> b);
    b += load<u64>(a0, ENC_PAIR_LENGTHS);
    x |= load<u64>(a1, ENC_PAIRS) >>> b;
    b += load<u64>(a1, ENC_PAIR_LENGTHS);
    x |= load<u64>(a2, ENC_PAIRS) >>> b;
    b += load<u64>(a2, ENC_PAIR_LENGTHS);
    x |= load<u64>(a3, ENC_PAIRS) >>> b;
    b += load<u64>(a3, ENC_PAIR_LENGTHS);
    if (b >= 64) break;
    logGroup((at << 3) | <usize>bits, i);
    store<u64>(ENC_EX_REV_END - 8 - at, x);
    at += <usize>(b >>> 3);
    acc = x << (b & 56);
    bits = b & 7;
  }
  writerAcc = acc;
  writerBits = bits;
  writerAt = at;
  return i;
}

/**
 * The chunk's `len` elements, whose codes start at bit pRel (0..63) after pBase; windows at or past `live` (bits -
 * pBase, clamped) are dead. Returns the final partial byte's value (the host ORs it into byte (p1 - pBase) >> 3)
 * or -1 when the chunk ends on a byte boundary; RESULT[0] = p1 - pBase, RESULT[1] = block positions written,
 * RESULT[2] = gap bytes touched.
 * Groups of eight elements go through putGroups; one whose codes overflow its accumulator, and the last len % 8
 * elements, through putElements.
 */
export function encodeChunk(len: i32, pRel: i32, live: i32, threads: i32, firstPhase: i32, firstParity: i32): i32 {
  const gapBytes = ((pRel + 16 * len) >>> 7) + 2;
  memory.fill(ENC_GAPS, 0, <usize>gapBytes);
  prepare(len);
  writerAcc = 0;
  writerBits = <u64>(pRel & 7);
  writerAt = <usize>(pRel >>> 3);
  const groupsEnd = len & ~7;
  let i = putGroups(0, groupsEnd);
  while (i < groupsEnd) {
    // A group longer than the accumulator holds: code by code.
    putElements(i, i + 8);
    i = putGroups(i + 8, groupsEnd);
  }
  putElements(i, len);
  const pEnd = <i32>((writerAt << 3) | <usize>writerBits);
  const posCount = windowGaps(pEnd, live, threads, firstPhase, firstParity);
  unreverse(<usize>(pEnd >>> 3) + 1);
  store<i32>(RESULT, pEnd);
  store<i32>(RESULT + 4, posCount);
  store<i32>(RESULT + 8, gapBytes);
  return writerBits > 0 ? <i32>(writerAcc >>> 56) : -1;
}
