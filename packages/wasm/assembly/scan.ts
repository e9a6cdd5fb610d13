/**
 * The encoder's first pass (spec §12.1) over one chunk of FP8 bytes in ENC_IN at a time: the exponent histogram,
 * four exponents per counter bump, and the content CRC-32C (§10) carried from chunk to chunk. The host reads the
 * 16 counts (HIST) after the last chunk; chunks need no histograms of their own, since the second pass writes them
 * in order, each starting where the previous one's codes ended.
 */
import { crcByte } from './crc';
import { CRC_TABLE, ENC_IN, ENC_QUAD_HIST, HIST } from './layout';
import { getCrcState, setCrcState } from './decode';

const COLUMN_SUMS: usize = HIST + 64; // 256 u32 scratch of scanHistogram

/** Byte offset in ENC_QUAD_HIST of the quad of exponents of the four FP8 bytes of `w` (little-endian). */
// @ts-ignore: decorator
@inline function quadOffset(w: u32): usize {
  return <usize>(((w >>> 1) & 0x3c) | ((w >>> 5) & 0x3c0) | ((w >>> 9) & 0x3c00) | ((w >>> 13) & 0x3c000));
}

/**
 * crc.ts's crc16 (slicing-by-16, spec §10) with each table index taken as byte << 2 straight from the word (one
 * shift and one mask) and the table's base in the load's constant offset: four instructions per byte instead of six.
 */
// @ts-ignore: decorator
@inline function crcBlock(c: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  const a = c ^ w0;
  return (
    load<u32>((w1 << 2) & 0x3fc, CRC_TABLE + 11 * 1024) ^ load<u32>((w1 >>> 6) & 0x3fc, CRC_TABLE + 10 * 1024) ^
    load<u32>((w1 >>> 14) & 0x3fc, CRC_TABLE + 9 * 1024) ^ load<u32>((w1 >>> 22) & 0x3fc, CRC_TABLE + 8 * 1024) ^
    load<u32>((w2 << 2) & 0x3fc, CRC_TABLE + 7 * 1024) ^ load<u32>((w2 >>> 6) & 0x3fc, CRC_TABLE + 6 * 1024) ^
    load<u32>((w2 >>> 14) & 0x3fc, CRC_TABLE + 5 * 1024) ^ load<u32>((w2 >>> 22) & 0x3fc, CRC_TABLE + 4 * 1024) ^
    load<u32>((w3 << 2) & 0x3fc, CRC_TABLE + 3 * 1024) ^ load<u32>((w3 >>> 6) & 0x3fc, CRC_TABLE + 2 * 1024) ^
    load<u32>((w3 >>> 14) & 0x3fc, CRC_TABLE + 1 * 1024) ^ load<u32>((w3 >>> 22) & 0x3fc, CRC_TABLE) ^
    load<u32>((a << 2) & 0x3fc, CRC_TABLE + 15 * 1024) ^ load<u32>((a >>> 6) & 0x3fc, CRC_TABLE + 14 * 1024) ^
    load<u32>((a >>> 14) & 0x3fc, CRC_TABLE + 13 * 1024) ^ load<u32>((a >>> 22) & 0x3fc, CRC_TABLE + 12 * 1024)
  );
}

// @ts-ignore: decorator
@inline function bump(offset: usize): void {
  store<u32>(offset, load<u32>(offset, ENC_QUAD_HIST) + 1, ENC_QUAD_HIST);
}

/** Whether ENC_QUAD_HIST is all zero: memory starts zeroed, and scanHistogram zeroes the counts it adds up. */
let quadsZero = true;

/** Starts a histogram: zero quad counts (ENC_QUAD_HIST) and exponent counts (HIST[0..16), u32). */
export function scanStart(): void {
  if (!quadsZero) memory.fill(ENC_QUAD_HIST, 0, 65536 * 4);
  quadsZero = true;
  memory.fill(HIST, 0, 64);
}

/**
 * The chunk's exponents into the histogram, and the CRC state over its bytes. Each group of four elements bumps
 * one counter of ENC_QUAD_HIST (one increment per four exponents; repeated values rarely hit the same counter back
 * to back); a chunk's last len % 16 exponents go straight into HIST. scanHistogram adds the quads to HIST; the
 * host calls it at least once per 2^30 elements, so no u32 count overflows.
 */
