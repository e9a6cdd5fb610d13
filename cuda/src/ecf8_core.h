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
// bits (greedily from the first, at most kMultiMaxSyms), so one lookup usually yields 3-5 symbols. Codes longer than
// what is left fall back to the spec's table cascade (§6). Layout of a 32-bit entry:
//   bits 0..2   n            number of symbols (0 when the first code is longer than kMultiBits)
//   bits 3..6   consumed     total code length of the n symbols
//   bits 7..10  last_start   bit offset of the n-th symbol's code (consumed - its length)
//   bits 12..31 symbols      symbol i in bits 12+4i .. 15+4i
// ---------------------------------------------------------------------------------------------------------------
constexpr uint32_t kMultiBits = 12;
constexpr uint32_t kMultiEntries = 1u << kMultiBits;
constexpr uint32_t kMultiMaxSyms = 5;

ECF8_HD uint32_t me_count(uint32_t e) { return e & 7u; }
ECF8_HD uint32_t me_consumed(uint32_t e) { return (e >> 3) & 15u; }
ECF8_HD uint32_t me_last_start(uint32_t e) { return (e >> 7) & 15u; }
ECF8_HD uint32_t me_symbol(uint32_t e, uint32_t i) { return (e >> (12 + 4 * i)) & 15u; }

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
// Thread window (§7, §13 steps 1-2): the 16 bytes at t*B as a 128-bit MSB-first bit buffer, consumed from the top.
// ---------------------------------------------------------------------------------------------------------------
struct BitReader {
  uint32_t a, b, c, d;  // a holds the next 32 bits (most significant first), then b, c, d; zeros shift in.
};

// w0..w3: the four 32-bit words of the 16-byte load as they sit in memory (little-endian loads).
ECF8_HD BitReader reader_from_words(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
  BitReader r;
  r.a = bswap32(w0);
  r.b = bswap32(w1);
  r.c = bswap32(w2);
  r.d = bswap32(w3);
  return r;
}

// Consume k bits, 0 <= k <= 31.
ECF8_HD void reader_skip(BitReader &r, uint32_t k) {
  r.a = funnel_l(r.b, r.a, k);
  r.b = funnel_l(r.c, r.b, k);
  r.c = funnel_l(r.d, r.c, k);
  r.d = (k >= 32u) ? 0u : (r.d << k);
}

// Gap of global thread g (§8.2): high nibble for even g, low nibble for odd g.
ECF8_HD uint32_t gap_of(const uint8_t *gaps, uint64_t g) {
  uint32_t byte = gaps[g >> 1];
  return (g & 1u) ? (byte & 15u) : (byte >> 4);
}

// Per-thread decode (§8.3, §13 steps 2 and 5): starting at bit `p` (= gap, relative to the window), decode symbols
// while p < limit (= min(64, bits - w_t)). Returns the count c_t; *end = e_t - w_t. When kWrite, writes the i-th
// symbol to out[i] (out has room for 64 bytes: a window of 64 bits starts at most 64 codes, §7).
//   lut:  the spec's tables (§6), n_luts * 256 bytes; mtab: the multi-symbol table above.
// Invariants from validation (phases A, B): the code is complete, so every table entry is a used symbol with a code
// length in 1..16; p <= limit <= 64 at entry; the reader holds 128 bits, so peeking 16 bits at p <= 63 never runs
// out. Whatever the bitstream holds, the loop ends after at most 64 symbols.
template <bool kWrite>
ECF8_HD uint32_t thread_decode(BitReader r, uint32_t p, uint32_t limit, const uint8_t *lut, uint32_t n_luts,
                               const uint32_t *mtab, uint8_t *out, uint32_t *end) {
  const uint8_t *len_table = lut + 256u * (n_luts - 1u);
  uint32_t count = 0;
  reader_skip(r, p);  // the reader starts at the window's first bit; p = gap <= 15
  while (p < limit) {
    uint32_t e = mtab[r.a >> (32 - kMultiBits)];
    uint32_t n = me_count(e);
    uint32_t k;
    if (n != 0u && p + me_last_start(e) < limit) {
      // Every symbol of the entry starts before the limit: take them all.
      if (kWrite) {
ECF8_UNROLL
        for (uint32_t i = 0; i < kMultiMaxSyms; i++)
          if (i < n) out[count + i] = (uint8_t)me_symbol(e, i);
      }
      count += n;
      k = me_consumed(e);
    } else {
      // One symbol through the spec's table cascade (§6).
      uint32_t w = r.a >> 16;
      uint32_t x = lut[w >> 8];
      if (x >= 240u) x = lut[256u * (256u - x) + (w & 255u)];
      k = len_table[x];
      if (kWrite) out[count] = (uint8_t)x;
      count += 1;
    }
    p += k;
    reader_skip(r, k);
  }
  *end = p;
  return count;
}

