/**
 * @ecf8/cuda — ECF8 decoding on NVIDIA GPUs from Node.js, straight into device memory, through a native addon (the C
 * API of cuda/, see docs/cuda.md) built from source when the package is installed.
 *
 * Importing the package registers a backend named 'cuda' (priority 30) in @ecf8/core's registry. Where the addon
 * could not be built with CUDA, or there is no driver or device, `isAvailable()` says why and the registry falls
 * back to the next backend; `validate()` (spec §11.2 phases A and B) works wherever the addon built.
 */
import { registerBackend } from '@ecf8/core';
import { CudaBackend } from './backend.js';

export {
  CudaBackend,
  CudaEmulatorBackend,
  validateStream,
  allocDeviceBuffer,
  freeDeviceBuffer,
  readDeviceBuffer,
  writeDeviceBuffer,
  type CudaDeviceBuffer,
  type CudaBackendOptions,
} from './backend.js';
export { ResidentStream, PendingDecode, type ResidentDecodeOptions, type EnqueueOptions } from './resident.js';
export { loadNative, readBuildStatus, ADDON_PATH, STATUS_PATH, type BuildStatus, type NativeBinding, type NativeResidentStream } from './native.js';

/** Priority of the default backend in the core registry (above WebGPU's 10 and the CPU backends). */
export const CUDA_BACKEND_PRIORITY = 30;

/** The default backend instance, registered as 'cuda'. */
export const cudaBackend = new CudaBackend();
registerBackend(cudaBackend, CUDA_BACKEND_PRIORITY);

/**
 * The same backend on the addon's emulated device layer ('cuda-emulated', not registered): device pointers into
 * checked host memory, decodes by the block emulator. Available wherever the addon built, GPU or not; for tests.
 */
export const emulatedCudaBackend = new CudaBackend('cuda-emulated', { emulated: true });
