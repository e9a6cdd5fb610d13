/// <reference types="@webgpu/types" />
/**
 * The WebGPU decoding backend: host-side validation (spec §11.2 phases A and B, by @ecf8/core, before anything
 * touches the GPU), chunk planning (src/plan.ts), upload, one compute pass per chunk of decode.wgsl (its shape chosen
 * from the device's limits and features, src/kernel.ts), the GPU content CRC (src/crc.ts), and the phase-C error word
 * and CRC words read back and reported with the spec's precedence.
 */
import {
  checkOutputRoom,
  ErrorCode,
  fail,
  parseStream,
  validateMetadata,
  verifyContent,
  type Availability,
  type DecodeOptions,
  type Ecf8Backend,
  type ParsedStream,
} from '@ecf8/core';
import { GpuCrc, MAX_CRC_SEGMENTS, type CrcPlan } from './crc.js';
import { openDevice, type DeviceOptions } from './gpu.js';
import { decodeShader, kernelConfig, pipelineConstants, type KernelConfig } from './kernel.js';
import { planChunks } from './plan.js';
import { buildKernelTables } from './tables.js';
import { BUF, checkTargetBuffer, CRC_RESULT_OFFSET, RESULT_BYTES, UploadedStream, type DecodeHost, type DecodePipeline, type UploadedChunk } from './uploaded.js';

export { UploadedStream } from './uploaded.js';

const STAGE_COMPUTE = 4;
const MAP_READ = 1;
const FLAG_GAP = 1;
const FLAG_POSITION = 2;

export interface WebGpuBackendOptions extends DeviceOptions {
  /** Use this device (the caller keeps ownership; dispose() does not destroy it). Default: open one. */
  device?: GPUDevice;
  /** Backend name in the core registry. Default 'webgpu'. */
  name?: string;
  /** Cap on invocations per workgroup (default: the device limit; never below T / 8). ECF8 blocks larger than the
   *  workgroup are run with T / workgroupSize ECF8 threads per invocation. */
  maxWorkgroupSize?: number;
  /** Cap on ECF8 blocks per dispatch (a multiple of 8). Streams are split at block boundaries anyway where the
   *  device's binding size or workgroup count limits require; tests use this to force splitting. */
  maxBlocksPerDispatch?: number;
  /** Cap on workgroups per dispatch (default 2048); each workgroup decodes every grid-th block. Tests use a small
   *  value to make workgroups decode several blocks. */
  maxWorkgroupsPerDispatch?: number;
}

export interface WebGpuDecodeOptions extends DecodeOptions {
  /**
   * For decodeInto/decodeToBuffer: verify content_crc32c (spec §10) with the CRC-32C computed on the GPU (nothing
   * but a few words is read back). Default true; `verifyChecksums: false` turns off both checksums.
   */
  verifyContent?: boolean;
}

const roundup4 = (x: number) => Math.ceil(x / 4) * 4;

/** ECF8 decoding on a WebGPU device. Implements the core backend interface with `GPUBuffer` targets. */
export class WebGpuBackend implements Ecf8Backend<GPUBuffer> {
  readonly name: string;
  private readonly options: WebGpuBackendOptions;
  private opened?: Promise<{ device: GPUDevice; adapterInfo: string; owned: boolean }>;
  private readonly pipelines = new Map<string, DecodePipeline>();
  private readonly crcs = new WeakMap<GPUDevice, GpuCrc>();
  private lostReason?: string;
  private readonly host: DecodeHost = {
    crc: (device) => this.crcFor(device),
    submit: (device, encoder, result, parsed, verify, crc, temporaries) => this.submit(device, encoder, result, parsed, verify, crc, temporaries).then(() => undefined),
  };

  constructor(options: WebGpuBackendOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'webgpu';
  }

  /** The device (opened on first use). */
  async device(): Promise<GPUDevice> {
    return (await this.open()).device;
  }

