/// <reference types="@webgpu/types" />
/**
 * The WebGPU decoding backend: host-side validation (spec §11.2 phases A and B, by @ecf8/core, before anything
 * touches the GPU), chunk planning (src/plan.ts), upload, one compute pass per chunk of decode.wgsl, and the
 * phase-C error word read back and reported with the spec's precedence.
 */
import {
  buildDecodeTables,
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
import shaderSource from './decode.wgsl?raw';
import { openDevice, type DeviceOptions } from './gpu.js';
import { chunkTarget, planChunks, PARAM_WORDS, type Chunk } from './plan.js';

// WebGPU enum values (numeric so that the package does not depend on the GPU* globals being installed in Node).
const BUF = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const STAGE_COMPUTE = 4;
const MAP_READ = 1;
const FLAG_GAP = 1;
const FLAG_POSITION = 2;
/** Workgroup memory of the kernel besides the scan: the tables (9 * 256 bytes). */
const LUT_BYTES = 576 * 4;

export interface WebGpuBackendOptions extends DeviceOptions {
  /** Use this device (the caller keeps ownership; dispose() does not destroy it). Default: open one. */
  device?: GPUDevice;
  /** Backend name in the core registry. Default 'webgpu'. */
  name?: string;
  /** Cap on invocations per workgroup (default: the device limit). ECF8 blocks larger than this are run with
   *  T / workgroupSize ECF8 threads per invocation. */
  maxWorkgroupSize?: number;
  /** Cap on ECF8 blocks per dispatch (a multiple of 8). Streams are split at block boundaries anyway where the
   *  device's binding size or workgroup count limits require; tests use this to force splitting. */
  maxBlocksPerDispatch?: number;
}

export interface WebGpuDecodeOptions extends DecodeOptions {
  /**
   * For decodeInto/decodeToBuffer: read the decoded bytes back and verify content_crc32c (spec §10). Default false:
   * the output stays on the GPU and only the metadata checksum and the phase-C checks (gap chain, positions) are
   * verified. decode() always verifies the content checksum unless `verifyChecksums` is false.
   */
  verifyContent?: boolean;
}

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  workgroupSize: number;
}

interface UploadedChunk {
  chunk: Chunk;
  input: GPUBuffer;
}

interface Enqueued {
  encoder: GPUCommandEncoder;
  err: GPUBuffer;
  temporaries: GPUBuffer[];
}

const roundup4 = (x: number) => Math.ceil(x / 4) * 4;

/** ECF8 decoding on a WebGPU device. Implements the core backend interface with `GPUBuffer` targets. */
export class WebGpuBackend implements Ecf8Backend<GPUBuffer> {
  readonly name: string;
  private readonly options: WebGpuBackendOptions;
  private opened?: Promise<{ device: GPUDevice; adapterInfo: string; owned: boolean }>;
  private readonly pipelines = new Map<number, Pipeline>();
  private lostReason?: string;

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

  /** Invocations per workgroup used for streams with `T` threads per block. */
  workgroupSizeFor(device: GPUDevice, T: number): number {
    const l = device.limits;
    const storageCap = Math.floor((l.maxComputeWorkgroupStorageSize - LUT_BYTES) / 8);
    let wg = Math.min(T, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX, storageCap, this.options.maxWorkgroupSize ?? Infinity);
    // At least 8 invocations: Mesa's llvmpipe (8-wide SIMD) miscompiles this kernel for 1-, 2- and 4-wide
    // workgroups, and tiny workgroups are slow everywhere. Blocks with T < 8 leave invocations T.. idle.
    wg = 2 ** Math.floor(Math.log2(Math.max(8, wg)));
    return wg;
  }

