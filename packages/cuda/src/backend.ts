/**
 * The CUDA backend (the core `Ecf8Backend` interface, plus resident streams, device memory and CUDA streams) over the
 * native addon, on a GPU or on the addon's emulated device layer; and a host backend that runs the CUDA kernel's own
 * per-thread code through the C++ block emulator into host memory (no GPU needed).
 */
import { Ecf8Error, ErrorCode, type Availability, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { emulatedDevice, realDevice, type DeviceLayer } from './device-layer.js';
import { loadNative, type NativeBinding } from './native.js';
import { checkDeviceBuffer, ResidentStream, type CudaDeviceBuffer } from './resident.js';
import { check, nativeOrThrow } from './status.js';

export type { CudaDeviceBuffer } from './resident.js';

function needBytes(stream: unknown): asserts stream is Uint8Array {
  if (!(stream instanceof Uint8Array)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'stream must be a Uint8Array');
}

/** Phase A (spec §11.2 steps 1-12), then the caller's output cap, exactly like the reference's parseStream. */
function phaseA(native: NativeBinding, stream: Uint8Array, options: DecodeOptions): number {
  needBytes(stream);
  const r = native.validate(stream, options.verifyChecksums === false, true);
  check(r, 'invalid stream header');
  const n = Number(r.elementCount!); // phase A bounds n by 2 * stream.length: a safe integer
  if (options.maxOutputBytes !== undefined && n > options.maxOutputBytes) {
    throw new Ecf8Error(ErrorCode.LIMIT_EXCEEDED, `stream decodes to ${n} bytes, over the caller's limit of ${options.maxOutputBytes}`);
  }
  return n;
}

/** Spec §11.2 phases A and B on the host via the C API (same codes as the reference); needs no GPU. */
export function validateStream(stream: Uint8Array, options: DecodeOptions = {}): void {
  const native = nativeOrThrow();
  phaseA(native, stream, options);
  check(native.validate(stream, options.verifyChecksums === false, false), 'invalid stream metadata');
}

export interface CudaBackendOptions {
  /**
   * Run on the addon's emulated device layer instead of a GPU: device memory is checked host memory addressed like
   * device pointers, and decodes run the CUDA kernel's own per-thread code through the block emulator. Available
   * wherever the addon built; for tests of code written against device pointers (it is single-threaded and slow).
   */
  emulated?: boolean;
}

/**
 * Device memory the caller owns, as `decodeInto`'s target: `devicePointer` is a CUDA device address (what
 * `cudaMalloc` returned, possibly plus an offset, e.g. a PyTorch tensor's `data_ptr()` passed to Node), valid on the
 * current CUDA device of this process; `byteLength` is how many bytes from there may be written. The backend never
 * frees it. {@link CudaBackend.allocDeviceBuffer} makes one.
 */
export class CudaBackend implements Ecf8Backend<CudaDeviceBuffer> {
  readonly name: string;
  readonly emulated: boolean;

  constructor(name = 'cuda', options: CudaBackendOptions = {}) {
    this.name = name;
    this.emulated = options.emulated === true;
  }

  /**
   * Available when the addon was built with CUDA and a driver and a device are present (emulated: when the addon
   * loaded); else the reason.
   */
  async isAvailable(): Promise<Availability> {
    return this.availability();
  }

  private availability(): Availability {
    const l = loadNative();
    if (!l.native) return { available: false, reason: l.reason };
    if (this.emulated) return typeof l.native.upload === 'function' ? { available: true } : { available: false, reason: 'the @ecf8/cuda addon predates resident streams: rebuild it (npm run build:native -w @ecf8/cuda)' };
    if (!l.native.build().cuda) {
      return { available: false, reason: l.status?.reason || 'no CUDA compiler: @ecf8/cuda was built without CUDA' };
    }
    const why = l.native.cudaAvailable();
    return why ? { available: false, reason: why } : { available: true };
  }

  private binding(): NativeBinding {
    const a = this.availability();
    if (!a.available) throw new Ecf8Error(ErrorCode.BACKEND_UNAVAILABLE, `${this.name} backend unavailable: ${a.reason}`);
    return loadNative().native!;
  }

  private device?: DeviceLayer;

  private layer(): DeviceLayer {
    const native = this.binding();
    this.device ??= this.emulated ? emulatedDevice(native) : realDevice(native);
    return this.device;
  }

  /**
   * Phases A and B of spec §11.2 on the host (the checks every decode makes before any GPU work): throws the
   * reference's error code for an invalid header or metadata. Needs the addon but no GPU (the fuzzer checks it).
   */
  validate(stream: Uint8Array, options: DecodeOptions = {}): void {
    validateStream(stream, options);
  }

  /** Decodes on the GPU and copies the bytes back to the host. Synchronous under the hood (blocks while decoding). */
  async decode(stream: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
    const native = this.binding();
    const n = phaseA(native, stream, options);
    if (this.emulated) {
      const target = this.allocDeviceBuffer(n);
      try {
        await this.decodeInto(stream, target, 0, options);
        return n > 0 ? this.readDeviceBuffer(target, 0, n) : new Uint8Array(0);
      } finally {
        this.freeDeviceBuffer(target);
      }
    }
    const r = native.deviceDecode(stream, options.verifyChecksums === false);
    check(r, 'CUDA decode failed');
    return r.bytes!;
  }

  /**
   * Decodes into device memory the caller owns: bytes `[offset, offset + n)` of `target`. Resolves to n once the
   * decode has finished (the default CUDA stream is synchronised). Check order as in the reference: phase A, the
   * output cap, output room (ECF8_OUTPUT_TOO_SMALL), phase B, phase C. To decode one stream many times, upload it once
   * with {@link upload}.
   */
  async decodeInto(stream: Uint8Array, target: CudaDeviceBuffer, offset = 0, options: DecodeOptions = {}): Promise<number> {
    checkDeviceBuffer(target, 'target');
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
    const native = this.binding();
    const n = phaseA(native, stream, options);
    if (offset > target.byteLength || target.byteLength - offset < n) {
      throw new Ecf8Error(ErrorCode.OUTPUT_TOO_SMALL, `output holds ${Math.max(0, target.byteLength - offset)} bytes at offset ${offset}; the stream decodes to ${n}`);
    }
    if (this.emulated) {
      const resident = await this.upload(stream, options);
      try {
        return await resident.decode(target, offset, { verifyChecksums: options.verifyChecksums });
      } finally {
        resident.free();
      }
    }
    const r = native.deviceDecodeInto(stream, options.verifyChecksums === false, target.devicePointer, BigInt(target.byteLength), BigInt(offset));
    check(r, 'CUDA decode failed');
    return n;
  }

  /**
   * Validates a stream on the host (phases A and B; `verifyChecksums: false` skips the metadata checksum) and uploads
   * it to the current device, where it stays until `free()`: decode it as often as needed with
   * {@link ResidentStream.decode}, or enqueue decodes on CUDA streams with {@link ResidentStream.enqueue}.
   */
  async upload(stream: Uint8Array, options: DecodeOptions = {}): Promise<ResidentStream> {
    const native = this.binding();
    phaseA(native, stream, options);
    const r = native.upload(stream, options.verifyChecksums === false, this.emulated);
    check(r, this.emulated ? 'invalid stream' : 'CUDA upload failed');
    return new ResidentStream(r.handle!, this.layer());
  }

  /** Device workspace one decode of a stream of `elementCount` bytes needs (`ecf8_workspace_size_for`). */
  workspaceSize(elementCount: number): number {
    if (!Number.isSafeInteger(elementCount) || elementCount < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'elementCount must be a non-negative integer');
    return Number(nativeOrThrow().workspaceSizeFor(elementCount));
  }

  /** `byteLength` bytes of device memory (256-byte aligned) on this backend's device; free with {@link freeDeviceBuffer}. */
  allocDeviceBuffer(byteLength: number): CudaDeviceBuffer {
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'byteLength must be a non-negative integer');
    return { devicePointer: this.layer().alloc(byteLength), byteLength };
  }

  freeDeviceBuffer(buffer: CudaDeviceBuffer): void {
    checkDeviceBuffer(buffer, 'buffer');
    this.layer().free(buffer.devicePointer);
  }

  /** Copies `length` bytes at `offset` of a device buffer to the host. */
  readDeviceBuffer(buffer: CudaDeviceBuffer, offset = 0, length = buffer?.byteLength - offset): Uint8Array {
    checkRange(buffer, offset, length);
    return this.layer().read(buffer.devicePointer + BigInt(offset), length);
  }

  /** Copies host bytes into a device buffer at `offset`. */
  writeDeviceBuffer(buffer: CudaDeviceBuffer, data: Uint8Array, offset = 0): void {
    checkData(data);
    checkRange(buffer, offset, data.length);
    this.layer().write(buffer.devicePointer + BigInt(offset), data);
  }

  /** A new CUDA stream (`cudaStream_t` as a BigInt; on the emulated layer, an id); destroy it with {@link destroyStream}. */
  createStream(): bigint {
    return this.layer().createStream();
  }

  destroyStream(stream: bigint): void {
    this.layer().destroyStream(stream);
  }

  dispose(): void {}
}

