// emulated_memory.h -- "device memory" of the emulated device layer: host blocks, 256-byte aligned like cudaMalloc,
// handed to JavaScript as BigInt addresses like real device pointers. Every access through the binding is checked
// against the live blocks, so a wrong, stale or freed address is an ECF8_INVALID_ARGUMENT, never a stray write.
#pragma once

#include <napi.h>

#include <stdint.h>

#include <mutex>

namespace ecf8_node {

// Guards the blocks: hold it across emulated_range and the access it permits.
std::mutex &emulated_memory_mutex();

// Whether [address, address + bytes) lies inside one live block; on success *host is the host pointer to it. The
// caller holds emulated_memory_mutex().
bool emulated_range(uint64_t address, uint64_t bytes, uint8_t **host);

// emulatedAlloc, emulatedFree, emulatedCopyToHost, emulatedCopyFromHost.
void InitEmulatedMemory(Napi::Env env, Napi::Object exports);

}  // namespace ecf8_node
