/**
 * The encoder's two passes (spec §12) over one chunk of FP8 bytes in ENC_IN:
 *  - scanChunk: exponent histogram (§12.1) into HIST and the content CRC-32C (§10), carried from chunk to chunk;
 *  - encodeChunk: once the host has chosen the code (package-merge, @ecf8/core) and built ENC_PAIRS, the chunk's
 *    bitstream (§7) into ENC_EX, its nibbles (§9) into ENC_NIB, the gaps (§8.2) of the windows that start inside it
 *    into ENC_GAPS and the output position (§8.1) of each block that starts inside it into ENC_POS.
 * Bit coordinates are relative to pBase, the start of the window holding the chunk's first code; the host copies
 * the results into place and ORs the bytes shared with the neighbouring chunks.
 */
import { crc16, crcByte } from './crc';
import { ENC_EX, ENC_EX_REV_END, ENC_GAPS, ENC_IN, ENC_NIB, ENC_PAIRS, ENC_POS, HIST, RESULT } from './layout';
import { codeOf, lengthOf } from './tables';
import { getCrcState, setCrcState } from './decode';

const PAIR_HIST: usize = HIST + 64; // 2 x 256 u32: exponent pairs of bytes (0, 1) and (2, 3) of each word

/** Histogram of the chunk's exponents into HIST[0..16) (u32), and the CRC state over its bytes. */
export function scanChunk(len: i32): void {
  memory.fill(HIST, 0, 64 + 2048);
  let c = getCrcState();
  const end = <usize>len;
  const blocksEnd = end & ~(<usize>15);
  let i: usize = 0;
  for (; i < blocksEnd; i += 16) {
    const w0 = load<u32>(i, ENC_IN);
    const w1 = load<u32>(i, ENC_IN + 4);
    const w2 = load<u32>(i, ENC_IN + 8);
    const w3 = load<u32>(i, ENC_IN + 12);
    count(w0);
    count(w1);
    count(w2);
    count(w3);
    c = crc16(c, w0, w1, w2, w3);
  }
  for (; i < end; i++) {
    const v = <u32>load<u8>(i, ENC_IN);
    const at = HIST + (<usize>((v >>> 3) & 15) << 2);
    store<u32>(at, load<u32>(at) + 1);
    c = crcByte(c, v);
  }
  setCrcState(c);
  // Pair counts hold two symbols each.
  for (let k: usize = 0; k < 256; k++) {
    const n = load<u32>(PAIR_HIST + (k << 2)) + load<u32>(PAIR_HIST + 1024 + (k << 2));
    if (n == 0) continue;
    const a = HIST + ((k & 15) << 2);
    const b = HIST + ((k >>> 4) << 2);
    store<u32>(a, load<u32>(a) + n);
    store<u32>(b, load<u32>(b) + n);
  }
}

// @ts-ignore: decorator
@inline function count(w: u32): void {
  const a = PAIR_HIST + (<usize>(((w >>> 3) & 15) | ((w >>> 7) & 0xf0)) << 2);
  store<u32>(a, load<u32>(a) + 1);
  const b = PAIR_HIST + 1024 + (<usize>(((w >>> 19) & 15) | ((w >>> 23) & 0xf0)) << 2);
  store<u32>(b, load<u32>(b) + 1);
}

const DEAD: i32 = 0x7fffffff;

// Bit writer and window state of encodeChunk (module globals keep the hot loop's locals few).
let nextW: i32 = 0; // start of the next window whose gap is due (relative), DEAD past the live windows
let window: i32 = 0; // its index relative to the chunk's first window
let liveEnd: i32 = 0;
let T: i32 = 1;
let phase: i32 = 0; // global index of the chunk's first window % T
let parity: i32 = 0; // global index of the chunk's first window & 1
let posCount: i32 = 0;

/**
 * Windows starting in (p, pn], where codes of the (up to 4) exponents in `w` (bytes, element i first) start at p:
 * each gets its gap (the first code start at or after it, minus its start), a block's first window also its output
 * position (the elements before that code start).
 */
function windows(p: i32, pn: i32, w: u32, i: i32): void {
  while (nextW <= pn) {
    let start = p;
    let j = 0;
    while (start < nextW) {
      start += <i32>lengthOf((w >>> (8 * j + 3)) & 15);
      j++;
    }
    putWindow(<u32>(start - nextW), i + j);
  }
}

/** Gap (and, at a block's first window, output position) of window `window`, whose first code start is elements i. */
// @ts-ignore: decorator
@inline function putWindow(gap: u32, i: i32): void {
  const g = window + parity;
  const at = ENC_GAPS + (<usize>(g >>> 1));
  store<u8>(at, <u8>(load<u8>(at) | (g & 1 ? gap : gap << 4)));
  if (((phase + window) & (T - 1)) == 0) {
    store<i32>(ENC_POS + (<usize>posCount << 2), i);
    posCount++;
  }
  window++;
  nextW += 64;
  if (nextW >= liveEnd) nextW = DEAD;
}

/**
 * The one window starting in (p, pn] of a step of four codes (at most 60 bits) starting at p, element i, with
 * pair entries e1, e2: its first code start is the first of the step's code starts at or after it.
 */