  /** A description of the adapter in use. */
  async adapterInfo(): Promise<string> {
    return (await this.open()).adapterInfo;
  }

  private open() {
    if (!this.opened) {
      const given = this.options.device;
      this.opened = (given ? Promise.resolve({ device: given, adapterInfo: 'caller-provided device', owned: false }) : openDevice(this.options).then((d) => ({ ...d, owned: true }))).then((d) => {
        d.device.lost.then((info) => {
          this.lostReason = `device lost: ${info.message || info.reason}`;
          this.pipelines.clear();
        });
        return d;
      });
      this.opened.catch(() => {
        this.opened = undefined;
      });
    }
    return this.opened;
  }

  private async ready(): Promise<GPUDevice> {
    if (this.lostReason) fail(ErrorCode.BACKEND_UNAVAILABLE, `${this.name}: ${this.lostReason}`);
    try {
      return await this.device();
    } catch (e) {
      fail(ErrorCode.BACKEND_UNAVAILABLE, `${this.name}: ${(e as Error).message}`);
    }
  }

  async isAvailable(): Promise<Availability> {
    try {
      const device = await this.device();
      if (this.lostReason) return { available: false, reason: this.lostReason };
      this.pipelineFor(device, 1);
      return { available: true };
    } catch (e) {
      return { available: false, reason: (e as Error).message };
    }
  }

  /** The decode kernel's shape for streams with `T` threads per block on `device` (from its limits, features and
   *  adapter: src/kernel.ts stagedPathSlowOn). */
  kernelFor(device: GPUDevice, T: number): KernelConfig {
    const adapter = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return kernelConfig(device.limits, T, device.features.has('subgroups'), this.options.maxWorkgroupSize, adapter);
  }

  /** Invocations per workgroup used for streams with `T` threads per block. */
  workgroupSizeFor(device: GPUDevice, T: number): number {
    return this.kernelFor(device, T).workgroupSize;
  }

