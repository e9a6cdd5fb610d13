/**
 * Resident streams: an ECF8 stream validated (spec §11.2 phases A and B) and uploaded to the device once
 * (`ecf8_device_upload`), then decoded any number of times into device memory at an offset (`ecf8_device_decode`,
 * phase C on the device), on a CUDA stream of the caller's choosing, with its result collected later
 * (`ecf8_device_result`, waited for off the JavaScript thread). Made by {@link CudaBackend.upload}.
 *
 * Workspace: a decode needs `workspaceBytes` of device workspace (`ecf8_device_workspace_size`: the error word and the
 * content CRC's partial sums: 1 KiB up to 32 MiB decoded, then about 4 bytes per MiB, 5 KiB at 1 GiB).
 * {@link ResidentStream.enqueue} takes the caller's (one per decode in flight: @ecf8/runtime allocates one per workspace
 * slot, sized for its largest tensor);
 * {@link ResidentStream.decode} without one allocates and frees a temporary workspace around that call.
 *
 * Lifetime: `free()` releases the device memory at once (or when a collect in flight completes); a handle nobody
 * freed is released when it is garbage-collected. Using a freed handle is an ECF8_INVALID_ARGUMENT error.
 */
import { Ecf8Error, ErrorCode } from '@ecf8/core';
import type { DeviceLayer } from './device-layer.js';
import type { NativeResidentStream } from './native.js';
import { check } from './status.js';

/** Device memory the caller owns: a device address and how many bytes from there may be written. */
export interface CudaDeviceBuffer {
  devicePointer: bigint;
  byteLength: number;
}

export interface ResidentDecodeOptions {
  /** Check the content CRC-32C on the device (spec §10, step 19). Default true. */
  verifyChecksums?: boolean;
  /** The CUDA stream (`cudaStream_t` as a BigInt, e.g. from {@link CudaBackend.createStream}); default 0n, the legacy default stream. */
  stream?: bigint;
}

export interface EnqueueOptions extends ResidentDecodeOptions {
  /** Device workspace of at least `workspaceBytes`, 256-byte aligned (any allocation from this backend), not used by another decode in flight. */
  workspace: CudaDeviceBuffer;
}

export function checkDeviceBuffer(b: CudaDeviceBuffer, what: string): void {
  if (!b || typeof b.devicePointer !== 'bigint' || b.devicePointer < 0n || !Number.isSafeInteger(b.byteLength) || b.byteLength < 0) {
    throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `${what} must be { devicePointer: bigint, byteLength: number }`);
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
}

function streamOf(options: ResidentDecodeOptions): bigint {
  const s = options.stream ?? 0n;
  if (typeof s !== 'bigint' || s < 0n) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'stream must be a cudaStream_t as a BigInt');
  return s;
}

/** A decode enqueued on a CUDA stream; `wait()` collects its phase-C result. */
export class PendingDecode {
  /** @internal */
  constructor(
    private readonly handle: NativeResidentStream,
    private readonly workspace: bigint,
    private readonly stream: bigint,
    private readonly elementCount: number,
    private readonly after?: () => void,
  ) {}

  /**
   * Waits for the stream (off the JavaScript thread) and resolves to the number of bytes written, or rejects with
   * ECF8_GAP_MISMATCH, ECF8_POSITION_MISMATCH or ECF8_CONTENT_CHECKSUM_MISMATCH (spec §11.2, highest precedence
   * first). The result is that of the last decode enqueued with this workspace.
   */
  async wait(): Promise<number> {
    try {
      check(await this.handle.collect(this.workspace, this.stream), 'CUDA decode failed');
    } finally {
      this.after?.();
    }
    return this.elementCount;
  }
}

export class ResidentStream {
  /** Bytes a decode writes. */
  readonly elementCount: number;
  /** Device memory this stream holds (its bytes padded to 16, decode tables, CRC tables: `ecf8_device_stream_bytes`). */
  readonly deviceBytes: number;
  /** Device workspace one decode needs (`ecf8_device_workspace_size`). */
  readonly workspaceBytes: number;
  /** True on the emulated device layer. */
  readonly emulated: boolean;

  /** @internal use {@link CudaBackend.upload} */
  constructor(
    private readonly handle: NativeResidentStream,
    private readonly device: DeviceLayer,
  ) {
    const i = handle.info();
    this.elementCount = Number(i.elementCount);
    this.deviceBytes = Number(i.deviceBytes);
    this.workspaceBytes = Number(i.workspaceSize);
    this.emulated = i.emulated;
  }

  get freed(): boolean {
    return this.handle.info().freed;
  }

  /**
   * Enqueues the decode into `target` bytes `[offset, offset + elementCount)` on `options.stream` and returns at once
   * (argument errors throw: ECF8_OUTPUT_TOO_SMALL, ECF8_INVALID_ARGUMENT for a freed stream or a workspace that is
   * too small or misaligned). Call `wait()` on the result before reading the bytes.
   */
  enqueue(target: CudaDeviceBuffer, offset: number, options: EnqueueOptions): PendingDecode {
    return this.start(target, offset, options, options?.workspace);
  }

  /** Enqueue and wait; without `workspace` a temporary one is allocated and freed around the call. Resolves to n. */
  async decode(target: CudaDeviceBuffer, offset = 0, options: ResidentDecodeOptions & { workspace?: CudaDeviceBuffer } = {}): Promise<number> {
    if (options.workspace) return this.start(target, offset, options, options.workspace).wait();
    if (this.freed) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'this resident stream was freed');
    const ws = { devicePointer: this.device.alloc(this.workspaceBytes), byteLength: this.workspaceBytes };
    let pending: PendingDecode;
    try {
      pending = this.start(target, offset, options, ws, () => this.device.free(ws.devicePointer));
    } catch (e) {
      this.device.free(ws.devicePointer);
      throw e;
    }
    return pending.wait();
  }

  /** Frees the device memory; a second call does nothing. */
  free(): void {
    this.handle.free();
  }

  private start(target: CudaDeviceBuffer, offset: number, options: ResidentDecodeOptions, workspace: CudaDeviceBuffer | undefined, after?: () => void): PendingDecode {
    checkDeviceBuffer(target, 'target');
    checkOffset(offset);
    if (!workspace) throw new Ecf8Error(ErrorCode.INVALID_ARGUMENT, 'enqueue needs options.workspace (device memory of workspaceBytes)');
    checkDeviceBuffer(workspace, 'workspace');
    const stream = streamOf(options);
    const r = this.handle.enqueue(target.devicePointer, BigInt(target.byteLength), BigInt(offset), workspace.devicePointer, BigInt(workspace.byteLength), options.verifyChecksums === false, stream);
    check(r, r.status === ErrorCode.OUTPUT_TOO_SMALL || r.status === ErrorCode.INVALID_ARGUMENT ? 'cannot decode' : 'CUDA decode failed');
    return new PendingDecode(this.handle, workspace.devicePointer, stream, this.elementCount, after);
  }
}
