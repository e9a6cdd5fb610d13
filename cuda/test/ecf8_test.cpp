// ecf8_test.cpp -- standalone test program for the ECF8 CUDA backend (no Node needed).
//
//   ecf8_test [VECTORS_DIR] [--gpu=auto|off|require] [--fuzz=N] [--quick]
//
// Checks, for every shared test vector (test-vectors/manifest.json):
//   valid:   phases A+B pass; decode tables equal NAME.luts; the block emulator (the kernel's own code on the host)
//            decodes NAME.fp8 exactly at several output offsets without touching bytes outside the output range;
//            canonical vectors re-encode byte for byte with the C++ reference encoder; on a GPU, the same on device.
//   invalid: the emulator and the GPU path report exactly the vector's error code.
//   headerOnly: phase A steps 1-11 pass on the header; decoding the bytes fails with the listed code.
//   api:     vectors with an output buffer (outputBytes, outputOffset) through ecf8_host_decode's capacity and offset;
//            those with maxOutputBytes are skipped (the C API leaves that cap to its caller).
// Then self tests: CRC-32C, CRC combination, status strings, random round trips (many T, sizes, distributions) and
// mutated streams, where the emulator (and the GPU) must agree with an independent sequential decoder written here.
// Exit status 0 iff every check passed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../src/ecf8_core.h"
#include "../tools/ecf8_datagen.h"
#include "../tools/ecf8_encoder.h"
#include "ecf8.h"
#include "mini_json.h"

#ifdef ECF8_TEST_CUDA
#include <cuda_runtime.h>
#endif

static int g_fail = 0;
static long g_checks = 0;
#define CHECK(cond, ...)                                          \
  do {                                                            \
    g_checks++;                                                   \
    if (!(cond)) {                                                \
      g_fail++;                                                   \
      if (g_fail <= 60) {                                         \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
        fprintf(stderr, __VA_ARGS__);                             \
        fputc('\n', stderr);                                      \
      }                                                           \
    }                                                             \
  } while (0)

typedef std::vector<uint8_t> Bytes;

static bool read_file(const std::string &path, Bytes &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  out.assign(s.begin(), s.end());
  return true;
}

static const char *code(int st) {
  const char *s = ecf8_status_string(st);
  return s ? s : "?";
}

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Independent sequential decoder (spec §8.3, §11.2 phase C), bit by bit with canonical first codes: shares no code
// with the kernel (only phases A and B, via ecf8_validate).
// ---------------------------------------------------------------------------------------------------------------
static ecf8_status ref_decode(const Bytes &s, Bytes &out) {
  ecf8_info I;
  ecf8_status st = ecf8_validate(s.data(), s.size(), 0, &I);
  if (st != ECF8_OK) return st;
  const uint64_t n = I.element_count, bits = I.exponent_bit_count, T = I.threads_per_block;
  uint32_t count[17] = {0}, first[17] = {0}, index[17] = {0};
  int syms[16], m = 0;
  for (int len = 1; len <= 16; len++)
    for (int x = 0; x < 16; x++)
      if (I.code_lengths[x] == len) {
        syms[m++] = x;
        count[len]++;
      }
  uint32_t c = 0, k = 0;
  for (int len = 1; len <= 16; len++) {
    c = (c + count[len - 1]) << 1;
    first[len] = c;
    index[len] = k;
    k += count[len];
  }
  out.assign(n, 0);
  const uint8_t *ex = s.data() + I.exponents_offset, *gaps = s.data() + I.gaps_offset;
  const uint8_t *pos = s.data() + I.positions_offset, *nib = s.data() + I.nibbles_offset;
  auto bit = [&](uint64_t p) -> uint32_t {
    uint64_t byte = p >> 3;
    return byte < I.exponents_size ? (ex[byte] >> (7 - (p & 7))) & 1u : 0u;
  };
  bool gap_bad = false, pos_bad = false;
  uint64_t idx = 0, prev_end = 0;
  for (uint64_t b = 0; b < I.n_blocks; b++) {
    uint64_t in_block = 0;
    for (uint64_t t = b * T; t < (b + 1) * T; t++) {
      const uint64_t w = 64 * t;
      if (w >= bits) continue;
      const uint32_t gap = (t & 1) ? (gaps[t >> 1] & 15) : (gaps[t >> 1] >> 4);
      uint64_t p = w + gap;
      if (p != prev_end) gap_bad = true;
      const uint64_t limit = w + 64 < bits ? w + 64 : bits;
      while (p < limit) {
        uint32_t code = 0;
        int x = -1, len;
        for (len = 1; len <= 16; len++) {
          code = (code << 1) | bit(p + len - 1);
          if (count[len] && code >= first[len] && code - first[len] < count[len]) {
            x = syms[index[len] + code - first[len]];
            break;
          }
        }
        if (x < 0) return ECF8_INVALID_ARGUMENT;  // impossible with a complete code
        if (idx < n) {
          uint32_t q = (idx & 1) ? (nib[idx >> 1] & 15) : (nib[idx >> 1] >> 4);
          out[idx] = (uint8_t)(((q & 8) << 4) | (x << 3) | (q & 7));
        }
        idx++;
        in_block++;
        p += len;
      }
      prev_end = p;
    }
    if (in_block != rd64(pos + 8 * (b + 1)) - rd64(pos + 8 * b)) pos_bad = true;
  }
  if (bits > 0 && prev_end != bits) gap_bad = true;
  if (gap_bad) return ECF8_GAP_MISMATCH;
  if (pos_bad) return ECF8_POSITION_MISMATCH;
  if (ecf8_crc32c(0, out.data(), out.size()) != I.content_crc32c) return ECF8_CONTENT_CHECKSUM_MISMATCH;
  return ECF8_OK;
}