  /** The compute pipeline for `T` threads per block; created once per kernel shape and cached. */
  private pipelineFor(device: GPUDevice, T: number): DecodePipeline {
    const config = this.kernelFor(device, T);
    const key = JSON.stringify(config);
    let p = this.pipelines.get(key);
    if (!p) {
      const layout = device.createBindGroupLayout({
        label: 'ecf8-decode',
        entries: [
          { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } },
          { binding: 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
          { binding: 2, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
          { binding: 3, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
          { binding: 4, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
        ],
      });
      const module = device.createShaderModule({ label: 'ecf8-decode.wgsl', code: decodeShader(config.subgroups) });
      const pipeline = device.createComputePipeline({
        label: `ecf8-decode-${config.path}-wg${config.workgroupSize}-r${config.threadsPerInvocation}${config.subgroups ? '-subgroups' : ''}`,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants: pipelineConstants(config) },
      });
      p = { pipeline, layout, config };
      this.pipelines.set(key, p);
    }
    return p;
  }

  private crcFor(device: GPUDevice): GpuCrc {
    let c = this.crcs.get(device);
    if (!c) this.crcs.set(device, (c = new GpuCrc(device)));
    return c;
  }

  /**
   * Spec §11.2 phases A and B on the host, exactly as every decode runs them before any GPU work: throws the
   * reference's error code for an invalid header or metadata. Needs no device (the fuzzer checks it).
   */
  validate(stream: Uint8Array, options: DecodeOptions = {}): void {
    this.prepare(stream, options);
  }

  /** Phases A and B on the host (same codes as the reference), before any GPU work. */
  private prepare(stream: Uint8Array, options: DecodeOptions): { parsed: ParsedStream; pos: Float64Array } {
    const parsed = parseStream(stream, options);
    const pos = validateMetadata(parsed, options.verifyChecksums ?? true);
    return { parsed, pos };
  }

  /** Runs `f` (GPU calls) inside validation and out-of-memory error scopes and reports what they caught. */
  private async scoped<T>(device: GPUDevice, f: () => T): Promise<T> {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = f();
    } catch (e) {
      thrown = e;
    }
    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    if (thrown !== undefined) throw thrown;
    if (oom) fail(ErrorCode.LIMIT_EXCEEDED, `${this.name}: out of GPU memory: ${oom.message}`);
    if (validation) throw new Error(`${this.name}: WebGPU validation error: ${validation.message}`);
    return result as T;
  }

  /** Uploads a validated stream: one input buffer per chunk. */
  private uploadParsed(device: GPUDevice, parsed: ParsedStream, pos: Float64Array): UploadedStream {
    const { layout } = parsed;
    const errors = device.createBuffer({ label: 'ecf8-result', size: RESULT_BYTES, usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST });
    if (layout.nBlocks === 0) return new UploadedStream(this.host, device, parsed, undefined, [], errors);
    const p = this.pipelineFor(device, layout.threadsPerBlock);
    const tables = buildKernelTables(parsed.header.codeLengths);
    const l = device.limits;
    const chunks = planChunks(parsed, pos, tables, {
      maxBindingBytes: Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize),
      maxWorkgroups: l.maxComputeWorkgroupsPerDimension,
      maxBlocksPerChunk: this.options.maxBlocksPerDispatch,
    });
    const uploaded: UploadedChunk[] = [];
    for (const chunk of chunks) {
      const input = device.createBuffer({ label: 'ecf8-input', size: chunk.inputBytes, usage: BUF.STORAGE | BUF.COPY_DST });
      for (const r of chunk.ranges) {
        // writeBuffer needs a multiple of 4 bytes; only a slice that ends a section can be shorter.
        if (r.bytes.length % 4 === 0) device.queue.writeBuffer(input, r.dst, r.bytes as Uint8Array<ArrayBuffer>);
        else {
          const padded = new Uint8Array(roundup4(r.bytes.length));
          padded.set(r.bytes);
          device.queue.writeBuffer(input, r.dst, padded);
        }
      }
      uploaded.push({ chunk, input });
    }
    return new UploadedStream(this.host, device, parsed, p, uploaded, errors, this.options.maxWorkgroupsPerDispatch);
  }

  /**
   * Validates a stream on the host (phases A and B) and uploads it to the GPU, where it stays: decode it as often
   * as needed (e.g. per forward pass into a shared workspace) with {@link UploadedStream.decodeInto} or record the
   * decode into your own command encoder with {@link UploadedStream.encode}. Call `destroy()` when done.
   */
  async upload(stream: Uint8Array, options: DecodeOptions = {}): Promise<UploadedStream> {
    const { parsed, pos } = this.prepare(stream, options);
    const device = await this.ready();
    return this.scoped(device, () => this.uploadParsed(device, parsed, pos));
  }

