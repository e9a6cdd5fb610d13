// ecf8_core.h -- the per-thread logic of the ECF8 v1 decode kernel (spec/ecf8-v1.md §8.3, §13), written once as
// __host__ __device__ functions. The CUDA kernel (ecf8_cuda.cu) and the host block emulator (ecf8_emulator.cpp)
// both call exactly these functions; only the block-level glue (barriers, the scan, atomics) differs.
#pragma once

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define ECF8_HD __host__ __device__ __forceinline__
#else
#define ECF8_HD inline
#endif

#if defined(__CUDACC__)
#define ECF8_UNROLL _Pragma("unroll")
#else
#define ECF8_UNROLL
#endif

namespace ecf8 {

constexpr uint32_t kHeaderSize = 88;  // §4.1
constexpr uint32_t kBytesPerThread = 8;  // B (§4.1: the only value in version 1)
constexpr uint32_t kWindowBits = 8 * kBytesPerThread;  // 64
constexpr uint32_t kMaxThreadsPerBlock = 1024;  // §4.1

// Phase-C flags OR-ed into the device error word (§13 step 7). The host maps them to codes by precedence.
constexpr uint32_t kFlagGapMismatch = 1u;       // §11.2 step 17
constexpr uint32_t kFlagPositionMismatch = 2u;  // §11.2 step 18
constexpr uint32_t kFlagContentMismatch = 4u;   // §11.2 step 19

// ---------------------------------------------------------------------------------------------------------------
// Multi-symbol table (an implementation detail, not part of the format: §6 allows any method that decodes the same
// codes). Indexed by the next kMultiBits bits of the bitstream; an entry lists the codes that lie wholly inside those
// bits (greedily from the first, at most kMultiMaxSyms), so one lookup usually yields 4-5 symbols. Codes longer than
// what is left fall back to the spec's table cascade (§6). Layout of a 32-bit entry (0 when n = 0):
//   bits 0..3   consumed     total code length of the n symbols (1..12); bit 4 is 0, so the entry itself can be
//                            used as a funnel-shift amount (the hardware uses its low 5 bits)
//   bits 5..7   n            number of symbols (0 when the first code is longer than kMultiBits)
//   bits 8..11  last_start   bit offset of the n-th symbol's code (consumed - its length)
//   bits 12..31 symbols      symbol i in bits 12+4i .. 15+4i (so `e >> 12` is the symbols as packed nibbles)
// ---------------------------------------------------------------------------------------------------------------
constexpr uint32_t kMultiBits = 12;
constexpr uint32_t kMultiEntries = 1u << kMultiBits;
constexpr uint32_t kMultiMaxSyms = 5;

ECF8_HD uint32_t me_consumed(uint32_t e) { return e & 15u; }
ECF8_HD uint32_t me_count(uint32_t e) { return (e >> 5) & 7u; }
ECF8_HD uint32_t me_nibble_bits(uint32_t e) { return (e >> 3) & 0x1Cu; }  // 4 n
ECF8_HD uint32_t me_last_start(uint32_t e) { return (e >> 8) & 15u; }
ECF8_HD uint32_t me_symbols(uint32_t e) { return e >> 12; }
ECF8_HD uint32_t me_symbol(uint32_t e, uint32_t i) { return (e >> (12 + 4 * i)) & 15u; }
ECF8_HD uint32_t me_make(uint32_t n, uint32_t consumed, uint32_t last_start, uint32_t syms) {
  return n == 0 ? 0u : (consumed | (n << 5) | (last_start << 8) | (syms << 12));
}

// ---------------------------------------------------------------------------------------------------------------
// Bit helpers that match CUDA intrinsics exactly.
// ---------------------------------------------------------------------------------------------------------------

// (hi:lo << (s & 31)) >> 32, i.e. __funnelshift_l(lo, hi, s).
ECF8_HD uint32_t funnel_l(uint32_t lo, uint32_t hi, uint32_t s) {
#if defined(__CUDA_ARCH__)
  return __funnelshift_l(lo, hi, s);
#else
  return (uint32_t)(((((uint64_t)hi << 32) | lo) << (s & 31u)) >> 32);
#endif
}

// __byte_perm(x, y, sel) for selectors whose nibbles are 0..7 (no sign replication).
ECF8_HD uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t sel) {
#if defined(__CUDA_ARCH__)
  return __byte_perm(x, y, sel);
#else
  uint64_t v = ((uint64_t)y << 32) | x;
  uint32_t r = 0;
  for (int i = 0; i < 4; i++) r |= (uint32_t)((v >> (8 * ((sel >> (4 * i)) & 7u))) & 0xFFu) << (8 * i);
  return r;
#endif
}

