// ecf8_cuda_stub.cpp -- the device layer of the C API in a build without CUDA: every call reports
// ECF8_BACKEND_UNAVAILABLE ("built without CUDA"); the host layer (validation, tables, emulator) works as usual.
#include "ecf8.h"

extern "C" {

const char *ecf8_device_last_error(void) { return "built without CUDA"; }

ecf8_status ecf8_cuda_available(const char **why) {
  if (why) *why = "built without CUDA (no nvcc when the library was compiled)";
  return ECF8_BACKEND_UNAVAILABLE;
}

ecf8_status ecf8_device_upload(const void *, uint64_t, unsigned, void *, ecf8_device_stream **out) {
  if (out) *out = 0;
  return ECF8_BACKEND_UNAVAILABLE;
}

const ecf8_info *ecf8_device_info(const ecf8_device_stream *) { return 0; }

uint64_t ecf8_device_workspace_size(const ecf8_device_stream *) { return 0; }

uint64_t ecf8_device_stream_bytes(const ecf8_device_stream *) { return 0; }

ecf8_status ecf8_device_decode(const ecf8_device_stream *, void *, uint64_t, uint64_t, void *, uint64_t, unsigned,
                               void *) {
  return ECF8_BACKEND_UNAVAILABLE;
}

ecf8_status ecf8_device_result(const ecf8_device_stream *, const void *, void *) { return ECF8_BACKEND_UNAVAILABLE; }

ecf8_status ecf8_device_decode_sync(const ecf8_device_stream *, void *, uint64_t, uint64_t, unsigned, void *) {
  return ECF8_BACKEND_UNAVAILABLE;
}

void ecf8_device_free(ecf8_device_stream *) {}

}  // extern "C"

namespace ecf8 {
void set_kernel_variant(int) {}
}  // namespace ecf8