  /**
   * Submits `encoder` after recording the read-back of `result` (and `extraBytes` copied by `addCopies`), reports
   * phase-C errors with the precedence of spec §11.2, then the content CRC computed on the GPU (`verify`).
   * Returns the result words and the extra bytes (copies).
   */
  private async submit(
    device: GPUDevice,
    encoder: GPUCommandEncoder,
    result: GPUBuffer,
    parsed: ParsedStream | undefined,
    verify: boolean,
    crc: CrcPlan | undefined,
    temporaries: GPUBuffer[],
    extraBytes = 0,
    addCopies?: (enc: GPUCommandEncoder, readback: GPUBuffer) => void,
  ): Promise<{ words: Uint32Array; extra: Uint8Array }> {
    let readback: GPUBuffer | undefined;
    try {
      await this.scoped(device, () => {
        readback = device.createBuffer({ label: 'ecf8-readback', size: RESULT_BYTES + roundup4(extraBytes), usage: BUF.MAP_READ | BUF.COPY_DST });
        encoder.copyBufferToBuffer(result, 0, readback, 0, RESULT_BYTES);
        addCopies?.(encoder, readback);
        device.queue.submit([encoder.finish()]);
      });
    } finally {
      for (const b of temporaries) b.destroy();
    }
    const rb = readback!;
    try {
      await rb.mapAsync(MAP_READ);
    } catch (e) {
      rb.destroy();
      fail(ErrorCode.BACKEND_UNAVAILABLE, `${this.name}: reading back failed: ${(e as Error).message}${this.lostReason ? ` (${this.lostReason})` : ''}`);
    }
    const mapped = new Uint8Array(rb.getMappedRange());
    const words = new Uint32Array(mapped.slice(0, RESULT_BYTES).buffer);
    const extra = mapped.slice(RESULT_BYTES, RESULT_BYTES + extraBytes);
    rb.unmap();
    rb.destroy();
    const flags = words[0];
    if (flags & FLAG_GAP) fail(ErrorCode.GAP_MISMATCH, 'a thread does not start where the previous thread\'s codes end (reported by the GPU)');
    if (flags & FLAG_POSITION) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say (reported by the GPU)');
    if (verify && parsed) {
      const got = crc ? crc.finalize(words.subarray(CRC_RESULT_OFFSET / 4, CRC_RESULT_OFFSET / 4 + MAX_CRC_SEGMENTS)) : 0;
      this.lastContentCrc = got;
      if (got !== parsed.header.contentCrc32c) {
        fail(ErrorCode.CONTENT_CHECKSUM_MISMATCH, `decoded bytes have CRC-32C ${hex(got)} (computed on the GPU), header says ${hex(parsed.header.contentCrc32c)}`);
      }
    }
    return { words, extra };
  }

  /** @internal The content CRC-32C the GPU computed in the last verifying decode (tests compare it with the CPU's). */
  lastContentCrc?: number;

  /**
   * CRC-32C (spec §10) of `buffer[offset, offset + length)` computed on the GPU (the content checksum's kernels);
   * `buffer` needs STORAGE usage and a size that is a multiple of 4. Reads back a few words only.
   */
  async crc32c(buffer: GPUBuffer, offset = 0, length = buffer.size - offset): Promise<number> {
    checkTargetBuffer(buffer, offset);
    if (!Number.isInteger(length) || length < 0 || offset + length > buffer.size) fail(ErrorCode.INVALID_ARGUMENT, `range [${offset}, ${offset + length}) is not inside the buffer of ${buffer.size} bytes`);
    if (length === 0) return 0;
    const device = await this.ready();
    const { plan, result, encoder } = await this.scoped(device, () => {
      const plan = this.crcFor(device).plan(buffer, offset, length);
      const result = device.createBuffer({ label: 'ecf8-crc-result', size: RESULT_BYTES, usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST });
      const encoder = device.createCommandEncoder({ label: 'ecf8-crc' });
      encoder.clearBuffer(result, 0, RESULT_BYTES);
      plan.encode(encoder, result, CRC_RESULT_OFFSET);
      return { plan, result, encoder };
    });
    try {
      const { words } = await this.submit(device, encoder, result, undefined, false, undefined, []);
      return plan.finalize(words.subarray(CRC_RESULT_OFFSET / 4));
    } finally {
      plan.destroy();
      result.destroy();
    }
  }

  /**
   * Decodes into `target` (a GPUBuffer with STORAGE usage and a size that is a multiple of 4) at byte `offset`;
   * resolves to the element count once the GPU has finished and reported no error. Bytes of `target` outside
   * [offset, offset + n) are never written. The content checksum is verified on the GPU (unless `verifyContent`
   * or `verifyChecksums` is false).
   */
  async decodeInto(stream: Uint8Array, target: GPUBuffer, offset = 0, options: WebGpuDecodeOptions = {}): Promise<number> {
    checkTargetBuffer(target, offset);
    const { parsed, pos } = this.prepare(stream, options);
    checkOutputRoom(parsed, target.size, offset);
    const device = await this.ready();
    await this.intoParsed(device, parsed, pos, target, offset, verifiesContent(options));
    return parsed.layout.elementCount;
  }