// Bytes of a little-endian-loaded 32-bit word in big-endian order (first byte most significant, §1).
ECF8_HD uint32_t bswap32(uint32_t x) { return byte_perm(x, 0, 0x0123); }

// ---------------------------------------------------------------------------------------------------------------
// Thread window (§7, §13 steps 1-2): the first 12 of the 16 bytes at t*B as a 96-bit MSB-first bit buffer, consumed
// from the top. A thread peeks at most 16 bits at a position below 64, so bits 80..95 are never needed; the last 4
// bytes of the lookahead are not loaded.
// ---------------------------------------------------------------------------------------------------------------
struct BitReader {
  uint32_t a, b, c;  // a holds the next 32 bits (most significant first), then b, c; zeros shift in.
};

// w0..w2: the first three 32-bit words of the window as they sit in memory (little-endian loads).
ECF8_HD BitReader reader_from_words(uint32_t w0, uint32_t w1, uint32_t w2) {
  BitReader r;
  r.a = bswap32(w0);
  r.b = bswap32(w1);
  r.c = bswap32(w2);
  return r;
}

// Consume k & 31 bits (callers pass 0 <= k <= 16, or a multi-symbol entry whose low 5 bits are its length).
ECF8_HD void reader_skip(BitReader &r, uint32_t k) {
  r.a = funnel_l(r.b, r.a, k);
  r.b = funnel_l(r.c, r.b, k);
  r.c = funnel_l(0u, r.c, k);  // r.c << (k & 31)
}

// Gap of global thread g (§8.2): high nibble for even g, low nibble for odd g.
ECF8_HD uint32_t gap_of(const uint8_t *gaps, uint64_t g) {
  uint32_t byte = gaps[g >> 1];
  return (g & 1u) ? (byte & 15u) : (byte >> 4);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoded symbols are kept as packed nibbles: symbol i of a thread is bits 4(i mod 8) .. 4(i mod 8)+3 of its word
// i / 8. While decoding, a thread appends to a 32-bit word `cur` and flushes full words to its column of a scratch
// array (word k at col[k * stride]; stride = T, so the 32 lanes of a warp always hit 32 different banks).
// The fill level is kept as mul = 2^fill, so appending is a multiply-add and the spill a high multiply (the kernel is
// bound by the integer ALU pipe; these run on the FMA pipe), and advancing it is a rotate.
// ---------------------------------------------------------------------------------------------------------------
struct NibbleSink {
  uint32_t cur;    // the word being filled
  uint32_t mul;    // 2^fill, fill = bits used in cur (0..31)
  uint32_t bits;   // nibble bits appended (4 c_t)
  uint32_t *col;   // where the next full word goes
  uint32_t stride;
};

ECF8_HD uint32_t mul_hi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return (uint32_t)(((uint64_t)a * b) >> 32);
#endif
}

// Append the nb/4 symbols in the low nb bits of s (4 <= nb <= 20, s has no bits above nb). Branch-free: the lanes of
// a warp fill their words at different times.
ECF8_HD void sink_append(NibbleSink &k, uint32_t s, uint32_t nb) {
  const uint32_t v = k.cur + s * k.mul;     // cur | (s << fill)
  const uint32_t spill = mul_hi(s, k.mul);  // s >> (32 - fill), 0 when fill = 0
  const uint32_t m2 = funnel_l(k.mul, k.mul, nb);  // rotate: 2^((fill + nb) mod 32)
  const bool full = m2 < k.mul;  // fill + nb >= 32 (nb < 32)
  k.bits += nb;
  if (full) *k.col = v;
  k.col += full ? k.stride : 0u;
  k.cur = full ? spill : v;
  k.mul = m2;
}

