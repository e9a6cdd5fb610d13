// ecf8_cuda.cu -- the CUDA decode kernel (spec §13) and the device layer of the C API (ecf8.h).
//
// Decode kernel: a persistent grid; each CUDA block loads the decode tables into shared memory once, then loops over
// ECF8 blocks b = blockIdx.x, blockIdx.x + gridDim.x, ... For each: phase 1 (window load, count, gap-chain check;
// ecf8_block.h), warp-shuffle block scan, phase 2 (decode into a shared staging buffer aligned like the destination),
// then a write-back that merges 16 exponents with their nibbles in registers and stores 16 bytes at a time.
// Content CRC-32C (step 19) runs on the device: per-4 KiB-chunk CRCs, then a tree of CRC combinations.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "ecf8.h"
#include "ecf8_block.h"
#include "ecf8_internal.h"

using namespace ecf8;

namespace {

constexpr uint32_t kScanWords = 80;  // warp totals (32) + block total (1) + warp offsets (32), padded to 16 bytes
// kCrcChunk (bytes per CRC chunk) and kCrcThreads (chunks per CRC block): ecf8_internal.h
constexpr int kCrcLevels = 64;

thread_local std::string g_last_error;
int g_kernel_variant = 0;  // see ecf8::set_kernel_variant (benchmarks only)

ecf8_status cuda_fail(cudaError_t e, const char *what) {
  g_last_error = std::string(what) + ": " + cudaGetErrorString(e);
  return ECF8_BACKEND_UNAVAILABLE;
}
#define ECF8_CUDA(call)                                   \
  do {                                                    \
    cudaError_t e_ = (call);                              \
    if (e_ != cudaSuccess) return cuda_fail(e_, #call);   \
  } while (0)

// Block-wide exclusive scan of c (§13 step 4): warp shuffles, then one warp over the warp totals.
__device__ __forceinline__ uint32_t block_exclusive_scan(uint32_t c, uint32_t T, uint32_t *s_scan, uint32_t *total) {
  const uint32_t tid = threadIdx.x, lane = tid & 31u, warp = tid >> 5;
  const uint32_t nw = (T + 31u) >> 5;
  const uint32_t mask = T >= 32u ? 0xFFFFFFFFu : ((1u << T) - 1u);
  uint32_t x = c;
#pragma unroll
  for (uint32_t d = 1; d < 32u; d <<= 1) {
    uint32_t y = __shfl_up_sync(mask, x, d);
    if (lane >= d) x += y;
  }
  if (lane == 31u || tid == T - 1u) s_scan[warp] = x;
  __syncthreads();
  if (warp == 0) {
    const uint32_t v0 = lane < nw ? s_scan[lane] : 0u;
    uint32_t v = v0;
#pragma unroll
    for (uint32_t d = 1; d < 32u; d <<= 1) {
      uint32_t y = __shfl_up_sync(mask, v, d);
      if (lane >= d) v += y;
    }
    if (lane < nw) s_scan[33 + lane] = v - v0;
    if (lane == nw - 1u) s_scan[32] = v;
  }
  __syncthreads();
  *total = s_scan[32];
  return s_scan[33 + warp] + x - c;
}

// The decode kernel. kMaxT: the largest T it is launched with; kMinBlocks: blocks per SM to budget registers for.
// Shared memory: the tables, the scan words, the scratch columns (8 words per thread) and the staging buffer
// (8 T + 4 words). At T = 512 that is about 49 KB, so 4 blocks (2048 threads) fit on an SM.
// Per ECF8 block: decode once into the scratch columns (the next block's loads are already in flight), block scan,
// move each thread's nibbles to its place in the staging buffer, barrier, write-back (which also clears the staging
// words it read, so no other barrier is needed before the next block).
template <uint32_t kMaxT, uint32_t kMinBlocks, bool kPrefetch, bool kNibPrefetch>
__global__ void __launch_bounds__(kMaxT, kMinBlocks)
    decode_kernel(KParams P, const uint8_t *__restrict__ tables, uint32_t table_bytes, uint32_t lut_bytes,
                  uint32_t *err) {
  // The multi-symbol table in static shared memory (a constant address: a lookup needs no base register), then in
  // dynamic shared memory the §6 tables, scan words, scratch and staging.
  __shared__ __align__(16) uint32_t s_mtab[kMultiEntries];
  extern __shared__ __align__(16) uint8_t smem[];
  const uint8_t *s_lut = smem;
  uint32_t *s_scan = (uint32_t *)(smem + lut_bytes);
  const uint32_t tid = threadIdx.x, T = P.T;
  uint32_t *s_scratch = s_scan + kScanWords;  // 8 T words
  uint32_t *s_stage = s_scratch + 8u * T;     // stage_words(T) words
  const uint32_t n_stage = stage_words(T);

  // `tables` holds the §6 tables (lut_bytes, a multiple of 16) followed by the multi-symbol table.
  const uint32_t mtab16 = 4u * kMultiEntries / 16u, lut16 = lut_bytes / 16u;
  for (uint32_t i = tid; i < mtab16 + lut16; i += T) {
    uint4 *to = i < lut16 ? (uint4 *)smem + i : (uint4 *)s_mtab + (i - lut16);
    *to = __ldg((const uint4 *)tables + i);
  }
  for (uint32_t i = tid; i < n_stage / 4u; i += T) ((uint4 *)s_stage)[i] = make_uint4(0, 0, 0, 0);
  __syncthreads();

  auto load_word = [](const uint8_t *p) { return __ldg((const unsigned int *)p); };
  auto load_pair = [](const uint32_t *p, uint32_t &a, uint32_t &b) {  // shared or (read-only) global memory
    const uint2 v = *(const uint2 *)p;
    a = v.x;
    b = v.y;
  };
  auto store_pair = [](uint32_t *p, uint32_t a, uint32_t b) { *(uint2 *)p = make_uint2(a, b); };
  auto store16 = [](uint8_t *d, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3) {
    __stcs((uint4 *)d, make_uint4(v0, v1, v2, v3));
  };
  auto or_word = [](uint32_t *w, uint32_t v) { atomicOr(w, v); };

  uint64_t b = blockIdx.x;
  ThreadLoad next;
  if (kPrefetch && b < P.n_blocks) phase_load(P, b, tid, next);
  for (; b < P.n_blocks; b += gridDim.x) {
    ThreadLoad L;
    if (kPrefetch) {
      L = next;
      if (b + gridDim.x < P.n_blocks) phase_load(P, b + gridDim.x, tid, next);  // prefetch
    } else {
      phase_load(P, b, tid, L);
    }
    const uint32_t h = stage_shift(P, L.P0);
    const uint32_t cnt = (uint32_t)(L.P1 - L.P0);  // <= 64 T (phase B, step 14)
    uint32_t q0 = 0, q1 = 0;
    const bool have_q = kNibPrefetch && writeback_prefetch(tid, h, cnt, L.P0, P.nibs, load_pair, q0, q1);
    uint32_t count;
    const uint32_t f = phase_decode(P, b, tid, L, s_lut, s_mtab, s_scratch + tid, T, &count);
    if (f) atomicOr(err, f);  // rare: only for corrupt streams
    uint32_t total;
    const uint32_t o = block_exclusive_scan(count, T, s_scan, &total);
    if (tid == 0 && (uint64_t)total != L.P1 - L.P0) atomicOr(err, kFlagPositionMismatch);
    place_symbols(s_scratch + tid, T, count, h + o, s_stage, or_word);
    __syncthreads();
    const uint32_t chunks = writeback_chunks(h, cnt);
    if (tid < chunks)
      writeback_chunk(tid, h, cnt, L.P0, s_stage, P.nibs, P.nib_size, P.dst, load_word, load_pair, store_pair, store16,
                      have_q, q0, q1);
    for (uint32_t j = tid + T; j < chunks; j += T)
      writeback_chunk(j, h, cnt, L.P0, s_stage, P.nibs, P.nib_size, P.dst, load_word, load_pair, store_pair, store16);
    // No barrier: the next block's first shared-memory writes (scan words, scratch, staging ORs) come after its
    // scan barriers, and every staging word read above has been cleared by its reader.
  }
}

// ---- Content CRC-32C (§10, §11.2 step 19) ------------------------------------------------------------------------
// Chunk j (counted from the END of the output) covers bytes [n - (j+1) S, n - j S) clipped at 0, so every chunk but
// the first in message order is full. Raw CRCs (initial value 0) ignore leading zeros, so treating missing chunks as
// empty is exact, and a group of 2^l chunks always combines with shift x^(8 S 2^l): K[l] in `kpow`.
struct CrcPowers {
  uint32_t k[kCrcLevels];
};

__device__ __forceinline__ uint32_t crc_word(uint32_t c, uint32_t w, const uint32_t (*t)[256]) {
  c ^= w;
  return t[3][c & 0xFFu] ^ t[2][(c >> 8) & 0xFFu] ^ t[1][(c >> 16) & 0xFFu] ^ t[0][c >> 24];
}

__device__ __forceinline__ uint32_t crc_tree(uint32_t v, uint32_t *s, const CrcPowers &K, int level0) {
  const uint32_t tid = threadIdx.x;
  s[tid] = v;
  __syncthreads();
  int level = level0;
  for (uint32_t stride = 1; stride < blockDim.x; stride <<= 1, level++) {
    if ((tid & (2 * stride - 1)) == 0) s[tid] = crc_mulmod(s[tid + stride], K.k[level]) ^ s[tid];
    __syncthreads();
  }
  return s[0];
}

__global__ void __launch_bounds__(kCrcThreads) crc_chunks_kernel(const uint8_t *data, uint64_t n, uint64_t n_chunks,
                                                                  const uint32_t *table, CrcPowers K,
                                                                  uint32_t *partial) {
  __shared__ uint32_t t[4][256];
  __shared__ uint32_t s[kCrcThreads];
  for (uint32_t i = threadIdx.x; i < 1024; i += blockDim.x) (&t[0][0])[i] = table[i];
  __syncthreads();
  const uint64_t j = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t c = 0;
  if (j < n_chunks) {
    const uint64_t hi = n - j * kCrcChunk;
    const uint64_t lo = hi > kCrcChunk ? hi - kCrcChunk : 0;
    const uint8_t *p = data + lo, *e = data + hi;
    while (p < e && ((uintptr_t)p & 15u)) c = crc_update_byte(c, *p++, t[0]);
    while (e - p >= 16) {
      uint4 v = __ldcs((const uint4 *)p);
      c = crc_word(c, v.x, t);
      c = crc_word(c, v.y, t);
      c = crc_word(c, v.z, t);
      c = crc_word(c, v.w, t);
      p += 16;
    }
    while (p < e) c = crc_update_byte(c, *p++, t[0]);
  }
  c = crc_tree(c, s, K, 0);
  if (threadIdx.x == 0) partial[blockIdx.x] = c;
}

__global__ void __launch_bounds__(kCrcThreads) crc_reduce_kernel(const uint32_t *in, uint64_t count, CrcPowers K,
                                                                  int level0, uint32_t *out) {
  __shared__ uint32_t s[kCrcThreads];
  const uint64_t j = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t c = crc_tree(j < count ? in[j] : 0u, s, K, level0);
  if (threadIdx.x == 0) out[blockIdx.x] = c;
}

__global__ void crc_final_kernel(const uint32_t *raw, uint64_t n, uint32_t expected, uint32_t *ws) {
  const uint32_t crc = crc_finalize_raw(n ? raw[0] : 0u, n);
  ws[1] = crc;
  if (crc != expected) atomicOr(&ws[0], kFlagContentMismatch);
}

// Slicing-by-4 tables of the raw CRC (t[0] = the byte table), 4 KiB, uploaded with each stream.
void crc_tables_host(uint32_t h[4][256]) {
  const uint32_t *t0 = crc32c_table();
  for (int i = 0; i < 256; i++) h[0][i] = t0[i];
  for (int i = 0; i < 256; i++)
    for (int s = 1; s < 4; s++) h[s][i] = (h[s - 1][i] >> 8) ^ t0[h[s - 1][i] & 0xFFu];
}

CrcPowers crc_powers() {
  CrcPowers K;
  uint32_t p = crc_x8n(kCrcChunk);
  for (int l = 0; l < kCrcLevels; l++) {
    K.k[l] = p;
    p = crc_mulmod(p, p);  // x^(8 S 2^(l+1))
  }
  return K;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

}  // namespace

namespace ecf8 {
void set_kernel_variant(int v) { g_kernel_variant = v; }
}  // namespace ecf8

struct ecf8_device_stream {
  ecf8_info info;
  uint8_t *d_stream = nullptr;
  uint8_t *d_tables = nullptr;
  uint32_t *d_crc = nullptr;  // slicing-by-4 CRC tables
  uint32_t table_bytes = 0, lut_bytes = 0, n_luts = 0;
  int device = 0;
};

extern "C" {

const char *ecf8_device_last_error(void) { return g_last_error.c_str(); }

ecf8_status ecf8_cuda_available(const char **why) {
  static const char *reason = nullptr;
  int drv = 0;
  if (cudaDriverGetVersion(&drv) != cudaSuccess || drv == 0) {
    reason = "no CUDA driver";
  } else {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver)
      reason = "CUDA driver too old for this build";
    else if (e != cudaSuccess || count == 0)
      reason = "no CUDA device";
    else
      reason = nullptr;
  }
  if (why) *why = reason ? reason : "";
  return reason ? ECF8_BACKEND_UNAVAILABLE : ECF8_OK;
}

ecf8_status ecf8_device_upload(const void *data, uint64_t size, unsigned flags, void *cuda_stream,
                               ecf8_device_stream **out) {
  if (!out || (!data && size) || (flags & ~ECF8_SKIP_CHECKSUMS)) return ECF8_INVALID_ARGUMENT;
  *out = nullptr;
  ecf8_info I;
  ecf8_status st = ecf8_validate(data, size, flags, &I);  // phases A and B on the host (§11.2)
  if (st != ECF8_OK) return st;
  if (ecf8_cuda_available(nullptr) != ECF8_OK) {
    g_last_error = "no usable CUDA device";
    return ECF8_BACKEND_UNAVAILABLE;
  }
  cudaStream_t s = (cudaStream_t)cuda_stream;
  ecf8_device_stream *ds = new ecf8_device_stream();
  ds->info = I;
  cudaGetDevice(&ds->device);
  TableBlob blob = build_table_blob(I.code_lengths, I.element_count);
  ds->table_bytes = (uint32_t)blob.bytes.size();
  ds->lut_bytes = blob.lut_bytes_padded;
  ds->n_luts = blob.n_luts;
  cudaError_t e = cudaMalloc(&ds->d_stream, (size_t)((size + 15) & ~(uint64_t)15));
  if (e == cudaSuccess) e = cudaMalloc(&ds->d_tables, blob.bytes.size());
  static uint32_t crc_host[4][256];
  static bool crc_ready = [] {
    crc_tables_host(crc_host);
    return true;
  }();
  (void)crc_ready;
  if (e == cudaSuccess) e = cudaMalloc(&ds->d_crc, sizeof crc_host);
  if (e == cudaSuccess) e = cudaMemcpyAsync(ds->d_crc, crc_host, sizeof crc_host, cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess) e = cudaMemcpyAsync(ds->d_stream, data, (size_t)size, cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(ds->d_tables, blob.bytes.data(), blob.bytes.size(), cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    cuda_fail(e, "upload");
    ecf8_device_free(ds);
    return ECF8_BACKEND_UNAVAILABLE;
  }
  *out = ds;
  return ECF8_OK;
}

const ecf8_info *ecf8_device_info(const ecf8_device_stream *ds) { return ds ? &ds->info : nullptr; }

uint64_t ecf8_device_workspace_size(const ecf8_device_stream *ds) {
  return ds ? ecf8_workspace_size_for(ds->info.element_count) : 0;
}

uint64_t ecf8_device_stream_bytes(const ecf8_device_stream *ds) {
  if (!ds) return 0;
  return ((ds->info.stream_size + 15) & ~(uint64_t)15) + ds->table_bytes + 4 * 4 * 256;  // + slicing-by-4 CRC tables
}

ecf8_status ecf8_device_decode(const ecf8_device_stream *ds, void *dst, uint64_t dst_capacity, uint64_t offset,
                               void *workspace, uint64_t workspace_size, unsigned flags, void *cuda_stream) {
  if (!ds || (flags & ~ECF8_SKIP_CHECKSUMS) || !workspace || ((uintptr_t)workspace & 255u))
    return ECF8_INVALID_ARGUMENT;
  if (workspace_size < ecf8_device_workspace_size(ds)) return ECF8_INVALID_ARGUMENT;
  const ecf8_info &I = ds->info;
  const uint64_t n = I.element_count;
  if (offset > dst_capacity || dst_capacity - offset < n) return ECF8_OUTPUT_TOO_SMALL;
  if (!dst && n) return ECF8_INVALID_ARGUMENT;
  if (n && offset + n > UINTPTR_MAX - (uintptr_t)dst) return ECF8_INVALID_ARGUMENT;  // dst + offset + n wraps around
  cudaStream_t s = (cudaStream_t)cuda_stream;
  uint32_t *ws = (uint32_t *)workspace;
  ECF8_CUDA(cudaMemsetAsync(ws, 0, 8, s));
  if (I.n_blocks > 0) {
    KParams P;
    P.positions = ds->d_stream + I.positions_offset;
    P.gaps = ds->d_stream + I.gaps_offset;
    P.exps = ds->d_stream + I.exponents_offset;
    P.nibs = ds->d_stream + I.nibbles_offset;
    P.nib_size = I.nibbles_size;
    P.n = n;
    P.bits = I.exponent_bit_count;
    P.n_blocks = I.n_blocks;
    P.T = I.threads_per_block;
    P.n_luts = ds->n_luts;
    P.dst = (uint8_t *)dst + offset;
    const uint32_t T = P.T;
    const size_t smem = ds->lut_bytes + 4 * (kScanWords + 8 * (size_t)T + stage_words(T));  // + 16 KB static
    int dev = 0, sms = 0;
    ECF8_CUDA(cudaGetDevice(&dev));
    ECF8_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    const void *fn;
    // T > 512: 2 blocks per SM (32 registers a thread, as at T <= 512) rather than 1 (it used 54): at 1024 threads
    // the register file, not shared memory (about 81 KB a block), is what limits the blocks per SM.
#if defined(ECF8_KERNEL_VARIANTS)
    switch (T > 512 ? (g_kernel_variant == 3 ? -2 : -1) : g_kernel_variant) {
#else
    switch (T > 512 ? -1 : g_kernel_variant) {
#endif
      case -1: fn = (const void *)decode_kernel<1024, 2, false, true>; break;
#if defined(ECF8_KERNEL_VARIANTS)
      case -2: fn = (const void *)decode_kernel<1024, 1, true, true>; break;  // the previous T > 512 kernel
      case 3: fn = (const void *)decode_kernel<512, 4, false, true>; break;  // (T <= 512: the default)
      case 1: fn = (const void *)decode_kernel<512, 3, true, true>; break;
      case 2: fn = (const void *)decode_kernel<512, 4, false, false>; break;
#endif
      default: fn = (const void *)decode_kernel<512, 4, false, true>; break;
    }
    ECF8_CUDA(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    int per_sm = 0;
    ECF8_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, fn, (int)T, smem));
    if (per_sm < 1) per_sm = 1;
    const uint64_t grid = I.n_blocks < (uint64_t)per_sm * sms ? I.n_blocks : (uint64_t)per_sm * sms;
    void *args[] = {&P, (void *)&ds->d_tables, (void *)&ds->table_bytes, (void *)&ds->lut_bytes, &ws};
    ECF8_CUDA(cudaLaunchKernel(fn, dim3((unsigned)grid), dim3(T), args, smem, s));
    ECF8_CUDA(cudaGetLastError());
  }
  if (!(flags & ECF8_SKIP_CHECKSUMS)) {
    const uint8_t *out = (const uint8_t *)dst + offset;
    const uint64_t chunks = ceil_div(n, kCrcChunk);
    uint32_t *bufA = ws + 64, *bufB = bufA + ceil_div(chunks, kCrcThreads) + 64;
    const uint32_t *raw = bufA;
    if (n > 0) {
      const uint32_t *table = ds->d_crc;
      const CrcPowers K = crc_powers();
      uint64_t count = ceil_div(chunks, kCrcThreads);
      crc_chunks_kernel<<<(unsigned)count, kCrcThreads, 0, s>>>(out, n, chunks, table, K, bufA);
      ECF8_CUDA(cudaGetLastError());
      int level = 8;  // log2(kCrcThreads)
      uint32_t *in = bufA, *o = bufB;
      while (count > 1) {
        const uint64_t next = ceil_div(count, kCrcThreads);
        crc_reduce_kernel<<<(unsigned)next, kCrcThreads, 0, s>>>(in, count, K, level, o);
        ECF8_CUDA(cudaGetLastError());
        level += 8;
        count = next;
        uint32_t *tmp = in;
        in = o;
        o = tmp;
      }
      raw = in;
    }
    crc_final_kernel<<<1, 1, 0, s>>>(raw, n, I.content_crc32c, ws);
    ECF8_CUDA(cudaGetLastError());
  }
  return ECF8_OK;
}

ecf8_status ecf8_device_result(const ecf8_device_stream *ds, const void *workspace, void *cuda_stream) {
  if (!ds || !workspace) return ECF8_INVALID_ARGUMENT;
  uint32_t word = 0;
  cudaStream_t s = (cudaStream_t)cuda_stream;
  ECF8_CUDA(cudaMemcpyAsync(&word, workspace, 4, cudaMemcpyDeviceToHost, s));
  ECF8_CUDA(cudaStreamSynchronize(s));
  return status_from_flags(word);
}

ecf8_status ecf8_device_decode_sync(const ecf8_device_stream *ds, void *dst, uint64_t dst_capacity,
                                    uint64_t offset, unsigned flags, void *cuda_stream) {
  if (!ds) return ECF8_INVALID_ARGUMENT;
  const uint64_t wsz = ecf8_device_workspace_size(ds);
  void *ws = nullptr;
  ECF8_CUDA(cudaMalloc(&ws, (size_t)wsz));
  ecf8_status st = ecf8_device_decode(ds, dst, dst_capacity, offset, ws, wsz, flags, cuda_stream);
  if (st == ECF8_OK) st = ecf8_device_result(ds, ws, cuda_stream);
  cudaFree(ws);
  return st;
}

void ecf8_device_free(ecf8_device_stream *ds) {
  if (!ds) return;
  if (ds->d_stream) cudaFree(ds->d_stream);
  if (ds->d_tables) cudaFree(ds->d_tables);
  if (ds->d_crc) cudaFree(ds->d_crc);
  delete ds;
}

}  // extern "C"
