// ecf8_host.cpp -- host layer of the C API: status strings, CRC-32C (§10), stream validation (§11.2 phases A and B)
// and the decode tables (§6).
#include <string.h>

#include <algorithm>
#include <vector>

#include "ecf8.h"
#include "ecf8_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define ECF8_HAVE_SSE42_PATH 1
#endif

namespace ecf8 {

typedef unsigned __int128 u128;  // exact arithmetic for derived sizes (§1, §11.3): every value below fits in 128 bits

// ---------------------------------------------------------------------------------------------------------------
// CRC-32C (§10): slicing-by-8 in portable C++, the SSE4.2 instruction where the processor has it.
// ---------------------------------------------------------------------------------------------------------------
namespace {
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ kCrcPoly : (c >> 1);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
};
const CrcTables &tables() {
  static const CrcTables tabs;
  return tabs;
}

uint32_t crc_raw_portable(uint32_t crc, const uint8_t *p, size_t n) {
  const CrcTables &T = tables();
  while (n && ((uintptr_t)p & 7u)) {
    crc = (crc >> 8) ^ T.t[0][(crc ^ *p++) & 0xFFu];
    n--;
  }
  while (n >= 8) {
    uint32_t lo = rd32(p) ^ crc, hi = rd32(p + 4);
    crc = T.t[7][lo & 0xFF] ^ T.t[6][(lo >> 8) & 0xFF] ^ T.t[5][(lo >> 16) & 0xFF] ^ T.t[4][lo >> 24] ^
          T.t[3][hi & 0xFF] ^ T.t[2][(hi >> 8) & 0xFF] ^ T.t[1][(hi >> 16) & 0xFF] ^ T.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ T.t[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

#ifdef ECF8_HAVE_SSE42_PATH
__attribute__((target("sse4.2"))) uint32_t crc_raw_sse42(uint32_t crc, const uint8_t *p, size_t n) {
  while (n && ((uintptr_t)p & 7u)) {
    crc = _mm_crc32_u8(crc, *p++);
    n--;
  }
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  crc = (uint32_t)c;
  while (n--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}
bool have_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

// Raw register update (the register holds the complemented CRC, as the hardware instruction expects).
uint32_t crc_update_reg(uint32_t reg, const uint8_t *p, size_t n) {
#ifdef ECF8_HAVE_SSE42_PATH
  if (have_sse42()) return crc_raw_sse42(reg, p, n);
#endif
  return crc_raw_portable(reg, p, n);
}
}  // namespace

const uint32_t *crc32c_table() { return tables().t[0]; }

// ---------------------------------------------------------------------------------------------------------------
// Decode tables (§5.2, §6).
// ---------------------------------------------------------------------------------------------------------------
std::vector<uint8_t> build_luts(const uint8_t code_lengths[16], uint64_t n) {
  if (n == 0) return std::vector<uint8_t>(512, 0);  // §6: n = 0 gives two all-zero tables
  // Canonical codes (§5.2): order by (length, symbol).
  int order[16], m = 0;
  for (int len = 1; len <= 16; len++)
    for (int x = 0; x < 16; x++)
      if (code_lengths[x] == len) order[m++] = x;
  uint32_t code[16] = {0};
  uint32_t prev_code = 0, prev_len = 0;
  for (int i = 0; i < m; i++) {
    uint32_t len = code_lengths[order[i]];
    code[order[i]] = (i == 0) ? 0u : ((prev_code + 1u) << (len - prev_len));
    prev_code = code[order[i]];
    prev_len = len;
  }
  // Long prefixes (§6 step 1), sorted ascending and distinct.
  std::vector<uint32_t> prefixes;
  for (int x = 0; x < 16; x++)
    if (code_lengths[x] > 8) prefixes.push_back(code[x] >> (code_lengths[x] - 8));
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  const uint32_t n_sub = (uint32_t)prefixes.size();
  const uint32_t n_luts = n_sub + 2;
  std::vector<uint8_t> lut(256u * n_luts, 0);
  // Root table (§6 step 3).
  for (uint32_t i = 0; i < 256; i++) {
    bool found = false;
    for (int x = 0; x < 16 && !found; x++) {
      uint32_t len = code_lengths[x];
      if (len >= 1 && len <= 8 && (i >> (8 - len)) == code[x]) {
        lut[i] = (uint8_t)x;
        found = true;
      }
    }
    if (!found)
      for (uint32_t j = 1; j <= n_sub; j++)
        if (prefixes[j - 1] == i) lut[i] = (uint8_t)(256u - j);
  }
  // Subtables (§6 step 4).
  for (uint32_t j = 1; j <= n_sub; j++)
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t w = prefixes[j - 1] * 256u + i;
      for (int x = 0; x < 16; x++) {
        uint32_t len = code_lengths[x];
        if (len > 8 && (w >> (16 - len)) == code[x]) lut[256u * j + i] = (uint8_t)x;
      }
    }
  // Length table (§6 step 5).
  for (int x = 0; x < 16; x++) lut[256u * (n_luts - 1) + x] = code_lengths[x];
  return lut;
}

std::vector<uint32_t> build_multi_table(const uint8_t *luts, uint32_t n_luts) {
  std::vector<uint32_t> mt(kMultiEntries, 0);
  if (n_luts < 2) return mt;
  const uint8_t *len_table = luts + 256u * (n_luts - 1);
  for (uint32_t i = 0; i < kMultiEntries; i++) {
    uint32_t pos = 0, n = 0, last = 0, syms = 0;
    while (n < kMultiMaxSyms && pos < kMultiBits) {
      // The 16 bits at `pos` with zeros past the known kMultiBits; a decoded code is real iff it fits in them.
      uint32_t w = ((i << (16 - kMultiBits)) << pos) & 0xFFFFu;
      uint32_t x = luts[w >> 8];
      if (x >= 240u) x = luts[256u * (256u - x) + (w & 255u)];
      uint32_t len = len_table[x];
      if (len == 0 || pos + len > kMultiBits) break;
      syms |= x << (4 * n);
      last = pos;
      pos += len;
      n++;
    }
    mt[i] = me_make(n, pos, last, syms);
  }
  return mt;
}

TableBlob build_table_blob(const uint8_t code_lengths[16], uint64_t n) {
  TableBlob blob;
  std::vector<uint8_t> luts = build_luts(code_lengths, n);
  blob.n_luts = (uint32_t)(luts.size() / 256);
  blob.lut_bytes_padded = (uint32_t)((luts.size() + 15) & ~(size_t)15);
  std::vector<uint32_t> mt = build_multi_table(luts.data(), blob.n_luts);
  blob.bytes.assign(blob.lut_bytes_padded + mt.size() * 4, 0);
  memcpy(blob.bytes.data(), luts.data(), luts.size());
  memcpy(blob.bytes.data() + blob.lut_bytes_padded, mt.data(), mt.size() * 4);
  return blob;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation (§11.2).
// ---------------------------------------------------------------------------------------------------------------
namespace {
u128 ceil_div(u128 a, u128 b) { return (a + b - 1) / b; }
u128 roundup8(u128 x) { return ceil_div(x, 8) * 8; }

// Code-length checks of steps 8-9 (shared with ecf8_build_luts).
ecf8_status check_code(const uint8_t *cl, uint64_t n) {
  for (int x = 0; x < 16; x++)
    if (cl[x] > 16 || (n == 0 && cl[x] != 0)) return ECF8_BAD_CODE_LENGTH;  // step 8
  if (n > 0) {  // step 9
    uint32_t K = 0;
    for (int x = 0; x < 16; x++)
      if (cl[x]) K += 1u << (16 - cl[x]);
    if (K > 65536u) return ECF8_CODE_OVERSUBSCRIBED;
    if (K < 65536u) return ECF8_CODE_INCOMPLETE;
  }
  return ECF8_OK;
}

const uint8_t kMagic[4] = {0x45, 0x43, 0x46, 0x38};  // "ECF8"
}  // namespace

ecf8_status validate_header(const uint8_t *s, uint64_t L, ecf8_info *out) {
  // Step 1: the first min(L, 4) bytes must be the magic.
  for (uint64_t i = 0; i < 4 && i < L; i++)
    if (s[i] != kMagic[i]) return ECF8_BAD_MAGIC;
  if (L < kHeaderSize) return ECF8_TRUNCATED;  // step 2
  if (s[4] != 1) return ECF8_UNSUPPORTED_VERSION;  // step 3
  if (s[5] != 1) return ECF8_UNSUPPORTED_FORMAT;  // step 4
  if (s[6] != kBytesPerThread) return ECF8_BAD_BYTES_PER_THREAD;  // step 5
  const uint32_t T = rd32(s + 8);
  if (T < 1 || T > kMaxThreadsPerBlock || (T & (T - 1)) != 0) return ECF8_BAD_THREADS_PER_BLOCK;  // step 6
  if (s[7] != 0 || rd32(s + 12) != 0) return ECF8_RESERVED_NONZERO;  // step 7
  const uint64_t n = rd64(s + 16), bits = rd64(s + 24);
  const uint8_t *cl = s + 32;
  ecf8_status st = check_code(cl, n);  // steps 8-9
  if (st != ECF8_OK) return st;
  // Step 10.
  if (n == 0) {
    if (bits != 0) return ECF8_BAD_BIT_COUNT;
  } else {
    uint32_t min_len = 16, max_len = 0;
    for (int x = 0; x < 16; x++)
      if (cl[x]) {
        min_len = std::min<uint32_t>(min_len, cl[x]);
        max_len = std::max<uint32_t>(max_len, cl[x]);
      }
    if ((u128)bits < (u128)n * min_len || (u128)bits > (u128)n * max_len) return ECF8_BAD_BIT_COUNT;
  }
  // Step 11: derived sizes (§4.2), exactly.
  const u128 B = kBytesPerThread;
  const u128 used_bytes = ceil_div(bits, 8);
  const u128 n_blocks = ceil_div(used_bytes, B * T);
  const u128 n_threads = n_blocks * T;
  const u128 pos_size = 8 * (n_blocks + 1);
  const u128 gaps_size = roundup8(ceil_div(n_threads, 2));
  const u128 exp_size = roundup8(used_bytes) + 16;
  const u128 nib_size = roundup8(ceil_div(n, 2));
  if ((u128)rd64(s + 48) != pos_size || (u128)rd64(s + 56) != gaps_size || (u128)rd64(s + 64) != exp_size ||
      (u128)rd64(s + 72) != nib_size)
    return ECF8_SECTION_SIZE_MISMATCH;
  // Step 12. (All four sizes now equal u64 header fields, so the sum fits in 128 bits trivially.)
  const u128 stream_size = kHeaderSize + pos_size + gaps_size + exp_size + nib_size;
  if ((u128)L < stream_size) return ECF8_TRUNCATED;
  if ((u128)L > stream_size) return ECF8_TRAILING_BYTES;
  if (out) {
    memset(out, 0, sizeof *out);
    out->element_count = n;
    out->exponent_bit_count = bits;
    out->threads_per_block = T;
    out->bytes_per_thread = kBytesPerThread;
    memcpy(out->code_lengths, cl, 16);
    // Everything below is bounded by L (a u64), so it fits.
    out->n_blocks = (uint64_t)n_blocks;
    out->n_threads = (uint64_t)n_threads;
    out->positions_offset = kHeaderSize;
    out->positions_size = (uint64_t)pos_size;
    out->gaps_offset = out->positions_offset + out->positions_size;
    out->gaps_size = (uint64_t)gaps_size;
    out->exponents_offset = out->gaps_offset + out->gaps_size;
    out->exponents_size = (uint64_t)exp_size;
    out->nibbles_offset = out->exponents_offset + out->exponents_size;
    out->nibbles_size = (uint64_t)nib_size;
    out->stream_size = (uint64_t)stream_size;
    out->content_crc32c = rd32(s + 80);
    out->metadata_crc32c = rd32(s + 84);
    out->n_luts = 2;
    if (n > 0) {  // count the long prefixes (§6 step 1) without building the tables
      std::vector<uint8_t> luts = build_luts(cl, n);
      out->n_luts = (uint32_t)(luts.size() / 256);
    }
  }
  return ECF8_OK;
}

ecf8_status validate_metadata(const uint8_t *s, const ecf8_info &I, unsigned flags) {
  const uint64_t n = I.element_count, bits = I.exponent_bit_count, T = I.threads_per_block;
  // Step 13: metadata checksum over header bytes 0..83, section 1, section 2 (contiguous in the stream).
  if (!(flags & ECF8_SKIP_CHECKSUMS)) {
    uint32_t crc = ecf8_crc32c(0, s, 84);
    crc = ecf8_crc32c(crc, s + I.positions_offset, (size_t)(I.positions_size + I.gaps_size));
    if (crc != I.metadata_crc32c) return ECF8_METADATA_CHECKSUM_MISMATCH;
  }
  // Step 14: output positions.
  const uint8_t *pos = s + I.positions_offset;
  const uint64_t max_per_block = (uint64_t)8 * kBytesPerThread * T;
  if (rd64(pos) != 0) return ECF8_BAD_OUTPUT_POSITIONS;
  for (uint64_t b = 0; b < I.n_blocks; b++) {
    uint64_t p0 = rd64(pos + 8 * b), p1 = rd64(pos + 8 * (b + 1));
    if (p1 < p0 || p1 - p0 > max_per_block) return ECF8_BAD_OUTPUT_POSITIONS;
  }
  if (rd64(pos + 8 * I.n_blocks) != n) return ECF8_BAD_OUTPUT_POSITIONS;
  // Step 15: gaps. A thread whose window starts at least 16 bits before `bits` is live and satisfies
  // w_t + gap_t <= w_t + 15 < bits whatever its gap, so only threads with w_t + 15 >= bits need a look; they lie in
  // the last block (w_t = 64 t).
  const uint8_t *gaps = s + I.gaps_offset;
  uint64_t first = I.n_threads;
  if (I.n_threads) {
    uint64_t lim = bits >= 15 ? bits - 15 : 0;  // threads with 64 t < lim are fine
    first = std::min<uint64_t>(I.n_threads, (lim + 63) / 64);
  }
  for (uint64_t t = first; t < I.n_threads; t++) {
    uint64_t w = 64 * t;
    uint32_t g = gap_of(gaps, t);
    if (w >= bits ? g != 0 : w + g > bits) return ECF8_BAD_GAP;
  }
  // Step 16: padding.
  const uint64_t gap_used = (I.n_threads + 1) / 2;
  if ((I.n_threads & 1) && (gaps[gap_used - 1] & 0x0F)) return ECF8_NONZERO_PADDING;
  for (uint64_t i = gap_used; i < I.gaps_size; i++)
    if (gaps[i]) return ECF8_NONZERO_PADDING;
  const uint8_t *ex = s + I.exponents_offset;
  const uint64_t used_bytes = (bits + 7) / 8;
  if (bits & 7) {
    uint32_t pad_mask = 0xFFu >> (bits & 7);  // bits after `bits` in the last used byte (MSB-first, §1)
    if (ex[used_bytes - 1] & pad_mask) return ECF8_NONZERO_PADDING;
  }
  for (uint64_t i = used_bytes; i < I.exponents_size; i++)
    if (ex[i]) return ECF8_NONZERO_PADDING;
  const uint8_t *nb = s + I.nibbles_offset;
  const uint64_t nib_used = (n + 1) / 2;
  if ((n & 1) && (nb[nib_used - 1] & 0x0F)) return ECF8_NONZERO_PADDING;
  for (uint64_t i = nib_used; i < I.nibbles_size; i++)
    if (nb[i]) return ECF8_NONZERO_PADDING;
  return ECF8_OK;
}

}  // namespace ecf8

using namespace ecf8;

extern "C" {

static const char *const kStatusNames[] = {
    "ECF8_OK", "ECF8_BAD_MAGIC", "ECF8_TRUNCATED", "ECF8_UNSUPPORTED_VERSION", "ECF8_UNSUPPORTED_FORMAT",
    "ECF8_BAD_BYTES_PER_THREAD", "ECF8_BAD_THREADS_PER_BLOCK", "ECF8_RESERVED_NONZERO", "ECF8_BAD_CODE_LENGTH",
    "ECF8_CODE_OVERSUBSCRIBED", "ECF8_CODE_INCOMPLETE", "ECF8_BAD_BIT_COUNT", "ECF8_SECTION_SIZE_MISMATCH",
    "ECF8_TRAILING_BYTES", "ECF8_METADATA_CHECKSUM_MISMATCH", "ECF8_BAD_OUTPUT_POSITIONS", "ECF8_BAD_GAP",
    "ECF8_NONZERO_PADDING", "ECF8_GAP_MISMATCH", "ECF8_POSITION_MISMATCH", "ECF8_CONTENT_CHECKSUM_MISMATCH"};
static const char *const kApiNames[] = {"ECF8_LIMIT_EXCEEDED", "ECF8_OUTPUT_TOO_SMALL", "ECF8_INVALID_ARGUMENT",
                                        "ECF8_BACKEND_UNAVAILABLE"};

const char *ecf8_status_string(int status) {
  if (status >= 0 && status <= (int)ECF8_CONTENT_CHECKSUM_MISMATCH) return kStatusNames[status];
  if (status >= (int)ECF8_LIMIT_EXCEEDED && status <= (int)ECF8_BACKEND_UNAVAILABLE)
    return kApiNames[status - ECF8_LIMIT_EXCEEDED];
  return NULL;
}

int ecf8_status_from_string(const char *code) {
  if (!code) return -1;
  for (int i = 0; i <= (int)ECF8_CONTENT_CHECKSUM_MISMATCH; i++)
    if (strcmp(code, kStatusNames[i]) == 0) return i;
  for (int i = 0; i < 4; i++)
    if (strcmp(code, kApiNames[i]) == 0) return ECF8_LIMIT_EXCEEDED + i;
  return -1;
}

uint32_t ecf8_crc32c(uint32_t crc, const void *data, size_t size) {
  if (size == 0) return crc;
  return ~crc_update_reg(~crc, (const uint8_t *)data, size);
}

ecf8_status ecf8_validate_header(const void *data, uint64_t size, ecf8_info *info) {
  if (!data && size) return ECF8_INVALID_ARGUMENT;
  ecf8_info local;
  return validate_header((const uint8_t *)data, size, info ? info : &local);
}

ecf8_status ecf8_validate(const void *data, uint64_t size, unsigned flags, ecf8_info *info) {
  if ((!data && size) || (flags & ~ECF8_SKIP_CHECKSUMS)) return ECF8_INVALID_ARGUMENT;
  ecf8_info local;
  ecf8_info *I = info ? info : &local;
  ecf8_status st = validate_header((const uint8_t *)data, size, I);
  if (st != ECF8_OK) return st;
  return validate_metadata((const uint8_t *)data, *I, flags);
}

ecf8_status ecf8_build_luts(const uint8_t code_lengths[16], uint64_t element_count, uint8_t *out,
                            size_t out_capacity, uint32_t *n_luts) {
  if (!code_lengths) return ECF8_INVALID_ARGUMENT;
  ecf8_status st = check_code(code_lengths, element_count);
  if (st != ECF8_OK) return st;
  std::vector<uint8_t> luts = build_luts(code_lengths, element_count);
  if (n_luts) *n_luts = (uint32_t)(luts.size() / 256);
  if (out) {
    if (out_capacity < luts.size()) return ECF8_OUTPUT_TOO_SMALL;
    memcpy(out, luts.data(), luts.size());
  }
  return ECF8_OK;
}

uint64_t ecf8_workspace_size_for(uint64_t element_count) {
  // [0]: error word, [1]: decoded CRC, padding to 256 bytes; then the two ping-pong arrays of the CRC tree (level 1
  // and level 2 partial CRCs, 64 words of slack each).
  const uint64_t chunks = element_count / kCrcChunk + (element_count % kCrcChunk != 0);
  const uint64_t a = chunks / kCrcThreads + (chunks % kCrcThreads != 0);
  const uint64_t b = a / kCrcThreads + (a % kCrcThreads != 0);
  const uint64_t bytes = 256 + 4 * (a + 64) + 4 * (b + 64);
  return (bytes + 255) & ~(uint64_t)255;
}

}  // extern "C"