// One careful step of the decode loop at the reader's position p < limit, for the window's last bits and for codes
// longer than kMultiBits: takes a multi-symbol entry's symbols that start before `limit` (all of them when the last
// one does; else the first ones, their lengths from the §6 length table, and then p reaches the limit and the thread
// is done), or one symbol through the §6 cascade when the entry is empty. Returns the number of bits consumed.
ECF8_HD uint32_t decode_step(BitReader &r, uint32_t p, uint32_t limit, const uint8_t *lut, const uint8_t *len_table,
                             const uint32_t *mtab, NibbleSink &sink) {
  const uint32_t e = mtab[r.a >> (32 - kMultiBits)];
  uint32_t k, s, nb;
  if (e != 0u && p + me_last_start(e) < limit) {
    k = me_consumed(e);
    s = me_symbols(e);
    nb = me_nibble_bits(e);
  } else if (e != 0u) {
    // Symbol 0 starts at p < limit; symbol i + 1 starts after the first i + 1 lengths.
    const uint32_t room = limit - p, n = me_count(e);
    k = 0u;
    nb = 0u;
ECF8_UNROLL
    for (uint32_t i = 0; i < kMultiMaxSyms; i++) {
      if (i < n && k < room) {
        k += len_table[me_symbol(e, i)];
        nb += 4u;
      }
    }
    s = me_symbols(e) & ((1u << nb) - 1u);  // nb <= 16 here: the last symbol is left out
  } else {
    // One symbol through the spec's table cascade (§6): its code is longer than kMultiBits.
    const uint32_t w = r.a >> 16;
    uint32_t x = lut[w >> 8];
    if (x >= 240u) x = lut[256u * (256u - x) + (w & 255u)];
    k = len_table[x];
    s = x;
    nb = 4u;
  }
  sink_append(sink, s, nb);
  reader_skip(r, k);
  return k;
}

// Per-thread decode (§8.3, §13 steps 2 and 5, done once): starting at bit `p` (= gap, relative to the window),
// decode symbols while p < limit (= min(64, bits - w_t)), appending them to the thread's scratch column. Returns the
// count c_t (<= 64: every code starts at a distinct bit below 64, so at most 8 words are written); *end = e_t - w_t.
//   lut: the spec's tables (§6), n_luts * 256 bytes; mtab: the multi-symbol table above.
// Invariants from validation (phases A, B): the code is complete, so every table entry is a used symbol with a code
// length in 1..16; p <= limit <= 64 at entry; the reader holds 96 bits, so peeking 16 bits at p <= 63 never runs
// out. Whatever the bitstream holds, the loop ends after at most 64 symbols.
ECF8_HD uint32_t thread_decode(BitReader r, uint32_t p, uint32_t limit, const uint8_t *lut, uint32_t n_luts,
                               const uint32_t *mtab, uint32_t *col, uint32_t stride, uint32_t *end) {
  const uint8_t *len_table = lut + 256u * (n_luts - 1u);
  NibbleSink sink{0u, 1u, 0u, col, stride};
  reader_skip(r, p);  // the reader starts at the window's first bit; p = gap <= 15
  // Main loop: while a whole multi-symbol lookup lies before the limit, no per-symbol limit check is needed. Codes
  // longer than kMultiBits (entry 0, rare) leave it for one step of the careful loop.
  const int32_t main_limit = (int32_t)limit - (int32_t)kMultiBits;
  while ((int32_t)p <= main_limit) {
    const uint32_t e = mtab[r.a >> (32 - kMultiBits)];
    if (e == 0u) {
      p += decode_step(r, p, limit, lut, len_table, mtab, sink);
      continue;
    }
    sink_append(sink, me_symbols(e), me_nibble_bits(e));
    reader_skip(r, e);  // the entry's low 5 bits are its length
    p += me_consumed(e);
  }
  while (p < limit) p += decode_step(r, p, limit, lut, len_table, mtab, sink);
  if (sink.mul != 1u) *sink.col = sink.cur;  // a partly filled last word
  *end = p;
  return sink.bits >> 2;
}

// Gap-chain check of §8.3 for a live thread with end e (relative to its window): returns true when it holds.
//   first: it is global thread 0; gap: its own gap; left = bits - w_t, clamped to at most 2^20 (so left > 64 iff the
//   next thread is live, and then next_gap is its gap).
ECF8_HD bool chain_ok(bool first, uint32_t gap, uint32_t end, uint32_t left, uint32_t next_gap) {
  if (first && gap != 0) return false;  // w_0 + gap_0 = e_{-1} = 0
  if (left > kWindowBits) return end == kWindowBits + next_gap;  // w_{t+1} + gap_{t+1} = e_t
  return end == left;  // the last live thread ends at bits
}

