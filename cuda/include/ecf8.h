/*
 * ecf8.h -- C API of the ECF8 v1 CUDA decoder (spec/ecf8-v1.md).
 *
 * Plain C (C99 / C++), no CUDA headers needed to include it: CUDA objects are passed as `void *`
 * (a `cudaStream_t` is a pointer type; pass 0/NULL for the legacy default stream).
 *
 * Three layers:
 *   1. Host-only, always available: stream validation (spec §11.2 phases A and B), decode tables (§6),
 *      CRC-32C (§10), and a complete host decoder that runs the GPU kernel's own code through a block
 *      emulator (phases A, B and C).
 *   2. Device (needs a build with CUDA and a GPU at run time): upload a validated stream, query the
 *      workspace, decode into caller-owned device memory at an offset on a CUDA stream, collect the result.
 *   3. Error codes: `ecf8_status` values map 1:1 to the spec's stable strings (§11.1), see
 *      ecf8_status_string().
 *
 * All sizes, counts and offsets are 64-bit. Every function is safe on hostile input: a stream is never read
 * or written out of bounds, whatever its bytes, provided they do not change during the call (decoding trusts what
 * validation checked): a stream that other threads may write to must be passed as a private copy, as the Node
 * binding does for a SharedArrayBuffer.
 */
#ifndef ECF8_H
#define ECF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(ECF8_BUILDING_SHARED)
#define ECF8_API __declspec(dllexport)
#elif defined(__GNUC__)
#define ECF8_API __attribute__((visibility("default")))
#else
#define ECF8_API
#endif

#define ECF8_API_VERSION 1
/* Defined by headers that declare ecf8_workspace_size_for and ecf8_device_stream_bytes, which were added after version
 * 1 shipped (no existing function changed): test it with #ifdef. */
#define ECF8_HAVE_SIZE_QUERIES 1

/* Status codes. The numeric values are stable for this API version; the strings (ecf8_status_string) are the
 * spec's stable codes (§11.1). The stream errors are numbered in the order of the checks of §11.2. */
typedef enum ecf8_status {
  ECF8_OK = 0,
  ECF8_BAD_MAGIC = 1,
  ECF8_TRUNCATED = 2,
  ECF8_UNSUPPORTED_VERSION = 3,
  ECF8_UNSUPPORTED_FORMAT = 4,
  ECF8_BAD_BYTES_PER_THREAD = 5,
  ECF8_BAD_THREADS_PER_BLOCK = 6,
  ECF8_RESERVED_NONZERO = 7,
  ECF8_BAD_CODE_LENGTH = 8,
  ECF8_CODE_OVERSUBSCRIBED = 9,
  ECF8_CODE_INCOMPLETE = 10,
  ECF8_BAD_BIT_COUNT = 11,
  ECF8_SECTION_SIZE_MISMATCH = 12,
  ECF8_TRAILING_BYTES = 13,
  ECF8_METADATA_CHECKSUM_MISMATCH = 14,
  ECF8_BAD_OUTPUT_POSITIONS = 15,
  ECF8_BAD_GAP = 16,
  ECF8_NONZERO_PADDING = 17,
  ECF8_GAP_MISMATCH = 18,
  ECF8_POSITION_MISMATCH = 19,
  ECF8_CONTENT_CHECKSUM_MISMATCH = 20,
  /* Errors not about the stream itself (§11.1 second table). */
  ECF8_LIMIT_EXCEEDED = 32,
  ECF8_OUTPUT_TOO_SMALL = 33,
  ECF8_INVALID_ARGUMENT = 34,
  ECF8_BACKEND_UNAVAILABLE = 35
} ecf8_status;

/* The spec's code string for a status ("ECF8_BAD_MAGIC", ...); "ECF8_OK" for 0; NULL for an unknown value. */
ECF8_API const char *ecf8_status_string(int status);
/* Parse a code string back to its status; returns -1 when the string is not a known code. */
ECF8_API int ecf8_status_from_string(const char *code);

