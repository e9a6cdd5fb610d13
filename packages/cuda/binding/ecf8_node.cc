// ecf8_node.cc -- the Node.js binding of @ecf8/cuda (node-addon-api) around the C API in cuda/include/ecf8.h.
//
// Every function is synchronous and returns plain values (but a resident stream's collect(), a Promise); the
// TypeScript layer (src/) turns statuses into Ecf8Error codes and implements the Ecf8Backend interface. Statuses
// travel as the spec's code strings (ecf8_status_string).
// 64-bit sizes, offsets and device pointers travel as BigInt.
//
// Host functions (validation, the block emulator) work in every build; device functions need a build with CUDA
// (ECF8_WITH_CUDA) and report "ECF8_BACKEND_UNAVAILABLE" otherwise. Resident streams (upload once, decode many times,
// on a CUDA stream or the emulated device) are in resident.cc, the emulated device memory in emulated_memory.cc.
#include <napi.h>

#include <stdint.h>
#include <string.h>

#include <string>

#include "common.h"
#include "ecf8.h"

#if defined(ECF8_WITH_CUDA)
#include <cuda_runtime.h>
#endif

namespace ecf8_node {

namespace {

// build(): what this addon was compiled with.
Napi::Value Build(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#if defined(ECF8_WITH_CUDA)
  o.Set("cuda", true);
  o.Set("cudaRuntimeVersion", CUDART_VERSION);
#else
  o.Set("cuda", false);
#endif
  o.Set("apiVersion", ECF8_API_VERSION);
  return o;
}

// cudaAvailable(): "" when a GPU can be used, else the reason.
Napi::Value CudaAvailable(const Napi::CallbackInfo &info) {
  const char *why = "";
  ecf8_status st = ecf8_cuda_available(&why);
  return Napi::String::New(info.Env(), st == ECF8_OK ? "" : (why && *why ? why : "CUDA unavailable"));
}

// validate(stream, skipChecksums, headerOnly) -> { status, elementCount?, threadsPerBlock? }
//   headerOnly: phase A (§11.2 steps 1-12) only; else phases A and B (steps 1-16).
Napi::Value Validate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const uint8_t *data;
  size_t size;
  // No copy of a shared stream here: validation alone reads within the bounds phase A fixed, whatever changes.
  if (!bytes_arg(info, 0, &data, &size)) return invalid(env, "stream must be a Uint8Array");
  const bool header_only = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  ecf8_info I;
  memset(&I, 0, sizeof I);
  ecf8_status st = header_only ? ecf8_validate_header(data, size, &I) : ecf8_validate(data, size, flags_arg(info, 1), &I);
  Napi::Object o = result(env, st);
  if (st == ECF8_OK) {
    o.Set("elementCount", Napi::BigInt::New(env, I.element_count));
    o.Set("threadsPerBlock", I.threads_per_block);
  }
  return o;
}

// hostDecode(stream, skipChecksums) -> { status, bytes? }: phases A, B, C by the block emulator (the CUDA kernel's
// own per-thread code on the CPU).
Napi::Value HostDecode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  StreamArg stream;  // a private copy when shared: the bytes validated are the bytes decoded
  if (!stream_arg(info, 0, &stream)) return invalid(env, "stream must be a Uint8Array");
  const uint8_t *data = stream.data;
  const size_t size = stream.size;
  ecf8_info I;
  ecf8_status st = ecf8_validate_header(data, size, &I);
  if (st != ECF8_OK) return result(env, st);
  // Phase A bounds n by twice the stream size (section 4 holds ceil(n/2) bytes), so this allocation is bounded.
  Napi::Uint8Array out;
  if (!new_bytes(env, I.element_count, &out)) return result(env, ECF8_LIMIT_EXCEEDED, too_large(I.element_count));
  st = ecf8_host_decode(data, size, out.Data(), I.element_count, 0, flags_arg(info, 1));
  Napi::Object o = result(env, st);
  if (st == ECF8_OK) o.Set("bytes", out);
  return o;
}