// ---------------------------------------------------------------------------------------------------------------
// Staging (§13 steps 5-6). After the block scan, thread t moves its c_t nibbles from its scratch column to nibbles
// [u, u + c_t) of the block's staging buffer (32-bit words, nibble i at bits 4(i mod 8) of word i / 8), where
// u = h + o_t and h = (address of dst[P0]) mod 16, so 16-nibble chunks of the staging buffer line up with
// 16-byte-aligned destination chunks. Its first and last words may be shared with the neighbouring threads, so every
// word is OR-ed in (the buffer is zero: the write-back clears every word it reads, and the kernel clears it once at
// the start).
// ---------------------------------------------------------------------------------------------------------------
template <typename OrWord>
ECF8_HD void place_symbols(const uint32_t *col, uint32_t stride, uint32_t count, uint32_t u, uint32_t *stage,
                           OrWord or_word) {
  if (count == 0u) return;
  const uint32_t m = (count + 7u) >> 3;  // scratch words
  const uint32_t sh = 4u * (u & 7u);
  const uint32_t nout = ((u + count - 1u) >> 3) - (u >> 3) + 1u;  // 1 .. m + 1 staging words
  uint32_t *out = stage + (u >> 3);
  uint32_t prev = 0u;
  for (uint32_t j = 0; j < nout; j++) {
    const uint32_t cw = j < m ? *col : 0u;
    col += stride;
    or_word(out + j, funnel_l(prev, cw, sh));  // (cw << sh) | (prev >> (32 - sh))
    prev = cw;
  }
}

// FP8 byte from exponent symbol x and nibble q (§2).
ECF8_HD uint8_t join_byte(uint32_t x, uint32_t q) {
  return (uint8_t)(((q & 8u) << 4) | (x << 3) | (q & 7u));
}

ECF8_HD uint32_t bitsel(uint32_t m, uint32_t a, uint32_t b) { return (a & m) | (b & ~m); }  // one LOP3

// Eight FP8 bytes from eight exponent symbols X (nibble i = element i) and the four nibble-section bytes Q that hold
// the same elements (little-endian: byte j = element 2j in its high nibble, 2j + 1 in its low nibble, §9).
ECF8_HD void join8(uint32_t X, uint32_t Q, uint32_t &lo, uint32_t &hi) {
  const uint32_t E = bitsel(0x78787878u, X << 3, bitsel(0x80808080u, Q, Q >> 4));  // elements 0, 2, 4, 6
  const uint32_t O = bitsel(0x78787878u, X >> 1, bitsel(0x80808080u, Q << 4, Q));  // elements 1, 3, 5, 7
  lo = byte_perm(E, O, 0x5140);
  hi = byte_perm(E, O, 0x7362);
}

// ---------------------------------------------------------------------------------------------------------------
// Write-back (§13 step 6). Chunk j covers staging nibbles [16j, 16j + 16) (words 2j and 2j + 1), i.e. block
// elements [16j - h, 16j - h + 16) clipped to [0, cnt). Full chunks are merged with their nibbles in registers and
// stored with one 16-byte store; the (at most two) clipped chunks go byte by byte. The chunk's staging words are
// cleared after reading. Writes only dst[P0 .. P0 + cnt).
//   nib: the nibble section (§9), nib_size its size in bytes (a multiple of 8).
// ---------------------------------------------------------------------------------------------------------------
ECF8_HD uint32_t writeback_chunks(uint32_t h, uint32_t cnt) { return (h + cnt + 15u) >> 4; }

// The nibble bytes of chunk j when it is full and its destination chunk starts at an element index that is a multiple
// of 16 (then they are one aligned 8-byte word): the kernel loads them before decoding the block, so their latency is
// hidden behind the decode. Returns false (nothing loaded) otherwise.
template <typename LoadPair>
ECF8_HD bool writeback_prefetch(uint32_t j, uint32_t h, uint32_t cnt, uint64_t P0, const uint8_t *nib,
                                LoadPair load_pair, uint32_t &q0, uint32_t &q1) {
  const int32_t k0 = (int32_t)(16u * j) - (int32_t)h;  // j <= 4 T + 1, so no overflow
  const uint64_t o = P0 + (uint64_t)(int64_t)k0;
  if (k0 < 0 || (uint32_t)k0 + 16u > cnt || (o & 15u) != 0u) return false;
  load_pair((const uint32_t *)(nib + (o >> 1)), q0, q1);
  return true;
}