/* Header fields and derived quantities of a stream that passed phase A (§4). */
typedef struct ecf8_info {
  uint64_t element_count;      /* n */
  uint64_t exponent_bit_count; /* bits */
  uint32_t threads_per_block;  /* T */
  uint32_t bytes_per_thread;   /* B (8) */
  uint8_t code_lengths[16];
  uint64_t n_blocks;
  uint64_t n_threads;
  uint64_t positions_offset, positions_size; /* section 1, byte offset from the stream start and size */
  uint64_t gaps_offset, gaps_size;           /* section 2 */
  uint64_t exponents_offset, exponents_size; /* section 3 */
  uint64_t nibbles_offset, nibbles_size;     /* section 4 */
  uint64_t stream_size;
  uint32_t content_crc32c;
  uint32_t metadata_crc32c;
  uint32_t n_luts; /* number of 256-byte decode tables (§6) */
} ecf8_info;

/* ---------------------------------------------------------------------------------------------------------
 * Host layer
 * ------------------------------------------------------------------------------------------------------- */

/* CRC-32C (§10) of `size` bytes, continuing from `crc` (pass 0 to start). ecf8_crc32c(0, "123456789", 9) is
 * 0xE3069283. */
ECF8_API uint32_t ecf8_crc32c(uint32_t crc, const void *data, size_t size);

/* Phase A only (header, §11.2 steps 1-12). `info` may be NULL. */
ECF8_API ecf8_status ecf8_validate_header(const void *data, uint64_t size, ecf8_info *info);

/* Decode / validation flags. */
#define ECF8_SKIP_CHECKSUMS 1u /* §10 opt-out for trusted streams: skip steps 13 and 19 (never skips bounds checks) */

/* Phases A and B (§11.2 steps 1-16): everything a GPU decoder checks on the host before dispatch. `flags`: 0 or
 * ECF8_SKIP_CHECKSUMS. `info` may be NULL. */
ECF8_API ecf8_status ecf8_validate(const void *data, uint64_t size, unsigned flags, ecf8_info *info);

/* Decode tables of §6 for the given code lengths and element count. Writes `*n_luts` (2..9) and, when `out`
 * is not NULL, n_luts * 256 bytes to `out` (capacity `out_capacity`, at least ECF8_MAX_LUT_BYTES suffices).
 * The code lengths must describe a valid code for `element_count` (§5.1), else the phase-A error is returned. */
#define ECF8_MAX_LUT_BYTES (9u * 256u)
ECF8_API ecf8_status ecf8_build_luts(const uint8_t code_lengths[16], uint64_t element_count, uint8_t *out,
                                     size_t out_capacity, uint32_t *n_luts);

/* Full decode on the host (phases A, B, C; flags as for ecf8_validate) by the block emulator: the CUDA kernel's
 * own per-thread code, with the threads of each block stepped phase by phase. Writes the n decoded bytes to
 * out[offset .. offset + n) (ECF8_INVALID_ARGUMENT when out + offset + n would wrap around the address space). Meant
 * for tests and as a portable reference; it is single-threaded and not fast. On an error, bytes in
 * [offset, offset + n) are unspecified and no other byte is written. */
ECF8_API ecf8_status ecf8_host_decode(const void *stream, uint64_t size, void *out, uint64_t out_capacity,
                                      uint64_t offset, unsigned flags);

/* ---------------------------------------------------------------------------------------------------------
 * Device layer (CUDA). In a build without CUDA every function returns ECF8_BACKEND_UNAVAILABLE.
 * ------------------------------------------------------------------------------------------------------- */

/* Whether decoding on a GPU can work here: returns ECF8_OK, or ECF8_BACKEND_UNAVAILABLE and, when `why` is not
 * NULL, a static reason ("built without CUDA", "no CUDA driver", "no CUDA device", ...). */
ECF8_API ecf8_status ecf8_cuda_available(const char **why);

