/// <reference types="@webgpu/types" />
/**
 * A validated stream resident in GPU memory (compressed), decoded any number of times into caller buffers:
 * one compute pass per dispatch chunk of decode.wgsl, optionally followed by the GPU content CRC (src/crc.ts).
 */
import { checkOutputRoom, ErrorCode, fail, type ParsedStream } from '@ecf8/core';
import type { CrcPlan, GpuCrc } from './crc.js';
import type { KernelConfig } from './kernel.js';
import { chunkTarget, gridFor, PARAM_WORDS, type Chunk } from './plan.js';

export const BUF = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
/** Size of the result buffer: word 0 = phase-C flags, words 4.. = raw CRCs of the content's segments. */
export const RESULT_BYTES = 256;
export const CRC_RESULT_OFFSET = 16;

export interface DecodePipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  config: KernelConfig;
}

export interface UploadedChunk {
  chunk: Chunk;
  input: GPUBuffer;
}

/** What a caller of the device needs from the backend: the shared CRC pipelines and the submit-and-check step. */
export interface DecodeHost {
  crc(device: GPUDevice): GpuCrc;
  /** Submits `encoder` (after copying `result` for read-back), reports phase-C errors, verifies the content CRC
   *  (`verify`: the GPU's, from `crc`) against `parsed`, and destroys `temporaries`. */
  submit(device: GPUDevice, encoder: GPUCommandEncoder, result: GPUBuffer, parsed: ParsedStream, verify: boolean, crc: CrcPlan | undefined, temporaries: GPUBuffer[]): Promise<void>;
}

export interface UploadedDecodeOptions {
  /** Verify content_crc32c on the GPU (spec §10). Default true; `verifyChecksums: false` also turns it off. */
  verifyContent?: boolean;
  verifyChecksums?: boolean;
}

interface Bindings {
  groups: GPUBindGroup[];
  grids: number[];
  crc?: CrcPlan;
}

export function checkTargetBuffer(target: GPUBuffer, offset: number): void {
  if (!target || typeof target.size !== 'number' || typeof target.usage !== 'number') fail(ErrorCode.INVALID_ARGUMENT, 'target must be a GPUBuffer');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
  if (!(target.usage & BUF.STORAGE)) fail(ErrorCode.INVALID_ARGUMENT, 'target buffer needs GPUBufferUsage.STORAGE');
  if (target.size % 4 !== 0) fail(ErrorCode.INVALID_ARGUMENT, `target buffer size ${target.size} is not a multiple of 4`);
}

/**
 * A validated stream resident in GPU memory (compressed), ready to be decoded any number of times. Created by
 * {@link WebGpuBackend.upload}.
 */
export class UploadedStream {
  /** Number of FP8 elements (bytes) a decode writes. */
  readonly elementCount: number;
  private readonly bindings = new WeakMap<GPUBuffer, Map<number, Bindings>>();
  private readonly owned: GPUBuffer[] = [];
  private readonly plans: CrcPlan[] = [];
  private destroyed = false;
  /** Header and layout only: the stream's bytes are on the GPU, and no host copy is kept. */
  private readonly parsed: ParsedStream;
  private readonly chunks: UploadedChunk[];

  /** @internal `chunks` must have been written to their input buffers already. */
  constructor(
    private readonly host: DecodeHost,
    private readonly device: GPUDevice,
    parsed: ParsedStream,
    private readonly pipeline: DecodePipeline | undefined,
    chunks: UploadedChunk[],
    /** @internal RESULT_BYTES: phase-C flags and content CRCs of the last decode recorded. */
    readonly errors: GPUBuffer,
    private readonly maxWorkgroups?: number,
  ) {
    this.elementCount = parsed.layout.elementCount;
    // Drop every view of the host stream (the parsed stream and the chunks' input ranges) so that a resident stream
    // costs no host memory: decodes need only the header (content CRC, element count) and the chunk parameters.
    this.parsed = { stream: new Uint8Array(0), header: parsed.header, layout: parsed.layout };
    this.chunks = chunks.map(({ chunk, input }) => ({ chunk: { ...chunk, ranges: [] }, input }));
  }

  /**
   * GPU memory this stream holds: its input buffers (the stream's sections in the kernel's layout) and result words.
   * Per-target parameter buffers made at the first decode into each target and offset (16 to 64 bytes each) come on
   * top.
   */
  get deviceBytes(): number {
    return this.errors.size + this.chunks.reduce((a, c) => a + c.input.size, 0);
  }

  /** Number of compute dispatches one decode takes (1 unless the stream exceeds a device limit). */
  get dispatchCount(): number {
    return this.chunks.length;
  }

  /** The decode kernel's shape on this device (path, scan, workgroup size), or undefined for an empty stream. */
  get kernel(): KernelConfig | undefined {
    return this.pipeline?.config;
  }

  /** @internal Every GPU buffer this object owns. */
  buffers(): GPUBuffer[] {
    return [this.errors, ...this.chunks.map((c) => c.input), ...this.owned];
  }

