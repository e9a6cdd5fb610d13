// ecf8_block.h -- the phases of one ECF8 thread block (spec §13), as __host__ __device__ functions of one thread.
// The CUDA kernel runs them with barriers between phases; the host block emulator runs every thread of a block
// through phase 1, then the scan, then phase 2, then the write-back, exactly in the kernel's order.
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

// Registers a thread keeps from phase 1 to phase 2.
struct ThreadState {
  BitReader r;     // its window (§13 step 1), before consuming the gap
  uint32_t gap;    // its gap (§8.2): first bit to decode, relative to the window
  uint32_t limit;  // min(64, bits - w_t): decode while p < limit (§8.3)
  uint32_t count;  // c_t
  bool live;
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

// What a thread loads from global memory for block b (§13 step 1): its window, its gap and the next thread's gap.
// Split from phase_count so the kernel can issue these loads one block ahead (software prefetch).
struct ThreadLoad {
  uint64_t lo, hi;  // the 16 bytes at g*B, as two little-endian words
  uint32_t gap, next_gap;
  bool live, next_live;
};

ECF8_HD void phase_load(const KParams &P, uint64_t b, uint32_t tid, ThreadLoad &L) {
  const uint64_t g = b * P.T + tid;
  const uint64_t w = g * kWindowBits;
  L.live = w < P.bits;
  L.next_live = false;
  L.lo = L.hi = 0;
  L.gap = L.next_gap = 0;
  if (!L.live) return;  // dead threads own nothing (§7); phase B checked their gap is 0
  L.gap = gap_of(P.gaps, g);
  // The 16 bytes at g*B: in bounds for every live thread (§7 lookahead; section 3 has 16 bytes past used_bytes).
  const uint8_t *src = P.exps + g * kBytesPerThread;
  L.lo = load_u64(src);
  L.hi = load_u64(src + 8);
  L.next_live = w + kWindowBits < P.bits;  // then g + 1 < n_threads
  if (L.next_live) L.next_gap = gap_of(P.gaps, g + 1);
}

// Phase 1 (§13 steps 2-3): count the thread's symbols and check the gap chain. Returns the phase-C flags this thread
// raises (kFlagGapMismatch or 0).
ECF8_HD uint32_t phase_count(const KParams &P, uint64_t b, uint32_t tid, const ThreadLoad &L, const uint8_t *lut,
                             const uint32_t *mtab, ThreadState &ts) {
  ts.count = 0;
  ts.live = L.live;
  if (!L.live) return 0;
  const uint64_t g = b * P.T + tid;
  const uint64_t left = P.bits - g * kWindowBits;
  ts.gap = L.gap;
  ts.limit = left < kWindowBits ? (uint32_t)left : kWindowBits;
  ts.r = reader_from_words((uint32_t)L.lo, (uint32_t)(L.lo >> 32), (uint32_t)L.hi, (uint32_t)(L.hi >> 32));
  uint32_t end;
  ts.count = thread_decode<false>(ts.r, ts.gap, ts.limit, lut, P.n_luts, mtab, nullptr, &end);
  return chain_ok(g, ts.gap, end, L.next_live, L.next_gap, left) ? 0u : kFlagGapMismatch;
}

// Phase 2 (§13 step 5): decode again into the staging buffer at the thread's offset. `out` = stage + h + o_t; the
// thread writes out[0 .. c_t) with c_t <= 64, and o_t + c_t <= 64 T, so the staging buffer needs 64 T + 16 bytes.
ECF8_HD void phase_decode(const KParams &P, const ThreadState &ts, const uint8_t *lut, const uint32_t *mtab,
                          uint8_t *out) {
  if (!ts.live) return;
  uint32_t end;
  thread_decode<true>(ts.r, ts.gap, ts.limit, lut, P.n_luts, mtab, out, &end);
}

// Staging alignment: h = (address of dst[P0]) mod 16 (see writeback_chunk).
ECF8_HD uint32_t stage_shift(const KParams &P, uint64_t P0) { return (uint32_t)((uintptr_t)(P.dst + P0) & 15u); }

}  // namespace ecf8