/* An uploaded stream: its bytes and derived tables in device memory, plus its header info on the host. */
typedef struct ecf8_device_stream ecf8_device_stream;

/* Validate (phases A and B, on the host; `flags` as for ecf8_validate) and copy a stream to the current CUDA
 * device. The host bytes are not referenced after return. `cuda_stream` is a cudaStream_t (NULL = default
 * stream); the call synchronises it before returning. On success *out is a new handle (free it with ecf8_device_free). */
ECF8_API ecf8_status ecf8_device_upload(const void *data, uint64_t size, unsigned flags, void *cuda_stream,
                                        ecf8_device_stream **out);

/* Header info of an uploaded stream. */
ECF8_API const ecf8_info *ecf8_device_info(const ecf8_device_stream *ds);

/* Bytes of device workspace a decode of `ds` needs (a multiple of 256; at least 256). */
ECF8_API uint64_t ecf8_device_workspace_size(const ecf8_device_stream *ds);

/* Bytes of device workspace a decode of a stream of `element_count` elements needs: what
 * ecf8_device_workspace_size returns for such a stream (it depends on the element count alone, and grows with it).
 * Host code, in every build: a caller can size one workspace for many streams (the largest count) before uploading
 * any. Added after version 1 shipped (ECF8_HAVE_SIZE_QUERIES). */
ECF8_API uint64_t ecf8_workspace_size_for(uint64_t element_count);

/* Bytes of device memory an uploaded stream holds (its bytes padded to 16, its decode tables and the CRC tables),
 * for memory accounting; 0 for NULL. Added after version 1 shipped (ECF8_HAVE_SIZE_QUERIES). */
ECF8_API uint64_t ecf8_device_stream_bytes(const ecf8_device_stream *ds);

/* Enqueue the decode of `ds` on `cuda_stream` (a cudaStream_t, NULL = default stream). Writes the n decoded
 * bytes to device memory dst[offset .. offset + n), where `dst` is a device pointer (cudaMalloc or equivalent)
 * to a buffer of `dst_capacity` bytes; any alignment works (16-byte-aligned dst + offset is fastest).
 * `workspace` is device memory of at least ecf8_device_workspace_size(ds) bytes, 256-byte aligned (cudaMalloc
 * alignment), not used by another decode in flight. Returns at once (no synchronisation) with argument errors
 * (ECF8_OUTPUT_TOO_SMALL; ECF8_INVALID_ARGUMENT, also when dst + offset + n would wrap around the address space) or
 * ECF8_OK. `flags`: 0 or ECF8_SKIP_CHECKSUMS (skip step 19).
 * The stream's phase-C result (§11.2 steps 17-19) lands in the workspace: read it with ecf8_device_result. */
ECF8_API ecf8_status ecf8_device_decode(const ecf8_device_stream *ds, void *dst, uint64_t dst_capacity,
                                        uint64_t offset, void *workspace, uint64_t workspace_size,
                                        unsigned flags, void *cuda_stream);

/* Wait for `cuda_stream` and return the result of the last decode enqueued with this workspace: ECF8_OK,
 * ECF8_GAP_MISMATCH, ECF8_POSITION_MISMATCH or ECF8_CONTENT_CHECKSUM_MISMATCH (highest precedence first,
 * §11.2), or ECF8_BACKEND_UNAVAILABLE if a CUDA call failed. */
ECF8_API ecf8_status ecf8_device_result(const ecf8_device_stream *ds, const void *workspace, void *cuda_stream);

/* Convenience: decode + result, with a workspace allocated and freed internally. */
ECF8_API ecf8_status ecf8_device_decode_sync(const ecf8_device_stream *ds, void *dst, uint64_t dst_capacity,
                                             uint64_t offset, unsigned flags, void *cuda_stream);

ECF8_API void ecf8_device_free(ecf8_device_stream *ds);

/* Text of the last CUDA error seen by this thread in the device layer (empty string when none). */
ECF8_API const char *ecf8_device_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ECF8_H */
