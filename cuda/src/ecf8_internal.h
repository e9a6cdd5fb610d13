// ecf8_internal.h -- host-side helpers shared by the library's translation units (not installed).
#pragma once

#include <stdint.h>

#include <vector>

#include "ecf8.h"
#include "ecf8_core.h"

namespace ecf8 {

// Little-endian reads (§1).
inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

// The 256-entry table of the raw (reflected) CRC-32C.
const uint32_t *crc32c_table();

// Decode tables of §6 (validated code lengths assumed). Returns the table bytes (n_luts * 256).
std::vector<uint8_t> build_luts(const uint8_t code_lengths[16], uint64_t n);

// The kernel's multi-symbol table (ecf8_core.h) from the §6 tables.
std::vector<uint32_t> build_multi_table(const uint8_t *luts, uint32_t n_luts);

// Device-side table blob: §6 tables padded to a multiple of 16 bytes, then the multi-symbol table.
struct TableBlob {
  std::vector<uint8_t> bytes;
  uint32_t n_luts = 0;
  uint32_t lut_bytes_padded = 0;  // offset of the multi table in `bytes`
};
TableBlob build_table_blob(const uint8_t code_lengths[16], uint64_t n);

// §11.2 phase A (steps 1-12) on s[0..L); fills `out` on success.
ecf8_status validate_header(const uint8_t *s, uint64_t L, ecf8_info *out);
// §11.2 phase B (steps 13-16) on a stream that passed phase A.
ecf8_status validate_metadata(const uint8_t *s, const ecf8_info &info, unsigned flags);

// The device's content-CRC pass (§10, step 19): bytes per chunk, chunks per CUDA block of the reduction tree. They
// size the device workspace (ecf8_workspace_size_for).
constexpr uint32_t kCrcChunk = 4096;
constexpr uint32_t kCrcThreads = 256;

// Phase C (§11.2 steps 17-19) by the block emulator on a stream that passed phases A and B (`info` from them),
// writing the n decoded bytes to dst[0 .. n). `flags`: 0 or ECF8_SKIP_CHECKSUMS (skips step 19). What
// ecf8_host_decode runs after validating; the Node addon's emulated device layer calls it on an uploaded copy.
ecf8_status emulate_decode(const uint8_t *s, const ecf8_info &info, uint8_t *dst, unsigned flags);

// Decode-kernel variant for T <= 512 (benchmarks only; not thread-safe): 0 = default (4 blocks per SM; the nibbles
// of each thread's first write-back chunk loaded before the decode), 1 = 3 blocks per SM, also loading the next
// block's windows, gaps and positions one block ahead, 2 = 4 blocks per SM, no early loads.
// No effect in builds without CUDA.
void set_kernel_variant(int v);

// Highest-precedence phase-C code (§11.2 steps 17-19) from the device error word's flags.
inline ecf8_status status_from_flags(uint32_t f) {
  if (f & kFlagGapMismatch) return ECF8_GAP_MISMATCH;
  if (f & kFlagPositionMismatch) return ECF8_POSITION_MISMATCH;
  if (f & kFlagContentMismatch) return ECF8_CONTENT_CHECKSUM_MISMATCH;
  return ECF8_OK;
}

}  // namespace ecf8
