/**
 * The CUDA backend (the core `Ecf8Backend` interface) over the native addon, and a host backend that runs the CUDA
 * kernel's own per-thread code through the C++ block emulator (no GPU needed).
 */
import { Ecf8Error, ErrorCode, type Availability, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { loadNative, type NativeBinding, type NativeResult } from './native.js';

/**
 * Device memory the caller owns, as `decodeInto`'s target: `devicePointer` is a CUDA device address (what
 * `cudaMalloc` returned, possibly plus an offset, e.g. a PyTorch tensor's `data_ptr()` passed to Node), valid on the
 * current CUDA device of this process; `byteLength` is how many bytes from there may be written. The backend never
 * frees it. {@link allocDeviceBuffer} makes one.
 */
export interface CudaDeviceBuffer {
  devicePointer: bigint;
  byteLength: number;
}

const CODES = new Set<string>(Object.values(ErrorCode));

function toError(r: NativeResult, what: string): Ecf8Error {
  const code = (CODES.has(r.status) ? r.status : ErrorCode.BACKEND_UNAVAILABLE) as ErrorCode;
  return new Ecf8Error(code, `${what}${r.message ? `: ${r.message}` : ''}`);
}

function check(r: NativeResult, what: string): void {
  if (r.status !== 'ECF8_OK') throw toError(r, what);
}

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

function nativeOrThrow(): NativeBinding {
  const l = loadNative();
  if (!l.native) throw new Ecf8Error(ErrorCode.BACKEND_UNAVAILABLE, l.reason);
  return l.native;
}

/** Spec §11.2 phases A and B on the host via the C API (same codes as the reference); needs no GPU. */
export function validateStream(stream: Uint8Array, options: DecodeOptions = {}): void {
  const native = nativeOrThrow();
  phaseA(native, stream, options);
  check(native.validate(stream, options.verifyChecksums === false, false), 'invalid stream metadata');
}

export class CudaBackend implements Ecf8Backend<CudaDeviceBuffer> {
  readonly name: string;

  constructor(name = 'cuda') {
    this.name = name;
  }

  /** Available when the addon was built with CUDA and a driver and a device are present; else the reason. */
  async isAvailable(): Promise<Availability> {
    return this.availability();
  }

  private availability(): Availability {
    const l = loadNative();
    if (!l.native) return { available: false, reason: l.reason };
    if (!l.native.build().cuda) {
      return { available: false, reason: l.status?.reason || 'no CUDA compiler: @ecf8/cuda was built without CUDA' };
    }
    const why = l.native.cudaAvailable();
    return why ? { available: false, reason: why } : { available: true };
  }

  private device(): NativeBinding {
    const a = this.availability();
    if (!a.available) throw new Ecf8Error(ErrorCode.BACKEND_UNAVAILABLE, `cuda backend unavailable: ${a.reason}`);
    return loadNative().native!;
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
    const native = this.device();
    phaseA(native, stream, options);
    const r = native.deviceDecode(stream, options.verifyChecksums === false);
    check(r, 'CUDA decode failed');
    return r.bytes!;
  }

  /**
   * Decodes into device memory the caller owns: bytes `[offset, offset + n)` of `target`. Resolves to n once the
   * decode has finished (the default CUDA stream is synchronised). Check order as in the reference: phase A, the
   * output cap, output room (ECF8_OUTPUT_TOO_SMALL), phase B, phase C.
   */
  async decodeInto(stream: Uint8Array, target: CudaDeviceBuffer, offset = 0, options: DecodeOptions = {}): Promise<number> {
    if (!target || typeof target.devicePointer !== 'bigint' || !Number.isSafeInteger(target.byteLength) || target.byteLength < 0) {
      throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'target must be { devicePointer: bigint, byteLength: number }');
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
    const native = this.device();
    const n = phaseA(native, stream, options);
    if (offset > target.byteLength || target.byteLength - offset < n) {
      throw new Ecf8Error(ErrorCode.OUTPUT_TOO_SMALL, `output holds ${Math.max(0, target.byteLength - offset)} bytes at offset ${offset}; the stream decodes to ${n}`);
    }
    const r = native.deviceDecodeInto(stream, options.verifyChecksums === false, target.devicePointer, BigInt(target.byteLength), BigInt(offset));
    check(r, 'CUDA decode failed');
    return n;
  }

  dispose(): void {}
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

/** Allocates `byteLength` bytes of device memory (cudaMalloc) on the current device; free with {@link freeDeviceBuffer}. */
export function allocDeviceBuffer(byteLength: number): CudaDeviceBuffer {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'byteLength must be a non-negative integer');
  const native = nativeOrThrow();
  return { devicePointer: native.deviceAlloc(byteLength), byteLength };
}

export function freeDeviceBuffer(buffer: CudaDeviceBuffer): void {
  nativeOrThrow().deviceFree(buffer.devicePointer);
}

/** Copies `length` bytes at `offset` of a device buffer to the host. */
export function readDeviceBuffer(buffer: CudaDeviceBuffer, offset = 0, length = buffer.byteLength - offset): Uint8Array {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buffer.byteLength) {
    throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'range outside the device buffer');
  }
  return nativeOrThrow().deviceCopyToHost(buffer.devicePointer + BigInt(offset), length);
}

/** Copies host bytes into a device buffer at `offset`. */
export function writeDeviceBuffer(buffer: CudaDeviceBuffer, data: Uint8Array, offset = 0): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > buffer.byteLength) {
    throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'range outside the device buffer');
  }
  nativeOrThrow().deviceCopyFromHost(buffer.devicePointer + BigInt(offset), data);
}
