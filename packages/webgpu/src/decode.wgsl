// ECF8 v1 block decoder (spec/ecf8-v1.md §13), the design of the CUDA kernel (cuda/src/ecf8_cuda.cu) in WGSL.
//
// A dispatch decodes one *chunk*: a run of consecutive blocks [b0, b1) whose sections the host has copied into
// `inp` (src/plan.ts gives the layout). All indices below are chunk-relative: thread `t` is global thread
// b0*T + t, element `e` is global element pos[b0] + e, bit `p` is global bit 64*b0*T + p.
//
// Workgroups are persistent: workgroup `w` loads the tables into workgroup memory once, then decodes blocks w,
// w + gridStride, ... Invocation `li` runs the R = T / WG consecutive ECF8 threads li*R .. li*R + R - 1 of a block
// (R <= 8, see src/kernel.ts); when T < WG (T = 1, 2, 4) invocations T .. WG - 1 only take part in the scan.
//
// Output words have one writer each (WGSL has no 8-bit stores, and WebGPU forbids two writable bindings of one
// range, so no atomics on the output): a word belongs to the ECF8 thread, and so to the block, that owns the element
// in its first byte (the very first word of the output, whose first byte may precede element 0, to the owner of
// element 0). Its owner writes all four bytes: the elements after its own come from *continuation* codes, the (at
// most 3) codes that follow its last one in the bitstream — by the gap chain, the next elements, whatever thread or
// block owns them; they lie in its 16-byte load. Words at the two ends of the output are written under byte masks.
//
// Per block:
//   1. decode (§13 steps 1-3, once): each ECF8 thread loads the 16 bytes at its window, decodes from its gap while
//      the position is below min(64, bits - w_t) with the multi-symbol table (the §6 cascade for long codes and the
//      window's last bits) and appends the 4-bit symbols to its private scratch; checks its gap-chain link; then
//      decodes its continuation codes (every thread on the direct path; the block's last thread, as many as the
//      block's last word needs, on the staged path) into the same scratch;
//   2. scan (§13 step 4): an exclusive scan of the invocations' counts (subgroup operations when the `subgroups`
//      feature is on and the subgroups are laid out along local_invocation_index, else workgroup memory); invocation
//      0 checks the block total against pos[b+1] - pos[b];
//   3a. STAGED (when workgroup storage holds 8T + 4 staging words): each thread ORs its symbols into the staging
//      buffer at nibble h + o_t (h = byte address of the block's first element mod 16, so staging chunk j of 16
//      nibbles is one 16-byte-aligned output chunk); barrier; invocation li writes chunks li, li + WG, ...: it reads
//      and clears its two staging words, merges them word-wise with the 8 nibble-section bytes of the same elements
//      and stores one vec4<u32>. The (at most two) chunks at the block's ends are written word by word, only the
//      words the block owns. No barrier at the end of a block: every staging word read is cleared by its reader, and
//      the next block's first staging writes come after its scan's barriers.
//   3b. DIRECT (compatibility path, when the staging buffer does not fit): each thread writes the words it owns,
//      from its scratch and the nibble section, one element at a time.
//
// Every index is clamped so that a hostile stream that passed host validation (phases A and B) cannot read or
// write out of bounds; no byte outside [0, n) of this call's output range is written. Phase-C failures are OR-ed into
// err[0]: bit 0 = ECF8_GAP_MISMATCH, bit 1 = ECF8_POSITION_MISMATCH; the host applies the precedence of spec §11.2.
//
// The file is preceded by one of two preludes (src/kernel.ts): with the `subgroups` feature (`enable subgroups;`,
// sgInclusiveAdd = subgroupInclusiveAdd, ...) or without (identities, never called). Both define the entry point
// `main`, which calls decodeMain.

