// ecf8_datagen.h -- deterministic FP8 E4M3 test data for the test program and the benchmark.
#pragma once

#include <math.h>
#include <stdint.h>

#include <vector>

namespace ecf8gen {

// splitmix64: small, fast, deterministic.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  }
};

// Round a float to FP8 E4M3FN (round to nearest, saturating to +-448; no NaN from finite inputs).
inline uint8_t to_e4m3(double x) {
  uint8_t sign = x < 0 ? 0x80 : 0;
  double a = fabs(x);
  if (!(a < 464.0)) return sign | 0x7E;  // saturate (448 is the largest finite value)
  if (a < 0.015625) {  // subnormal range: steps of 2^-9
    int m = (int)lrint(a * 512.0);
    if (m >= 8) return sign | 0x08;  // rounds up to the smallest normal
    return sign | (uint8_t)m;
  }
  int e;
  double f = frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  e -= 1;  // a = (2f) * 2^e, 2f in [1, 2)
  int m = (int)lrint((2.0 * f - 1.0) * 8.0);
  if (m == 8) {
    m = 0;
    e++;
  }
  int be = e + 7;
  if (be > 15 || (be == 15 && m == 7)) return sign | 0x7E;
  return sign | (uint8_t)(be << 3) | (uint8_t)m;
}

// n samples of N(0, sigma^2) in E4M3 (the paper's Table 6 tensors are N(0,1) samples).
inline std::vector<uint8_t> gaussian(uint64_t n, double sigma, uint64_t seed) {
  std::vector<uint8_t> v(n);
  Rng r(seed);
  for (uint64_t i = 0; i < n; i++) v[i] = to_e4m3(sigma * r.normal());
  return v;
}

// Uniform random bytes (every exponent equally likely: 4-bit codes).
inline std::vector<uint8_t> uniform_bytes(uint64_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  Rng r(seed);
  for (uint64_t i = 0; i < n; i++) v[i] = (uint8_t)r.next();
  return v;
}

// Exponent x with probability ~ 2^-(x+1) (capped), random sign and mantissa: a very skewed code with long codes.
inline std::vector<uint8_t> skewed(uint64_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  Rng r(seed);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t z = r.next();
    int x = __builtin_ctzll(z | (1ull << 15));  // geometric, 0..15
    v[i] = (uint8_t)(((z >> 20) & 0x80) | (x << 3) | ((z >> 40) & 7));
  }
  return v;
}

}  // namespace ecf8gen
