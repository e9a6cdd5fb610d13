// resident.cc -- resident streams for the Node.js binding: a stream validated and uploaded once
// (ecf8_device_upload), decoded any number of times into device memory at an offset on a CUDA stream
// (ecf8_device_decode, returns at once), its phase-C result collected later off the JavaScript thread
// (ecf8_device_result), and its device memory freed by free() or, failing that, when the handle is garbage-collected.
//
// The same handle runs on the emulated device layer (emulated_memory.h): "device memory" is checked host memory and
// a decode runs the CUDA kernel's own per-thread code through the block emulator (ecf8::emulate_decode) when it is
// enqueued, with the C API's argument checks in the C API's order, so the whole resident path is tested without a
// GPU. Every check here happens before any memory is touched; a freed handle answers ECF8_INVALID_ARGUMENT.
#include <stdint.h>
#include <string.h>

#include <atomic>
#include <string>
#include <vector>

#include "common.h"
#include "ecf8_internal.h"
#include "emulated_memory.h"

#if defined(ECF8_WITH_CUDA)
#include <cuda_runtime.h>
#endif

namespace ecf8_node {

namespace {

// Resident streams holding memory, process-wide (for leak tests: residentCount()).
std::atomic<int64_t> g_live{0};

class ResidentStream : public Napi::ObjectWrap<ResidentStream> {
 public:
  // The class per Node environment (main thread, each worker thread), in the addon's instance data.
  static void Define(Napi::Env env) {
    Napi::Function f = DefineClass(env, "ResidentStream",
                                   {InstanceMethod("info", &ResidentStream::Info),
                                    InstanceMethod("enqueue", &ResidentStream::Enqueue),
                                    InstanceMethod("collect", &ResidentStream::Collect),
                                    InstanceMethod("free", &ResidentStream::Free)});
    env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(f)));
  }
  static Napi::Object New(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>()->New({}); }

