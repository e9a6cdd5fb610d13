/// <reference types="@webgpu/types" />
/**
 * Content CRC-32C (spec §10) of a byte range of a GPU buffer, computed on the GPU (src/crc.wgsl): per-chunk raw CRCs
 * combined per workgroup with the CRC shift operator, then reduced 256 to 1 per pass until one CRC per segment is
 * left; the host reads back those few words, combines the segments (a range larger than one storage binding is cut
 * into segments) and finalises. So `decodeInto` verifies content_crc32c without reading the output back.
 */
import crcSource from './crc.wgsl?raw';
import { CRC_CHUNK, CRC_TABLE_WORDS, CRC_WG, crcCombineRaw, crcFinalize, crcKernelTables } from './tables.js';

const BUF = { COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const PARAM_BYTES = 32;
/** Most segments one range may have (their raw CRCs are read back as words 4.. of a 256-byte result buffer). */
export const MAX_CRC_SEGMENTS = 60;

interface Pass {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  gx: number;
  gy: number;
}

/** The recorded passes of one (buffer, offset, length) range; reusable for as many submissions as needed. */
export class CrcPlan {
  constructor(
    private readonly passes: Pass[][],
    /** Per segment: the work buffer and word index holding its raw CRC after the passes. */
    private readonly results: { buffer: GPUBuffer; word: number }[],
    readonly segmentLengths: number[],
    private readonly owned: GPUBuffer[],
  ) {}

  /** Records the passes, then copies segment s's raw CRC to `result` at byte `resultOffset + 4 s`. */
  encode(encoder: GPUCommandEncoder, result: GPUBuffer, resultOffset: number): void {
    this.passes.forEach((segment, s) => {
      for (const p of segment) {
        const pass = encoder.beginComputePass({ label: 'ecf8-crc' });
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.group);
        pass.dispatchWorkgroups(p.gx, p.gy);
        pass.end();
      }
      const r = this.results[s];
      encoder.copyBufferToBuffer(r.buffer, 4 * r.word, result, resultOffset + 4 * s, 4);
    });
  }

  /** The finalised CRC-32C of the range from the segments' raw CRCs (as read back). */
  finalize(raws: Uint32Array): number {
    let raw = 0;
    let n = 0;
    this.segmentLengths.forEach((len, s) => {
      raw = crcCombineRaw(raw, raws[s], len);
      n += len;
    });
    return crcFinalize(raw, n);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

/** The CRC pipelines of one device. */
export class GpuCrc {
  private readonly chunksPipeline: GPUComputePipeline;
  private readonly reducePipeline: GPUComputePipeline;
  private readonly layout: GPUBindGroupLayout;
  private readonly tables: GPUBuffer;

  constructor(private readonly device: GPUDevice) {
    const STAGE_COMPUTE = 4;
    this.layout = device.createBindGroupLayout({
      label: 'ecf8-crc',
      entries: [
        { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } },
        { binding: 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 2, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 3, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    const layout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    const module = device.createShaderModule({ label: 'ecf8-crc.wgsl', code: crcSource });
    this.chunksPipeline = device.createComputePipeline({ label: 'ecf8-crc-chunks', layout, compute: { module, entryPoint: 'chunks' } });
    this.reducePipeline = device.createComputePipeline({ label: 'ecf8-crc-reduce', layout, compute: { module, entryPoint: 'reduce' } });
    this.tables = device.createBuffer({ label: 'ecf8-crc-tables', size: 4 * CRC_TABLE_WORDS, usage: BUF.STORAGE | BUF.COPY_DST });
    device.queue.writeBuffer(this.tables, 0, crcKernelTables() as Uint32Array<ArrayBuffer>);
  }

  /** Plans the CRC of `target[offset, offset + n)` (target: STORAGE usage, size a multiple of 4). */
  plan(target: GPUBuffer, offset: number, n: number): CrcPlan {
    const l = this.device.limits;
    const alignment = l.minStorageBufferOffsetAlignment;
    const maxBinding = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, 2 ** 31);
    const segBytes = Math.floor((maxBinding - 2 * alignment) / CRC_CHUNK) * CRC_CHUNK;
    const segments: number[] = [];
    for (let at = 0; at < n; at += segBytes) segments.push(Math.min(segBytes, n - at));
    if (segments.length > MAX_CRC_SEGMENTS) throw new RangeError(`a range of ${n} bytes needs more than ${MAX_CRC_SEGMENTS} CRC segments`);
    const maxChunks = Math.ceil(Math.max(1, ...segments) / CRC_CHUNK);
    const wordsA = Math.max(1, Math.ceil(maxChunks / CRC_WG));
    const wordsB = Math.max(1, Math.ceil(wordsA / CRC_WG));
    const work = [wordsA, wordsB].map((w) => this.device.createBuffer({ label: 'ecf8-crc-work', size: 4 * w, usage: BUF.STORAGE | BUF.COPY_SRC }));
    const owned = [...work];
    const passes: Pass[][] = [];
    const results: { buffer: GPUBuffer; word: number }[] = [];
    const maxX = l.maxComputeWorkgroupsPerDimension;
    const uniform = (words: number[]) => {
      const u = this.device.createBuffer({ label: 'ecf8-crc-params', size: PARAM_BYTES, usage: BUF.UNIFORM | BUF.COPY_DST });
      this.device.queue.writeBuffer(u, 0, new Uint32Array([...words, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, PARAM_BYTES / 4)));
      owned.push(u);
      return u;
    };
    const group = (u: GPUBuffer, data: GPUBufferBinding, out: GPUBuffer) =>
      this.device.createBindGroup({
        layout: this.layout,
        entries: [
          { binding: 0, resource: { buffer: u } },
          { binding: 1, resource: { buffer: this.tables } },
          { binding: 2, resource: data },
          { binding: 3, resource: { buffer: out } },
        ],
      });
    let start = offset;
    for (const len of segments) {
      const segment: Pass[] = [];
      const bindOffset = Math.floor(start / alignment) * alignment;
      const bindSize = Math.min(target.size, Math.ceil((start + len) / 4) * 4) - bindOffset;
      let count = Math.ceil(len / CRC_CHUNK);
      let wgs = Math.ceil(count / CRC_WG);
      let gx = Math.min(wgs, maxX);
      segment.push({ pipeline: this.chunksPipeline, group: group(uniform([start - bindOffset, len, count, 0, gx]), { buffer: target, offset: bindOffset, size: bindSize }, work[0]), gx, gy: Math.ceil(wgs / gx) });
      let src = 0;
      let level = 8; // log2(CRC_WG)
      while (wgs > 1) {
        count = wgs;
        wgs = Math.ceil(count / CRC_WG);
        gx = Math.min(wgs, maxX);
        segment.push({ pipeline: this.reducePipeline, group: group(uniform([0, 0, count, level, gx]), { buffer: work[src] }, work[1 - src]), gx, gy: Math.ceil(wgs / gx) });
        src = 1 - src;
        level += 8;
      }
      passes.push(segment);
      results.push({ buffer: work[src], word: 0 });
      start += len;
    }
    return new CrcPlan(passes, results, segments, owned);
  }
}
