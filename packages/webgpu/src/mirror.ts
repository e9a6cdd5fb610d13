/**
 * A CPU transliteration of decode.wgsl: the same input image, parameters, per-invocation logic, scan and word
 * ownership, executed one workgroup at a time. It exists for the mirror test (test/mirror.test.ts), which checks
 * it against @ecf8/core's GPU-order decoder (per-thread counts and ends, output bytes, error codes) on valid and
 * corrupted streams, and it is the executable documentation of the kernel. Keep it in step with decode.wgsl.
 */
import {
  buildDecodeTables,
  checkOutputRoom,
  ErrorCode,
  fail,
  parseStream,
  validateMetadata,
  verifyContent,
  type DecodeOptions,
  type ParsedStream,
} from '@ecf8/core';
import { chunkTarget, P, planChunks, type Chunk, type PlanLimits } from './plan.js';

export const MAX_LUT_WORDS = 576;
export const FLAG_GAP = 1;
export const FLAG_POSITION = 2;

const u32 = (x: number) => x >>> 0;
const bswap = (x: number) => u32((x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24));

/** The kernel's view of one chunk: the input buffer image as u32 words and its parameters. */
export interface KernelInput {
  inp: Uint32Array;
  params: Uint32Array;
}

/** Builds the input buffer image of a chunk (what the GPU path uploads with writeBuffer). */
export function inputImage(chunk: Chunk): Uint32Array {
  const bytes = new Uint8Array(chunk.inputBytes);
  for (const r of chunk.ranges) bytes.set(r.bytes, r.dst);
  return new Uint32Array(bytes.buffer);
}

/** Per-invocation state of decode.wgsl (its `var<private>`s) and the helpers that use it. */
class Invocation {
  a = [0, 0, 0, 0];
  nibWordIdx = 0xffffffff;
  nibWord = 0;
  constructor(
    readonly k: KernelInput,
    readonly lut: Uint32Array,
  ) {}

  loadWindow(t: number): void {
    const { inp, params: Pm } = this.k;
    const base = Pm[P.expOff] + 2 * t;
    const last = Math.max(Pm[P.expEnd], Pm[P.expOff] + 1) - 1;
    for (let i = 0; i < 4; i++) this.a[i] = bswap(inp[Math.min(base + i, last)] ?? 0);
  }

  peek16(p: number): number {
    const q = Math.min(p, 112);
    const k = q >>> 5;
    const r = q & 31;
    const hi = this.a[k];
    const lo = k < 3 ? this.a[k + 1] : 0;
    const v = u32(u32(hi << r) | (r !== 0 ? lo >>> (32 - r) : 0));
    return v >>> 16;
  }

  lutByte(i: number): number {
    const j = Math.min(i, 4 * MAX_LUT_WORDS - 1);
    return (this.lut[j >>> 2] >>> ((j & 3) << 3)) & 0xff;
  }

  symbolAt(p: number): number {
    const w = this.peek16(p);
    let x = this.lutByte(w >>> 8);
    if (x >= 240) x = this.lutByte(256 * (256 - x) + (w & 0xff));
    return x | (this.lutByte(this.k.params[P.lenOff] + x) << 8);
  }

  gapOf(t: number): number {
    const { inp, params: Pm } = this.k;
    if (t >= Pm[P.gapLimit]) return 0;
    const byte = t >>> 1;
    const word = inp[Math.min(Pm[P.gapOff] + (byte >>> 2), inp.length - 1)];
    const v = (word >>> ((byte & 3) << 3)) & 0xff;
    return t & 1 ? v & 0x0f : v >>> 4;
  }

  isLive(t: number): boolean {
    return u32(64 * t) < this.k.params[P.bitsRel];
  }

  limitOf(t: number): number {
    return Math.min(64, u32(this.k.params[P.bitsRel] - 64 * t));
  }

  nibbleOf(e: number): number {
    const { inp, params: Pm } = this.k;
    const idx = u32(Pm[P.nibBase] + e);
    const byte = idx >>> 1;
    const wi = Math.min(Pm[P.nibOff] + (byte >>> 2), Math.max(Pm[P.nibEnd], Pm[P.nibOff] + 1) - 1);
    if (wi !== this.nibWordIdx) {
      this.nibWordIdx = wi;
      this.nibWord = inp[wi] ?? 0;
    }
    const v = (this.nibWord >>> ((byte & 3) << 3)) & 0xff;
    return idx & 1 ? v & 0x0f : v >>> 4;
  }
}

function flush(out: Uint32Array, wordIdx: number, value: number, mask: number): void {
  if (mask === 0 || wordIdx >= out.length) return;
  out[wordIdx] = mask === 0xffffffff ? value : u32((out[wordIdx] & ~mask) | (value & mask));
}

