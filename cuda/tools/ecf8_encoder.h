// ecf8_encoder.h -- a C++ implementation of the spec's reference encoder (spec/ecf8-v1.md §12), for the test
// program (round trips, and byte-for-byte comparison with canonical test vectors) and the benchmark. Header-only;
// uses ecf8_crc32c from the library.
#pragma once

#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "ecf8.h"

namespace ecf8enc {

// §12.2 code lengths from a histogram.
inline void code_lengths_from_histogram(const uint64_t h[16], uint8_t out[16]) {
  memset(out, 0, 16);
  int k = 0, only = -1;
  for (int x = 0; x < 16; x++)
    if (h[x]) {
      k++;
      only = x;
    }
  if (k == 0) return;
  if (k == 1) {
    out[only] = 1;
    for (int y = 0; y < 16; y++)
      if (y != only) {
        out[y] = 1;
        break;
      }
    return;
  }
  struct Item {
    uint64_t w;
    uint8_t c[16];
  };
  std::vector<Item> leaves;
  for (int x = 0; x < 16; x++)
    if (h[x]) {
      Item it{h[x], {0}};
      it.c[x] = 1;
      leaves.push_back(it);
    }
  std::stable_sort(leaves.begin(), leaves.end(), [](const Item &a, const Item &b) { return a.w < b.w; });
  std::vector<Item> list = leaves;
  for (int rep = 0; rep < 15; rep++) {
    std::vector<Item> packages;
    for (size_t i = 0; i + 1 < list.size(); i += 2) {
      Item p{list[i].w + list[i + 1].w, {0}};
      for (int x = 0; x < 16; x++) p.c[x] = (uint8_t)(list[i].c[x] + list[i + 1].c[x]);
      packages.push_back(p);
    }
    std::vector<Item> merged;
    size_t a = 0, b = 0;
    while (a < leaves.size() || b < packages.size()) {
      // On equal weight every leaf precedes every package.
      if (b >= packages.size() || (a < leaves.size() && leaves[a].w <= packages[b].w))
        merged.push_back(leaves[a++]);
      else
        merged.push_back(packages[b++]);
    }
    list.swap(merged);
  }
  for (size_t i = 0; i < (size_t)(2 * k - 2); i++)
    for (int x = 0; x < 16; x++) out[x] = (uint8_t)(out[x] + list[i].c[x]);
}

inline void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
inline void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Encodes n FP8 bytes with T threads per block (§12.3). T must be a power of two in 1..1024.
inline std::vector<uint8_t> encode(const uint8_t *data, uint64_t n, uint32_t T = 512) {
  uint64_t h[16] = {0};
  for (uint64_t i = 0; i < n; i++) h[(data[i] >> 3) & 15]++;
  uint8_t cl[16];
  code_lengths_from_histogram(h, cl);
  // Canonical codes (§5.2).
  uint32_t code[16] = {0};
  {
    uint32_t prev_code = 0, prev_len = 0;
    bool first = true;
    for (int len = 1; len <= 16; len++)
      for (int x = 0; x < 16; x++)
        if (cl[x] == len) {
          code[x] = first ? 0u : ((prev_code + 1u) << (len - prev_len));
          first = false;
          prev_code = code[x];
          prev_len = (uint32_t)len;
        }
  }
  uint64_t bits = 0;
  for (int x = 0; x < 16; x++) bits += h[x] * cl[x];
  const uint64_t used_bytes = (bits + 7) / 8;
  const uint64_t n_blocks = (used_bytes + 8ull * T - 1) / (8ull * T);
  const uint64_t n_threads = n_blocks * T;
  const uint64_t pos_size = 8 * (n_blocks + 1);
  const uint64_t gaps_size = ((n_threads + 1) / 2 + 7) / 8 * 8;
  const uint64_t exp_size = (used_bytes + 7) / 8 * 8 + 16;
  const uint64_t nib_size = ((n + 1) / 2 + 7) / 8 * 8;
  const uint64_t total = 88 + pos_size + gaps_size + exp_size + nib_size;
  std::vector<uint8_t> s(total, 0);
  uint8_t *pos = s.data() + 88, *gaps = pos + pos_size, *ex = gaps + gaps_size, *nib = ex + exp_size;
  // Bitstream (§7), gaps (§8.2), positions (§8.1) in one pass.
  uint64_t acc = 0;  // pending bits, left-aligned count `nacc`
  uint32_t nacc = 0;
  uint64_t out_byte = 0, bitpos = 0, next_window = 0;
  const uint64_t block_bits = 64ull * T;
  std::vector<uint64_t> per_block(n_blocks + 1, 0);
  auto set_gap = [&](uint64_t t, uint32_t g) {
    if (t & 1)
      gaps[t >> 1] |= (uint8_t)g;
    else
      gaps[t >> 1] |= (uint8_t)(g << 4);
  };
  for (uint64_t i = 0; i < n; i++) {
    const uint32_t x = (data[i] >> 3) & 15, len = cl[x];
    while (next_window * 64 <= bitpos && next_window * 64 < bits) {
      set_gap(next_window, (uint32_t)(bitpos - next_window * 64));
      next_window++;
    }
    per_block[bitpos / block_bits]++;
    acc = (acc << len) | code[x];
    nacc += len;
    while (nacc >= 8) {
      ex[out_byte++] = (uint8_t)(acc >> (nacc - 8));
      nacc -= 8;
    }
    bitpos += len;
    const uint32_t q = ((data[i] >> 7) << 3) | (data[i] & 7);
    nib[i >> 1] |= (uint8_t)((i & 1) ? q : (q << 4));
  }
  if (nacc) ex[out_byte++] = (uint8_t)(acc << (8 - nacc));
  while (next_window * 64 < bits) {
    set_gap(next_window, (uint32_t)(bits - next_window * 64));
    next_window++;
  }
  uint64_t run = 0;
  put64(pos, 0);
  for (uint64_t b = 0; b < n_blocks; b++) {
    run += per_block[b];
    put64(pos + 8 * (b + 1), run);
  }
  // Header (§4.1).
  uint8_t *hd = s.data();
  hd[0] = 'E', hd[1] = 'C', hd[2] = 'F', hd[3] = '8', hd[4] = 1, hd[5] = 1, hd[6] = 8, hd[7] = 0;
  put32(hd + 8, T);
  put64(hd + 16, n);
  put64(hd + 24, bits);
  memcpy(hd + 32, cl, 16);
  put64(hd + 48, pos_size);
  put64(hd + 56, gaps_size);
  put64(hd + 64, exp_size);
  put64(hd + 72, nib_size);
  put32(hd + 80, ecf8_crc32c(0, data, (size_t)n));
  uint32_t mc = ecf8_crc32c(0, hd, 84);
  mc = ecf8_crc32c(mc, pos, (size_t)(pos_size + gaps_size));
  put32(hd + 84, mc);
  return s;
}

}  // namespace ecf8enc