export function scanChunk(len: i32): void {
  quadsZero = false;
  let c = getCrcState();
  const end = <usize>len;
  const blocksEnd = end & ~(<usize>15);
  let i: usize = 0;
  for (; i < blocksEnd; i += 16) {
    const w0 = load<u32>(i, ENC_IN);
    const w1 = load<u32>(i, ENC_IN + 4);
    const w2 = load<u32>(i, ENC_IN + 8);
    const w3 = load<u32>(i, ENC_IN + 12);
    if (ASC_FEATURE_SIMD) {
      // (Masks from memory, as in prepare, made this loop slower: V8 then spilled registers.)
      const v = v128.load(i, ENC_IN);
      const q = v128.or(
        v128.or(v128.and(i32x4.shr_u(v, 1), i32x4.splat(0x3c)), v128.and(i32x4.shr_u(v, 5), i32x4.splat(0x3c0))),
        v128.or(v128.and(i32x4.shr_u(v, 9), i32x4.splat(0x3c00)), v128.and(i32x4.shr_u(v, 13), i32x4.splat(0x3c000))),
      );
      bump(<usize>i32x4.extract_lane(q, 0));
      bump(<usize>i32x4.extract_lane(q, 1));
      bump(<usize>i32x4.extract_lane(q, 2));
      bump(<usize>i32x4.extract_lane(q, 3));
    } else {
      bump(quadOffset(w0));
      bump(quadOffset(w1));
      bump(quadOffset(w2));
      bump(quadOffset(w3));
    }
    c = crcBlock(c, w0, w1, w2, w3);
  }
  for (; i < end; i++) {
    const v = <u32>load<u8>(i, ENC_IN);
    const at = HIST + (<usize>((v >>> 3) & 15) << 2);
    store<u32>(at, load<u32>(at) + 1);
    c = crcByte(c, v);
  }
  setCrcState(c);
}

/**
 * Adds ENC_QUAD_HIST to HIST[0..16): quad q = e0 | e1 << 4 | e2 << 8 | e3 << 12 adds its count to each of its four
 * exponents. Row r (q >> 8 = e2 | e3 << 4) sums to the count of r as the pair (e2, e3), column k (q & 255) to the
 * count of k as the pair (e0, e1). The quad counts are left zero. Call scanStart before scanning on.
 */
export function scanHistogram(): void {
  memory.fill(COLUMN_SUMS, 0, 1024);
  for (let r: usize = 0; r < 256; r++) {
    const row = ENC_QUAD_HIST + (r << 10);
    let n: u32 = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = i32x4.splat(0);
      let sum = zero;
      for (let k: usize = 0; k < 1024; k += 16) {
        const v = v128.load(row + k);
        v128.store(row + k, zero);
        sum = i32x4.add(sum, v);
        v128.store(COLUMN_SUMS + k, i32x4.add(v128.load(COLUMN_SUMS + k), v));
      }
      n = <u32>(i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3));
    } else {
      // Two u32 counts per u64 (counts and sums stay below 2^32, so no carry crosses lanes).
      let sum: u64 = 0;
      for (let k: usize = 0; k < 1024; k += 8) {
        const v = load<u64>(row + k);
        store<u64>(row + k, 0);
        sum += v;
        store<u64>(COLUMN_SUMS + k, load<u64>(COLUMN_SUMS + k) + v);
      }
      n = <u32>sum + <u32>(sum >>> 32);
    }
    addPair(r, n);
  }
  for (let k: usize = 0; k < 256; k++) addPair(k, load<u32>(COLUMN_SUMS + (k << 2)));
  quadsZero = true;
}

// @ts-ignore: decorator
@inline function addPair(pair: usize, n: u32): void {
  const a = HIST + ((pair & 15) << 2);
  const b = HIST + ((pair >>> 4) << 2);
  store<u32>(a, load<u32>(a) + n);
  store<u32>(b, load<u32>(b) + n);
}
