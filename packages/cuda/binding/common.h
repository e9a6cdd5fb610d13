// common.h -- argument and result helpers shared by the translation units of the Node.js binding (ecf8_node.cc,
// resident.cc). Statuses travel as the spec's code strings (ecf8_status_string); 64-bit values as BigInt.
#pragma once

#include <napi.h>

#include <stdint.h>

#include <string>
#include <vector>

#include "ecf8.h"

namespace ecf8_node {

inline const char *code(ecf8_status s) {
  const char *c = ecf8_status_string((int)s);
  return c ? c : "ECF8_INVALID_ARGUMENT";
}

// The bytes of a Uint8Array (or Buffer) argument.
inline bool bytes_arg(const Napi::CallbackInfo &info, size_t i, const uint8_t **data, size_t *size) {
  if (info.Length() <= i || !info[i].IsTypedArray()) return false;
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array a = ta.As<Napi::Uint8Array>();
  *data = a.Data();
  *size = a.ByteLength();
  return true;
}

// The bytes of a stream argument (a Uint8Array or Buffer). A view of a SharedArrayBuffer is copied first: another
// thread may write to it at any moment, and phase C trusts what phases A and B checked (the output positions bound
// every write, spec §11.2), so the bytes decoded must be the very bytes validated.
struct StreamArg {
  const uint8_t *data = nullptr;
  size_t size = 0;
  std::vector<uint8_t> copy;  // the private copy of a shared stream
};

inline bool stream_arg(const Napi::CallbackInfo &info, size_t i, StreamArg *s) {
  if (!bytes_arg(info, i, &s->data, &s->size)) return false;
  if (!info[i].As<Napi::TypedArray>().ArrayBuffer().IsArrayBuffer()) {  // false for a SharedArrayBuffer
    s->copy.assign(s->data, s->data + s->size);
    s->data = s->copy.data();
  }
  return true;
}

// A non-negative integer argument: a BigInt that fits 64 bits, or a Number that is a safe integer.
inline bool u64_arg(const Napi::CallbackInfo &info, size_t i, uint64_t *out) {
  if (info.Length() <= i) return false;
  if (info[i].IsBigInt()) {
    bool lossless = false;
    *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (info[i].IsNumber()) {
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
  }
  return false;
}

// `true` at position i: ECF8_SKIP_CHECKSUMS.
inline unsigned flags_arg(const Napi::CallbackInfo &info, size_t i) {
  return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value() ? ECF8_SKIP_CHECKSUMS : 0u;
}

inline Napi::Object result(Napi::Env env, ecf8_status st, const std::string &message = "") {
  Napi::Object o = Napi::Object::New(env);
  o.Set("status", code(st));
  if (!message.empty()) o.Set("message", message);
  return o;
}

inline Napi::Value invalid(Napi::Env env, const char *what) { return result(env, ECF8_INVALID_ARGUMENT, what); }

// A new Uint8Array of `size` bytes (contents unspecified), or false when Node cannot hold that many bytes in one array
// (over buffer.constants.MAX_LENGTH: 4 GiB on Node 20). napi_create_typedarray aborts the whole process on such a
// length instead of throwing, so the memory comes from Node's Buffer allocator, which refuses it with an exception
// (caught here), and the Uint8Array is a view of that memory.
inline bool new_bytes(Napi::Env env, uint64_t size, Napi::Uint8Array *out) {
  if (size > (uint64_t)SIZE_MAX) return false;
  try {
    Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::New(env, (size_t)size);
    *out = Napi::Uint8Array::New(env, (size_t)size, b.ArrayBuffer(), b.ByteOffset());
    return true;
  } catch (const Napi::Error &) {
    return false;  // the exception Node raised is cleared: the caller reports ECF8_LIMIT_EXCEEDED instead
  }
}

// The message of a new_bytes failure.
inline std::string too_large(uint64_t size) {
  return std::to_string(size) + " bytes do not fit in one Uint8Array here (over buffer.constants.MAX_LENGTH)";
}

// The device layer's text for a BACKEND_UNAVAILABLE status (the CUDA error), else nothing.
inline std::string device_message(ecf8_status st) {
  return st == ECF8_BACKEND_UNAVAILABLE ? std::string(ecf8_device_last_error()) : std::string();
}

// Registers the resident-stream functions (resident.cc).
void InitResident(Napi::Env env, Napi::Object exports);
// The module (ecf8_node.cc).
Napi::Object InitModule(Napi::Env env, Napi::Object exports);

}  // namespace ecf8_node
