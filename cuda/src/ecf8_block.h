// ecf8_block.h -- the phases of one ECF8 thread block (spec §13), as __host__ __device__ functions of one thread.
// The CUDA kernel runs them with barriers between phases; the host block emulator runs every thread of a block
// through the decode (phase_decode), then the scan, then the staging (place_symbols), then the write-back, exactly in
// the kernel's order.
#pragma once

#include "ecf8_core.h"

namespace ecf8 {

// Everything a block needs, as pointers into one uploaded stream (device) or the caller's bytes (emulator).
struct KParams {
  const uint8_t *positions;  // section 1 (§8.1), 8-byte aligned
  const uint8_t *gaps;       // section 2 (§8.2)
  const uint8_t *exps;       // section 3 (§7), 8-byte aligned
  const uint8_t *nibs;       // section 4 (§9), 8-byte aligned
  uint64_t nib_size;         // size of section 4
  uint64_t n, bits, n_blocks;
  uint32_t T, n_luts;
  uint8_t *dst;  // where element 0 goes (caller's buffer + offset)
};

ECF8_HD uint64_t load_u64(const uint8_t *p) {
#if defined(__CUDA_ARCH__)
  return __ldg((const unsigned long long *)p);
#else
  uint64_t v;
  memcpy(&v, p, 8);
  return v;  // little-endian host (x86-64, aarch64)
#endif
}

ECF8_HD uint32_t load_u32(const uint8_t *p) {
#if defined(__CUDA_ARCH__)
  return __ldg((const unsigned int *)p);
#else
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
#endif
}

// pos[b] (§8.1).
ECF8_HD uint64_t block_position(const KParams &P, uint64_t b) { return load_u64(P.positions + 8 * b); }

// What a thread loads from global memory for block b (§13 step 1): its window, its gap, the next thread's gap and the
// block's output range. Split from phase_decode so the kernel can issue these loads one block ahead (software
// prefetch into registers).
struct ThreadLoad {
  uint32_t w0, w1, w2;  // the first 12 of the 16 bytes at g*B, as little-endian words
  uint32_t gap, next_gap;
  uint32_t left;  // min(bits - w_g, 2^20) for a live thread (> 0), 0 for a dead one
  uint64_t P0, P1;  // pos[b], pos[b+1]
};

// Per-thread arithmetic is 32-bit: the 64-bit quantities (first global thread of the block, its bit offset) are the
// same for the whole block.
ECF8_HD void phase_load(const KParams &P, uint64_t b, uint32_t tid, ThreadLoad &L) {
  const uint64_t gb = b * P.T;  // global thread of tid 0
  L.P0 = block_position(P, b);
  L.P1 = block_position(P, b + 1);
  const uint64_t left_b = P.bits - gb * kWindowBits;  // >= 1: block b < n_blocks has a live thread 0
  const uint32_t lb = left_b > (1u << 20) ? (1u << 20) : (uint32_t)left_b;
  const uint32_t t_bits = tid * kWindowBits;
  L.left = lb > t_bits ? lb - t_bits : 0u;
  L.w0 = L.w1 = L.w2 = 0;
  L.gap = L.next_gap = 0;
  if (L.left == 0u) return;  // dead threads own nothing (§7); phase B checked their gap is 0
  const uint8_t *gp = P.gaps + (gb >> 1);
  const uint32_t gi = (uint32_t)(gb & 1u) + tid;  // g - 2 (gb >> 1)
  L.gap = gap_of(gp, gi);
  if (L.left > kWindowBits) L.next_gap = gap_of(gp, gi + 1u);  // thread g + 1 is live
  // The 16 bytes at g*B: in bounds for every live thread (§7 lookahead; section 3 has 16 bytes past used_bytes).
  const uint8_t *src = P.exps + gb * kBytesPerThread + tid * kBytesPerThread;
  const uint64_t lo = load_u64(src);
  L.w0 = (uint32_t)lo;
  L.w1 = (uint32_t)(lo >> 32);
  L.w2 = load_u32(src + 8);
}

// Phase 1 (§13 steps 2-3 and 5): decode the thread's symbols once into its scratch column (col[k * stride], k < 8)
// and check the gap chain. Returns the phase-C flags this thread raises (kFlagGapMismatch or 0); *count = c_t.
ECF8_HD uint32_t phase_decode(const KParams &P, uint64_t b, uint32_t tid, const ThreadLoad &L, const uint8_t *lut,
                              const uint32_t *mtab, uint32_t *col, uint32_t stride, uint32_t *count) {
  *count = 0;
  if (L.left == 0u) return 0;
  const uint32_t limit = L.left < kWindowBits ? L.left : kWindowBits;
  const BitReader r = reader_from_words(L.w0, L.w1, L.w2);
  uint32_t end;
  *count = thread_decode(r, L.gap, limit, lut, P.n_luts, mtab, col, stride, &end);
  return chain_ok(b == 0 && tid == 0, L.gap, end, L.left, L.next_gap) ? 0u : kFlagGapMismatch;
}

// Staging alignment: h = (address of dst[P0]) mod 16 (see place_symbols).
ECF8_HD uint32_t stage_shift(const KParams &P, uint64_t P0) { return (uint32_t)((uintptr_t)(P.dst + P0) & 15u); }

// Words of the staging buffer: nibbles h + (block elements) < 16 + 64 T, rounded up to whole 16-byte chunks.
ECF8_HD uint32_t stage_words(uint32_t T) { return 8u * T + 4u; }

}  // namespace ecf8
