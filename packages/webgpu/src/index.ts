/**
 * @ecf8/webgpu — ECF8 decoding on any WebGPU device (browsers, Node via Dawn), straight into GPU memory.
 *
 * Importing the package registers a default backend named 'webgpu' (priority 10) in @ecf8/core's registry; it opens
 * its device lazily, on first use or on `isAvailable()`. See docs/webgpu.md.
 */
import { registerBackend } from '@ecf8/core';
import { WebGpuBackend, type WebGpuBackendOptions } from './backend.js';
import { decodeShader } from './kernel.js';

/** The WGSL source of the decode kernel without the `subgroups` feature (src/decode.wgsl after its prelude). */
export const decodeShaderSource: string = decodeShader(false);

export { WebGpuBackend, UploadedStream, type WebGpuBackendOptions, type WebGpuDecodeOptions } from './backend.js';
export { openDevice, type DeviceOptions, type OpenedDevice } from './gpu.js';
export { planChunks, chunkTarget, blocksPerChunk, gridFor, type Chunk, type ChunkTarget, type PlanLimits } from './plan.js';
export { kernelConfig, stagedPathSlowOn, decodeShader, type AdapterIdentity, type KernelConfig, type KernelLimits, type KernelPath } from './kernel.js';
export { mirrorDecode, mirrorDecodeInto, mirrorThreadCounts, runKernel, inputImage, FULL_LIMITS, DEFAULT_LIMITS, type MirrorOptions } from './mirror.js';

/** Priority of the default backend in the core registry (above the CPU reference backends' 0 and -1). */
export const WEBGPU_BACKEND_PRIORITY = 10;

/** The default backend instance, registered as 'webgpu'. */
export const webgpuBackend = new WebGpuBackend();
registerBackend(webgpuBackend, WEBGPU_BACKEND_PRIORITY);

/** Creates a backend with its own options (e.g. a caller's device) and registers it under `options.name`. */
export function registerWebGpuBackend(options: WebGpuBackendOptions = {}, priority = WEBGPU_BACKEND_PRIORITY): WebGpuBackend {
  const backend = new WebGpuBackend(options);
  registerBackend(backend, priority);
  return backend;
}