override WG: u32 = 256u;          // invocations per workgroup
override R: u32 = 1u;             // ECF8 threads per invocation (1..8)
override STAGED: bool = true;     // path 3a (true) or 3b (false)
override STAGE_WORDS: u32 = 4u;   // 8T + 4 when STAGED, else 4 (unused)

struct Params {
  T: u32,           // ECF8 threads per block
  nBlocks: u32,     // blocks in this chunk
  bitsRel: u32,     // exponent_bit_count - first bit of the chunk (saturated)
  firstChunk: u32,  // 1 when the chunk starts at global thread 0
  posOff: u32,      // word offset of the chunk-relative output positions (nBlocks + 1 u32)
  gapOff: u32,      // word offset of the gaps (byte 0 = gaps of threads 0 and 1)
  expOff: u32,      // word offset of the exponent bytes (byte 0 = first byte of the chunk's first window)
  expEnd: u32,      // one past the last exponent word
  nibOff: u32,      // word offset of the nibble bytes
  nibEnd: u32,      // one past the last nibble word
  nibBase: u32,     // nibble index of element 0 within the nibble bytes
  outByte0: u32,    // byte index of element 0 within the output range (vec4 view, then tail)
  gridStride: u32,  // workgroups in this dispatch
  lutWords: u32,    // n_luts * 64
  lenOff: u32,      // byte offset of the length table within the §6 tables
  gapLimit: u32,    // number of gaps present (chunk threads + 1, or fewer at the stream's end)
  mtabOff: u32,     // word offset of the multi-symbol table
  elemLimit: u32,   // elements (from 0) that may be written: min(n - pos[b0], span + 3)
  vecWords: u32,    // words of the output range in the vec4 view; the rest are in the tail view
  tailWords: u32,   // words of the output range in the tail view
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> inp: array<u32>;
// The output range, as two non-overlapping bindings: 16-byte stores up to the last binding-aligned offset, then the
// (short) tail as u32 words. Word w of the range is outv[w / 4][w % 4] below vecWords, else outt[w - vecWords].
@group(0) @binding(2) var<storage, read_write> outv: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> outt: array<u32>;
@group(0) @binding(4) var<storage, read_write> err: array<atomic<u32>>;

const MAX_LUT_WORDS: u32 = 576u;  // 9 tables of 256 bytes (spec §6: at most 7 subtables)
const MULTI_BITS: u32 = 10u;
const MULTI_ENTRIES: u32 = 1024u;
const MULTI_MAX_SYMBOLS: u32 = 5u;
const SLOT_WORDS: u32 = 9u;       // one ECF8 thread: at most 64 symbols + 3 continuation symbols, 4 bits each
const SCRATCH_WORDS: u32 = 72u;   // 8 ECF8 threads
const CONTINUATION: u32 = 3u;

var<workgroup> lut: array<u32, MAX_LUT_WORDS>;
var<workgroup> mtab: array<u32, MULTI_ENTRIES>;
// Scan words: two halves used by alternate blocks, each 2 WG words (ping-pong of the workgroup-memory scan).
var<workgroup> scanBuf: array<u32, 4u * WG>;
var<workgroup> stage: array<atomic<u32>, STAGE_WORDS>;
var<workgroup> sgLayoutBad: atomic<u32>;
var<workgroup> sgUse: u32;

// Per-invocation state.
var<private> scratch: array<u32, SCRATCH_WORDS>;
var<private> flags: u32;
// The bit reader: the next 128 bits of the window, first bit most significant in `ra`; zeros shift in.
var<private> ra: u32;
var<private> rb: u32;
var<private> rc: u32;
var<private> rd: u32;
// The nibble sink: the word being filled, its fill level in bits, the scratch word it goes to.
var<private> sinkCur: u32;
var<private> sinkFill: u32;
var<private> sinkAt: u32;

fn bswap(x: u32) -> u32 {
  return (x << 24u) | ((x & 0xff00u) << 8u) | ((x >> 8u) & 0xff00u) | (x >> 24u);
}

// (hi:lo << s) >> 32 for s in 0..31 (no shift by 32: WGSL takes shift amounts modulo 32).
fn funnel(lo: u32, hi: u32, s: u32) -> u32 {
  return (hi << s) | ((lo >> 1u) >> (31u - s));
}

fn lutByte(i: u32) -> u32 {
  let j = min(i, 4u * MAX_LUT_WORDS - 1u);
  return (lut[j >> 2u] >> ((j & 3u) << 3u)) & 0xffu;
}

fn gapOf(t: u32) -> u32 {
  if (t >= P.gapLimit) {
    return 0u;
  }
  let byte = t >> 1u;
  let word = inp[min(P.gapOff + (byte >> 2u), arrayLength(&inp) - 1u)];
  let v = (word >> ((byte & 3u) << 3u)) & 0xffu;
  return select(v >> 4u, v & 0x0fu, (t & 1u) == 1u);
}

// Consumes k bits (0..16).
fn readerSkip(k: u32) {
  ra = funnel(rb, ra, k);
  rb = funnel(rc, rb, k);
  rc = funnel(rd, rc, k);
  rd = rd << k;
}

// Appends the nb / 4 symbols in the low nb bits of s (4 <= nb <= 20) to the scratch.
fn sinkAppend(s: u32, nb: u32) {
  let v = sinkCur | (s << sinkFill);
  if (sinkFill + nb >= 32u) {
    scratch[min(sinkAt, SCRATCH_WORDS - 1u)] = v;
    sinkAt += 1u;
    sinkCur = s >> (32u - sinkFill);  // sinkFill >= 12 here
  } else {
    sinkCur = v;
  }
  sinkFill = (sinkFill + nb) & 31u;
}

// One symbol through the §6 table cascade at the reader's position; returns its code length.
fn cascadeStep() -> u32 {
  let w = ra >> 16u;
  var x = lutByte(w >> 8u);
  if (x >= 240u) {
    x = lutByte(256u * (256u - x) + (w & 0xffu));
  }
  let k = lutByte(P.lenOff + x);
  sinkAppend(x, 4u);
  readerSkip(k);
  return k;
}

// One careful step at position p < limit (the window's last bits, and codes longer than MULTI_BITS): the symbols of
// the multi-symbol entry that start before `limit`, or one symbol through the §6 cascade. Returns the bits consumed.
fn decodeStep(p: u32, limit: u32) -> u32 {
  let e = mtab[ra >> (32u - MULTI_BITS)];
  if (e == 0u) {
    return cascadeStep();
  }
  var k = 0u;
  var s = 0u;
  var nb = 0u;
  if (p + ((e >> 8u) & 15u) < limit) {
    k = e & 15u;
    s = e >> 12u;
    nb = (e >> 3u) & 0x1cu;
  } else {
    let room = limit - p;
    let n = (e >> 5u) & 7u;
    for (var i = 0u; i < MULTI_MAX_SYMBOLS; i++) {
      if (i < n && k < room) {
        k += lutByte(P.lenOff + ((e >> (12u + 4u * i)) & 15u));
        nb += 4u;
      }
    }
    s = (e >> 12u) & ((1u << nb) - 1u);  // nb <= 16: the entry's last symbol is left out
  }
  sinkAppend(s, nb);
  readerSkip(k);
  return k;
}

// Phase 1 for chunk-relative ECF8 thread t in scratch slot `slot`: decode once, check the gap chain (§8.3), then
// decode `cont` continuation codes. Returns the count c_t (continuation codes not included).
fn decodeThread(t: u32, slot: u32, cont: u32) -> u32 {
  if (64u * t >= P.bitsRel) {
    return 0u;  // dead: owns nothing (§7)
  }
  let left = P.bitsRel - 64u * t;
  let limit = min(64u, left);
  let gap = gapOf(t);
  if (t == 0u && P.firstChunk == 1u && gap != 0u) {
    flags |= 1u;
  }
  let last = max(P.expEnd, P.expOff + 1u) - 1u;
  let base = P.expOff + 2u * t;
  ra = bswap(inp[min(base, last)]);
  rb = bswap(inp[min(base + 1u, last)]);
  rc = bswap(inp[min(base + 2u, last)]);
  rd = bswap(inp[min(base + 3u, last)]);
  readerSkip(gap);
  sinkCur = 0u;
  sinkFill = 0u;
  sinkAt = SLOT_WORDS * slot;
  var p = gap;
  // Main loop: while a whole lookup lies before the limit, take every symbol of the entry.
  while (p + MULTI_BITS <= limit) {
    let e = mtab[ra >> (32u - MULTI_BITS)];
    if (e == 0u) {
      p += cascadeStep();
      continue;
    }
    sinkAppend(e >> 12u, (e >> 3u) & 0x1cu);
    readerSkip(e & 15u);
    p += e & 15u;
  }
  while (p < limit) {
    p += decodeStep(p, limit);
  }
  let count = (32u * (sinkAt - SLOT_WORDS * slot) + sinkFill) >> 2u;
  // Gap chain: where the next live window starts decoding, or `bits` for the last live thread.
  var expected = left;
  if (left > 64u) {
    expected = 64u + gapOf(t + 1u);
  }
  if (p != expected) {
    flags |= 1u;
  }
  // Continuation codes (p <= 79 here, so 3 codes of <= 16 bits lie in the 128 loaded bits).
  for (var i = 0u; i < cont; i++) {
    cascadeStep();
  }
  if (sinkFill != 0u) {
    scratch[min(sinkAt, SCRATCH_WORDS - 1u)] = sinkCur;
  }
  return count;
}

// Exclusive scan of x over the workgroup (§13 step 4) in half `half` of scanBuf; returns (exclusive, total).
fn scanWorkgroup(x: u32, li: u32, half: u32) -> vec2<u32> {
  let h0 = half * 2u * WG;
  scanBuf[h0 + li] = x;
  workgroupBarrier();
  var src = 0u;
  for (var d = 1u; d < WG; d <<= 1u) {
    var v = scanBuf[h0 + src + li];
    if (li >= d) {
      v += scanBuf[h0 + src + li - d];
    }
    scanBuf[h0 + (WG - src) + li] = v;
    src = WG - src;
    workgroupBarrier();
  }
  return vec2<u32>(scanBuf[h0 + src + li] - x, scanBuf[h0 + src + WG - 1u]);
}

// The same with subgroup operations: inclusive scans inside subgroups, their totals through workgroup memory.
// Subgroup s holds invocations s * sgs .. s * sgs + sgs - 1 (checked at the start of the kernel).
fn scanSubgroups(x: u32, li: u32, half: u32, sgi: u32, sgs: u32) -> vec2<u32> {
  let h0 = half * 2u * WG;
  let inclusive = sgInclusiveAdd(x);
  let mySg = li / sgs;
  let nsg = (WG + sgs - 1u) / sgs;
  if (sgi == sgs - 1u || li == WG - 1u) {
    scanBuf[h0 + mySg] = inclusive;
  }
  workgroupBarrier();
  var before = 0u;
  var total = 0u;
  for (var b = 0u; b < nsg; b += sgs) {
    let j = b + sgi;
    let v = select(0u, scanBuf[h0 + min(j, 2u * WG - 1u)], j < nsg);
    before += sgAdd(select(0u, v, j < mySg));
    total += sgAdd(v);
  }
  return vec2<u32>(before + inclusive - x, total);
}

// 3a: ORs `count` symbols of scratch slot `slot` into the staging buffer from nibble u.
fn placeSymbols(slot: u32, count: u32, u: u32) {
  if (count == 0u) {
    return;
  }
  let m = (count + 7u) >> 3u;
  let sh = 4u * (u & 7u);
  let nout = ((u + count - 1u) >> 3u) - (u >> 3u) + 1u;
  var prev = 0u;
  for (var j = 0u; j < nout; j++) {
    let cw = select(0u, scratch[min(SLOT_WORDS * slot + j, SCRATCH_WORDS - 1u)], j < m);
    atomicOr(&stage[min((u >> 3u) + j, STAGE_WORDS - 1u)], funnel(prev, cw, sh));
    prev = cw;
  }
}

// Eight FP8 bytes (§2) from eight symbols X (nibble i = element i) and the four nibble-section bytes Q of the same
// elements (§9: byte j = element 2j in its high nibble, 2j + 1 in its low nibble): elements 0-3 and 4-7 as words.
fn join8(X: u32, Q: u32) -> vec2<u32> {
  let ev = ((X << 3u) & 0x78787878u) | (Q & 0x80808080u) | ((Q >> 4u) & 0x07070707u);  // elements 0, 2, 4, 6
  let od = ((X >> 1u) & 0x78787878u) | ((Q << 4u) & 0x80808080u) | (Q & 0x07070707u);  // elements 1, 3, 5, 7
  let lo = (ev & 0xffu) | ((od & 0xffu) << 8u) | ((ev & 0xff00u) << 8u) | ((od & 0xff00u) << 16u);
  let hi = ((ev >> 16u) & 0xffu) | ((od >> 8u) & 0xff00u) | ((ev >> 8u) & 0xff0000u) | (od & 0xff000000u);
  return vec2<u32>(lo, hi);
}

// The nibble-section word at signed byte offset `at` (a multiple of 4) of the chunk's nibble bytes, or 0 outside.
fn nibbleWord(at: i32) -> u32 {
  if (at < 0) {
    return 0u;
  }
  let wi = P.nibOff + u32(at >> 2);
  return select(0u, inp[min(wi, arrayLength(&inp) - 1u)], wi < P.nibEnd);
}

// Writes `value` to word w of the output range under byte mask `mask` (the word's other bytes are kept). Every
// word has one writer, so the read-modify-write of a partial word races with nothing.
fn storeWord(w: u32, value: u32, mask: u32) {
  if (mask == 0u) {
    return;
  }
  if (w < P.vecWords) {
    let i = min(w >> 2u, arrayLength(&outv) - 1u);
    let c = w & 3u;
    outv[i][c] = select((outv[i][c] & ~mask) | (value & mask), value, mask == 0xffffffffu);
  } else if (w - P.vecWords < P.tailWords) {
    let i = min(w - P.vecWords, arrayLength(&outt) - 1u);
    outt[i] = select((outt[i] & ~mask) | (value & mask), value, mask == 0xffffffffu);
  }
}

// Mask of the bytes to write in the word whose first byte holds chunk element e (signed: the output's first word
// can start before element 0): those of elements in [0, lim).
fn byteMask(e: i32, lim: u32) -> u32 {
  var m = 0u;
  for (var i = 0; i < 4; i++) {
    let el = e + i;
    if (el >= 0 && u32(el) < lim) {
      m |= 0xffu << (8u * u32(i));
    }
  }
  return m;
}

// Whether a block (or thread) whose elements are chunk elements [e0, e1) writes the word whose first byte holds
// chunk element e: it owns that element, or the word is the output's first and e0 is element 0.
fn ownsWord(e: i32, e0: u32, e1: u32) -> bool {
  if (e >= 0) {
    return u32(e) >= e0 && u32(e) < e1;
  }
  return e + 4 > 0 && e0 == 0u && e1 > 0u && P.firstChunk == 1u;
}

// 3a write-back of staging chunk j: block elements k0 .. k0 + 15 with k0 = 16 j - h.
fn writeChunk(j: u32, h: u32, cnt: u32, blockBase: u32) {
  let x0 = atomicExchange(&stage[min(2u * j, STAGE_WORDS - 1u)], 0u);
  let x1 = atomicExchange(&stage[min(2u * j + 1u, STAGE_WORDS - 1u)], 0u);
  let k0 = i32(16u * j) - i32(h);
  // Nibble index of the chunk's first element within the chunk's nibble bytes (negative only before element 0).
  let ni = i32(P.nibBase) + i32(blockBase) + k0;
  var q0 = 0u;
  var q1 = 0u;
  if ((ni & 7) == 0) {
    // The usual case (output 16-byte aligned): the 8 nibble bytes are two aligned words.
    q0 = nibbleWord(ni >> 1);
    q1 = nibbleWord((ni >> 1) + 4);
  } else {
    let nb = ni >> 1;  // nibble byte of the first element (floor)
    let base = nb & ~3;
    let w0 = bswap(nibbleWord(base));
    let w1 = bswap(nibbleWord(base + 4));
    let w2 = bswap(nibbleWord(base + 8));
    let s = u32(8 * (nb - base) + 4 * (ni & 1));
    q0 = bswap(funnel(w1, w0, s));
    q1 = bswap(funnel(w2, w1, s));
  }
  let a = join8(x0, q0);
  let b = join8(x1, q1);
  let w = (P.outByte0 + blockBase + u32(k0 + 16)) / 4u - 4u;  // first word of the chunk (16-byte aligned)
  if (k0 >= 0 && u32(k0) + 16u <= cnt && w + 4u <= P.vecWords) {
    outv[min(w >> 2u, arrayLength(&outv) - 1u)] = vec4<u32>(a.x, a.y, b.x, b.y);
  } else {
    let e = i32(blockBase) + k0;
    let lim = min(blockBase + cnt + CONTINUATION, P.elemLimit);
    let e1 = blockBase + cnt;
    storeWord(w, a.x, select(0u, byteMask(e, lim), ownsWord(e, blockBase, e1)));
    storeWord(w + 1u, a.y, select(0u, byteMask(e + 4, lim), ownsWord(e + 4, blockBase, e1)));
    storeWord(w + 2u, b.x, select(0u, byteMask(e + 8, lim), ownsWord(e + 8, blockBase, e1)));
    storeWord(w + 3u, b.y, select(0u, byteMask(e + 12, lim), ownsWord(e + 12, blockBase, e1)));
  }
}

// The 4 nibble-section bytes holding elements with nibble indices ni .. ni + 7 (signed; 0 outside), in memory order.
fn nibbleBytes(ni: i32) -> u32 {
  let nb = ni >> 1;  // nibble byte of the first element (floor)
  let base = nb & ~3;
  let w0 = bswap(nibbleWord(base));
  let w1 = bswap(nibbleWord(base + 4));
  return bswap(funnel(w1, w0, u32(8 * (nb - base) + 4 * (ni & 1))));
}

// 3b: scratch slot `slot` (a thread with `count` elements from chunk element e, then its continuation) writes the
// words it owns, a word at a time: 4 symbols from its scratch merged with 4 nibbles of the nibble section.
fn writeDirect(slot: u32, count: u32, e: u32) {
  if (count == 0u) {
    return;
  }
  let e1 = e + count;
  let lim = min(e1 + CONTINUATION, P.elemLimit);
  // Words whose first byte holds one of the thread's elements (or the output's first word, for element 0).
  var at = (P.outByte0 + e) & ~3u;  // the word's first byte
  loop {
    let we = i32(at) - i32(P.outByte0);  // chunk element of the word's first byte
    if (we >= i32(e1)) {
      break;
    }
    if (ownsWord(we, e, e1)) {
      // Symbols of elements we .. we + 3 are nibbles si .. si + 3 of the slot (si < 0 only for the output's first word).
      let si = we - i32(e);
      let sh = u32(4 * (si & 7));
      let wi = SLOT_WORDS * slot + u32(max(si, 0) >> 3);
      let s0 = scratch[min(wi, SCRATCH_WORDS - 1u)];
      let s1 = scratch[min(wi + 1u, SCRATCH_WORDS - 1u)];
      var x = (s0 >> sh) | ((s1 << 1u) << (31u - sh));
      if (si < 0) {
        x = s0 << u32(-4 * si);  // the output's first word: element 0 is its byte -si
      }
      let v = join8(x, nibbleBytes(i32(P.nibBase) + we)).x;
      storeWord(at >> 2u, v, byteMask(we, lim));
    }
    at += 4u;
  }
}

fn decodeMain(wid: u32, li: u32, sgi: u32, sgs: u32) {
  // Tables into workgroup memory, once per workgroup.
  let lw = min(P.lutWords, MAX_LUT_WORDS);
  for (var i = li; i < lw; i += WG) {
    lut[i] = inp[i];
  }
  for (var i = li; i < MULTI_ENTRIES; i += WG) {
    mtab[i] = inp[min(P.mtabOff + i, arrayLength(&inp) - 1u)];
  }
  if (STAGED) {
    for (var i = li; i < STAGE_WORDS; i += WG) {
      atomicStore(&stage[i], 0u);
    }
  }
  if (SUBGROUPS) {
    // The subgroup scan needs subgroup s to be invocations s * sgs .. s * sgs + sgs - 1, in lane order.
    let first = sgFirst(li);
    if (first != li - sgi || first % sgs != 0u) {
      atomicOr(&sgLayoutBad, 1u);
    }
  }
  workgroupBarrier();
  if (li == 0u) {
    sgUse = select(0u, 1u, SUBGROUPS && atomicLoad(&sgLayoutBad) == 0u);
  }
  let useSubgroups = workgroupUniformLoad(&sgUse) == 1u;
  flags = 0u;

  var half = 0u;
  for (var b = wid; b < P.nBlocks; b += P.gridStride) {
    let blockBase = inp[P.posOff + b];
    let blockEnd = max(inp[P.posOff + b + 1u], blockBase);
    let cnt = blockEnd - blockBase;
    // Staged: the block's last thread decodes the continuation its last word needs (and no more than exist).
    let needed = (4u - ((P.outByte0 + blockEnd) & 3u)) & 3u;
    let blockCont = min(needed, P.elemLimit - min(blockEnd, P.elemLimit));
    var counts: array<u32, 8>;
    var conts: array<u32, 8>;
    var mine = 0u;
    for (var k = 0u; k < R; k++) {
      let tb = li * R + k;
      var c = 0u;
      var cont = 0u;
      if (tb < P.T) {
        cont = select(select(0u, blockCont, tb == P.T - 1u), CONTINUATION, !STAGED);
        c = decodeThread(b * P.T + tb, k, cont);
      }
      counts[k] = c;
      conts[k] = cont;
      mine += c;
    }
    var sc: vec2<u32>;
    if (useSubgroups) {
      sc = scanSubgroups(mine, li, half, sgi, sgs);
    } else {
      sc = scanWorkgroup(mine, li, half);
    }
    half = 1u - half;
    if (li == 0u && sc.y != cnt) {
      flags |= 2u;
    }
    if (STAGED) {
      let h = (P.outByte0 + blockBase) & 15u;
      var u = h + sc.x;
      for (var k = 0u; k < R; k++) {
        placeSymbols(k, counts[k] + conts[k], u);
        u += counts[k];
      }
      workgroupBarrier();
      let chunks = (h + cnt + blockCont + 15u) >> 4u;
      for (var j = li; j < chunks; j += WG) {
        writeChunk(j, h, cnt, blockBase);
      }
    } else {
      var o = blockBase + sc.x;
      for (var k = 0u; k < R; k++) {
        writeDirect(k, counts[k], o);
        o += counts[k];
      }
    }
  }

  if (flags != 0u) {
    atomicOr(&err[0], flags);
  }
}
