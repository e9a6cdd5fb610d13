// ECF8 v1 block decoder (spec/ecf8-v1.md §13), one workgroup per ECF8 block.
//
// A dispatch decodes one *chunk*: a run of consecutive blocks [b0, b1) whose sections the host has copied into
// `inp` (see src/plan.ts for the layout). All indices below are chunk-relative: thread `t` is global thread
// b0*T + t, element `e` is global element pos[b0] + e, bit `p` is global bit 64*b0*T + p.
//
// ECF8 thread -> invocation mapping: the workgroup has WG invocations (WG = min(T, device limit), but at least 8);
// invocation `i` runs the R = max(1, T / WG) consecutive ECF8 threads i*R .. i*R + R - 1 of the block, one after
// the other. When T < WG (T = 1, 2 or 4) invocations T .. WG - 1 only take part in the scan, with a count of 0.
//
// Per ECF8 thread (spec §8.3, §13):
//   1. load the 16 bytes at t*8 (window + lookahead) as four byte-swapped (big-endian) u32 words;
//   2. count: decode from the gap while the position is below min(64, bits - w_t) -> c_t, e_t;
//   3. gap chain: e_t must equal w_{t+1} + gap_{t+1} (or bits for the last live thread); gap_0 must be 0;
//   4. a workgroup exclusive scan of the invocations' counts gives output offsets; the block total must equal
//      pos[b+1] - pos[b];
//   5. decode again, merge each exponent with its nibble, and write whole u32 words of output.
//
// Output words (WGSL has no 8-bit storage): output byte `outByte0 + e` holds element e. A word belongs to the
// thread that owns the element in its first byte (for the very first word of an unaligned output, the element in
// its first byte *inside* the output). The owner writes all four bytes: after its own elements it keeps decoding
// the bitstream (at most 3 more codes, which the gap chain guarantees are the next elements, whichever thread or
// block owns them; they lie inside its 16-byte load). So every word has one writer and no atomics are needed;
// only words that straddle the ends of the output are read-modify-written under a byte mask.
//
// Every index is clamped so that a hostile stream that passed host validation (phases A and B) cannot read or
// write out of bounds. Phase-C failures are OR-ed into err[0]: bit 0 = ECF8_GAP_MISMATCH, bit 1 =
// ECF8_POSITION_MISMATCH; the host applies the precedence of spec §11.2.

override WG: u32 = 256u;

