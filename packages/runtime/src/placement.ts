/// <reference types="@webgpu/types" />
/**
 * Where a model's compressed streams live and where they are decoded to, per kind of backend:
 *
 * - `host` (CPU backends: `Uint8Array` targets): streams stay in host memory; the workspace is one `Uint8Array`.
 * - `webgpu` (a backend with `upload()` and `device()`, i.e. @ecf8/webgpu's WebGpuBackend): each stream is
 *   validated and uploaded once (`upload()`), the workspace is one GPUBuffer, and a decode is either submitted and
 *   checked (`UploadedStream.decodeInto`) or recorded into the caller's command encoder (`UploadedStream.encode`).
 * - `cuda` (@ecf8/cuda's `cuda` backend: `{ devicePointer, byteLength }` targets): the workspace is device memory
 *   from `allocDeviceBuffer`; the addon's `decodeInto` takes host streams (it uploads and decodes in one call), so
 *   the streams stay in host memory until the addon binds `ecf8_device_upload` for resident streams.
 *
 * The manager (model.ts) sees only this interface.
 */
import { ErrorCode, fail, type Ecf8Backend } from '@ecf8/core';

export type PlacementKind = 'host' | 'webgpu' | 'cuda';

/** A decoded tensor's place in the workspace. */
export interface Placement<Target, Resident> {
  readonly kind: PlacementKind;
  /** Distance between slots in the workspace for slots of `bytes` (GPU slots start at binding-aligned offsets). */
  slotStride(bytes: number): number;
  allocateWorkspace(bytes: number): Promise<Target>;
  freeWorkspace(target: Target): void;
  /** Makes a validated stream resident; `stream` may be a view of memory the caller keeps or drops. */
  makeResident(stream: Uint8Array): Promise<Resident>;
  /** Decodes (and checks) a resident stream into the workspace at `offset`; resolves when the bytes are there. */
  decode(resident: Resident, target: Target, offset: number): Promise<void>;
  /** Records the decode into the caller's command stream (GPU placements). */
  record?(resident: Resident, encoder: unknown, target: Target, offset: number): void;
  release(resident: Resident): void;
}

interface UploadedLike {
  readonly elementCount: number;
  encode(encoder: GPUCommandEncoder, target: GPUBuffer, offset?: number): void;
  decodeInto(target: GPUBuffer, offset?: number): Promise<number>;
  destroy(): void;
}

/** The part of @ecf8/webgpu's WebGpuBackend the manager uses. */
export interface WebGpuLikeBackend extends Ecf8Backend<GPUBuffer> {
  device(): Promise<GPUDevice>;
  upload(stream: Uint8Array): Promise<UploadedLike>;
}

/** @ecf8/cuda's device memory handle. */
export interface CudaDeviceBuffer {
  devicePointer: bigint;
  byteLength: number;
}

export function isWebGpuBackend(backend: Ecf8Backend<any>): backend is WebGpuLikeBackend {
  const b = backend as Partial<WebGpuLikeBackend>;
  return typeof b.upload === 'function' && typeof b.device === 'function';
}

/** The placement a backend gets when none is named: WebGPU by shape, CUDA by name, otherwise host memory. */
export function placementKindOf(backend: Ecf8Backend<any>): PlacementKind {
  if (isWebGpuBackend(backend)) return 'webgpu';
  if (backend.name === 'cuda') return 'cuda';
  return 'host';
}

export function hostPlacement(backend: Ecf8Backend<Uint8Array>): Placement<Uint8Array, Uint8Array> {
  return {
    kind: 'host',
    slotStride: (bytes) => bytes,
    allocateWorkspace: async (bytes) => new Uint8Array(bytes),
    freeWorkspace: () => {},
    makeResident: async (stream) => stream,
    decode: async (stream, target, offset) => {
      await backend.decodeInto(stream, target, offset);
    },
    release: () => {},
  };
}

// WebGPU usage flags (numeric: Node has no GPUBufferUsage global unless the webgpu package installed it).
const STORAGE = 128;
const COPY_SRC = 4;
const COPY_DST = 8;

export async function webGpuPlacement(backend: WebGpuLikeBackend): Promise<Placement<GPUBuffer, UploadedLike>> {
  const device = await backend.device();
  // Slot offsets are multiples of the storage binding alignment, so a shader can bind one slot on its own.
  const align = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
  return {
    kind: 'webgpu',
    slotStride: (bytes) => Math.ceil(Math.max(bytes, 4) / align) * align,
    allocateWorkspace: async (bytes) => {
      const size = Math.max(4, Math.ceil(bytes / 4) * 4);
      if (size > device.limits.maxBufferSize) fail(ErrorCode.LIMIT_EXCEEDED, `workspace of ${size} bytes exceeds the device's maxBufferSize ${device.limits.maxBufferSize}`);
      return device.createBuffer({ label: 'ecf8-runtime-workspace', size, usage: STORAGE | COPY_SRC | COPY_DST });
    },
    freeWorkspace: (buffer) => buffer.destroy(),
    makeResident: (stream) => backend.upload(stream),
    decode: async (uploaded, target, offset) => {
      await uploaded.decodeInto(target, offset);
    },
    record: (uploaded, encoder, target, offset) => uploaded.encode(encoder as GPUCommandEncoder, target, offset),
    release: (uploaded) => uploaded.destroy(),
  };
}

interface CudaMemory {
  allocDeviceBuffer(byteLength: number): CudaDeviceBuffer;
  freeDeviceBuffer(buffer: CudaDeviceBuffer): void;
}

export async function cudaPlacement(backend: Ecf8Backend<CudaDeviceBuffer>): Promise<Placement<CudaDeviceBuffer, Uint8Array>> {
  let memory: CudaMemory;
  try {
    // An optional peer, only loaded when a CUDA backend is used (a variable, so that bundlers leave it alone).
    const specifier = '@ecf8/cuda';
    memory = (await import(/* @vite-ignore */ specifier)) as CudaMemory;
  } catch (e) {
    return fail(ErrorCode.BACKEND_UNAVAILABLE, `the cuda placement needs @ecf8/cuda: ${(e as Error).message}`);
  }
  return {
    kind: 'cuda',
    slotStride: (bytes) => Math.ceil(Math.max(bytes, 1) / 256) * 256,
    allocateWorkspace: async (bytes) => memory.allocDeviceBuffer(Math.max(1, bytes)),
    freeWorkspace: (buffer) => memory.freeDeviceBuffer(buffer),
    makeResident: async (stream) => stream,
    decode: async (stream, target, offset) => {
      await backend.decodeInto(stream, target, offset);
    },
    release: () => {},
  };
}