  explicit ResidentStream(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ResidentStream>(info) {}
  ~ResidentStream() override { Release(); }  // the finalizer: GC of a handle nobody freed

  bool freed = true;  // until upload() fills it in
  bool emulated = false;
  ecf8_device_stream *ds = nullptr;  // CUDA
  std::vector<uint8_t> copy;         // emulated: the validated stream bytes
  ecf8_info header{};
  uint64_t device_bytes = 0;
  uint32_t pending = 0;  // collects in flight (they hold a reference, so the GC cannot run the destructor meanwhile)

  // Frees the device memory once nothing is in flight (free() during a collect frees when it completes).
  void Release() {
    if (pending > 0 || !holding) return;
    if (ds) ecf8_device_free(ds);
    ds = nullptr;
    std::vector<uint8_t>().swap(copy);
    holding = false;
    g_live--;
  }
  bool holding = false;  // device memory (or the emulated copy) not yet released

 private:
  // info() -> { elementCount, workspaceSize, deviceBytes, emulated, freed }
  Napi::Value Info(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("elementCount", Napi::BigInt::New(env, header.element_count));
    o.Set("workspaceSize", Napi::BigInt::New(env, ecf8_workspace_size_for(header.element_count)));
    o.Set("deviceBytes", Napi::BigInt::New(env, device_bytes));
    o.Set("emulated", emulated);
    o.Set("freed", freed);
    return o;
  }

  // enqueue(dst, capacity, offset, workspace, workspaceSize, skipChecksums, cudaStream) -> { status, message? }
  Napi::Value Enqueue(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (freed) return invalid(env, "this resident stream was freed");
    uint64_t dst, cap, off, ws, ws_size, stream;
    if (!u64_arg(info, 0, &dst) || !u64_arg(info, 1, &cap) || !u64_arg(info, 2, &off) || !u64_arg(info, 3, &ws) ||
        !u64_arg(info, 4, &ws_size) || !u64_arg(info, 6, &stream))
      return invalid(env, "addresses, sizes and offsets must be non-negative integers");
    const unsigned flags = flags_arg(info, 5);
    const uint64_t n = header.element_count, need = ecf8_workspace_size_for(n);
    // The C API's argument checks, in its order, with a message.
    if (ws == 0 || ws % 256 != 0) return invalid(env, "the workspace must be 256-byte aligned device memory");
    if (ws_size < need) {
      return invalid(env, ("the workspace holds " + std::to_string(ws_size) + " bytes; this decode needs " + std::to_string(need)).c_str());
    }
    if (off > cap || cap - off < n) {
      return result(env, ECF8_OUTPUT_TOO_SMALL, "output holds " + std::to_string(off > cap ? 0 : cap - off) + " bytes at offset " +
                                                    std::to_string(off) + "; the stream decodes to " + std::to_string(n));
    }
    if (dst == 0 && n > 0) return invalid(env, "null output address");
    if (n > 0 && off + n > UINT64_MAX - dst) return invalid(env, "the output range wraps around the end of the address space");
    if (!emulated) {
      ecf8_status st = ecf8_device_decode(ds, (void *)(uintptr_t)dst, cap, off, (void *)(uintptr_t)ws, ws_size, flags,
                                          (void *)(uintptr_t)stream);
      return result(env, st, device_message(st));
    }
    std::lock_guard<std::mutex> lock(emulated_memory_mutex());
    uint8_t *out = nullptr, *word = nullptr;
    if (!emulated_range(ws, need, &word)) return invalid(env, "the workspace is not live emulated device memory");
    if (n > 0 && !emulated_range(dst + off, n, &out)) return invalid(env, "the output range is not live emulated device memory");
    const uint32_t st = (uint32_t)ecf8::emulate_decode(copy.data(), header, out, flags);  // phase C, as the kernel
    memcpy(word, &st, 4);  // the emulated workspace's result word (its layout is the emulator's own)
    return result(env, ECF8_OK);
  }

  // collect(workspace, cudaStream) -> Promise<{ status, message? }>: waits for the stream off the JavaScript thread.
  Napi::Value Collect(const Napi::CallbackInfo &info);

  // free(): frees the device memory now (or when a collect in flight completes); a second call does nothing.
  Napi::Value Free(const Napi::CallbackInfo &info) {
    freed = true;
    Release();
    return info.Env().Undefined();
  }
};

class CollectWorker : public Napi::AsyncWorker {
 public:
  CollectWorker(Napi::Env env, ResidentStream *owner, uint64_t ws, uint64_t stream)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner),
        ref_(Napi::Persistent(owner->Value())), ds_(owner->ds), ws_(ws), stream_(stream) {
    owner_->pending++;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    st_ = ecf8_device_result(ds_, (const void *)(uintptr_t)ws_, (void *)(uintptr_t)stream_);
    if (st_ == ECF8_BACKEND_UNAVAILABLE) message_ = ecf8_device_last_error();  // thread-local: read on this thread
  }
  void OnOK() override {
    Done();
    deferred_.Resolve(result(Env(), st_, message_));
  }
  void OnError(const Napi::Error &e) override {
    Done();
    deferred_.Reject(e.Value());
  }

 private:
  void Done() {
    owner_->pending--;
    if (owner_->freed) owner_->Release();
    ref_.Reset();
  }
  Napi::Promise::Deferred deferred_;
  ResidentStream *owner_;
  Napi::ObjectReference ref_;
  const ecf8_device_stream *ds_;
  uint64_t ws_, stream_;
  ecf8_status st_ = ECF8_OK;
  std::string message_;
};

Napi::Value ResidentStream::Collect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t ws, stream;
  auto now = [&](Napi::Value v) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Resolve(v);
    return d.Promise();
  };
  if (freed) return now(invalid(env, "this resident stream was freed"));
  if (!u64_arg(info, 0, &ws) || !u64_arg(info, 1, &stream)) return now(invalid(env, "workspace and stream must be non-negative integers"));
  if (ws == 0 || ws % 256 != 0) return now(invalid(env, "the workspace must be 256-byte aligned device memory"));
  if (emulated) {
    std::lock_guard<std::mutex> lock(emulated_memory_mutex());
    uint8_t *word = nullptr;
    if (!emulated_range(ws, 4, &word)) return now(invalid(env, "the workspace is not live emulated device memory"));
    uint32_t st;
    memcpy(&st, word, 4);
    return now(result(env, (ecf8_status)st));
  }
  CollectWorker *w = new CollectWorker(env, this, ws, stream);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// upload(stream, skipChecksums, emulated) -> { status, message?, handle? }: phases A and B on the host, then the