  /** The compute pipeline for `T` threads per block; created once per workgroup size and cached. */
  private pipelineFor(device: GPUDevice, T: number): Pipeline {
    const wg = this.workgroupSizeFor(device, T);
    let p = this.pipelines.get(wg);
    if (!p) {
      const layout = device.createBindGroupLayout({
        label: 'ecf8-decode',
        entries: [
          { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } },
          { binding: 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
          { binding: 2, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
          { binding: 3, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
        ],
      });
      const module = device.createShaderModule({ label: 'ecf8-decode.wgsl', code: shaderSource });
      const pipeline = device.createComputePipeline({
        label: `ecf8-decode-wg${wg}`,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants: { WG: wg } },
      });
      p = { pipeline, layout, workgroupSize: wg };
      this.pipelines.set(wg, p);
    }
    return p;
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

  /** Records the chunk dispatches that decode `parsed` into `target` at byte `offset`. */
  private enqueue(device: GPUDevice, parsed: ParsedStream, pos: Float64Array, target: GPUBuffer, offset: number): Enqueued {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    try {
      const up = this.uploadParsed(device, parsed, pos);
      const encoder = device.createCommandEncoder({ label: 'ecf8-decode' });
      up.encode(encoder, target, offset);
      return { encoder, err: up.errors, temporaries: up.buffers() };
    } catch (e) {
      void device.popErrorScope();
      void device.popErrorScope();
      throw e;
    }
  }

  /** Uploads a validated stream: one input buffer per chunk. */
  private uploadParsed(device: GPUDevice, parsed: ParsedStream, pos: Float64Array): UploadedStream {
    const { layout } = parsed;
    const errors = device.createBuffer({ label: 'ecf8-errors', size: 16, usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST });
    if (layout.nBlocks === 0) return new UploadedStream(this, device, parsed, undefined, [], errors);
    const p = this.pipelineFor(device, layout.threadsPerBlock);
    const tables = buildDecodeTables(parsed.header.codeLengths);
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
    return new UploadedStream(this, device, parsed, p, uploaded, errors);
  }

  /**
   * Validates a stream on the host (phases A and B) and uploads it to the GPU, where it stays: decode it as often
   * as needed (e.g. per forward pass into a shared workspace) with {@link UploadedStream.decodeInto} or record the
   * decode into your own command encoder with {@link UploadedStream.encode}. Call `destroy()` when done.
   */
  async upload(stream: Uint8Array, options: DecodeOptions = {}): Promise<UploadedStream> {
    const { parsed, pos } = this.prepare(stream, options);
    const device = await this.ready();
    return this.uploadParsed(device, parsed, pos);
  }

  /** @internal Submits `q` and reads back errors; see finish(). */
  _finish(device: GPUDevice, q: Enqueued, extraBytes: number, addCopies?: (enc: GPUCommandEncoder, readback: GPUBuffer) => void): Promise<Uint8Array> {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    return this.finish(device, q, extraBytes, addCopies);
  }

  /**
   * Submits, then reads back the error word (and `extra` bytes copied by `addCopies`), reporting phase-C errors
   * with the precedence of spec §11.2. Returns the mapped extra bytes (a copy).
   */
  private async finish(device: GPUDevice, q: Enqueued, extraBytes: number, addCopies?: (enc: GPUCommandEncoder, readback: GPUBuffer) => void): Promise<Uint8Array> {
    const readback = device.createBuffer({ label: 'ecf8-readback', size: 16 + roundup4(extraBytes), usage: BUF.MAP_READ | BUF.COPY_DST });
    q.encoder.copyBufferToBuffer(q.err, 0, readback, 0, 16);
    addCopies?.(q.encoder, readback);
    device.queue.submit([q.encoder.finish()]);
    for (const b of q.temporaries) b.destroy();
    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    if (oom) fail(ErrorCode.LIMIT_EXCEEDED, `${this.name}: out of GPU memory: ${oom.message}`);
    if (validation) throw new Error(`${this.name}: WebGPU validation error: ${validation.message}`);
    try {
      await readback.mapAsync(MAP_READ);
    } catch (e) {
      readback.destroy();
      fail(ErrorCode.BACKEND_UNAVAILABLE, `${this.name}: reading back failed: ${(e as Error).message}${this.lostReason ? ` (${this.lostReason})` : ''}`);
    }
    const mapped = new Uint8Array(readback.getMappedRange());
    const flags = new Uint32Array(mapped.buffer, 0, 1)[0];
    const extra = mapped.slice(16, 16 + extraBytes);
    readback.unmap();
    readback.destroy();
    if (flags & FLAG_GAP) fail(ErrorCode.GAP_MISMATCH, 'a thread does not start where the previous thread\'s codes end (reported by the GPU)');
    if (flags & FLAG_POSITION) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say (reported by the GPU)');
    return extra;
  }

  /**
   * Decodes into `target` (a GPUBuffer with STORAGE usage and a size that is a multiple of 4) at byte `offset`;
   * resolves to the element count once the GPU has finished and reported no error. Bytes of `target` outside
   * [offset, offset + n) are never written. The content checksum is verified only with `verifyContent: true`.
   */
  async decodeInto(stream: Uint8Array, target: GPUBuffer, offset = 0, options: WebGpuDecodeOptions = {}): Promise<number> {
    if (!target || typeof target.size !== 'number' || typeof target.usage !== 'number') fail(ErrorCode.INVALID_ARGUMENT, 'target must be a GPUBuffer');
    if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
    if (!(target.usage & BUF.STORAGE)) fail(ErrorCode.INVALID_ARGUMENT, 'target buffer needs GPUBufferUsage.STORAGE');
    if (target.size % 4 !== 0) fail(ErrorCode.INVALID_ARGUMENT, `target buffer size ${target.size} is not a multiple of 4`);
    const verify = (options.verifyChecksums ?? true) && options.verifyContent === true;
    if (verify && !(target.usage & BUF.COPY_SRC)) fail(ErrorCode.INVALID_ARGUMENT, 'verifyContent needs a target with GPUBufferUsage.COPY_SRC');
    const { parsed, pos } = this.prepare(stream, options);
    checkOutputRoom(parsed, target.size, offset);
    const device = await this.ready();
    await this.intoParsed(device, parsed, pos, target, offset, verify);
    return parsed.layout.elementCount;
  }

  private async intoParsed(device: GPUDevice, parsed: ParsedStream, pos: Float64Array, target: GPUBuffer, offset: number, verify: boolean): Promise<void> {
    const n = parsed.layout.elementCount;
    const q = this.enqueue(device, parsed, pos, target, offset);
    const from = Math.floor(offset / 4) * 4;
    const region = verify && n > 0 ? roundup4(offset + n) - from : 0;
    const bytes = await this.finish(device, q, region, region ? (enc, rb) => enc.copyBufferToBuffer(target, from, rb, 16, region) : undefined);
    if (verify) verifyContent(parsed, bytes, offset - from);
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
      await this.intoParsed(device, parsed, pos, buffer, 0, (options.verifyChecksums ?? true) && options.verifyContent === true);
      return buffer;
    } catch (e) {
      buffer.destroy();
      throw e;
    }
  }

  /** Decodes and reads the bytes back to the CPU; verifies both checksums unless `verifyChecksums` is false. */
  async decode(stream: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
    const { parsed, pos } = this.prepare(stream, options);
    const n = parsed.layout.elementCount;
    if (n === 0) {
      // Nothing to decode, but the content checksum still applies: the CRC-32C of zero bytes is 0 (spec §10).
      if (options.verifyChecksums ?? true) verifyContent(parsed, new Uint8Array(0), 0);
      return new Uint8Array(0);
    }
    const device = await this.ready();
    const size = roundup4(n);
    if (size + 16 > device.limits.maxBufferSize) fail(ErrorCode.LIMIT_EXCEEDED, `${n} bytes exceed the device's maxBufferSize ${device.limits.maxBufferSize}`);
    const buffer = device.createBuffer({ label: 'ecf8-output', size, usage: BUF.STORAGE | BUF.COPY_SRC });
    const q = this.enqueue(device, parsed, pos, buffer, 0);
    q.temporaries.push(buffer);
    const out = (await this.finish(device, q, n, (enc, rb) => enc.copyBufferToBuffer(buffer, 0, rb, 16, size))).subarray(0, n);
    if (options.verifyChecksums ?? true) verifyContent(parsed, out, 0);
    return out;
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


/**
 * A validated stream resident in GPU memory (compressed), ready to be decoded any number of times. Created by
 * {@link WebGpuBackend.upload}.
 */
export class UploadedStream {
  /** Number of FP8 elements (bytes) a decode writes. */
  readonly elementCount: number;
  private readonly bindings = new WeakMap<GPUBuffer, Map<number, { uniforms: GPUBuffer[]; groups: GPUBindGroup[] }>>();
  private readonly uniforms: GPUBuffer[] = [];
  private destroyed = false;

  /** @internal */
  constructor(
    private readonly backend: WebGpuBackend,
    private readonly device: GPUDevice,
    private readonly parsed: ParsedStream,
    private readonly pipeline: Pipeline | undefined,
    private readonly chunks: UploadedChunk[],
    /** @internal 16 bytes: phase-C flags of the last decode recorded. */
    readonly errors: GPUBuffer,
  ) {
    this.elementCount = parsed.layout.elementCount;
  }

  /** Number of compute dispatches one decode takes (1 unless the stream exceeds a device limit). */
  get dispatchCount(): number {
    return this.chunks.length;
  }

  /** @internal Every GPU buffer this object owns. */
  buffers(): GPUBuffer[] {
    return [this.errors, ...this.chunks.map((c) => c.input), ...this.uniforms];
  }

  private checkTarget(target: GPUBuffer, offset: number): void {
    if (this.destroyed) fail(ErrorCode.INVALID_ARGUMENT, 'this uploaded stream has been destroyed');
    if (!target || typeof target.size !== 'number' || typeof target.usage !== 'number') fail(ErrorCode.INVALID_ARGUMENT, 'target must be a GPUBuffer');
    if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
    if (!(target.usage & BUF.STORAGE)) fail(ErrorCode.INVALID_ARGUMENT, 'target buffer needs GPUBufferUsage.STORAGE');
    if (target.size % 4 !== 0) fail(ErrorCode.INVALID_ARGUMENT, `target buffer size ${target.size} is not a multiple of 4`);
    checkOutputRoom(this.parsed, target.size, offset);
  }

  /**
   * Records the decode into `encoder` (clearing the error word first): one compute pass per dispatch chunk. Nothing
   * is checked on the GPU side until you read {@link errors}; prefer {@link decodeInto} unless you batch decodes
   * into your own command buffers and check them later.
   */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer, offset = 0): void {
    this.checkTarget(target, offset);
    encoder.clearBuffer(this.errors, 0, 16);
    const p = this.pipeline;
    if (!p) return;
    let perTarget = this.bindings.get(target);
    if (!perTarget) this.bindings.set(target, (perTarget = new Map()));
    let b = perTarget.get(offset);
    if (!b) {
      const l = this.device.limits;
      const T = this.parsed.layout.threadsPerBlock;
      b = { uniforms: [], groups: [] };
      for (const { chunk, input } of this.chunks) {
        const tg = chunkTarget(chunk, this.elementCount, offset, target.size, l.minStorageBufferOffsetAlignment, Math.max(1, T / p.workgroupSize));
        const uniform = this.device.createBuffer({ label: 'ecf8-params', size: PARAM_WORDS * 4, usage: BUF.UNIFORM | BUF.COPY_DST });
        this.device.queue.writeBuffer(uniform, 0, tg.params as Uint32Array<ArrayBuffer>);
        this.uniforms.push(uniform);
        b.uniforms.push(uniform);
        b.groups.push(
          this.device.createBindGroup({
            layout: p.layout,
            entries: [
              { binding: 0, resource: { buffer: uniform } },
              { binding: 1, resource: { buffer: input } },
              { binding: 2, resource: { buffer: target, offset: tg.bindOffset, size: tg.bindSize } },
              { binding: 3, resource: { buffer: this.errors } },
            ],
          }),
        );
      }
      perTarget.set(offset, b);
    }
    this.chunks.forEach(({ chunk }, i) => {
      const pass = encoder.beginComputePass({ label: `ecf8-decode blocks ${chunk.b0}..${chunk.b1}` });
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, b!.groups[i]);
      pass.dispatchWorkgroups(chunk.b1 - chunk.b0);
      pass.end();
    });
  }

  /** Decodes into `target` at byte `offset` and checks the GPU's error word (and the content with verifyContent). */
  async decodeInto(target: GPUBuffer, offset = 0, options: { verifyContent?: boolean } = {}): Promise<number> {
    this.checkTarget(target, offset);
    const n = this.elementCount;
    const verify = options.verifyContent === true;
    if (verify && !(target.usage & BUF.COPY_SRC)) fail(ErrorCode.INVALID_ARGUMENT, 'verifyContent needs a target with GPUBufferUsage.COPY_SRC');
    const encoder = this.device.createCommandEncoder({ label: 'ecf8-decode' });
    this.encode(encoder, target, offset);
    const from = Math.floor(offset / 4) * 4;
    const region = verify && n > 0 ? roundup4(offset + n) - from : 0;
    const bytes = await this.backend._finish(this.device, { encoder, err: this.errors, temporaries: [] }, region, region ? (enc, rb) => enc.copyBufferToBuffer(target, from, rb, 16, region) : undefined);
    if (verify) verifyContent(this.parsed, bytes, offset - from);
    return n;
  }

  /** Frees the GPU buffers (safe while submitted work still uses them). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.buffers()) b.destroy();
  }
}
