/**
 * Device memory and CUDA streams behind a {@link CudaBackend}: the real device (cudaMalloc, cudaMemcpy,
 * cudaStreamCreate through the addon), or the emulated device layer of the addon (binding/emulated_memory.cc), where
 * "device memory" is host memory addressed like device pointers and checked on every access, and a decode runs the
 * CUDA kernel's own per-thread code (the block emulator) when it is enqueued, so a "stream" has nothing left to wait
 * for. The emulated layer lets everything above it (resident streams, @ecf8/runtime's cuda placement) run without a GPU.
 */
import { Ecf8Error, ErrorCode } from '@ecf8/core';
import type { NativeBinding } from './native.js';
import { check, fromThrown } from './status.js';

export interface DeviceLayer {
  readonly emulated: boolean;
  /** Device memory of `byteLength` bytes (at least 1 is allocated), 256-byte aligned. */
  alloc(byteLength: number): bigint;
  free(address: bigint): void;
  read(address: bigint, length: number): Uint8Array;
  write(address: bigint, data: Uint8Array): void;
  /** A new CUDA stream (a `cudaStream_t`); 0n is the legacy default stream. */
  createStream(): bigint;
  destroyStream(stream: bigint): void;
}

/**
 * The layer with the allocations and streams it made tracked: freeing an address it did not allocate, or not any more
 * (freed twice), or destroying a stream it did not create, is ECF8_INVALID_ARGUMENT and never reaches CUDA, where
 * cudaFree could free a later allocation that got the same address and cudaStreamDestroy of a destroyed stream is
 * undefined behaviour.
 */
function tracked(layer: DeviceLayer): DeviceLayer {
  const live = new Set<bigint>();
  const streams = new Set<bigint>();
  return {
    ...layer,
    alloc: (n) => {
      const address = layer.alloc(n);
      live.add(address);
      return address;
    },
    free: (address) => {
      if (!live.has(address)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `device free: ${address} is not the address of live device memory from this backend (freed twice?)`);
      live.delete(address);
      layer.free(address);
    },
    createStream: () => {
      const stream = layer.createStream();
      streams.add(stream);
      return stream;
    },
    destroyStream: (stream) => {
      if (!streams.has(stream)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `destroyStream: ${stream} is not a live CUDA stream from this backend's createStream (destroyed twice?)`);
      streams.delete(stream);
      layer.destroyStream(stream);
    },
  };
}

let realLayer: { native: NativeBinding; layer: DeviceLayer } | undefined;

/** The real device, one tracked layer per process (every CudaBackend on a GPU and the module-level helpers share it). */
export function realDevice(native: NativeBinding): DeviceLayer {
  if (realLayer?.native !== native) realLayer = { native, layer: newRealDevice(native) };
  return realLayer.layer;
}

/** A new tracked layer over the real device (tests; everything else shares {@link realDevice}'s). */
export function newRealDevice(native: NativeBinding): DeviceLayer {
  return tracked(untrackedRealDevice(native));
}

function untrackedRealDevice(native: NativeBinding): DeviceLayer {
  const call = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw fromThrown(e, what);
    }
  };
  return {
    emulated: false,
    alloc: (n) => call('device allocation', () => native.deviceAlloc(Math.max(1, n))),
    free: (a) => call('device free', () => native.deviceFree(a)),
    read: (a, n) => call('device read', () => native.deviceCopyToHost(a, n)),
    write: (a, d) => call('device write', () => native.deviceCopyFromHost(a, d)),
    createStream: () => call('CUDA stream', () => native.streamCreate()),
    destroyStream: (s) => call('CUDA stream', () => native.streamDestroy(s)),
  };
}

/** The emulated device (its memory checks every access itself; its streams are ids, tracked here). */
export function emulatedDevice(native: NativeBinding): DeviceLayer {
  let streams = 0n;
  const layer: DeviceLayer = {
    emulated: true,
    alloc: (n) => {
      try {
        return native.emulatedAlloc(Math.max(1, n));
      } catch (e) {
        throw fromThrown(e, 'emulated device allocation');
      }
    },
    free: (a) => check(native.emulatedFree(a), 'emulated device free'),
    read: (a, n) => {
      const r = native.emulatedCopyToHost(a, n);
      check(r, 'emulated device read');
      return r.bytes!;
    },
    write: (a, d) => check(native.emulatedCopyFromHost(a, d), 'emulated device write'),
    createStream: () => ++streams,
    destroyStream: () => {},
  };
  const checked = tracked(layer);
  return { ...checked, alloc: layer.alloc, free: layer.free };
}