// bytes and tables to the current CUDA device (or into the emulated device's keeping).
Napi::Value Upload(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  StreamArg stream;  // a private copy when shared: the bytes validated are the bytes decoded
  if (!stream_arg(info, 0, &stream)) return invalid(env, "stream must be a Uint8Array");
  const uint8_t *data = stream.data;
  const size_t size = stream.size;
  const unsigned flags = flags_arg(info, 1);
  const bool emulated = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  ecf8_info header;
  ecf8_device_stream *ds = nullptr;
  ecf8_status st = emulated ? ecf8_validate(data, size, flags, &header) : ecf8_device_upload(data, size, flags, nullptr, &ds);
  if (st != ECF8_OK) return result(env, st, emulated ? std::string() : device_message(st));
  Napi::Object handle = ResidentStream::New(env);
  ResidentStream *r = ResidentStream::Unwrap(handle);
  r->emulated = emulated;
  r->freed = false;
  r->holding = true;
  g_live++;
  if (emulated) {
    r->header = header;
    r->copy.assign(data, data + size);
    r->device_bytes = size;
  } else {
    r->ds = ds;
    r->header = *ecf8_device_info(ds);
    r->device_bytes = ecf8_device_stream_bytes(ds);
  }
  Napi::Object o = result(env, ECF8_OK);
  o.Set("handle", handle);
  return o;
}

// residentCount() -> resident streams whose memory is not released yet, in this process.
Napi::Value ResidentCount(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), (double)g_live.load()); }

// workspaceSizeFor(elementCount) -> BigInt (ecf8_workspace_size_for).
Napi::Value WorkspaceSizeFor(const Napi::CallbackInfo &info) {
  uint64_t n;
  if (!u64_arg(info, 0, &n)) throw Napi::TypeError::New(info.Env(), "ECF8_INVALID_ARGUMENT: element count must be a non-negative integer");
  return Napi::BigInt::New(info.Env(), ecf8_workspace_size_for(n));
}

#if defined(ECF8_WITH_CUDA)
// streamCreate() -> BigInt cudaStream_t (a blocking stream: it orders with the legacy default stream).
Napi::Value StreamCreate(const Napi::CallbackInfo &info) {
  cudaStream_t s = nullptr;
  cudaError_t e = cudaStreamCreate(&s);
  if (e != cudaSuccess) throw Napi::Error::New(info.Env(), std::string("ECF8_BACKEND_UNAVAILABLE: cudaStreamCreate: ") + cudaGetErrorString(e));
  return Napi::BigInt::New(info.Env(), (uint64_t)(uintptr_t)s);
}

Napi::Value StreamDestroy(const Napi::CallbackInfo &info) {
  uint64_t s;
  if (u64_arg(info, 0, &s) && s) cudaStreamDestroy((cudaStream_t)(uintptr_t)s);
  return info.Env().Undefined();
}
#else
Napi::Value StreamCreate(const Napi::CallbackInfo &info) {
  throw Napi::Error::New(info.Env(), "ECF8_BACKEND_UNAVAILABLE: @ecf8/cuda was built without CUDA");
}
Napi::Value StreamDestroy(const Napi::CallbackInfo &info) { return info.Env().Undefined(); }
#endif

}  // namespace

void InitResident(Napi::Env env, Napi::Object exports) {
  ResidentStream::Define(env);
  exports.Set("upload", Napi::Function::New(env, Upload));
  exports.Set("workspaceSizeFor", Napi::Function::New(env, WorkspaceSizeFor));
  exports.Set("residentCount", Napi::Function::New(env, ResidentCount));
  exports.Set("streamCreate", Napi::Function::New(env, StreamCreate));
  exports.Set("streamDestroy", Napi::Function::New(env, StreamDestroy));
  InitEmulatedMemory(env, exports);
}

}  // namespace ecf8_node
