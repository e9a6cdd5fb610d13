// ecf8_bench.cpp -- GPU decode throughput of the ECF8 CUDA backend on tensors of realistic FP8 weights.
//
//   ecf8_bench [--sizes=8,32,64,128,256,512] [--T=512] [--sigma=1.0] [--reps=30] [--variants=0,1,2]
//
// Tensors: n = SIZE * 2^20 FP8 E4M3 samples of N(0, sigma^2) (the paper's Table 6 uses N(0,1)), generated and encoded
// on the host with the C++ reference encoder (spec §12). Each size is decoded once and compared with the input byte for
// byte, then timed with CUDA events (median of --reps runs after warm-up), without and with the on-device content
// checksum. Small tensors rotate over several copies (>= 256 MiB in all) so the timings do not come from the L2 cache.
// GB/s counts decoded FP8 output bytes (1e9 bytes/s). A device-to-device copy of n bytes is timed as a reference.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "../tools/ecf8_datagen.h"
#include "../tools/ecf8_encoder.h"
#include "../src/ecf8_internal.h"
#include "ecf8.h"

#define CK(x)                                                                             \
  do {                                                                                    \
    cudaError_t e_ = (x);                                                                 \
    if (e_ != cudaSuccess) {                                                              \
      fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

static std::vector<uint8_t> gaussian_parallel(uint64_t n, double sigma, uint64_t seed) {
  std::vector<uint8_t> v(n);
  unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  const uint64_t chunk = 1 << 20;
  std::vector<std::thread> th;
  for (unsigned t = 0; t < nt; t++)
    th.emplace_back([&, t] {
      for (uint64_t c = t; c * chunk < n; c += nt) {
        ecf8gen::Rng r(seed * 1000003 + c);
        uint64_t end = std::min(n, (c + 1) * chunk);
        for (uint64_t i = c * chunk; i < end; i++) v[i] = ecf8gen::to_e4m3(sigma * r.normal());
      }
    });
  for (auto &x : th) x.join();
  return v;
}

static float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  std::vector<int> sizes = {8, 32, 64, 128, 256, 512};
  uint32_t T = 512;
  double sigma = 1.0;
  int reps = 30;
  std::vector<int> variants;  // extra kernel variants to time (ecf8::set_kernel_variant)
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--sizes=", 0) == 0) {
      sizes.clear();
      std::string s = a.substr(8);
      size_t p = 0;
      while (p < s.size()) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        sizes.push_back(atoi(s.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (a.rfind("--T=", 0) == 0) {
      T = (uint32_t)atoi(a.c_str() + 4);
    } else if (a.rfind("--sigma=", 0) == 0) {
      sigma = atof(a.c_str() + 8);
    } else if (a.rfind("--variants=", 0) == 0) {
      std::string v = a.substr(11);
      size_t p = 0;
      while (p < v.size()) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        variants.push_back(atoi(v.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (a.rfind("--reps=", 0) == 0) {
      reps = atoi(a.c_str() + 7);
    }
  }
  const char *why = "";
  if (ecf8_cuda_available(&why) != ECF8_OK) {
    fprintf(stderr, "no GPU: %s\n", why);
    return 2;
  }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  const int max_mb = *std::max_element(sizes.begin(), sizes.end());
  std::vector<uint8_t> all = gaussian_parallel((uint64_t)max_mb << 20, sigma, 42);

  struct Row {
    int mb;
    uint64_t n;
    double ratio, us, gbs, us_crc, gbs_crc, copy_gbs;
    bool exact;
  };
  std::vector<Row> rows;
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int mb : sizes) {
    const uint64_t n = (uint64_t)mb << 20;
    std::vector<uint8_t> s = ecf8enc::encode(all.data(), n, T);
    const int copies = (int)std::min<uint64_t>(32, std::max<uint64_t>(1, (256ull << 20) / n));
    std::vector<ecf8_device_stream *> ds(copies);
    std::vector<uint8_t *> out(copies);
    std::vector<void *> ws(copies);
    for (int c = 0; c < copies; c++) {
      ecf8_status st = ecf8_device_upload(s.data(), s.size(), 0, nullptr, &ds[c]);
      if (st != ECF8_OK) {
        fprintf(stderr, "upload: %s %s\n", ecf8_status_string(st), ecf8_device_last_error());
        return 1;
      }
      CK(cudaMalloc(&out[c], n));
      CK(cudaMalloc(&ws[c], ecf8_device_workspace_size(ds[c])));
    }
    const uint64_t wsz = ecf8_device_workspace_size(ds[0]);
    // Correctness first: poisoned output, full checks, compare bytes.
    CK(cudaMemset(out[0], 0x5A, n));
    ecf8_status st = ecf8_device_decode(ds[0], out[0], n, 0, ws[0], wsz, 0, nullptr);
    if (st == ECF8_OK) st = ecf8_device_result(ds[0], ws[0], nullptr);
    std::vector<uint8_t> back(n);
    CK(cudaMemcpy(back.data(), out[0], n, cudaMemcpyDeviceToHost));
    const bool exact = st == ECF8_OK && memcmp(back.data(), all.data(), n) == 0;
    if (!exact) fprintf(stderr, "%d MB: decode %s, bytes %s\n", mb, ecf8_status_string(st), exact ? "ok" : "DIFFER");
    auto time_it = [&](unsigned flags) {
      for (int w = 0; w < 3; w++)
        for (int c = 0; c < copies; c++) ecf8_device_decode(ds[c], out[c], n, 0, ws[c], wsz, flags, nullptr);
      std::vector<float> t;
      for (int r = 0; r < reps; r++) {
        const int c = r % copies;
        CK(cudaEventRecord(e0));
        ecf8_device_decode(ds[c], out[c], n, 0, ws[c], wsz, flags, nullptr);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms);
      }
      for (int c = 0; c < copies; c++)
        if (ecf8_device_result(ds[c], ws[c], nullptr) != ECF8_OK) fprintf(stderr, "decode reported an error\n");
      return median(t) * 1000.0;
    };
    bool exact_all = exact;
    for (int v : variants) {
      ecf8::set_kernel_variant(v);
      CK(cudaMemset(out[0], 0x5A, n));
      ecf8_status sv = ecf8_device_decode(ds[0], out[0], n, 0, ws[0], wsz, 0, nullptr);
      if (sv == ECF8_OK) sv = ecf8_device_result(ds[0], ws[0], nullptr);
      CK(cudaMemcpy(back.data(), out[0], n, cudaMemcpyDeviceToHost));
      const bool ex = sv == ECF8_OK && memcmp(back.data(), all.data(), n) == 0;
      exact_all &= ex;
      const double uv = time_it(ECF8_SKIP_CHECKSUMS);
      printf("%4d MB: variant %d: decode %.1f us = %.0f GB/s; bit-exact %s\n", mb, v, uv, n / uv / 1e3,
             ex ? "yes" : "NO");
    }
    ecf8::set_kernel_variant(0);
    const double us = time_it(ECF8_SKIP_CHECKSUMS);
    const double us_crc = time_it(0);
    // Reference: device-to-device copy of n bytes.
    std::vector<float> tc;
    for (int r = 0; r < reps; r++) {
      const int c = r % copies, c2 = (r + 1) % copies;
      CK(cudaEventRecord(e0));
      CK(cudaMemcpyAsync(out[c], c2 == c ? out[c] + 0 : out[c2], n, cudaMemcpyDeviceToDevice));
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      float ms = 0;
      CK(cudaEventElapsedTime(&ms, e0, e1));
      tc.push_back(ms);
    }
    const double copy_us = median(tc) * 1000.0;
    Row row{mb, n, (double)n / s.size(), us, n / us / 1e3, us_crc, n / us_crc / 1e3, n / copy_us / 1e3, exact_all};
    rows.push_back(row);
    printf("%4d MB: ratio %.3f, decode %.1f us = %.0f GB/s; with content CRC %.1f us = %.0f GB/s; D2D copy %.0f GB/s "
           "(output bytes); bit-exact %s; %d copies\n",
           mb, row.ratio, us, row.gbs, us_crc, row.gbs_crc, row.copy_gbs, exact ? "yes" : "NO", copies);
    fflush(stdout);
    for (int c = 0; c < copies; c++) {
      ecf8_device_free(ds[c]);
      cudaFree(out[c]);
      cudaFree(ws[c]);
    }
  }
  printf("\n| Size (MB) | Elements (M) | Compression ratio | Decode (us) | Decode (GB/s) | + content CRC (us) | "
         "+ content CRC (GB/s) | D2D copy (GB/s) | bit-exact |\n|---|---|---|---|---|---|---|---|---|\n");
  bool all_exact = true;
  for (auto &r : rows) {
    printf("| %d | %.1f | %.3f | %.1f | %.0f | %.1f | %.0f | %.0f | %s |\n", r.mb, r.n / 1e6, r.ratio, r.us, r.gbs,
           r.us_crc, r.gbs_crc, r.copy_gbs, r.exact ? "yes" : "NO");
    all_exact &= r.exact;
  }
  return all_exact ? 0 : 1;
}