/** Count pass of chunk-relative thread t, as the kernel does it: start (window-relative gap), count, end. */
function countWindowLike(inv: Invocation, t: number): { start: number; count: number; end: number } {
  inv.loadWindow(t);
  const start = inv.gapOf(t);
  const limit = inv.limitOf(t);
  let p = start;
  let c = 0;
  while (p < limit) {
    p += inv.symbolAt(p) >>> 8;
    c++;
  }
  return { start, count: c, end: p };
}

/**
 * Runs the kernel for one chunk: `nBlocks` workgroups of `WG` invocations. `out` is the output binding (u32 words);
 * returns the OR of the error flags.
 */
export function runKernel(k: KernelInput, nBlocks: number, WG: number, out: Uint32Array): number {
  const { inp, params: Pm } = k;
  const lut = new Uint32Array(MAX_LUT_WORDS);
  const lw = Math.min(Pm[P.lutWords], MAX_LUT_WORDS);
  for (let i = 0; i < lw; i++) lut[i] = inp[i];
  const R = Pm[P.R];
  const T = Pm[P.T];
  let err = 0;
  const scan = new Uint32Array(2 * WG);
  for (let b = 0; b < nBlocks; b++) {
    const inv: Invocation[] = [];
    for (let li = 0; li < WG; li++) inv.push(new Invocation(k, lut));
    const blockBase = inp[Pm[P.posOff] + b];
    const blockEnd = Math.max(inp[Pm[P.posOff] + b + 1], blockBase);
    const mine = new Array<number>(WG).fill(0);
    const flags = new Array<number>(WG).fill(0);
    // Count pass.
    for (let li = 0; li < WG; li++) {
      const I = inv[li];
      const t0 = b * T + li * R;
      const nr = li * R < T ? R : 0;
      for (let kk = 0; kk < nr; kk++) {
        const t = t0 + kk;
        if (!I.isLive(t)) continue;
        const { start, count, end } = countWindowLike(I, t);
        if (t === 0 && Pm[P.firstChunk] === 1 && start !== 0) flags[li] |= FLAG_GAP;
        mine[li] += count;
        let expected = u32(Pm[P.bitsRel] - 64 * t);
        if (I.isLive(t + 1)) expected = 64 + I.gapOf(t + 1);
        if (end !== expected) flags[li] |= FLAG_GAP;
      }
    }
    // Hillis-Steele scan with ping-pong halves, as in the kernel.
    for (let li = 0; li < WG; li++) scan[li] = mine[li];
    let src = 0;
    for (let d = 1; d < WG; d <<= 1) {
      const next = new Uint32Array(WG);
      for (let li = 0; li < WG; li++) next[li] = u32(scan[src + li] + (li >= d ? scan[src + li - d] : 0));
      scan.set(next, WG - src);
      src = WG - src;
    }
    const total = scan[src + WG - 1];
    if (u32(blockBase + total) !== blockEnd) flags[0] |= FLAG_POSITION;
    // Decode pass.
    for (let li = 0; li < WG; li++) {
      const I = inv[li];
      const t0 = b * T + li * R;
      let e = u32(blockBase + scan[src + li] - mine[li]);
      const nr = li * R < T ? R : 0;
      for (let kk = 0; kk < nr; kk++) {
        const t = t0 + kk;
        if (!I.isLive(t)) continue;
        I.loadWindow(t);
        const limit = I.limitOf(t);
        let p = I.gapOf(t);
        let word = 0;
        let mask = 0;
        let wordIdx = 0;
        let owned = false;
        let c = 0;
        let nOwn = 0;
        const eStart = e;
        for (;;) {
          const own = p < limit;
          const byteAt = u32(Pm[P.outByte0] + e);
          if (own) {
            if ((byteAt & 3) === 0 || (e === 0 && Pm[P.firstChunk] === 1)) {
              if (owned) flush(out, wordIdx, word, mask);
              owned = e < blockEnd;
              wordIdx = byteAt >>> 2;
              word = 0;
              mask = 0;
            }
          } else if (!owned || (byteAt & 3) === 0 || e >= Pm[P.elemLimit] || c >= 67) {
            break;
          }
          const s = I.symbolAt(p);
          if (owned && e < Pm[P.elemLimit]) {
            const q = I.nibbleOf(e);
            const sh = (byteAt & 3) << 3;
            word = u32(word | ((((q & 8) << 4) | ((s & 0xff) << 3) | (q & 7)) << sh));
            mask = u32(mask | (0xff << sh));
          }
          p += s >>> 8;
          e++;
          c++;
          if (own) nOwn++;
        }
        if (owned) flush(out, wordIdx, word, mask);
        e = u32(eStart + nOwn);
      }
    }
    for (const f of flags) err |= f;
  }
  return err;
}