  private checkTarget(target: GPUBuffer, offset: number): void {
    if (this.destroyed) fail(ErrorCode.INVALID_ARGUMENT, 'this uploaded stream has been destroyed');
    checkTargetBuffer(target, offset);
    checkOutputRoom(this.parsed, target.size, offset);
  }

  private bindingsFor(target: GPUBuffer, offset: number): Bindings {
    let perTarget = this.bindings.get(target);
    if (!perTarget) this.bindings.set(target, (perTarget = new Map()));
    let b = perTarget.get(offset);
    if (!b) {
      const p = this.pipeline;
      const l = this.device.limits;
      b = { groups: [], grids: [] };
      for (const { chunk, input } of p ? this.chunks : []) {
        const grid = gridFor(chunk.b1 - chunk.b0, this.maxWorkgroups);
        const tg = chunkTarget(chunk, this.elementCount, offset, target.size, l.minStorageBufferOffsetAlignment, grid);
        const uniform = this.device.createBuffer({ label: 'ecf8-params', size: PARAM_WORDS * 4, usage: BUF.UNIFORM | BUF.COPY_DST });
        this.device.queue.writeBuffer(uniform, 0, tg.params as Uint32Array<ArrayBuffer>);
        this.owned.push(uniform);
        const vec = tg.vecBytes > 0 ? { buffer: target, offset: tg.bindOffset, size: tg.vecBytes } : { buffer: this.placeholder(0) };
        const tail = tg.tailBytes > 0 ? { buffer: target, offset: tg.bindOffset + tg.vecBytes, size: tg.tailBytes } : { buffer: this.placeholder(1) };
        b.grids.push(grid);
        b.groups.push(
          this.device.createBindGroup({
            layout: p!.layout,
            entries: [
              { binding: 0, resource: { buffer: uniform } },
              { binding: 1, resource: { buffer: input } },
              { binding: 2, resource: vec },
              { binding: 3, resource: tail },
              { binding: 4, resource: { buffer: this.errors, offset: 0, size: 16 } },
            ],
          }),
        );
      }
      perTarget.set(offset, b);
    }
    return b;
  }

  /** Two 16-byte buffers bound where an output view is empty (the kernel never writes them). */
  private placeholders: GPUBuffer[] = [];
  private placeholder(i: number): GPUBuffer {
    while (this.placeholders.length <= i) {
      const b = this.device.createBuffer({ label: 'ecf8-placeholder', size: 16, usage: BUF.STORAGE });
      this.placeholders.push(b);
      this.owned.push(b);
    }
    return this.placeholders[i];
  }

  private crcFor(target: GPUBuffer, offset: number): CrcPlan | undefined {
    if (this.elementCount === 0) return undefined;
    const b = this.bindingsFor(target, offset);
    if (!b.crc) {
      b.crc = this.host.crc(this.device).plan(target, offset, this.elementCount);
      this.plans.push(b.crc);
    }
    return b.crc;
  }

  /**
   * Records the decode into `encoder` (clearing the result words first): one compute pass per dispatch chunk, and
   * with `verifyContent: true` the GPU content-CRC passes (their raw CRCs land in {@link errors}). Nothing is
   * checked until you read {@link errors}; prefer {@link decodeInto} unless you batch decodes into your own command
   * buffers.
   */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer, offset = 0, options: { verifyContent?: boolean } = {}): void {
    this.checkTarget(target, offset);
    encoder.clearBuffer(this.errors, 0, RESULT_BYTES);
    const p = this.pipeline;
    if (p) {
      const b = this.bindingsFor(target, offset);
      this.chunks.forEach(({ chunk }, i) => {
        const pass = encoder.beginComputePass({ label: `ecf8-decode blocks ${chunk.b0}..${chunk.b1}` });
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, b.groups[i]);
        pass.dispatchWorkgroups(b.grids[i]);
        pass.end();
      });
    }
    if (options.verifyContent) this.crcFor(target, offset)?.encode(encoder, this.errors, CRC_RESULT_OFFSET);
  }

  /**
   * Decodes into `target` at byte `offset` and checks the GPU's error word and (unless `verifyContent` or
   * `verifyChecksums` is false) the content CRC-32C computed on the GPU; nothing is read back but a few words.
   */
  async decodeInto(target: GPUBuffer, offset = 0, options: UploadedDecodeOptions = {}): Promise<number> {
    this.checkTarget(target, offset);
    const verify = options.verifyContent !== false && options.verifyChecksums !== false;
    const encoder = this.device.createCommandEncoder({ label: 'ecf8-decode' });
    this.encode(encoder, target, offset, { verifyContent: verify });
    await this.host.submit(this.device, encoder, this.errors, this.parsed, verify, verify ? this.crcFor(target, offset) : undefined, []);
    return this.elementCount;
  }

  /** Frees the GPU buffers (safe while submitted work still uses them). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.buffers()) b.destroy();
    for (const p of this.plans) p.destroy();
  }
}