#if defined(ECF8_WITH_CUDA)
std::string cuda_message(cudaError_t e, const char *what) { return std::string(what) + ": " + cudaGetErrorString(e); }
// The "ECF8_CODE: " prefix of an exception for a CUDA error (src/status.ts fromThrown reads it): out of device memory
// is ECF8_LIMIT_EXCEEDED, anything else ECF8_BACKEND_UNAVAILABLE.
std::string thrown_code(cudaError_t e) {
  return e == cudaErrorMemoryAllocation ? "ECF8_LIMIT_EXCEEDED: " : "ECF8_BACKEND_UNAVAILABLE: ";
}

// deviceDecodeInto(stream, skipChecksums, devicePointer, capacity, offset) -> { status, message? }
// Uploads (phases A, B on the host), decodes on the default stream into dst[offset .. offset + n), waits.
Napi::Value DeviceDecodeInto(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t ptr, cap, off;
  StreamArg stream;  // a private copy when shared: the bytes validated are the bytes decoded
  if (!stream_arg(info, 0, &stream)) return invalid(env, "stream must be a Uint8Array");
  const uint8_t *data = stream.data;
  const size_t size = stream.size;
  if (!u64_arg(info, 2, &ptr) || !u64_arg(info, 3, &cap) || !u64_arg(info, 4, &off))
    return invalid(env, "device pointer, capacity and offset must be non-negative integers");
  const unsigned flags = flags_arg(info, 1);
  ecf8_device_stream *ds = nullptr;
  ecf8_status st = ecf8_device_upload(data, size, flags, nullptr, &ds);
  if (st != ECF8_OK) return result(env, st, device_message(st));
  st = ecf8_device_decode_sync(ds, (void *)(uintptr_t)ptr, cap, off, flags, nullptr);
  std::string msg = device_message(st);
  ecf8_device_free(ds);
  return result(env, st, msg);
}

// deviceDecode(stream, skipChecksums) -> { status, bytes?, message? }: decode on the GPU, copy the bytes back.
Napi::Value DeviceDecode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  StreamArg stream;  // a private copy when shared: the bytes validated are the bytes decoded
  if (!stream_arg(info, 0, &stream)) return invalid(env, "stream must be a Uint8Array");
  const uint8_t *data = stream.data;
  const size_t size = stream.size;
  const unsigned flags = flags_arg(info, 1);
  ecf8_device_stream *ds = nullptr;
  ecf8_status st = ecf8_device_upload(data, size, flags, nullptr, &ds);
  if (st != ECF8_OK) return result(env, st, device_message(st));
  const uint64_t n = ecf8_device_info(ds)->element_count;
  Napi::Uint8Array out;  // the host array before any device memory or GPU work: refused when Node cannot hold n bytes
  if (!new_bytes(env, n, &out)) {
    ecf8_device_free(ds);
    return result(env, ECF8_LIMIT_EXCEEDED, too_large(n));
  }
  void *d = nullptr;
  cudaError_t e = cudaMalloc(&d, n ? (size_t)n : 1);
  if (e != cudaSuccess) {
    ecf8_device_free(ds);
    return result(env, ECF8_BACKEND_UNAVAILABLE, cuda_message(e, "cudaMalloc"));
  }
  st = ecf8_device_decode_sync(ds, d, n, 0, flags, nullptr);
  std::string msg = device_message(st);
  Napi::Object o = result(env, st, msg);
  if (st == ECF8_OK) {
    e = n ? cudaMemcpy(out.Data(), d, (size_t)n, cudaMemcpyDeviceToHost) : cudaSuccess;
    if (e != cudaSuccess)
      o = result(env, ECF8_BACKEND_UNAVAILABLE, cuda_message(e, "cudaMemcpy"));
    else
      o.Set("bytes", out);
  }
  cudaFree(d);
  ecf8_device_free(ds);
  return o;
}

// deviceAlloc(bytes) -> BigInt device pointer (throws on failure).
Napi::Value DeviceAlloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t bytes;
  if (!u64_arg(info, 0, &bytes)) throw Napi::TypeError::New(env, "ECF8_INVALID_ARGUMENT: byte count must be a non-negative integer");
  void *d = nullptr;
  cudaError_t e = cudaMalloc(&d, bytes ? (size_t)bytes : 1);
  if (e != cudaSuccess) throw Napi::Error::New(env, thrown_code(e) + cuda_message(e, "cudaMalloc"));
  return Napi::BigInt::New(env, (uint64_t)(uintptr_t)d);
}