// Host (emulator) decode at `offset` with guard bytes around the output; checks the guards.
static ecf8_status host_decode(const Bytes &s, uint64_t offset, unsigned flags, Bytes &out, const char *name) {
  ecf8_info I;
  uint64_t n = 0;
  if (ecf8_validate_header(s.data(), s.size(), &I) == ECF8_OK) n = I.element_count;
  if (n > ((uint64_t)1 << 33)) n = 0;  // never allocate by a hostile header: such streams fail before writing
  const uint64_t cap = offset + n + 32;
  Bytes buf(cap, 0xA5);
  ecf8_status st = ecf8_host_decode(s.data(), s.size(), buf.data(), offset + n, offset, flags);
  for (uint64_t i = 0; i < cap; i++)
    if (i < offset || i >= offset + n) {
      if (buf[i] != 0xA5) {
        CHECK(false, "%s: emulator wrote outside its output range at %llu", name, (unsigned long long)i);
        break;
      }
    }
  out.assign(buf.begin() + offset, buf.begin() + offset + n);
  return st;
}

// ---------------------------------------------------------------------------------------------------------------
// GPU path.
// ---------------------------------------------------------------------------------------------------------------
static bool g_gpu = false;

#ifdef ECF8_TEST_CUDA
static ecf8_status gpu_decode(const Bytes &s, uint64_t offset, unsigned flags, Bytes &out, const char *name) {
  ecf8_device_stream *ds = nullptr;
  ecf8_status st = ecf8_device_upload(s.data(), s.size(), flags, nullptr, &ds);
  if (st != ECF8_OK) return st;
  const uint64_t n = ecf8_device_info(ds)->element_count;
  const uint64_t cap = offset + n + 64;
  uint8_t *d = nullptr;
  void *ws = nullptr;
  const uint64_t wsz = ecf8_device_workspace_size(ds);
  CHECK(wsz == ecf8_workspace_size_for(n), "%s: device workspace size differs from ecf8_workspace_size_for", name);
  CHECK(ecf8_device_stream_bytes(ds) >= s.size(), "%s: ecf8_device_stream_bytes below the stream size", name);
  if (cudaMalloc(&d, cap) != cudaSuccess || cudaMalloc(&ws, wsz) != cudaSuccess) {
    CHECK(false, "%s: cudaMalloc failed", name);
    ecf8_device_free(ds);
    return ECF8_BACKEND_UNAVAILABLE;
  }
  cudaMemset(d, 0xA5, cap);
  st = ecf8_device_decode(ds, d, offset + n, offset, ws, wsz, flags, nullptr);
  if (st == ECF8_OK) st = ecf8_device_result(ds, ws, nullptr);
  Bytes buf(cap);
  cudaError_t e = cudaMemcpy(buf.data(), d, cap, cudaMemcpyDeviceToHost);
  CHECK(e == cudaSuccess, "%s: copy back failed: %s", name, cudaGetErrorString(e));
  e = cudaGetLastError();
  CHECK(e == cudaSuccess, "%s: CUDA error %s (%s)", name, cudaGetErrorString(e), ecf8_device_last_error());
  for (uint64_t i = 0; i < cap; i++)
    if (i < offset || i >= offset + n) {
      if (buf[i] != 0xA5) {
        CHECK(false, "%s: GPU wrote outside its output range at %llu", name, (unsigned long long)i);
        break;
      }
    }
  out.assign(buf.begin() + offset, buf.begin() + offset + n);
  cudaFree(d);
  cudaFree(ws);
  ecf8_device_free(ds);
  return st;
}
#else
static ecf8_status gpu_decode(const Bytes &, uint64_t, unsigned, Bytes &, const char *) {
  return ECF8_BACKEND_UNAVAILABLE;
}
#endif