function checkData(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'data must be a Uint8Array');
}

function checkRange(buffer: CudaDeviceBuffer, offset: number, length: number): void {
  checkDeviceBuffer(buffer, 'buffer');
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buffer.byteLength) {
    throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'range outside the device buffer');
  }
}

/**
 * The CUDA kernel's own per-thread code run on the CPU by the C++ block emulator (cuda/src/ecf8_emulator.cpp),
 * through the same addon: available wherever the addon built, GPU or not. For tests and as a portable check of the
 * kernel logic; single-threaded and not fast. Not registered by default.
 */
export class CudaEmulatorBackend implements Ecf8Backend<Uint8Array> {
  readonly name = 'cuda-emulator';

  async isAvailable(): Promise<Availability> {
    const l = loadNative();
    return l.native ? { available: true } : { available: false, reason: l.reason };
  }

  validate(stream: Uint8Array, options: DecodeOptions = {}): void {
    validateStream(stream, options);
  }

  async decode(stream: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
    const native = nativeOrThrow();
    phaseA(native, stream, options);
    const r = native.hostDecode(stream, options.verifyChecksums === false);
    check(r, 'decode failed');
    return r.bytes!;
  }

  async decodeInto(stream: Uint8Array, target: Uint8Array, offset = 0, options: DecodeOptions = {}): Promise<number> {
    if (!(target instanceof Uint8Array)) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
    const native = nativeOrThrow();
    const n = phaseA(native, stream, options);
    if (offset > target.length || target.length - offset < n) {
      throw new Ecf8Error(ErrorCode.OUTPUT_TOO_SMALL, `output holds ${Math.max(0, target.length - offset)} bytes at offset ${offset}; the stream decodes to ${n}`);
    }
    const r = native.hostDecode(stream, options.verifyChecksums === false);
    check(r, 'decode failed');
    target.set(r.bytes!, offset);
    return n;
  }