function windowInStep(p: i32, pn: i32, e1: u64, e2: u64, i: i32): void {
  const s1 = p + <i32>((e1 >>> 40) & 0xff);
  const s2 = p + <i32>((e1 >>> 32) & 0xff);
  const s3 = s2 + <i32>((e2 >>> 40) & 0xff);
  const w = nextW;
  const start = s1 >= w ? s1 : s2 >= w ? s2 : s3 >= w ? s3 : pn;
  const j = s1 >= w ? 1 : s2 >= w ? 2 : s3 >= w ? 3 : 4;
  putWindow(<u32>(start - w), i + j);
}

/** Sign/mantissa nibbles of the chunk's elements (spec §2, §9): byte j = nibble 2j << 4 | nibble 2j + 1. */
function packNibbles(len: i32): void {
  const end = <usize>len;
  const blocksEnd = end & ~(<usize>15);
  let i: usize = 0;
  for (; i < blocksEnd; i += 16) {
    if (ASC_FEATURE_SIMD) {
      const v = v128.load(i, ENC_IN);
      const q = v128.or(v128.and(v, i8x16.splat(7)), v128.and(i16x8.shr_u(v, 4), i8x16.splat(8)));
      // 16-bit lane k = q(2k) | q(2k + 1) << 8 -> q(2k) << 4 | q(2k + 1), then narrowed to bytes.
      const pairs = v128.or(v128.and(i16x8.shl(q, 4), i16x8.splat(0xf0)), i16x8.shr_u(q, 8));
      v128.store64_lane(i >>> 1, i8x16.narrow_i16x8_u(pairs, pairs), 0, ENC_NIB);
    } else {
      store<u32>(i >>> 1, packWord(load<u64>(i, ENC_IN)), ENC_NIB);
      store<u32>(i >>> 1, packWord(load<u64>(i, ENC_IN + 8)), ENC_NIB + 4);
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
 * The chunk's `len` elements, whose codes start at bit pRel (0..63) after pBase; windows at or past `live` (bits -
 * pBase, clamped) are dead. Returns the final partial byte's value (the host ORs it into byte (p1 - pBase) >> 3)
 * or -1 when the chunk ends on a byte boundary; RESULT[0] = p1 - pBase, RESULT[1] = block positions written,
 * RESULT[2] = gap bytes touched.
 */
export function encodeChunk(len: i32, pRel: i32, live: i32, threads: i32, firstPhase: i32, firstParity: i32): i32 {
  T = threads;
  phase = firstPhase;
  parity = firstParity;
  liveEnd = live;
  posCount = 0;
  window = 1;
  nextW = 64 < live ? 64 : DEAD;
  const gapBytes = ((pRel + 16 * len) >>> 7) + 2;
  memory.fill(ENC_GAPS, 0, <usize>gapBytes);
  packNibbles(len);
  let p = pRel;
  let at = <usize>(p >>> 3);
  let acc: u64 = 0; // pending bits, MSB-aligned; the first accBits of them are the byte's earlier bits (zero here)
  let accBits = <u64>(p & 7);
  const quadsEnd = len & ~3;
  let i = 0;
  for (; i < quadsEnd; i += 4) {
    const w = load<u32>(<usize>i, ENC_IN);
    const e1 = load<u64>(<usize>(((w >>> 3) & 15) | ((w >>> 7) & 0xf0)) << 3, ENC_PAIRS);
    const e2 = load<u64>(<usize>(((w >>> 19) & 15) | ((w >>> 23) & 0xf0)) << 3, ENC_PAIRS);
    const l1 = (e1 >>> 32) & 0xff;
    const l2 = (e2 >>> 32) & 0xff;
    const l = l1 + l2;
    if (l <= 56) {
      acc |= ((<u64><u32>e1 << l2) | <u64><u32>e2) << (64 - accBits - l);
      accBits += l;
    } else {
      acc |= <u64><u32>e1 << (64 - accBits - l1);
      accBits += l1;
      store<u64>(ENC_EX_REV_END - 8 - at, acc);
      at += <usize>(accBits >>> 3);
      acc <<= accBits & ~7;
      accBits &= 7;
      acc |= <u64><u32>e2 << (64 - accBits - l2);
      accBits += l2;
    }
    store<u64>(ENC_EX_REV_END - 8 - at, acc);
    at += <usize>(accBits >>> 3);
    acc <<= accBits & ~7;
    accBits &= 7;
    const pn = p + <i32>l;
    if (pn >= nextW) windowInStep(p, pn, e1, e2, i);
    p = pn;
  }
  for (; i < len; i++) {
    const v = <u32>load<u8>(<usize>i, ENC_IN);
    const x = (v >>> 3) & 15;
    const l = <u64>lengthOf(x);
    acc |= <u64>codeOf(x) << (64 - accBits - l);
    accBits += l;
    store<u64>(ENC_EX_REV_END - 8 - at, acc);
    at += <usize>(accBits >>> 3);
    acc <<= accBits & ~7;
    accBits &= 7;
    const pn = p + <i32>l;
    if (pn >= nextW) windows(p, pn, v, i);
    p = pn;
  }
  unreverse(<usize>(p >>> 3) + 1);
  store<i32>(RESULT, p);
  store<i32>(RESULT + 4, posCount);
  store<i32>(RESULT + 8, gapBytes);
  return accBits > 0 ? <i32>(acc >>> 56) : -1;
}