// Decode `s` every way and compare with `expect` (status and, when OK, bytes).
static void check_all_ways(const Bytes &s, ecf8_status expect_st, const Bytes *expect, const char *name,
                           bool many_offsets) {
  static const uint64_t offs_many[] = {0, 1, 5, 13, 16};
  static const uint64_t offs_one[] = {0, 3};
  const uint64_t *offs = many_offsets ? offs_many : offs_one;
  const int noffs = many_offsets ? 5 : 2;
  for (int k = 0; k < noffs; k++) {
    Bytes out;
    ecf8_status st = host_decode(s, offs[k], 0, out, name);
    CHECK(st == expect_st, "%s: emulator at offset %llu gave %s, expected %s", name, (unsigned long long)offs[k],
          code(st), code(expect_st));
    if (st == ECF8_OK && expect) CHECK(out == *expect, "%s: emulator bytes differ (offset %llu)", name,
                                       (unsigned long long)offs[k]);
  }
  if (expect_st == ECF8_OK || expect_st >= ECF8_GAP_MISMATCH) {
    Bytes out;  // checksum opt-out still decodes the same bytes (and finds the same gap/position errors)
    ecf8_status st = host_decode(s, 7, ECF8_SKIP_CHECKSUMS, out, name);
    ecf8_status want = expect_st == ECF8_CONTENT_CHECKSUM_MISMATCH ? ECF8_OK : expect_st;
    CHECK(st == want, "%s: emulator without checksums gave %s, expected %s", name, code(st), code(want));
    if (st == ECF8_OK && expect) CHECK(out == *expect, "%s: emulator bytes differ without checksums", name);
  }
  if (g_gpu) {
    for (int k = 0; k < 2; k++) {
      Bytes out;
      uint64_t off = k == 0 ? 0 : 3;
      ecf8_status st = gpu_decode(s, off, 0, out, name);
      CHECK(st == expect_st, "%s: GPU at offset %llu gave %s, expected %s", name, (unsigned long long)off, code(st),
            code(expect_st));
      if (st == ECF8_OK && expect) CHECK(out == *expect, "%s: GPU bytes differ (offset %llu)", name,
                                         (unsigned long long)off);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Shared vectors.
// ---------------------------------------------------------------------------------------------------------------
static int run_vectors(const std::string &dir) {
  Bytes mbytes;
  if (!read_file(dir + "/manifest.json", mbytes)) {
    fprintf(stderr, "cannot read %s/manifest.json\n", dir.c_str());
    return -1;
  }
  mjson::Value m = mjson::parse(std::string(mbytes.begin(), mbytes.end()));
  CHECK(m.str("format") == "ecf8-test-vectors", "manifest format");
  int nvalid = 0, ninvalid = 0, nheader = 0;
  if (const mjson::Value *valid = m.get("valid"))
    for (const mjson::Value &v : valid->items) {
      const std::string name = v.str("name");
      Bytes s, dec, luts;
      bool ok = read_file(dir + "/" + v.str("stream"), s) && read_file(dir + "/" + v.str("decoded"), dec);
      CHECK(ok, "%s: missing files", name.c_str());
      if (!ok) continue;
      nvalid++;
      ecf8_info I;
      ecf8_status st = ecf8_validate(s.data(), s.size(), 0, &I);
      CHECK(st == ECF8_OK, "%s: validate gave %s", name.c_str(), code(st));
      if (st != ECF8_OK) continue;
      CHECK(I.element_count == v.u64("elements") && I.element_count == dec.size(), "%s: element count",
            name.c_str());
      CHECK(I.threads_per_block == v.u64("threadsPerBlock"), "%s: T", name.c_str());
      if (!v.str("tables").empty() && read_file(dir + "/" + v.str("tables"), luts)) {
        uint8_t buf[ECF8_MAX_LUT_BYTES];
        uint32_t nl = 0;
        st = ecf8_build_luts(I.code_lengths, I.element_count, buf, sizeof buf, &nl);
        CHECK(st == ECF8_OK && nl * 256u == luts.size() && memcmp(buf, luts.data(), luts.size()) == 0,
              "%s: decode tables differ from %s", name.c_str(), v.str("tables").c_str());
        CHECK(nl == I.n_luts, "%s: n_luts in info", name.c_str());
      } else {
        CHECK(false, "%s: no tables file", name.c_str());
      }
      if (v.boolean("canonical")) {
        Bytes enc = ecf8enc::encode(dec.data(), dec.size(), I.threads_per_block);
        CHECK(enc == s, "%s: C++ reference encoder does not reproduce the canonical stream", name.c_str());
      }
      Bytes ref;
      st = ref_decode(s, ref);
      CHECK(st == ECF8_OK && ref == dec, "%s: sequential test decoder gave %s", name.c_str(), code(st));
      check_all_ways(s, ECF8_OK, &dec, name.c_str(), true);
    }
  if (const mjson::Value *inv = m.get("invalid"))
    for (const mjson::Value &v : inv->items) {
      const std::string name = v.str("name");
      Bytes s;
      if (!read_file(dir + "/" + v.str("stream"), s)) {
        CHECK(false, "%s: missing stream", name.c_str());
        continue;
      }
      ninvalid++;
      const int want = ecf8_status_from_string(v.str("error").c_str());
      CHECK(want > 0, "%s: unknown error code %s in manifest", name.c_str(), v.str("error").c_str());
      if (want <= 0) continue;
      Bytes ref;
      ecf8_status st = ref_decode(s, ref);
      CHECK(st == want, "%s: sequential test decoder gave %s, expected %s", name.c_str(), code(st), code(want));
      check_all_ways(s, (ecf8_status)want, nullptr, name.c_str(), false);
    }
  if (const mjson::Value *ho = m.get("headerOnly"))
    for (const mjson::Value &v : ho->items) {
      const std::string name = v.str("name");
      Bytes s;
      if (!read_file(dir + "/" + v.str("stream"), s)) {
        CHECK(false, "%s: missing stream", name.c_str());
        continue;
      }
      nheader++;
      // Phase A reads only the 88 header bytes, so validating them against the full stream size checks steps 1-11
      // and the derived stream size without the sections.
      ecf8_info I;
      ecf8_status st = s.size() >= 88 ? ecf8_validate_header(s.data(), v.u64("streamSize"), &I) : ECF8_TRUNCATED;
      CHECK(st == ECF8_OK, "%s: header against streamSize gave %s", name.c_str(), code(st));
      if (st == ECF8_OK)
        CHECK(I.element_count == v.u64("elements") && I.stream_size == v.u64("streamSize"), "%s: header fields",
              name.c_str());
      const int want = ecf8_status_from_string(v.str("error").c_str());
      check_all_ways(s, (ecf8_status)want, nullptr, name.c_str(), false);
    }
  // API-level vectors: the caller's parameters. The C API takes an output capacity and offset (ecf8_host_decode)
  // but has no output cap: a caller applies maxOutputBytes itself to ecf8_validate_header's element_count, so
  // vectors with maxOutputBytes are skipped here (and run by the backend suite through the Node binding).
  int napi = 0, napi_skipped = 0;
  if (const mjson::Value *api = m.get("api"))
    for (const mjson::Value &v : api->items) {
      const std::string name = v.str("name");
      const mjson::Value *params = v.get("parameters");
      if (!params || params->get("maxOutputBytes") || !params->get("outputBytes")) {
        napi_skipped++;
        continue;
      }
      Bytes s, dec;
      if (!read_file(dir + "/" + v.str("stream"), s) || (!v.get("error") && !read_file(dir + "/" + v.str("decoded"), dec))) {
        CHECK(false, "%s: missing files", name.c_str());
        continue;
      }
      napi++;
      const uint64_t size = params->u64("outputBytes"), offset = params->u64("outputOffset");
      const int want = v.get("error") ? ecf8_status_from_string(v.str("error").c_str()) : (int)ECF8_OK;
      CHECK(want >= 0, "%s: unknown error code %s in manifest", name.c_str(), v.str("error").c_str());
      Bytes buf(size + 1, 0xA5);  // one guard byte past the caller's buffer
      ecf8_status st = ecf8_host_decode(s.data(), s.size(), buf.data(), size, offset, 0);
      CHECK(st == want, "%s: emulator gave %s, expected %s", name.c_str(), code(st), code(want));
      const uint64_t end = st == ECF8_OK ? offset + dec.size() : offset;
      if (st == ECF8_OK) CHECK(Bytes(buf.begin() + offset, buf.begin() + end) == dec, "%s: emulator bytes differ", name.c_str());
      bool untouched = true;
      for (uint64_t i = 0; i < buf.size(); i++)
        if ((i < offset || i >= end) && buf[i] != 0xA5) untouched = false;
      CHECK(untouched, "%s: emulator wrote outside [offset, offset + n)", name.c_str());
    }
  printf("vectors: %d valid, %d invalid, %d header-only, %d api (%d api skipped: maxOutputBytes is the caller's check "
         "in the C API)\n",
         nvalid, ninvalid, nheader, napi, napi_skipped);
  return nvalid + ninvalid + nheader + napi;
}

// ---------------------------------------------------------------------------------------------------------------
// Self tests.
// ---------------------------------------------------------------------------------------------------------------
static void fix_metadata_crc(Bytes &s) {
  ecf8_info I;
  if (ecf8_validate_header(s.data(), s.size(), &I) != ECF8_OK) return;
  uint32_t c = ecf8_crc32c(0, s.data(), 84);
  c = ecf8_crc32c(c, s.data() + I.positions_offset, I.positions_size + I.gaps_size);
  ecf8enc::put32(s.data() + 84, c);
}

static void self_tests(int fuzz, bool quick) {
  // CRC-32C (§10).
  CHECK(ecf8_crc32c(0, "123456789", 9) == 0xE3069283u, "crc32c check value");
  {
    uint8_t z[64] = {0};
    CHECK(ecf8_crc32c(0, z, 0) == 0, "crc32c of nothing");
    Bytes d = ecf8gen::uniform_bytes(10007, 1);
    for (size_t cut : {0u, 1u, 7u, 4096u, 10006u, 10007u}) {
      uint32_t a = ecf8_crc32c(0, d.data(), cut), b = ecf8_crc32c(0, d.data() + cut, d.size() - cut);
      CHECK(ecf8::crc_combine(a, b, d.size() - cut) == ecf8_crc32c(0, d.data(), d.size()), "crc combine at %zu",
            cut);
      CHECK(ecf8_crc32c(a, d.data() + cut, d.size() - cut) == ecf8_crc32c(0, d.data(), d.size()), "crc continue");
    }
    // Raw (zero-initial) CRC, finalised: the device's method.
    const uint32_t *t = nullptr;
    (void)t;
    uint32_t raw = 0;
    {
      uint32_t tab[256];
      for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ ecf8::kCrcPoly : c >> 1;
        tab[i] = c;
      }
      for (uint8_t byte : d) raw = ecf8::crc_update_byte(raw, byte, tab);
    }
    CHECK(ecf8::crc_finalize_raw(raw, d.size()) == ecf8_crc32c(0, d.data(), d.size()), "raw crc finalise");
  }
  // Status strings.
  for (int i = 0; i <= 40; i++) {
    const char *s = ecf8_status_string(i);
    if (s) CHECK(ecf8_status_from_string(s) == i, "status round trip %d", i);
  }
  CHECK(ecf8_status_from_string("ECF8_NOPE") == -1, "unknown status string");
  // Intrinsic emulation (ecf8_core.h).
  CHECK(ecf8::byte_perm(0x44332211u, 0, 0x0123) == 0x11223344u, "byte_perm bswap");
  CHECK(ecf8::funnel_l(0x89ABCDEFu, 0x01234567u, 8) == 0x23456789u, "funnel shift");
  // Argument errors.
  {
    Bytes d = ecf8gen::gaussian(1000, 1.0, 3), s = ecf8enc::encode(d.data(), d.size(), 64);
    Bytes out(1000);
    CHECK(ecf8_host_decode(s.data(), s.size(), out.data(), 999, 0, 0) == ECF8_OUTPUT_TOO_SMALL, "output too small");
    CHECK(ecf8_host_decode(s.data(), s.size(), out.data(), 1000, 1, 0) == ECF8_OUTPUT_TOO_SMALL, "offset too big");
    CHECK(ecf8_host_decode(s.data(), s.size(), out.data(), 1000, 0, 8) == ECF8_INVALID_ARGUMENT, "bad flags");
    // A capacity that runs past the end of the address space: nothing is written.
    void *top = (void *)(UINTPTR_MAX - 511);
    CHECK(ecf8_host_decode(s.data(), s.size(), top, UINT64_MAX, 0, 0) == ECF8_INVALID_ARGUMENT, "output wraps around");
    CHECK(ecf8_device_decode(nullptr, top, UINT64_MAX, 0, nullptr, 0, 0, nullptr) == ECF8_INVALID_ARGUMENT, "NULL stream");
    CHECK(ecf8_host_decode(s.data(), s.size(), out.data(), 1000, 0, 0) == ECF8_OK && out == d, "plain decode");
  }
#ifdef ECF8_TEST_CUDA
  // Device API argument errors (ecf8.h): the checks before any CUDA call need no GPU; the rest run with one.
  {
    Bytes d = ecf8gen::gaussian(1000, 1.0, 3), s = ecf8enc::encode(d.data(), d.size(), 64);
    ecf8_device_stream *ds = nullptr;
    CHECK(ecf8_device_upload(s.data(), s.size(), 0, nullptr, nullptr) == ECF8_INVALID_ARGUMENT, "upload: NULL out");
    CHECK(ecf8_device_upload(nullptr, s.size(), 0, nullptr, &ds) == ECF8_INVALID_ARGUMENT, "upload: NULL stream");
    CHECK(ecf8_device_upload(s.data(), s.size(), 8, nullptr, &ds) == ECF8_INVALID_ARGUMENT, "upload: bad flags");
    Bytes bad = s;
    bad[0] ^= 1;
    CHECK(ecf8_device_upload(bad.data(), bad.size(), 0, nullptr, &ds) == ECF8_BAD_MAGIC && !ds, "upload: phase A first");
    CHECK(ecf8_device_result(nullptr, (void *)256, nullptr) == ECF8_INVALID_ARGUMENT, "result: NULL stream");
    CHECK(ecf8_device_decode_sync(nullptr, (void *)256, 1000, 0, 0, nullptr) == ECF8_INVALID_ARGUMENT, "decode_sync: NULL stream");
    CHECK(ecf8_device_info(nullptr) == nullptr, "info: NULL stream");
    if (g_gpu && ecf8_device_upload(s.data(), s.size(), 0, nullptr, &ds) == ECF8_OK) {
      const uint64_t n = d.size(), wsz = ecf8_device_workspace_size(ds);
      uint8_t *dst = nullptr, *ws = nullptr;
      CHECK(cudaMalloc(&dst, n) == cudaSuccess && cudaMalloc(&ws, wsz + 256) == cudaSuccess, "argument checks: cudaMalloc");
      CHECK(ecf8_device_decode(ds, dst, n, 0, ws + 16, wsz, 0, nullptr) == ECF8_INVALID_ARGUMENT, "misaligned workspace");
      CHECK(ecf8_device_decode(ds, dst, n, 0, ws, wsz - 1, 0, nullptr) == ECF8_INVALID_ARGUMENT, "workspace too small");
      CHECK(ecf8_device_decode(ds, dst, n, 0, nullptr, wsz, 0, nullptr) == ECF8_INVALID_ARGUMENT, "NULL workspace");
      CHECK(ecf8_device_decode(ds, dst, n, 0, ws, wsz, 8, nullptr) == ECF8_INVALID_ARGUMENT, "bad flags");
      CHECK(ecf8_device_decode(ds, dst, n - 1, 0, ws, wsz, 0, nullptr) == ECF8_OUTPUT_TOO_SMALL, "capacity < n");
      CHECK(ecf8_device_decode(ds, dst, n, 1, ws, wsz, 0, nullptr) == ECF8_OUTPUT_TOO_SMALL, "capacity < offset + n");
      CHECK(ecf8_device_decode(ds, dst, n, n + 1, ws, wsz, 0, nullptr) == ECF8_OUTPUT_TOO_SMALL, "offset > capacity");
      CHECK(ecf8_device_decode(ds, nullptr, n, 0, ws, wsz, 0, nullptr) == ECF8_INVALID_ARGUMENT, "NULL output");
      CHECK(ecf8_device_decode(ds, (void *)(UINTPTR_MAX - 511), UINT64_MAX, 0, ws, wsz, 0, nullptr) == ECF8_INVALID_ARGUMENT,
            "output wraps around");
      CHECK(ecf8_device_decode(ds, dst, n, 0, ws, wsz, 0, nullptr) == ECF8_OK && ecf8_device_result(ds, ws, nullptr) == ECF8_OK,
            "usable after the argument errors");
      cudaFree(dst);
      cudaFree(ws);
      ecf8_device_free(ds);
    }
  }
#endif
#ifndef ECF8_HAVE_SIZE_QUERIES
#error "ecf8.h declares ecf8_workspace_size_for and ecf8_device_stream_bytes: it must define ECF8_HAVE_SIZE_QUERIES"
#endif
  // Workspace sizing without a device (ecf8_workspace_size_for): a multiple of 256, growing
  // with the element count; a NULL handle holds no device bytes.
  {
    CHECK(ecf8_workspace_size_for(0) == 768 && ecf8_workspace_size_for(1) == 1024, "workspace size of tiny streams");
    uint64_t prev = 0;
    for (uint64_t n : {0ull, 4096ull, 1ull << 20, 1ull << 30, 1ull << 40}) {
      const uint64_t w = ecf8_workspace_size_for(n);
      CHECK(w % 256 == 0 && w >= prev, "workspace size for %llu", (unsigned long long)n);
      prev = w;
    }
    CHECK(ecf8_workspace_size_for(1ull << 40) > ecf8_workspace_size_for(1ull << 20), "workspace grows with n");
    CHECK(ecf8_device_stream_bytes(nullptr) == 0 && ecf8_device_workspace_size(nullptr) == 0, "NULL handle sizes");
  }
  // Random round trips through encoder -> emulator (and GPU), across T, sizes and distributions.
  ecf8gen::Rng rng(12345);
  const uint32_t Ts[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  const int rounds = quick ? 40 : 160;
  for (int r = 0; r < rounds; r++) {
    const uint32_t T = Ts[rng.next() % 11];
    uint64_t n = rng.next() % (r < 20 ? 70 : 40000);
    if (r % 17 == 0) n = 70000 + rng.next() % 70000;
    Bytes d;
    switch (r % 4) {
      case 0: d = ecf8gen::gaussian(n, 0.02 + rng.uniform() * 20, rng.next()); break;
      case 1: d = ecf8gen::skewed(n, rng.next()); break;
      case 2: d = ecf8gen::uniform_bytes(n, rng.next()); break;
      default: d.assign(n, (uint8_t)rng.next()); break;  // a single exponent (and byte)
    }
    Bytes s = ecf8enc::encode(d.data(), d.size(), T);
    char name[64];
    snprintf(name, sizeof name, "roundtrip-%d(T=%u,n=%llu)", r, T, (unsigned long long)n);
    Bytes ref;
    ecf8_status st = ref_decode(s, ref);
    CHECK(st == ECF8_OK && ref == d, "%s: sequential decoder %s", name, code(st));
    check_all_ways(s, ECF8_OK, &d, name, r % 8 == 0);
  }
  // Mutations: the emulator (and GPU) must agree with the sequential decoder on the status and, when it is OK, on
  // the bytes, and must never write outside the output. Metadata checksums are fixed up after a mutation so that
  // most mutants reach phase C (gap chain, positions, content checksum).
  for (int r = 0; r < fuzz; r++) {
    const uint32_t T = Ts[rng.next() % 8];
    const uint64_t n = 1 + rng.next() % 3000;
    Bytes d = (r & 1) ? ecf8gen::gaussian(n, 1.0, rng.next()) : ecf8gen::skewed(n, rng.next());
    Bytes s = ecf8enc::encode(d.data(), d.size(), T);
    ecf8_info I;
    ecf8_validate(s.data(), s.size(), 0, &I);
    const int nmut = 1 + (int)(rng.next() % 3);
    for (int k = 0; k < nmut; k++) {
      const uint64_t where = rng.next() % 10;
      uint64_t lo, len;
      if (where < 4) {  // exponent bitstream
        lo = I.exponents_offset, len = (I.exponent_bit_count + 7) / 8;
      } else if (where < 7) {  // gaps
        lo = I.gaps_offset, len = (I.n_threads + 1) / 2;
      } else if (where < 8) {  // positions
        lo = I.positions_offset, len = I.positions_size;
      } else if (where < 9) {  // nibbles
        lo = I.nibbles_offset, len = (n + 1) / 2;
      } else {  // anywhere
        lo = 0, len = s.size();
      }
      if (len == 0) continue;
      s[lo + rng.next() % len] ^= (uint8_t)(1u << (rng.next() % 8));
    }
    if (rng.next() % 4) fix_metadata_crc(s);
    char name[64];
    snprintf(name, sizeof name, "mutant-%d(T=%u,n=%llu)", r, T, (unsigned long long)n);
    Bytes ref;
    ecf8_status want = ref_decode(s, ref);
    check_all_ways(s, want, want == ECF8_OK ? &ref : nullptr, name, false);
  }
}

int main(int argc, char **argv) {
  std::string dir;
  std::string gpu_mode = "auto";
  int fuzz = 400;
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--gpu=", 0) == 0)
      gpu_mode = a.substr(6);
    else if (a.rfind("--fuzz=", 0) == 0)
      fuzz = atoi(a.c_str() + 7);
    else if (a == "--quick")
      quick = true;
    else
      dir = a;
  }
  const char *why = "";
  const bool avail = ecf8_cuda_available(&why) == ECF8_OK;
  g_gpu = gpu_mode != "off" && avail;
  if (gpu_mode == "require" && !avail) {
    fprintf(stderr, "GPU required but unavailable: %s\n", why);
    return 2;
  }
  printf("ecf8_test: GPU %s%s%s\n", g_gpu ? "enabled" : "skipped", g_gpu ? "" : " - ", g_gpu ? "" : why);
  int nvec = 0;
  if (!dir.empty()) {
    try {
      nvec = run_vectors(dir);
    } catch (const std::exception &e) {
      fprintf(stderr, "manifest: %s\n", e.what());
      nvec = -1;
    }
    CHECK(nvec > 0, "no vectors found in %s", dir.c_str());
  }
  self_tests(fuzz, quick);
  printf("ecf8_test: %ld checks, %d failed (emulator%s)\n", g_checks, g_fail, g_gpu ? " + GPU" : " only");
  return g_fail ? 1 : 0;
}