Napi::Value DeviceFree(const Napi::CallbackInfo &info) {
  uint64_t ptr;
  if (u64_arg(info, 0, &ptr) && ptr) cudaFree((void *)(uintptr_t)ptr);
  return info.Env().Undefined();
}

// deviceCopyToHost(devicePointer, bytes) -> Uint8Array
Napi::Value DeviceCopyToHost(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t ptr, bytes;
  if (!u64_arg(info, 0, &ptr) || !u64_arg(info, 1, &bytes)) throw Napi::TypeError::New(env, "ECF8_INVALID_ARGUMENT: expected (devicePointer, byteCount)");
  Napi::Uint8Array out;
  if (!new_bytes(env, bytes, &out)) throw Napi::Error::New(env, "ECF8_LIMIT_EXCEEDED: " + too_large(bytes));
  cudaError_t e = bytes ? cudaMemcpy(out.Data(), (const void *)(uintptr_t)ptr, (size_t)bytes, cudaMemcpyDeviceToHost)
                        : cudaSuccess;
  if (e != cudaSuccess) throw Napi::Error::New(env, thrown_code(e) + cuda_message(e, "cudaMemcpy"));
  return out;
}

// deviceCopyFromHost(devicePointer, Uint8Array)
Napi::Value DeviceCopyFromHost(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t ptr;
  const uint8_t *data;
  size_t size;
  if (!u64_arg(info, 0, &ptr) || !bytes_arg(info, 1, &data, &size)) throw Napi::TypeError::New(env, "ECF8_INVALID_ARGUMENT: expected (devicePointer, Uint8Array)");
  cudaError_t e = size ? cudaMemcpy((void *)(uintptr_t)ptr, data, size, cudaMemcpyHostToDevice) : cudaSuccess;
  if (e != cudaSuccess) throw Napi::Error::New(env, thrown_code(e) + cuda_message(e, "cudaMemcpy"));
  return env.Undefined();
}
#else
Napi::Value NoCuda(const Napi::CallbackInfo &info) {
  return result(info.Env(), ECF8_BACKEND_UNAVAILABLE, "built without CUDA");
}
Napi::Value NoCudaThrow(const Napi::CallbackInfo &info) {
  throw Napi::Error::New(info.Env(), "ECF8_BACKEND_UNAVAILABLE: @ecf8/cuda was built without CUDA");
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("build", Napi::Function::New(env, Build));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable));
  exports.Set("validate", Napi::Function::New(env, Validate));
  exports.Set("hostDecode", Napi::Function::New(env, HostDecode));
#if defined(ECF8_WITH_CUDA)
  exports.Set("deviceDecode", Napi::Function::New(env, DeviceDecode));
  exports.Set("deviceDecodeInto", Napi::Function::New(env, DeviceDecodeInto));
  exports.Set("deviceAlloc", Napi::Function::New(env, DeviceAlloc));
  exports.Set("deviceFree", Napi::Function::New(env, DeviceFree));
  exports.Set("deviceCopyToHost", Napi::Function::New(env, DeviceCopyToHost));
  exports.Set("deviceCopyFromHost", Napi::Function::New(env, DeviceCopyFromHost));
#else
  exports.Set("deviceDecode", Napi::Function::New(env, NoCuda));
  exports.Set("deviceDecodeInto", Napi::Function::New(env, NoCuda));
  exports.Set("deviceAlloc", Napi::Function::New(env, NoCudaThrow));
  exports.Set("deviceFree", Napi::Function::New(env, NoCudaThrow));
  exports.Set("deviceCopyToHost", Napi::Function::New(env, NoCudaThrow));
  exports.Set("deviceCopyFromHost", Napi::Function::New(env, NoCudaThrow));
#endif
  InitResident(env, exports);
  return exports;
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return Init(env, exports); }

}  // namespace ecf8_node

static Napi::Object InitEcf8Cuda(Napi::Env env, Napi::Object exports) { return ecf8_node::InitModule(env, exports); }

NODE_API_MODULE(ecf8_cuda, InitEcf8Cuda)
