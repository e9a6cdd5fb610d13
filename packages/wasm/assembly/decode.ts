/**
 * Phase C of spec §11.2 (steps 17-19) on one chunk of whole blocks, whose sections the host has copied in:
 * POS_IN (output positions relative to the chunk's first block, one more than its blocks), GAPS_IN (its gap bytes,
 * plus the byte of the next block's first window), EX_IN (its exponent bytes from its first window, plus up to 16
 * lookahead bytes of section 3), NIB_IN (the nibble bytes of its elements). Output goes to OUT[0, nOut).
 *
 * The bitstream is first copied byte-reversed (EX_REV) so that little-endian loads read it MSB-first. Blocks are
 * decoded LANES at a time, one lane per block (generated/lanes.ts; a lane whose block ends takes the chunk's next
 * one); each lane's last codes, and codes longer than 12 bits, one at a time (slowCode), which checks its window
 * crossing at once; every fast step stores its bit position in its window's slot of the crossing log, and after
 * the lanes checkCrossings checks, per window, the last fast step that started there (the gap chain of §8.3, with
 * the same result as the sequential reference: the first code start at or after each live window's start must be
 * that window's start + its gap, and a block's first window must see its output position of codes before it).
 * Then one pass merges the
 * sign/mantissa nibbles (§9) into the exponent bytes and continues the content CRC-32C (§10).
 */
import { crc16, crcByte, crcUpdate } from './crc';
import { fastLane1, fastLanes8, GENERATED_LANES } from './generated/lanes';
import { EX_IN, EX_REV_END, GAP_BYTES, GAPS_IN, LANE_STATE, LANES, LOG, META_TABLE, NIB_IN, OUT, POS_IN } from './layout';
import { symbolOf } from './tables';

export const FLAG_GAP: i32 = 1;
export const FLAG_POS: i32 = 2;

// Lane state offsets (the generated loops use the first three).
const ST_PO: usize = LANE_STATE; // u64 per lane
const ST_PFAST: usize = LANE_STATE + 64; // i32 per lane: last p where a fast step may start (end - 13)
const ST_OFAST: usize = LANE_STATE + 96; // i32 per lane: last o where a fast step may start (oEnd - 8)
const ST_END: usize = LANE_STATE + 256; // i32 per lane: bit where the lane stops
const ST_OEND: usize = LANE_STATE + 288; // i32 per lane: its block's end in the output
const ST_FLAGS: usize = LANE_STATE + 320; // i32 per lane: FLAG_* found

/** Raw CRC-32C state carried from chunk to chunk (the host sets it to 0xffffffff first). */
let crcState: u32 = 0xffffffff;
export function getCrcState(): u32 {
  return crcState;
}
export function setCrcState(c: u32): void {
  crcState = c;
}

let threadsPerBlock: i32 = 1;
let liveBits: i32 = 0;
let gapParity: i32 = 0;

/** Bitstream bytes a .. a + 3 of the chunk as a big-endian word (from the reversed copy). */
// @ts-ignore: decorator
@inline function bigEndian32(a: i32): u32 {
  return load<u32>(EX_REV_END - 4 - <usize>a);
}