export interface MirrorOptions extends DecodeOptions {
  /** Invocations per workgroup (default: T, i.e. R = 1). */
  workgroupSize?: number;
  /** Blocks per dispatch cap (forces splitting). */
  maxBlocksPerChunk?: number;
  /** Storage binding alignment to simulate (default 256). */
  alignment?: number;
}

/** Reports phase-C flags with the precedence of spec §11.2. */
export function throwFlags(err: number): void {
  if (err & FLAG_GAP) fail(ErrorCode.GAP_MISMATCH, 'a thread does not start where the previous thread\'s codes end');
  if (err & FLAG_POSITION) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say');
}

/**
 * Decodes `stream` into `target[offset .. offset + n)` (a buffer whose length is a multiple of 4) exactly as the
 * WebGPU backend would, chunk by chunk, on the CPU. Returns n.
 */
export function mirrorDecodeInto(stream: Uint8Array, target: Uint8Array, offset = 0, options: MirrorOptions = {}): number {
  const parsed: ParsedStream = parseStream(stream, options);
  checkOutputRoom(parsed, target.length, offset);
  const verify = options.verifyChecksums ?? true;
  const pos = validateMetadata(parsed, verify);
  const { layout } = parsed;
  if (layout.nBlocks > 0) {
    const tables = buildDecodeTables(parsed.header.codeLengths);
    const T = layout.threadsPerBlock;
    const WG = options.workgroupSize ?? Math.max(T, 8);
    const limits: PlanLimits = { maxBindingBytes: 2 ** 27, maxWorkgroups: 65535, maxBlocksPerChunk: options.maxBlocksPerChunk };
    let err = 0;
    const words = new Uint32Array(target.buffer, target.byteOffset, target.length >>> 2);
    for (const c of planChunks(parsed, pos, tables, limits)) {
      const tg = chunkTarget(c, layout.elementCount, offset, target.length, options.alignment ?? 256, Math.max(1, T / WG));
      const binding = words.subarray(tg.bindOffset / 4, (tg.bindOffset + tg.bindSize) / 4);
      err |= runKernel({ inp: inputImage(c), params: tg.params }, c.b1 - c.b0, WG, binding);
    }
    throwFlags(err);
  }
  if (verify) verifyContent(parsed, target, offset);
  return layout.elementCount;
}

/** Decodes to a new array with the mirror. */
export function mirrorDecode(stream: Uint8Array, options: MirrorOptions = {}): Uint8Array {
  const parsed = parseStream(stream, options);
  const n = parsed.layout.elementCount;
  const buf = new Uint8Array(Math.max(4, Math.ceil(n / 4) * 4));
  mirrorDecodeInto(stream, buf, 0, options);
  return buf.subarray(0, n);
}

/**
 * The kernel's count pass for every global thread of a valid-after-phase-B stream, in global coordinates (start
 * and end as absolute bit positions): compared against @ecf8/core's countThread by the mirror test.
 */
export function mirrorThreadCounts(stream: Uint8Array, options: MirrorOptions = {}): { start: number; count: number; end: number }[] {
  const parsed = parseStream(stream, options);
  const pos = validateMetadata(parsed, options.verifyChecksums ?? true);
  const { layout } = parsed;
  const res: { start: number; count: number; end: number }[] = [];
  if (layout.nBlocks === 0) return res;
  const tables = buildDecodeTables(parsed.header.codeLengths);
  const T = layout.threadsPerBlock;
  const limits: PlanLimits = { maxBindingBytes: 2 ** 27, maxWorkgroups: 65535, maxBlocksPerChunk: options.maxBlocksPerChunk };
  for (const c of planChunks(parsed, pos, tables, limits)) {
    const k: KernelInput = { inp: inputImage(c), params: chunkTarget(c, layout.elementCount, 0, 4 * Math.ceil(layout.elementCount / 4) + 4, 256, 1).params };
    const lut = new Uint32Array(MAX_LUT_WORDS);
    lut.set(k.inp.subarray(0, Math.min(k.params[P.lutWords], MAX_LUT_WORDS)));
    const I = new Invocation(k, lut);
    for (let t = 0; t < (c.b1 - c.b0) * T; t++) {
      const w = 64 * (c.b0 * T + t);
      if (!I.isLive(t)) {
        res.push({ start: w, count: 0, end: w });
        continue;
      }
      const r = countWindowLike(I, t);
      res.push({ start: w + r.start, count: r.count, end: w + r.end });
    }
  }
  return res;
}
