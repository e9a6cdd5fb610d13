/// <reference types="@webgpu/types" />
/**
 * Where a model's compressed streams live and where they are decoded to, per kind of backend:
 *
 * - `host` (CPU backends: `Uint8Array` targets): streams stay in host memory; the workspace is one `Uint8Array`.
 * - `webgpu` (a backend with `upload()` and `device()`, i.e. @ecf8/webgpu's WebGpuBackend): each stream is
 *   validated and uploaded once (`upload()`), the workspace is one GPUBuffer, and a decode is either submitted and
 *   checked (`UploadedStream.decodeInto`) or recorded into the caller's command encoder (`UploadedStream.encode`).
 * - `cuda` (@ecf8/cuda's CudaBackend, on a GPU or on the addon's emulated device layer: `{ devicePointer,
 *   byteLength }` targets): each stream is validated and uploaded once (`upload()`: `ecf8_device_upload`); the workspace
 *   is device memory, and each slot has its own CUDA stream and its own small ecf8 decode workspace (error word and
 *   CRC partials, `ecf8_device_workspace_size` of the slot size), so a prefetch into one slot runs on the GPU while
 *   the other slot is in use; a decode is enqueued on the slot's stream and its result collected off the JS thread.
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
  /** The workspace: `bytes` in all, `slots` slots of up to `slotBytes` each (and any per-slot decode resources). */
  allocateWorkspace(bytes: number, slots: number, slotBytes: number): Promise<Target>;
  freeWorkspace(target: Target): void;
  /** Makes a validated stream resident; `stream` may be a view of memory the caller keeps or drops. */
  makeResident(stream: Uint8Array): Promise<Resident>;
  /** Decodes (and checks) a resident stream into the workspace at `offset` (slot `slot`); resolves when the bytes are there. */
  decode(resident: Resident, target: Target, offset: number, slot: number): Promise<void>;
  /** Copies decoded bytes of the workspace to the host (CUDA; for `verify: 'full'` at open). */
  readBack?(target: Target, offset: number, length: number): Uint8Array;
  /**
   * Records the decode into the caller's command stream (GPU placements): WebGPU, a GPUCommandEncoder (nothing to
   * wait for); CUDA, a CUDA stream, returning the decode's pending result.
   */
  record?(resident: Resident, into: unknown, target: Target, offset: number, slot: number): { wait(): Promise<unknown> } | void;
  release(resident: Resident): void;
  /** What a resident stream holds: bytes in host memory and in device memory. */
  residentBytes(resident: Resident): { host: number; device: number };
  /** Device memory for decoding besides the workspace (CUDA: the slots' ecf8 decode workspaces). */
  scratchBytes(): number;
}

interface UploadedLike {
  readonly elementCount: number;
  /** GPU memory the uploaded stream holds. */
  readonly deviceBytes: number;
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

/** @ecf8/cuda's ResidentStream, as the manager uses it. */
interface ResidentLike {
  readonly deviceBytes: number;
  enqueue(target: CudaDeviceBuffer, offset: number, options: { workspace: CudaDeviceBuffer; stream: bigint }): { wait(): Promise<number> };
  free(): void;
}

/** The part of @ecf8/cuda's CudaBackend the manager uses. */
export interface CudaLikeBackend extends Ecf8Backend<CudaDeviceBuffer> {
  upload(stream: Uint8Array): Promise<ResidentLike>;
  workspaceSize(elementCount: number): number;
  allocDeviceBuffer(byteLength: number): CudaDeviceBuffer;
  freeDeviceBuffer(buffer: CudaDeviceBuffer): void;
  readDeviceBuffer(buffer: CudaDeviceBuffer, offset: number, length: number): Uint8Array;
  createStream(): bigint;
  destroyStream(stream: bigint): void;
}

export function isWebGpuBackend(backend: Ecf8Backend<any>): backend is WebGpuLikeBackend {
  const b = backend as Partial<WebGpuLikeBackend>;
  return typeof b.upload === 'function' && typeof b.device === 'function';
}

export function isCudaBackend(backend: Ecf8Backend<any>): backend is CudaLikeBackend {
  const b = backend as Partial<CudaLikeBackend>;
  return typeof b.upload === 'function' && typeof b.allocDeviceBuffer === 'function' && typeof b.createStream === 'function' && typeof b.workspaceSize === 'function';
}

/** The placement a backend gets when none is named: by the backend's shape (CUDA, WebGPU), otherwise host memory. */
export function placementKindOf(backend: Ecf8Backend<any>): PlacementKind {
  if (isCudaBackend(backend)) return 'cuda';
  if (isWebGpuBackend(backend)) return 'webgpu';
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
    residentBytes: (stream) => ({ host: stream.byteLength, device: 0 }),
    scratchBytes: () => 0,
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
    residentBytes: (uploaded) => ({ host: 0, device: uploaded.deviceBytes }),
    scratchBytes: () => 0,
  };
}

export async function cudaPlacement(backend: CudaLikeBackend): Promise<Placement<CudaDeviceBuffer, ResidentLike>> {
  if (!isCudaBackend(backend)) fail(ErrorCode.INVALID_ARGUMENT, `the cuda placement needs @ecf8/cuda's CudaBackend (upload, allocDeviceBuffer, createStream); ${(backend as Ecf8Backend<unknown>).name} has not got them`);
  // Per slot: a CUDA stream and an ecf8 decode workspace (allocated with the workspace, freed with it).
  const streams: bigint[] = [];
  const scratch: CudaDeviceBuffer[] = [];
  const freeSlots = () => {
    for (const b of scratch.splice(0)) backend.freeDeviceBuffer(b);
    for (const s of streams.splice(0)) backend.destroyStream(s);
  };
  return {
    kind: 'cuda',
    slotStride: (bytes) => Math.ceil(Math.max(bytes, 1) / 256) * 256,
    allocateWorkspace: async (bytes, slots, slotBytes) => {
      const workspace = backend.allocDeviceBuffer(Math.max(1, bytes));
      try {
        // The decode workspace grows with the element count, so the slot size's covers every tensor that fits.
        const scratchBytes = backend.workspaceSize(slotBytes);
        for (let i = 0; i < slots; i++) {
          streams.push(backend.createStream());
          scratch.push(backend.allocDeviceBuffer(scratchBytes));
        }
      } catch (e) {
        freeSlots();
        backend.freeDeviceBuffer(workspace);
        throw e;
      }
      return workspace;
    },
    freeWorkspace: (buffer) => {
      freeSlots();
      backend.freeDeviceBuffer(buffer);
    },
    makeResident: (stream) => backend.upload(stream),
    decode: async (resident, target, offset, slot) => {
      await resident.enqueue(target, offset, { workspace: scratch[slot], stream: streams[slot] }).wait();
    },
    record: (resident, stream, target, offset, slot) => resident.enqueue(target, offset, { workspace: scratch[slot], stream: stream as bigint }),
    readBack: (buffer, offset, length) => backend.readDeviceBuffer(buffer, offset, length),
    release: (resident) => resident.free(),
    residentBytes: (resident) => ({ host: 0, device: resident.deviceBytes }),
    scratchBytes: () => scratch.reduce((a, b) => a + b.byteLength, 0),
  };
}