// have_q: q0, q1 already hold the chunk's nibble bytes (writeback_prefetch returned true for it).
template <typename LoadWord, typename LoadPair, typename StorePair, typename Store16>
ECF8_HD void writeback_chunk(uint32_t j, uint32_t h, uint32_t cnt, uint64_t P0, uint32_t *stage, const uint8_t *nib,
                             uint64_t nib_size, uint8_t *dst, LoadWord load_word, LoadPair load_pair,
                             StorePair store_pair, Store16 store16, bool have_q = false, uint32_t pq0 = 0,
                             uint32_t pq1 = 0) {
  uint32_t x0, x1;
  load_pair(stage + 2u * j, x0, x1);
  store_pair(stage + 2u * j, 0u, 0u);
  const int32_t k0 = (int32_t)(16u * j) - (int32_t)h;  // block element of staging nibble 16j (j <= 4 T + 1)
  const bool full = k0 >= 0 && (uint32_t)k0 + 16u <= cnt;
  // Element index of the chunk's first byte (dst + oc is 16-aligned); below 0 only for a clipped first chunk of
  // block 0, whose bytes before element 0 are neither loaded nor written.
  const int64_t oc = (int64_t)P0 + k0;
  uint32_t q0 = pq0, q1 = pq1;
  if (have_q) {
  } else if (full && (oc & 15) == 0) {
    // The usual case (dst + offset 16-byte aligned): the 8 nibble bytes are one aligned 8-byte word.
    load_pair((const uint32_t *)(nib + (oc >> 1)), q0, q1);
  } else {
    // Three aligned words around the nibble bytes of elements oc .. oc + 15 (independent loads: one latency).
    const int64_t nb = oc >> 1;  // nibble byte of element oc (floor)
    const int64_t base = nb & ~(int64_t)3;
    uint32_t w[3];
ECF8_UNROLL
    for (int i = 0; i < 3; i++) {
      const int64_t at = base + 4 * i;
      w[i] = (at >= 0 && (uint64_t)at + 4u <= nib_size) ? bswap32(load_word(nib + at)) : 0u;  // inside the section
    }
    const uint32_t s = (uint32_t)(8 * (nb - base)) + 4u * (uint32_t)(oc & 1);  // bit shift, 0..28
    q0 = bswap32(funnel_l(w[1], w[0], s));  // bytes of elements oc .. oc+7 in memory order
    q1 = bswap32(funnel_l(w[2], w[1], s));
  }
  uint32_t v[4];
  join8(x0, q0, v[0], v[1]);
  join8(x1, q1, v[2], v[3]);
  uint8_t *d = dst + P0 + k0;  // dst + oc; only bytes inside the block's range are written
  if (full) {
    store16(d, v[0], v[1], v[2], v[3]);
  } else {
    // A clipped chunk (at most two per block): its bytes in [0, cnt), stored one by one.
ECF8_UNROLL
    for (int32_t i = 0; i < 16; i++)
      if (k0 + i >= 0 && k0 + i < (int32_t)cnt) d[i] = (uint8_t)(v[i >> 2] >> (8 * (i & 3)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CRC-32C arithmetic (§10) for combining checksums of pieces: polynomials over GF(2) in the reflected
// representation (bit 31 = x^0), as in zlib's crc32_combine.
// ---------------------------------------------------------------------------------------------------------------
constexpr uint32_t kCrcPoly = 0x82F63B78u;  // reflected CRC-32C polynomial

// a * b mod P.
ECF8_HD uint32_t crc_mulmod(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) p ^= b;
    b = (b & 1u) ? (b >> 1) ^ kCrcPoly : (b >> 1);
  }
  return p;
}

// x^(8 * len) mod P: the operator that appends len zero bytes.
ECF8_HD uint32_t crc_x8n(uint64_t len) {
  uint32_t p = 1u << 31;  // x^0
  uint32_t sq = 1u << 23;  // x^8
  while (len) {
    if (len & 1u) p = crc_mulmod(sq, p);
    sq = crc_mulmod(sq, sq);
    len >>= 1;
  }
  return p;
}

// CRC of A||B from crc(A), crc(B) and len(B) (finalised CRCs, or raw CRCs with zero initial value: both work).
ECF8_HD uint32_t crc_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  return crc_mulmod(crc_x8n(len_b), crc_a) ^ crc_b;
}

// Finalised CRC-32C of a message of `len` bytes from its raw CRC (initial value 0, no final XOR).
ECF8_HD uint32_t crc_finalize_raw(uint32_t raw, uint64_t len) {
  return raw ^ crc_mulmod(crc_x8n(len), 0xFFFFFFFFu) ^ 0xFFFFFFFFu;
}

// Byte-at-a-time raw CRC update with a 256-entry table (table[i] = CRC of byte i).
ECF8_HD uint32_t crc_update_byte(uint32_t crc, uint32_t byte, const uint32_t *table) {
  return (crc >> 8) ^ table[(crc ^ byte) & 0xFFu];
}

}  // namespace ecf8