  dispose(): void {}
}

// The module-level helpers below act on the real device (cudaMalloc, cudaMemcpy) through the same checked layer as
// the backend's methods: every failure, a missing driver included, is an Ecf8Error.

/** Allocates `byteLength` bytes of device memory (cudaMalloc) on the current device; free with {@link freeDeviceBuffer}. */
export function allocDeviceBuffer(byteLength: number): CudaDeviceBuffer {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'byteLength must be a non-negative integer');
  return { devicePointer: realDevice(nativeOrThrow()).alloc(byteLength), byteLength };
}

export function freeDeviceBuffer(buffer: CudaDeviceBuffer): void {
  checkDeviceBuffer(buffer, 'buffer');
  realDevice(nativeOrThrow()).free(buffer.devicePointer);
}

/** Copies `length` bytes at `offset` of a device buffer to the host. */
export function readDeviceBuffer(buffer: CudaDeviceBuffer, offset = 0, length = buffer?.byteLength - offset): Uint8Array {
  checkRange(buffer, offset, length);
  return realDevice(nativeOrThrow()).read(buffer.devicePointer + BigInt(offset), length);
}

/** Copies host bytes into a device buffer at `offset`. */
export function writeDeviceBuffer(buffer: CudaDeviceBuffer, data: Uint8Array, offset = 0): void {
  checkData(data);
  checkRange(buffer, offset, data.length);
  realDevice(nativeOrThrow()).write(buffer.devicePointer + BigInt(offset), data);
}
