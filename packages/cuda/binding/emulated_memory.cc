// emulated_memory.cc -- see emulated_memory.h.
#include "emulated_memory.h"

#include <stdlib.h>
#include <string.h>

#include <map>
#include <mutex>

#include "common.h"

namespace ecf8_node {

namespace {

struct Block {
  uint8_t *data;   // 256-byte aligned, inside `base`
  uint64_t size;   // what the caller asked for
  void *base;      // what calloc returned
};

std::mutex g_mutex;
std::map<uint64_t, Block> g_blocks;  // by address

constexpr uint64_t kAlign = 256;               // cudaMalloc's alignment
constexpr uint64_t kMaxBytes = 1ull << 40;     // a sanity bound on one allocation

// emulatedAlloc(bytes) -> BigInt address (throws ECF8_LIMIT_EXCEEDED when the host is out of memory).
Napi::Value EmulatedAlloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t bytes;
  if (!u64_arg(info, 0, &bytes)) throw Napi::TypeError::New(env, "ECF8_INVALID_ARGUMENT: byte count must be a non-negative integer");
  if (bytes > kMaxBytes) throw Napi::Error::New(env, "ECF8_LIMIT_EXCEEDED: emulated allocation over 1 TiB");
  // calloc: zeroed without touching the pages first (large blocks come from mmap); aligned by hand like cudaMalloc.
  void *base = calloc(1, (size_t)(bytes + kAlign));
  if (!base) throw Napi::Error::New(env, "ECF8_LIMIT_EXCEEDED: out of host memory for the emulated device");
  uint8_t *p = (uint8_t *)(((uintptr_t)base + kAlign - 1) & ~(uintptr_t)(kAlign - 1));
  std::lock_guard<std::mutex> lock(g_mutex);
  g_blocks[(uint64_t)(uintptr_t)p] = Block{p, bytes, base};
  return Napi::BigInt::New(env, (uint64_t)(uintptr_t)p);
}

// emulatedFree(address) -> { status }: ECF8_INVALID_ARGUMENT unless address is a live block's start.
Napi::Value EmulatedFree(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t address;
  if (!u64_arg(info, 0, &address)) return invalid(env, "address must be a BigInt");
  void *base = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_blocks.find(address);
    if (it == g_blocks.end()) return invalid(env, "not the address of live emulated device memory (freed twice?)");
    base = it->second.base;
    g_blocks.erase(it);
  }
  free(base);
  return result(env, ECF8_OK);
}

// emulatedCopyToHost(address, bytes) -> { status, bytes? }
Napi::Value EmulatedCopyToHost(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t address, bytes;
  if (!u64_arg(info, 0, &address) || !u64_arg(info, 1, &bytes)) return invalid(env, "address and byte count must be non-negative integers");
  std::lock_guard<std::mutex> lock(g_mutex);  // held while copying: a concurrent free cannot pull the block away
  uint8_t *src = nullptr;
  if (bytes > 0 && !emulated_range(address, bytes, &src)) return invalid(env, "range outside live emulated device memory");
  Napi::Uint8Array out;
  if (!new_bytes(env, bytes, &out)) return result(env, ECF8_LIMIT_EXCEEDED, too_large(bytes));
  if (bytes > 0) memcpy(out.Data(), src, (size_t)bytes);
  Napi::Object o = result(env, ECF8_OK);
  o.Set("bytes", out);
  return o;
}

// emulatedCopyFromHost(address, Uint8Array) -> { status }
Napi::Value EmulatedCopyFromHost(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t address;
  const uint8_t *data;
  size_t size;
  if (!u64_arg(info, 0, &address) || !bytes_arg(info, 1, &data, &size)) return invalid(env, "expected (address, Uint8Array)");
  std::lock_guard<std::mutex> lock(g_mutex);
  uint8_t *dst = nullptr;
  if (size > 0 && !emulated_range(address, size, &dst)) return invalid(env, "range outside live emulated device memory");
  if (size > 0) memcpy(dst, data, size);
  return result(env, ECF8_OK);
}

}  // namespace

bool emulated_range(uint64_t address, uint64_t bytes, uint8_t **host) {
  auto it = g_blocks.upper_bound(address);
  if (it == g_blocks.begin()) return false;
  --it;
  const uint64_t base = it->first, size = it->second.size;
  if (address - base > size || size - (address - base) < bytes) return false;
  *host = it->second.data + (address - base);
  return true;
}

void InitEmulatedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("emulatedAlloc", Napi::Function::New(env, EmulatedAlloc));
  exports.Set("emulatedFree", Napi::Function::New(env, EmulatedFree));
  exports.Set("emulatedCopyToHost", Napi::Function::New(env, EmulatedCopyToHost));
  exports.Set("emulatedCopyFromHost", Napi::Function::New(env, EmulatedCopyFromHost));
}

std::mutex &emulated_memory_mutex() { return g_mutex; }

}  // namespace ecf8_node
