// ecf8_emulator.cpp -- the host block emulator behind ecf8_host_decode: runs the CUDA kernel's per-thread code
// (ecf8_block.h, ecf8_core.h) with the threads of each block stepped phase by phase, in the kernel's order:
//   decode (all threads) | block scan | position check | staging (all threads) | write-back (all threads)
// so CI machines without a GPU check the kernel's own logic against every test vector (§11.2 phase C included).
#include <string.h>

#include <vector>

#include "ecf8.h"
#include "ecf8_block.h"
#include "ecf8_internal.h"

namespace ecf8 {

namespace {
// Emulates one thread block. Returns the phase-C flags it raises.
//   scratch: 8 T words (thread t's column starts at scratch + t, stride T); stage: stage_words(T) words, zero on
//   entry and on return (the write-back clears what it reads, as in the kernel).
struct Prefetched {
  bool have;
  uint32_t q0, q1;
};

uint32_t emulate_block(const KParams &P, uint64_t b, const uint8_t *lut, const uint32_t *mtab,
                       std::vector<uint32_t> &counts, std::vector<uint32_t> &offsets, std::vector<Prefetched> &pre,
                       uint32_t *scratch, uint32_t *stage) {
  uint32_t flags = 0;
  const uint32_t T = P.T;
  auto load_pair = [](const uint32_t *p, uint32_t &a, uint32_t &b) {
    uint32_t v[2];
    memcpy(v, p, 8);
    a = v[0];
    b = v[1];
  };
  // Decode for every thread (kernel: before the first barrier of the scan), after the prefetch of the nibbles of
  // the thread's first write-back chunk.
  ThreadLoad L{};
  for (uint32_t t = 0; t < T; t++) {
    phase_load(P, b, t, L);
    const uint32_t h = stage_shift(P, L.P0), cnt = (uint32_t)(L.P1 - L.P0);
    pre[t].have = writeback_prefetch(t, h, cnt, L.P0, P.nibs, load_pair, pre[t].q0, pre[t].q1);
    flags |= phase_decode(P, b, t, L, lut, mtab, scratch + t, T, &counts[t]);
  }
  // Block-wide exclusive scan of the counts (§13 step 4; the kernel uses warp shuffles).
  uint32_t total = 0;
  for (uint32_t t = 0; t < T; t++) {
    offsets[t] = total;
    total += counts[t];
  }
  const uint64_t P0 = L.P0, P1 = L.P1;  // the same for every thread
  if ((uint64_t)total != P1 - P0) flags |= kFlagPositionMismatch;
  // Staging for every thread (the kernel's shared-memory atomicOr is a plain OR here).
  const uint32_t h = stage_shift(P, P0);
  auto or_word = [](uint32_t *w, uint32_t v) { *w |= v; };
  for (uint32_t t = 0; t < T; t++) place_symbols(scratch + t, T, counts[t], h + offsets[t], stage, or_word);
  // Write-back: chunk j is handled by thread j mod T (the kernel's loop).
  const uint32_t cnt = (uint32_t)(P1 - P0);  // <= 64 T (phase B, step 14)
  const uint32_t chunks = writeback_chunks(h, cnt);
  auto load_word = [](const uint8_t *p) { return load_u32(p); };
  auto store_pair = [](uint32_t *p, uint32_t a, uint32_t b) {
    uint32_t v[2] = {a, b};
    memcpy(p, v, 8);
  };
  auto store16 = [](uint8_t *d, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3) {
    uint32_t v[4] = {v0, v1, v2, v3};
    memcpy(d, v, 16);
  };
  for (uint32_t t = 0; t < T; t++) {
    if (t < chunks)
      writeback_chunk(t, h, cnt, P0, stage, P.nibs, P.nib_size, P.dst, load_word, load_pair, store_pair, store16,
                      pre[t].have, pre[t].q0, pre[t].q1);
    for (uint32_t j = t + T; j < chunks; j += T)
      writeback_chunk(j, h, cnt, P0, stage, P.nibs, P.nib_size, P.dst, load_word, load_pair, store_pair, store16);
  }
  return flags;
}
}  // namespace

}  // namespace ecf8

using namespace ecf8;

ecf8_status ecf8::emulate_decode(const uint8_t *s, const ecf8_info &I, uint8_t *dst, unsigned flags) {
  TableBlob blob = build_table_blob(I.code_lengths, I.element_count);
  const uint8_t *lut = blob.bytes.data();
  std::vector<uint32_t> mtab(kMultiEntries);
  memcpy(mtab.data(), blob.bytes.data() + blob.lut_bytes_padded, kMultiEntries * 4);

  KParams P;
  P.positions = s + I.positions_offset;
  P.gaps = s + I.gaps_offset;
  P.exps = s + I.exponents_offset;
  P.nibs = s + I.nibbles_offset;
  P.nib_size = I.nibbles_size;
  P.n = I.element_count;
  P.bits = I.exponent_bit_count;
  P.n_blocks = I.n_blocks;
  P.T = I.threads_per_block;
  P.n_luts = blob.n_luts;
  P.dst = dst;

  const uint32_t T = I.threads_per_block;
  std::vector<uint32_t> counts(T), offsets(T), scratch(8u * T);
  std::vector<Prefetched> pre(T);
  std::vector<uint32_t> stage(stage_words(T) + 4, 0u);
  uint32_t *stage16 = (uint32_t *)(((uintptr_t)stage.data() + 15) & ~(uintptr_t)15);  // 16-byte aligned like shared memory
  uint32_t fl = 0;
  for (uint64_t b = 0; b < I.n_blocks; b++) {
    fl |= emulate_block(P, b, lut, mtab.data(), counts, offsets, pre, scratch.data(), stage16);
    if (fl & kFlagGapMismatch) break;  // highest precedence in phase C: nothing later can change the result
  }
  if (fl == 0 && !(flags & ECF8_SKIP_CHECKSUMS)) {
    if (ecf8_crc32c(0, P.dst, (size_t)I.element_count) != I.content_crc32c) fl |= kFlagContentMismatch;
  }
  return status_from_flags(fl);
}

extern "C" ecf8_status ecf8_host_decode(const void *stream, uint64_t size, void *out, uint64_t out_capacity,
                                        uint64_t offset, unsigned flags) {
  if ((!stream && size) || (flags & ~ECF8_SKIP_CHECKSUMS)) return ECF8_INVALID_ARGUMENT;
  const uint8_t *s = (const uint8_t *)stream;
  ecf8_info I;
  ecf8_status st = validate_header(s, size, &I);  // phase A
  if (st != ECF8_OK) return st;
  if (I.element_count > (uint64_t)SIZE_MAX / 2) return ECF8_LIMIT_EXCEEDED;
  if (!out && I.element_count) return ECF8_INVALID_ARGUMENT;
  if (offset > out_capacity || out_capacity - offset < I.element_count) return ECF8_OUTPUT_TOO_SMALL;
  // out + offset + n must not wrap around the address space (a capacity no buffer can have).
  if (I.element_count && offset + I.element_count > UINTPTR_MAX - (uintptr_t)out) return ECF8_INVALID_ARGUMENT;
  st = validate_metadata(s, I, flags);  // phase B
  if (st != ECF8_OK) return st;
  return emulate_decode(s, I, (uint8_t *)out + offset, flags);  // phase C
}