/** The byte-reversed copy of EX_IN[0, len) (len rounded up to 16; the host zeroes 32 bytes after its copy). */
function reverseExponents(len: i32): void {
  const end = <usize>((len + 31) & ~15); // and the zero bytes after, so no read sees an earlier chunk
  for (let i: usize = 0; i < end; i += 16) {
    if (ASC_FEATURE_SIMD) {
      const v = v128.load(i, EX_IN);
      v128.store(EX_REV_END - 16 - i, i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    } else {
      store<u64>(EX_REV_END - 8 - i, bswap<u64>(load<u64>(i, EX_IN)));
      store<u64>(EX_REV_END - 16 - i, bswap<u64>(load<u64>(i, EX_IN + 8)));
    }
  }
}

/**
 * GAPS_IN's first `bytes` gap bytes (rounded up to 16) one nibble per byte into GAP_BYTES, high nibble first (spec
 * §8.2: the high nibble holds an even global thread's gap).
 */
function expandGaps(bytes: i32): void {
  for (let i: usize = 0; i < <usize>bytes; i += 16) {
    if (ASC_FEATURE_SIMD) {
      const v = v128.load(i, GAPS_IN);
      const hi = v128.and(i16x8.shr_u(v, 4), i8x16.splat(15));
      const lo = v128.and(v, i8x16.splat(15));
      v128.store(i << 1, i8x16.shuffle(hi, lo, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), GAP_BYTES);
      v128.store(i << 1, i8x16.shuffle(hi, lo, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), GAP_BYTES + 16);
    } else {
      for (let k: usize = 0; k < 16; k++) {
        const b = load<u8>(i + k, GAPS_IN);
        store<u8>((i + k) << 1, b >>> 4, GAP_BYTES);
        store<u8>((i + k) << 1, b & 15, GAP_BYTES + 1);
      }
    }
  }
}

/** Gap of chunk-relative window t. */
// @ts-ignore: decorator
@inline function gapOf(t: i32): u32 {
  return <u32>load<u8>(<usize>(t + gapParity), GAP_BYTES);
}

/**
 * The check of live window `thread` whose start lies `rel` bits (1..16) after a run of codes starting at p (code
 * starts at the set bits of `mask`, the run ending at p + span): the first code start at or after the window's
 * start must be start + gap; at a block's first window the codes before it must number its output position.
 */
function windowCheck(thread: i32, rel: i32, span: i32, mask: u32, codesBefore: i32): i32 {
  const m = (mask | (1 << span)) >>> rel;
  let f = ctz(m) == gapOf(thread) ? 0 : FLAG_GAP;
  if ((thread & (threadsPerBlock - 1)) == 0) {
    const before = codesBefore + popcnt(mask & ((1 << rel) - 1));
    if (before != load<i32>(<usize>(thread / threadsPerBlock) << 2, POS_IN)) f |= FLAG_POS;
  }
  return f;
}

/** Lane j's next code alone (written only inside its block), its window crossing checked; false at the lane's end. */
function slowCode(j: i32): bool {
  const po = load<u64>(ST_PO + (<usize>j << 3));
  const p = <i32>po;
  if (p >= load<i32>(ST_END + (<usize>j << 2))) return false;
  const o = <i32>(po >>> 32);
  const w16 = (bigEndian32(p >>> 3) << (p & 7)) >>> 16;
  const s = symbolOf(w16);
  const len = <i32>(s >>> 4);
  if (o < load<i32>(ST_OEND + (<usize>j << 2))) store<u8>(<usize>o, <u8>((s & 15) << 3), OUT);
  const pn = p + len;
  if ((p ^ pn) > 63) {
    const x = pn & ~63;
    if (x < liveBits) {
      const at = ST_FLAGS + (<usize>j << 2);
      store<i32>(at, load<i32>(at) | windowCheck(x >>> 6, x - p, len, 1, o));
    }
  }
  store<u64>(ST_PO + (<usize>j << 3), <u64><u32>pn | (<u64><u32>(o + 1) << 32));
  return true;
}

/**
 * The gap checks of fast-step crossings in windows [0, windows): per window, the last fast step that started in it
 * (LOG) is the only fast step that can cross into the next window; when it does, the first code start at or after
 * that window's start must be the start + its gap. (Fast steps end before their block's last 13 bits, so they never
 * reach a block's first window: slowCode checks those, with the output position.) A window whose last fast step
 * does not cross is crossed by a code that slowCode decoded and checked.
 */
function checkCrossings(windows: i32): i32 {
  let bad: u32 = 0;
  for (let t = 0; t < windows; t++) {
    const p = load<i32>(<usize>t << 2, LOG);
    if (p < 0) continue;
    const w = bigEndian32(p >>> 3) << (p & 7);
    const m = load<u32>(<usize>(w >>> 20) << 2, META_TABLE);
    const r = p & 63; // p's bit in window t; the step crosses into window t + 1 when r + span >= 64
    const span = <i32>(m & 0xff);
    if (r + span < 64) continue;
    const starts = ((m >>> 8) | (1 << span)) >>> (64 - r);
    bad |= ctz(starts) ^ gapOf(t + 1);
  }
  return bad != 0 ? FLAG_GAP : 0;
}

const ST_BLOCK: usize = LANE_STATE + 352; // i32 per lane: the chunk-relative block it decodes, -1 when idle

let lastP: i32 = 0; // where the chunk's last block's lane ended (bit, element)
let lastO: i32 = 0;

/** Lane j starts block q (the crossing log is left as it is). */
function startLane(j: i32, q: i32, first: i32): void {
  const T = threadsPerBlock;
  const gap = <i32>gapOf(q * T);
  const end = min((q + 1) * 64 * T, liveBits);
  const o = load<i32>(<usize>q << 2, POS_IN);
  const oEnd = load<i32>(<usize>(q + 1) << 2, POS_IN);
  store<u64>(ST_PO + (<usize>j << 3), <u64><u32>(q * 64 * T + gap) | (<u64><u32>o << 32));
  store<i32>(ST_PFAST + (<usize>j << 2), end - 13);
  store<i32>(ST_OFAST + (<usize>j << 2), oEnd - 8);
  store<i32>(ST_END + (<usize>j << 2), end);
  store<i32>(ST_OEND + (<usize>j << 2), oEnd);
  store<i32>(ST_BLOCK + (<usize>j << 2), q);
  // A block's first window is checked by the lane before it (its crossing); block 0's gap must be 0.
  store<i32>(ST_FLAGS + (<usize>j << 2), first && q == 0 && gap != 0 ? FLAG_GAP : 0);
}

const IDLE: i32 = -1;
const COPY: i32 = -2;

/** Fills idle lanes with copies of the lanes still decoding a block; false when none is. */
function copyLanes(width: i32): bool {
  let source = 0;
  let any = false;
  for (let j = 0; j < width; j++) {
    if (load<i32>(ST_BLOCK + (<usize>j << 2)) != IDLE) continue;
    // The next lane (cyclically) that decodes a block.
    let k = 0;
    while (k < width && load<i32>(ST_BLOCK + (<usize>((source + k) % width) << 2)) < 0) k++;
    if (k == width) return any;
    const i = (source + k) % width;
    source = i + 1;
    store<u64>(ST_PO + (<usize>j << 3), load<u64>(ST_PO + (<usize>i << 3)));
    store<i32>(ST_PFAST + (<usize>j << 2), load<i32>(ST_PFAST + (<usize>i << 2)));
    store<i32>(ST_OFAST + (<usize>j << 2), load<i32>(ST_OFAST + (<usize>i << 2)));
    store<i32>(ST_END + (<usize>j << 2), load<i32>(ST_END + (<usize>i << 2)));
    store<i32>(ST_OEND + (<usize>j << 2), load<i32>(ST_OEND + (<usize>i << 2)));
    store<i32>(ST_FLAGS + (<usize>j << 2), 0);
    store<i32>(ST_BLOCK + (<usize>j << 2), COPY);
    any = true;
  }
  for (let j = 0; j < width; j++) if (load<i32>(ST_BLOCK + (<usize>j << 2)) >= 0) any = true;
  return any;
}

/** True when lane j can take no more fast steps. */
function atFastBound(j: i32): bool {
  const po = load<u64>(ST_PO + (<usize>j << 3));
  return ((load<i32>(ST_PFAST + (<usize>j << 2)) - <i32>po) | (load<i32>(ST_OFAST + (<usize>j << 2)) - <i32>(po >>> 32))) < 0;
}

/** Lane j's remaining codes one at a time; returns its FLAG_* bits (stopping at a gap error) and idles it. */
function finishLane(j: i32, nb: i32): i32 {
  const at = ST_FLAGS + (<usize>j << 2);
  while (slowCode(j)) if (load<i32>(at) & FLAG_GAP) return FLAG_GAP;
  if (load<i32>(ST_BLOCK + (<usize>j << 2)) == nb - 1) {
    const po = load<u64>(ST_PO + (<usize>j << 3));
    lastP = <i32>po;
    lastO = <i32>(po >>> 32);
  }
  store<i32>(ST_BLOCK + (<usize>j << 2), IDLE);
  return load<i32>(at);
}

/** True when lane j's next lookup is a code longer than 12 bits. */
function nextIsLong(j: i32): bool {
  const p = <i32>load<u64>(ST_PO + (<usize>j << 3));
  const w = bigEndian32(p >>> 3) << (p & 7);
  return (load<u32>(<usize>(w >>> 20) << 2, META_TABLE) & 0xff) == 0;
}

/**
 * Phase C on the chunk's `nb` blocks (T threads each; bits from the chunk's start to the end of the bitstream
 * `live`, clamped; `parity` = global index of its first window & 1; `exLen` = exponent bytes copied in). `first`/`last`:
 * the chunk holds the stream's first/last block. Returns FLAG_* (stops at the first gap error); with `withCrc`, continues the CRC state over
 * the output unless a position error was found.
 *
 * LANES lanes run interleaved; a lane that reaches its block's end takes the chunk's next block, so lanes run
 * alone (fastLane1) only for the chunk's last blocks.
 */
export function decodeChunk(nb: i32, T: i32, live: i32, parity: i32, first: i32, last: i32, nOut: i32, nibParity: i32, withCrc: i32, exLen: i32): i32 {
  reverseExponents(exLen);
  threadsPerBlock = T;
  liveBits = live;
  gapParity = parity;
  const windows = nb * T;
  memory.fill(LOG, 0xff, <usize>windows << 2);
  expandGaps((windows + 3) >> 1);
  let flags = 0;
  let next = 0;
  const width = min(LANES, nb);
  for (let j = 0; j < width; j++) startLane(j, next++, first);
  if (width == GENERATED_LANES) {
    let refilling = true;
    while (refilling) {
      if (fastLanes8() != 0) {
        // A lane met a code longer than 12 bits: decode it (each lane whose next lookup is long), then go on.
        let f = 0;
        for (let j = 0; j < width; j++) {
          if (!atFastBound(j) && nextIsLong(j)) slowCode(j);
          f |= load<i32>(ST_FLAGS + (<usize>j << 2));
        }
        if (f & FLAG_GAP) return FLAG_GAP;
        continue;
      }
      // Lanes at the end of their block finish it and take the next one, while there is one; a copy of a lane
      // just goes idle (its original, in the same state, finishes the block).
      for (let j = 0; j < width; j++) {
        if (!atFastBound(j)) continue;
        if (load<i32>(ST_BLOCK + (<usize>j << 2)) < 0) {
          store<i32>(ST_BLOCK + (<usize>j << 2), IDLE);
          continue;
        }
        flags |= finishLane(j, nb);
        if (flags & FLAG_GAP) return FLAG_GAP;
        if (next < nb) startLane(j, next++, first);
      }
      // No block left: idle lanes copy the state of lanes still decoding, so that the remaining blocks still run
      // interleaved (a copy writes the same bytes and logs the same crossings as its original).
      if (next >= nb) refilling = copyLanes(width);
    }
  }
  for (let j = 0; j < width; j++) {
    if (load<i32>(ST_BLOCK + (<usize>j << 2)) < 0) continue;
    while (fastLane1(j) != 0) slowCode(j);
    flags |= finishLane(j, nb);
    if (flags & FLAG_GAP) return FLAG_GAP;
  }
  flags |= checkCrossings(windows);
  if (flags & FLAG_GAP) return FLAG_GAP;
  if (last) {
    // The last lane must end exactly at `bits` (gap chain) having decoded exactly n codes (positions).
    if (lastP != live) return FLAG_GAP;
    if (lastO != nOut) flags |= FLAG_POS;
  }
  crcState = mergeNibbles(crcState, nOut, nibParity, withCrc != 0 && (flags & FLAG_POS) == 0);
  return flags;
}

/** ORs element e's sign/mantissa nibble into OUT[e] (spec §2, §9) for e in [e0, e1), continuing the CRC. */
function mergeBytes(c: u32, e0: i32, e1: i32, nibParity: i32, withCrc: bool): u32 {
  for (let e = e0; e < e1; e++) {
    const g = e + nibParity;
    const v = <u32>load<u8>(<usize>(g >>> 1), NIB_IN);
    const q = g & 1 ? v & 15 : v >>> 4;
    const b = <u32>load<u8>(<usize>e, OUT) | ((q & 8) << 4) | (q & 7);
    store<u8>(<usize>e, <u8>b, OUT);
    if (withCrc) c = crcByte(c, b);
  }
  return c;
}

/** Elements merged before their CRC is taken (a multiple of 16). */
const MERGE_TILE: i32 = 4096;

function mergeNibbles(c: u32, nOut: i32, nibParity: i32, withCrc: bool): u32 {
  // With an odd first element its nibble is a low nibble: one element alone, then whole nibble bytes.
  const head = min(nibParity, nOut);
  c = mergeBytes(c, 0, head, nibParity, withCrc);
  const blocksEnd = head + ((nOut - head) & ~15);
  // Tiles that stay in the first-level cache: merged with SIMD, then their CRC read back with word loads (faster than
  // taking the merged vectors' lanes apart).
  for (let e = head; e < blocksEnd; e += MERGE_TILE) {
    const end = min(e + MERGE_TILE, blocksEnd);
    mergeBlocks(0, e, end, <usize>((e + nibParity) >>> 1), false);
    if (withCrc) c = crcUpdate(c, OUT + <usize>e, <usize>(end - e));
  }
  return mergeBytes(c, blocksEnd, nOut, nibParity, withCrc);
}

/** 16 elements per step from 8 nibble bytes: SIMD where the build has it, else two 64-bit words. */
function mergeBlocks(c: u32, e0: i32, e1: i32, nib: usize, withCrc: bool): u32 {
  for (let e = <usize>e0; e < <usize>e1; e += 16) {
    if (ASC_FEATURE_SIMD) {
      const bytes = v128.load64_zero(nib, NIB_IN);
      const hi = v128.and(i16x8.shr_u(bytes, 4), i8x16.splat(15));
      const lo = v128.and(bytes, i8x16.splat(15));
      // Element 2i is byte i's high nibble, element 2i + 1 its low one.
      const q = i8x16.shuffle(hi, lo, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const add = v128.or(v128.and(q, i8x16.splat(7)), v128.and(i16x8.shl(q, 4), i8x16.splat(-128)));
      const merged = v128.or(v128.load(e, OUT), add);
      v128.store(e, merged, OUT);
      if (withCrc) {
        c = crc16(c, i32x4.extract_lane(merged, 0), i32x4.extract_lane(merged, 1), i32x4.extract_lane(merged, 2), i32x4.extract_lane(merged, 3));
      }
    } else {
      const a = spread(load<u32>(nib, NIB_IN));
      const b = spread(load<u32>(nib, NIB_IN + 4));
      const wa = load<u64>(e, OUT) | a;
      const wb = load<u64>(e, OUT + 8) | b;
      store<u64>(e, wa, OUT);
      store<u64>(e, wb, OUT + 8);
      if (withCrc) c = crc16(c, <u32>wa, <u32>(wa >>> 32), <u32>wb, <u32>(wb >>> 32));
    }
    nib += 8;
  }
  return c;
}

/** Four nibble bytes (element order) to the sign/mantissa bits of 8 FP8 bytes, little-endian. */
// @ts-ignore: decorator
@inline function spread(v: u32): u64 {
  let x = <u64>v;
  x = (x | (x << 16)) & 0x0000ffff0000ffff;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ff; // byte 2i = nibble byte i
  const q = ((x >>> 4) & 0x000f000f000f000f) | ((x & 0x000f000f000f000f) << 8);
  return (q & 0x0707070707070707) | ((q & 0x0808080808080808) << 4);
}