  private async intoParsed(device: GPUDevice, parsed: ParsedStream, pos: Float64Array, target: GPUBuffer, offset: number, verify: boolean, extraBytes = 0, addCopies?: (enc: GPUCommandEncoder, readback: GPUBuffer) => void): Promise<Uint8Array> {
    const { up, encoder, crc } = await this.scoped(device, () => {
      const up = this.uploadParsed(device, parsed, pos);
      const encoder = device.createCommandEncoder({ label: 'ecf8-decode' });
      up.encode(encoder, target, offset);
      const crc = verify && parsed.layout.elementCount > 0 ? this.crcFor(device).plan(target, offset, parsed.layout.elementCount) : undefined;
      crc?.encode(encoder, up.errors, CRC_RESULT_OFFSET);
      return { up, encoder, crc };
    });
    try {
      return (await this.submit(device, encoder, up.errors, parsed, verify, crc, [], extraBytes, addCopies)).extra;
    } finally {
      up.destroy();
      crc?.destroy();
    }
  }

  /**
   * Decodes into a new GPUBuffer (usage STORAGE | COPY_SRC | COPY_DST, size n rounded up to a multiple of 4, at
   * least 4; bytes past n are zero). The caller owns (and destroys) it.
   */
  async decodeToBuffer(stream: Uint8Array, options: WebGpuDecodeOptions = {}): Promise<GPUBuffer> {
    const { parsed, pos } = this.prepare(stream, options);
    const device = await this.ready();
    const n = parsed.layout.elementCount;
    const size = Math.max(4, roundup4(n));
    if (size > device.limits.maxBufferSize) fail(ErrorCode.LIMIT_EXCEEDED, `${n} bytes exceed the device's maxBufferSize ${device.limits.maxBufferSize}`);
    const buffer = device.createBuffer({ label: 'ecf8-output', size, usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST });
    try {
      await this.intoParsed(device, parsed, pos, buffer, 0, verifiesContent(options));
      return buffer;
    } catch (e) {
      buffer.destroy();
      throw e;
    }
  }

  /** Decodes and reads the bytes back to the CPU; verifies both checksums (the content's on the GPU) unless
   *  `verifyChecksums` is false. */
  async decode(stream: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
    const { parsed, pos } = this.prepare(stream, options);
    const n = parsed.layout.elementCount;
    const verify = options.verifyChecksums ?? true;
    if (n === 0) {
      // Nothing to decode, but the content checksum still applies: the CRC-32C of zero bytes is 0 (spec §10).
      if (verify) verifyContent(parsed, new Uint8Array(0), 0);
      return new Uint8Array(0);
    }
    const device = await this.ready();
    const size = roundup4(n);
    if (size + RESULT_BYTES > device.limits.maxBufferSize) fail(ErrorCode.LIMIT_EXCEEDED, `${n} bytes exceed the device's maxBufferSize ${device.limits.maxBufferSize}`);
    const buffer = device.createBuffer({ label: 'ecf8-output', size, usage: BUF.STORAGE | BUF.COPY_SRC });
    try {
      const bytes = await this.intoParsed(device, parsed, pos, buffer, 0, verify, n, (enc, rb) => enc.copyBufferToBuffer(buffer, 0, rb, RESULT_BYTES, size));
      return bytes.subarray(0, n);
    } finally {
      buffer.destroy();
    }
  }

  /** Destroys the device if this backend opened it, and forgets pipelines. */
  async dispose(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    this.pipelines.clear();
    if (!opened) return;
    try {
      const d = await opened;
      if (d.owned) d.device.destroy();
    } catch {
      // never opened
    }
  }
}

function verifiesContent(options: WebGpuDecodeOptions): boolean {
  return (options.verifyChecksums ?? true) && options.verifyContent !== false;
}

function hex(x: number): string {
  return `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
}