struct Params {
  T: u32,           // ECF8 threads per block
  R: u32,           // ECF8 threads per invocation (T / WG)
  bitsRel: u32,     // exponent_bit_count - first bit of the chunk (saturated)
  firstChunk: u32,  // 1 when the chunk starts at global thread 0
  posOff: u32,      // word offset of the chunk-relative output positions (nb + 1 u32)
  gapOff: u32,      // word offset of the gaps (byte 0 = gaps of threads 0 and 1)
  expOff: u32,      // word offset of the exponent bytes (byte 0 = first byte of the chunk's first window)
  expEnd: u32,      // one past the last exponent word
  nibOff: u32,      // word offset of the nibble bytes
  nibEnd: u32,      // one past the last nibble word
  nibBase: u32,     // nibble index of element 0 within the nibble bytes
  outByte0: u32,    // byte index of element 0 within the output binding
  elemLimit: u32,   // elements (from 0) that may be written: min(n - pos[b0], span + 3)
  lutWords: u32,    // n_luts * 64
  lenOff: u32,      // byte offset of the length table within the tables
  gapLimit: u32,    // number of gaps present (chunk threads + 1, or fewer at the stream's end)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> inp: array<u32>;
@group(0) @binding(2) var<storage, read_write> outw: array<u32>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;

const MAX_LUT_WORDS: u32 = 576u; // 9 tables of 256 bytes (spec §6: at most 7 subtables)

var<workgroup> lut: array<u32, MAX_LUT_WORDS>;
var<workgroup> scan: array<u32, 2u * WG>;

// The current thread's 16 bytes as big-endian words: bit p of the window is bit 31 - (p & 31) of word p >> 5.
var<private> a0: u32;
var<private> a1: u32;
var<private> a2: u32;
var<private> a3: u32;

fn bswap(x: u32) -> u32 {
  return (x << 24u) | ((x & 0xff00u) << 8u) | ((x >> 8u) & 0xff00u) | (x >> 24u);
}

fn loadWindow(t: u32) {
  let base = P.expOff + 2u * t;
  let last = max(P.expEnd, P.expOff + 1u) - 1u;
  a0 = bswap(inp[min(base, last)]);
  a1 = bswap(inp[min(base + 1u, last)]);
  a2 = bswap(inp[min(base + 2u, last)]);
  a3 = bswap(inp[min(base + 3u, last)]);
}

// The 16 bits starting at window-relative bit p (first bit most significant). p is clamped to 112 so that only
// the 128 loaded bits are read; valid streams never need more (a code starts below bit 64 + 15 + 2*16 = 111).
fn peek16(p: u32) -> u32 {
  let q = min(p, 112u);
  let k = q >> 5u;
  let r = q & 31u;
  let hi = select(select(select(a3, a2, k == 2u), a1, k == 1u), a0, k == 0u);
  let lo = select(select(select(0u, a3, k == 2u), a2, k == 1u), a1, k == 0u);
  let v = (hi << r) | select(0u, lo >> (32u - r), r != 0u);
  return v >> 16u;
}

fn lutByte(i: u32) -> u32 {
  let j = min(i, 4u * MAX_LUT_WORDS - 1u);
  return (lut[j >> 2u] >> ((j & 3u) << 3u)) & 0xffu;
}

// Decodes the code at window-relative bit p with the table cascade (spec §6): symbol | (length << 8).
fn symbolAt(p: u32) -> u32 {
  let w = peek16(p);
  var x = lutByte(w >> 8u);
  if (x >= 240u) {
    x = lutByte(256u * (256u - x) + (w & 0xffu));
  }
  return x | (lutByte(P.lenOff + x) << 8u);
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

// Live: the window starts before `bits` (the host keeps 64 * (chunk threads + 1) below 2^32).
fn isLive(t: u32) -> bool {
  return 64u * t < P.bitsRel;
}

// Window-relative bit where thread t stops counting: min(64, bits - w_t).
fn limitOf(t: u32) -> u32 {
  return min(64u, P.bitsRel - 64u * t);
}

var<private> nibWordIdx: u32 = 0xffffffffu;
var<private> nibWord: u32;

fn nibbleOf(e: u32) -> u32 {
  let idx = P.nibBase + e;
  let byte = idx >> 1u;
  let wi = min(P.nibOff + (byte >> 2u), max(P.nibEnd, P.nibOff + 1u) - 1u);
  if (wi != nibWordIdx) {
    nibWordIdx = wi;
    nibWord = inp[wi];
  }
  let v = (nibWord >> ((byte & 3u) << 3u)) & 0xffu;
  return select(v >> 4u, v & 0x0fu, (idx & 1u) == 1u);
}

fn flush(wordIdx: u32, value: u32, mask: u32) {
  if (mask == 0u) {
    return;
  }
  let n = arrayLength(&outw);
  if (wordIdx >= n) {
    return;
  }
  if (mask == 0xffffffffu) {
    outw[wordIdx] = value;
  } else {
    outw[wordIdx] = (outw[wordIdx] & ~mask) | (value & mask);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Tables into workgroup memory.
  let lw = min(P.lutWords, MAX_LUT_WORDS);
  for (var i = li; i < lw; i += WG) {
    lut[i] = inp[i];
  }
  workgroupBarrier();

  let b = wid.x;
  let blockBase = inp[P.posOff + b];
  let blockEnd = max(inp[P.posOff + b + 1u], blockBase);
  let t0 = b * P.T + li * P.R;
  // Workgroups are at least 8 wide (see workgroupSizeFor in src/backend.ts); invocations past T idle.
  let nr = select(0u, P.R, li * P.R < P.T);
  var flags = 0u;

  // Count pass (§13 steps 1-3).
  var mine = 0u;
  for (var k = 0u; k < nr; k++) {
    let t = t0 + k;
    if (!isLive(t)) {
      continue;
    }
    loadWindow(t);
    let start = gapOf(t);
    if (t == 0u && P.firstChunk == 1u && start != 0u) {
      flags |= 1u;
    }
    let limit = limitOf(t);
    var p = start;
    var c = 0u;
    while (p < limit) {
      p += symbolAt(p) >> 8u;
      c++;
    }
    mine += c;
    // Gap chain: where the next live window starts decoding, or `bits` for the last live thread.
    var expected = P.bitsRel - 64u * t;
    if (isLive(t + 1u)) {
      expected = 64u + gapOf(t + 1u);
    }
    if (p != expected) {
      flags |= 1u;
    }
  }

  // Exclusive scan of the invocations' counts (§13 step 4), Hillis-Steele with ping-pong buffers.
  scan[li] = mine;
  workgroupBarrier();
  var src = 0u;
  for (var d = 1u; d < WG; d <<= 1u) {
    var v = scan[src + li];
    if (li >= d) {
      v += scan[src + li - d];
    }
    scan[(WG - src) + li] = v;
    src = WG - src;
    workgroupBarrier();
  }
  let inclusive = scan[src + li];
  let total = scan[src + WG - 1u];
  if (li == 0u && blockBase + total != blockEnd) {
    flags |= 2u;
  }

  // Decode pass (§13 step 5). Own elements are e .. e + c - 1; a word whose first byte holds an own element inside
  // [blockBase, blockEnd) is written by this thread (completed by continuation decoding); other bytes are skipped.
  var e = blockBase + inclusive - mine;
  for (var k = 0u; k < nr; k++) {
    let t = t0 + k;
    if (!isLive(t)) {
      continue;
    }
    loadWindow(t);
    let limit = limitOf(t);
    var p = gapOf(t);
    var word = 0u;
    var mask = 0u;
    var wordIdx = 0u;
    var owned = false;
    var c = 0u;
    var nOwn = 0u;
    let eStart = e;
    loop {
      let own = p < limit;
      let byteAt = P.outByte0 + e;
      if (own) {
        if ((byteAt & 3u) == 0u || (e == 0u && P.firstChunk == 1u)) {
          if (owned) {
            flush(wordIdx, word, mask);
          }
          owned = e < blockEnd;
          wordIdx = byteAt >> 2u;
          word = 0u;
          mask = 0u;
        }
      } else if (!owned || (byteAt & 3u) == 0u || e >= P.elemLimit || c >= 67u) {
        break;
      }
      let s = symbolAt(p);
      if (owned && e < P.elemLimit) {
        let q = nibbleOf(e);
        let sh = (byteAt & 3u) << 3u;
        word |= (((q & 8u) << 4u) | ((s & 0xffu) << 3u) | (q & 7u)) << sh;
        mask |= 0xffu << sh;
      }
      p += s >> 8u;
      e++;
      c++;
      nOwn += select(0u, 1u, own);
    }
    if (owned) {
      flush(wordIdx, word, mask);
    }
    e = eStart + nOwn;
  }

  if (flags != 0u) {
    atomicOr(&err[0], flags);
  }
}
