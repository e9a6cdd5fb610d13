/**
 * Device memory and CUDA streams behind a {@link CudaBackend}: the real device (cudaMalloc, cudaMemcpy,
 * cudaStreamCreate through the addon), or the emulated device layer of the addon (binding/emulated_memory.cc), where
 * "device memory" is host memory addressed like device pointers and checked on every access, and a decode runs the
 * CUDA kernel's own per-thread code (the block emulator) when it is enqueued, so a "stream" has nothing left to wait
 * for. The emulated layer lets everything above it (resident streams, @ecf8/runtime's cuda placement) run without a GPU.
 */
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

export function realDevice(native: NativeBinding): DeviceLayer {
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

export function emulatedDevice(native: NativeBinding): DeviceLayer {
  let streams = 0n;
  return {
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
}