// Gap-chain check of §8.3 for live thread g with end e (relative to its window): returns true when it holds.
//   gap_g: its own gap; next_gap: gap of g+1 when g+1 is live; bits_left = bits - w_g.
ECF8_HD bool chain_ok(uint64_t g, uint32_t gap_g, uint32_t end, bool next_live, uint32_t next_gap,
                      uint64_t bits_left) {
  if (g == 0 && gap_g != 0) return false;  // w_0 + gap_0 = e_{-1} = 0
  if (next_live) return end == kWindowBits + next_gap;  // w_{g+1} + gap_{g+1} = e_g
  return (uint64_t)end == bits_left;  // the last live thread ends at bits
}

// FP8 byte from exponent symbol x and nibble q (§2).
ECF8_HD uint8_t join_byte(uint32_t x, uint32_t q) {
  return (uint8_t)(((q & 8u) << 4) | (x << 3) | (q & 7u));
}

// Four nibbles (most significant first in the low 16 bits of v16) to four FP8 bytes merged with four exponent
// bytes (x in little-endian byte order = element order).
ECF8_HD uint32_t join_word(uint32_t x4, uint32_t v16) {
  uint32_t t = byte_perm(v16, 0, 0x0011);  // bytes [hi, hi, lo, lo] of v16
  uint32_t q = ((t >> 4) & 0x000F000Fu) | (t & 0x0F000F00u);
  return ((q & 0x08080808u) << 4) | (x4 << 3) | (q & 0x07070707u);
}

// ---------------------------------------------------------------------------------------------------------------
// Write-back (§13 step 6). The block's staging buffer holds the exponent symbol of block element k (global element
// P0 + k) at stage[h + k], where h = (address of dst[P0]) mod 16, so 16-byte chunks of the staging buffer line up
// with 16-byte-aligned destination chunks. Chunk j covers stage[16j, 16j + 16), i.e. block elements
// [16j - h, 16j - h + 16) clipped to [0, cnt). Full chunks are merged with their nibbles in registers and stored with
// one 16-byte store; the (at most two) clipped chunks go byte by byte. Writes only dst[P0 .. P0 + cnt).
//   nib: the nibble section (§9), nib_size its size in bytes (a multiple of 8).
// ---------------------------------------------------------------------------------------------------------------
ECF8_HD uint32_t writeback_chunks(uint32_t h, uint32_t cnt) { return (h + cnt + 15u) >> 4; }

template <typename LoadWord, typename Store16>
ECF8_HD void writeback_chunk(uint32_t j, uint32_t h, uint32_t cnt, uint64_t P0, const uint8_t *stage,
                             const uint8_t *nib, uint64_t nib_size, uint8_t *dst, LoadWord load_word,
                             Store16 store16) {
  int64_t k0 = (int64_t)16 * j - (int64_t)h;  // block element of stage[16j]
  if (k0 >= 0 && (uint64_t)k0 + 16u <= cnt) {
    const uint64_t o = P0 + (uint64_t)k0;  // global element index of the chunk's first byte
    const uint64_t nb = o >> 1;  // its nibble byte
    const uint64_t base = nb & ~(uint64_t)3;  // aligned word at or before it
    uint32_t w[4];
ECF8_UNROLL
    for (int i = 0; i < 4; i++) {
      uint64_t at = base + 4u * (uint64_t)i;
      w[i] = (at + 4u <= nib_size) ? bswap32(load_word(nib + at)) : 0u;  // never past the section
    }
    const uint32_t s = (uint32_t)(8u * (nb - base) + 4u * (o & 1u));  // bit shift, 0..28
    const uint32_t nh = funnel_l(w[1], w[0], s);  // nibbles of elements o .. o+7, first most significant
    const uint32_t nl = funnel_l(w[2], w[1], s);
    const uint32_t *x = (const uint32_t *)(stage + 16u * j);
    uint32_t v0 = join_word(x[0], nh >> 16);
    uint32_t v1 = join_word(x[1], nh & 0xFFFFu);
    uint32_t v2 = join_word(x[2], nl >> 16);
    uint32_t v3 = join_word(x[3], nl & 0xFFFFu);
    store16(dst + o, v0, v1, v2, v3);
  } else {
    int64_t lo = k0 < 0 ? 0 : k0;
    int64_t hi = k0 + 16 > (int64_t)cnt ? (int64_t)cnt : k0 + 16;
    for (int64_t k = lo; k < hi; k++) {
      uint64_t o = P0 + (uint64_t)k;
      uint32_t byte = nib[o >> 1];
      uint32_t q = (o & 1u) ? (byte & 15u) : (byte >> 4);
      dst[o] = join_byte(stage[h + (uint32_t)k], q);
    }
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
