/**
 * A CPU transliteration of decode.wgsl: the same input image and parameters (src/plan.ts), the same kernel shape
 * (src/kernel.ts), and the same steps per invocation — decode once into private scratch, the scan (workgroup-memory
 * or subgroup form), the staged write-back with its 16-byte chunks or the direct word writes — executed one
 * workgroup at a time, phase by phase (what the barriers separate). It exists for the mirror test
 * (test/mirror.test.ts) and the fuzzer (conformance/src/fuzz-main.ts), which check it against @ecf8/core on valid
 * and corrupted streams, and it is the executable documentation of the kernel. Keep it in step with decode.wgsl.
 */
import {
  checkOutputRoom,
  ErrorCode,
  fail,
  parseStream,
  validateMetadata,
  verifyContent,
  type DecodeOptions,
  type ParsedStream,
} from '@ecf8/core';
import { kernelConfig, type KernelConfig, type KernelLimits } from './kernel.js';
import { chunkTarget, gridFor, P, planChunks, type Chunk, type PlanLimits } from './plan.js';
import { buildKernelTables, MULTI_BITS, MULTI_ENTRIES, MULTI_MAX_SYMBOLS } from './tables.js';

export const MAX_LUT_WORDS = 576;
export const FLAG_GAP = 1;
export const FLAG_POSITION = 2;
const SLOT_WORDS = 9;
const SCRATCH_WORDS = 72;
const CONTINUATION = 3;

const u32 = (x: number) => x >>> 0;
const bswap = (x: number) => u32((x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24));
/** (hi:lo << s) >> 32 for s in 0..31, written as the kernel writes it. */
const funnel = (lo: number, hi: number, s: number) => u32((hi << s) | ((lo >>> 1) >>> (31 - s)));

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

/** Workgroup memory of decode.wgsl. */
interface Workgroup {
  lut: Uint32Array;
  mtab: Uint32Array;
  scanBuf: Uint32Array;
  stage: Uint32Array;
}

/** Per-invocation state of decode.wgsl (its `var<private>`s) and the functions that use it. */
class Invocation {
  scratch = new Uint32Array(SCRATCH_WORDS);
  flags = 0;
  ra = 0;
  rb = 0;
  rc = 0;
  rd = 0;
  sinkCur = 0;
  sinkFill = 0;
  sinkAt = 0;
  constructor(
    readonly k: KernelInput,
    readonly wg: Workgroup,
  ) {}

  /** A new invocation's state (WGSL zero-initialises private variables; the scratch is not cleared here: the kernel
   *  reads scratch words it did not write only for bytes it masks off, so their values never matter). */
  reset(): void {
    this.flags = this.ra = this.rb = this.rc = this.rd = this.sinkCur = this.sinkFill = this.sinkAt = 0;
  }

  lutByte(i: number): number {
    const j = Math.min(i, 4 * MAX_LUT_WORDS - 1);
    return (this.wg.lut[j >>> 2] >>> ((j & 3) << 3)) & 0xff;
  }

  gapOf(t: number): number {
    const { inp, params: Pm } = this.k;
    if (t >= Pm[P.gapLimit]) return 0;
    const byte = t >>> 1;
    const word = inp[Math.min(Pm[P.gapOff] + (byte >>> 2), inp.length - 1)];
    const v = (word >>> ((byte & 3) << 3)) & 0xff;
    return t & 1 ? v & 0x0f : v >>> 4;
  }

  readerSkip(k: number): void {
    this.ra = funnel(this.rb, this.ra, k);
    this.rb = funnel(this.rc, this.rb, k);
    this.rc = funnel(this.rd, this.rc, k);
    this.rd = u32(this.rd << k);
  }

  sinkAppend(s: number, nb: number): void {
    const v = u32(this.sinkCur | (s << this.sinkFill));
    if (this.sinkFill + nb >= 32) {
      this.scratch[Math.min(this.sinkAt, SCRATCH_WORDS - 1)] = v;
      this.sinkAt += 1;
      this.sinkCur = s >>> (32 - this.sinkFill);
    } else {
      this.sinkCur = v;
    }
    this.sinkFill = (this.sinkFill + nb) & 31;
  }

  cascadeStep(): number {
    const lenOff = this.k.params[P.lenOff];
    const w = this.ra >>> 16;
    let x = this.lutByte(w >>> 8);
    if (x >= 240) x = this.lutByte(256 * (256 - x) + (w & 0xff));
    const k = this.lutByte(lenOff + x);
    this.sinkAppend(x, 4);
    this.readerSkip(k);
    return k;
  }

  decodeStep(p: number, limit: number): number {
    const lenOff = this.k.params[P.lenOff];
    const e = this.wg.mtab[this.ra >>> (32 - MULTI_BITS)];
    if (e === 0) return this.cascadeStep();
    let k = 0;
    let s = 0;
    let nb = 0;
    if (p + ((e >>> 8) & 15) < limit) {
      k = e & 15;
      s = e >>> 12;
      nb = (e >>> 3) & 0x1c;
    } else {
      const room = limit - p;
      const n = (e >>> 5) & 7;
      for (let i = 0; i < MULTI_MAX_SYMBOLS; i++) {
        if (i < n && k < room) {
          k += this.lutByte(lenOff + ((e >>> (12 + 4 * i)) & 15));
          nb += 4;
        }
      }
      s = (e >>> 12) & ((1 << nb) - 1);
    }
    this.sinkAppend(s, nb);
    this.readerSkip(k);
    return k;
  }

  /** decodeThread of the kernel; `out` (optional) receives the window-relative start and end for the mirror test. */
  decodeThread(t: number, slot: number, cont: number, out?: { start: number; end: number }): number {
    const { inp, params: Pm } = this.k;
    if (u32(64 * t) >= Pm[P.bitsRel]) return 0;
    const left = u32(Pm[P.bitsRel] - 64 * t);
    const limit = Math.min(64, left);
    const gap = this.gapOf(t);
    if (t === 0 && Pm[P.firstChunk] === 1 && gap !== 0) this.flags |= FLAG_GAP;
    const last = Math.max(Pm[P.expEnd], Pm[P.expOff] + 1) - 1;
    const base = Pm[P.expOff] + 2 * t;
    this.ra = bswap(inp[Math.min(base, last)] ?? 0);
    this.rb = bswap(inp[Math.min(base + 1, last)] ?? 0);
    this.rc = bswap(inp[Math.min(base + 2, last)] ?? 0);
    this.rd = bswap(inp[Math.min(base + 3, last)] ?? 0);
    this.readerSkip(gap);
    this.sinkCur = 0;
    this.sinkFill = 0;
    this.sinkAt = SLOT_WORDS * slot;
    let p = gap;
    while (p + MULTI_BITS <= limit) {
      const e = this.wg.mtab[this.ra >>> (32 - MULTI_BITS)];
      if (e === 0) {
        p += this.cascadeStep();
        continue;
      }
      this.sinkAppend(e >>> 12, (e >>> 3) & 0x1c);
      this.readerSkip(e & 15);
      p += e & 15;
    }
    while (p < limit) p += this.decodeStep(p, limit);
    const count = (32 * (this.sinkAt - SLOT_WORDS * slot) + this.sinkFill) >>> 2;
    let expected = left;
    if (left > 64) expected = 64 + this.gapOf(t + 1);
    if (p !== expected) this.flags |= FLAG_GAP;
    for (let i = 0; i < cont; i++) this.cascadeStep();
    if (this.sinkFill !== 0) this.scratch[Math.min(this.sinkAt, SCRATCH_WORDS - 1)] = this.sinkCur;
    if (out) {
      out.start = gap;
      out.end = p;
    }
    return count;
  }
}

/** scanWorkgroup of the kernel over all invocations' values (Hillis-Steele, ping-pong, half `half`): writes the
 *  exclusive prefix sums to `excl`, returns the total. */
function scanWorkgroup(wg: Workgroup, xs: Uint32Array, half: number, WG: number, excl: Uint32Array): number {
  const h0 = half * 2 * WG;
  const buf = wg.scanBuf;
  for (let li = 0; li < WG; li++) buf[h0 + li] = xs[li];
  let src = 0;
  for (let d = 1; d < WG; d <<= 1) {
    // Every invocation reads half `src` and writes the other (a barrier separates the steps).
    const dst = WG - src;
    for (let li = 0; li < WG; li++) buf[h0 + dst + li] = u32(buf[h0 + src + li] + (li >= d ? buf[h0 + src + li - d] : 0));
    src = dst;
  }
  for (let li = 0; li < WG; li++) excl[li] = u32(buf[h0 + src + li] - xs[li]);
  return buf[h0 + src + WG - 1];
}

/** scanSubgroups of the kernel with subgroups of `sgs` invocations laid out along local_invocation_index. */
function scanSubgroups(wg: Workgroup, xs: Uint32Array, half: number, WG: number, sgs: number, excl: Uint32Array): number {
  const h0 = half * 2 * WG;
  const nsg = Math.ceil(WG / sgs);
  const inclusive = new Uint32Array(WG);
  for (let li = 0; li < WG; li++) inclusive[li] = u32((li % sgs === 0 ? 0 : inclusive[li - 1]) + xs[li]);
  for (let li = 0; li < WG; li++) if (li % sgs === sgs - 1 || li === WG - 1) wg.scanBuf[h0 + Math.floor(li / sgs)] = inclusive[li];
  let total = 0;
  for (let li = 0; li < WG; li++) {
    const mySg = Math.floor(li / sgs);
    let before = 0;
    total = 0;
    for (let b = 0; b < nsg; b += sgs) {
      // subgroupAdd over the lanes sgi = 0 .. sgs - 1 of this invocation's subgroup.
      for (let sgi = 0; sgi < sgs; sgi++) {
        const j = b + sgi;
        const v = j < nsg ? wg.scanBuf[h0 + Math.min(j, 2 * WG - 1)] : 0;
        before = u32(before + (j < mySg ? v : 0));
        total = u32(total + v);
      }
    }
    excl[li] = u32(before + inclusive[li] - xs[li]);
  }
  return total;
}

function placeSymbols(wg: Workgroup, I: Invocation, slot: number, count: number, u: number): void {
  if (count === 0) return;
  const m = (count + 7) >>> 3;
  const sh = 4 * (u & 7);
  const nout = ((u + count - 1) >>> 3) - (u >>> 3) + 1;
  let prev = 0;
  for (let j = 0; j < nout; j++) {
    const cw = j < m ? I.scratch[Math.min(SLOT_WORDS * slot + j, SCRATCH_WORDS - 1)] : 0;
    const at = Math.min((u >>> 3) + j, wg.stage.length - 1);
    wg.stage[at] = u32(wg.stage[at] | funnel(prev, cw, sh));
    prev = cw;
  }
}

function join8(X: number, Q: number): [number, number] {
  const ev = ((X << 3) & 0x78787878) | (Q & 0x80808080) | ((Q >>> 4) & 0x07070707);
  const od = ((X >>> 1) & 0x78787878) | ((Q << 4) & 0x80808080) | (Q & 0x07070707);
  const lo = (ev & 0xff) | ((od & 0xff) << 8) | ((ev & 0xff00) << 8) | ((od & 0xff00) << 16);
  const hi = ((ev >>> 16) & 0xff) | ((od >>> 8) & 0xff00) | ((ev >>> 8) & 0xff0000) | (od & 0xff000000);
  return [u32(lo), u32(hi)];
}

function nibbleWord(k: KernelInput, at: number): number {
  if (at < 0) return 0;
  const wi = k.params[P.nibOff] + (at >> 2);
  return wi < k.params[P.nibEnd] ? k.inp[Math.min(wi, k.inp.length - 1)] : 0;
}

/** storeWord of the kernel: word w of the output range (vec4 view below vecWords, then the tail view). */
function storeWord(k: KernelInput, out: Uint32Array, w: number, value: number, mask: number): void {
  if (mask === 0) return;
  const Pm = k.params;
  if (w < Pm[P.vecWords] || w - Pm[P.vecWords] < Pm[P.tailWords]) out[w] = mask === 0xffffffff ? value : u32((out[w] & ~mask) | (value & mask));
}

function byteMask(e: number, lim: number): number {
  let m = 0;
  for (let i = 0; i < 4; i++) {
    const el = e + i;
    if (el >= 0 && el < lim) m |= 0xff << (8 * i);
  }
  return u32(m);
}

function ownsWord(k: KernelInput, e: number, e0: number, e1: number): boolean {
  if (e >= 0) return e >= e0 && e < e1;
  return e + 4 > 0 && e0 === 0 && e1 > 0 && k.params[P.firstChunk] === 1;
}

function writeChunk(k: KernelInput, wg: Workgroup, out: Uint32Array, j: number, h: number, cnt: number, blockBase: number): void {
  const Pm = k.params;
  const s0 = Math.min(2 * j, wg.stage.length - 1);
  const s1 = Math.min(2 * j + 1, wg.stage.length - 1);
  const x0 = wg.stage[s0];
  wg.stage[s0] = 0;
  const x1 = wg.stage[s1];
  wg.stage[s1] = 0;
  const k0 = 16 * j - h;
  const ni = Pm[P.nibBase] + blockBase + k0;
  let q0: number;
  let q1: number;
  if ((ni & 7) === 0) {
    q0 = nibbleWord(k, ni >> 1);
    q1 = nibbleWord(k, (ni >> 1) + 4);
  } else {
    const nb = ni >> 1;
    const base = nb & ~3;
    const w0 = bswap(nibbleWord(k, base));
    const w1 = bswap(nibbleWord(k, base + 4));
    const w2 = bswap(nibbleWord(k, base + 8));
    const s = 8 * (nb - base) + 4 * (ni & 1);
    q0 = bswap(funnel(w1, w0, s));
    q1 = bswap(funnel(w2, w1, s));
  }
  const a = join8(x0, q0);
  const b = join8(x1, q1);
  const w = (Pm[P.outByte0] + blockBase + k0 + 16) / 4 - 4;
  if (k0 >= 0 && k0 + 16 <= cnt && w + 4 <= Pm[P.vecWords]) {
    out.set([a[0], a[1], b[0], b[1]], w);
  } else {
    const e = blockBase + k0;
    const lim = Math.min(blockBase + cnt + CONTINUATION, Pm[P.elemLimit]);
    const e1 = blockBase + cnt;
    [a[0], a[1], b[0], b[1]].forEach((v, i) => storeWord(k, out, w + i, v, ownsWord(k, e + 4 * i, blockBase, e1) ? byteMask(e + 4 * i, lim) : 0));
  }
}

function nibbleBytes(k: KernelInput, ni: number): number {
  const nb = ni >> 1;
  const base = nb & ~3;
  const w0 = bswap(nibbleWord(k, base));
  const w1 = bswap(nibbleWord(k, base + 4));
  return bswap(funnel(w1, w0, 8 * (nb - base) + 4 * (ni & 1)));
}

function writeDirect(k: KernelInput, I: Invocation, out: Uint32Array, slot: number, count: number, e: number): void {
  if (count === 0) return;
  const Pm = k.params;
  const e1 = e + count;
  const lim = Math.min(e1 + CONTINUATION, Pm[P.elemLimit]);
  let at = u32(Pm[P.outByte0] + e) & ~3;
  for (;;) {
    const we = at - Pm[P.outByte0];
    if (we >= e1) break;
    if (ownsWord(k, we, e, e1)) {
      const si = we - e;
      const sh = 4 * (si & 7);
      const wi = SLOT_WORDS * slot + (Math.max(si, 0) >> 3);
      const s0 = I.scratch[Math.min(wi, SCRATCH_WORDS - 1)];
      const s1 = I.scratch[Math.min(wi + 1, SCRATCH_WORDS - 1)];
      let x = u32((s0 >>> sh) | ((s1 << 1) << (31 - sh)));
      if (si < 0) x = u32(s0 << (-4 * si));
      const v = join8(x, nibbleBytes(k, Pm[P.nibBase] + we))[0];
      storeWord(k, out, at >>> 2, v, byteMask(we, lim));
    }
    at += 4;
  }
}

/**
 * Runs the kernel for one chunk: `grid` workgroups of `config.workgroupSize` invocations, each looping over the
 * chunk's blocks with stride `grid`. `subgroupSize` (0: none) picks the subgroup scan, as a device with the
 * `subgroups` feature does. `out` is the output binding (u32 words); returns the OR of the error flags.
 */
export function runKernel(k: KernelInput, config: KernelConfig, grid: number, out: Uint32Array, subgroupSize = 0): number {
  const { inp, params: Pm } = k;
  const WG = config.workgroupSize;
  const R = config.threadsPerInvocation;
  const staged = config.path === 'staged';
  const useSubgroups = config.subgroups && subgroupSize > 0;
  let err = 0;
  // Workgroup memory and invocations, reset at each workgroup's start as WGSL zero-initialises them.
  const wg: Workgroup = { lut: new Uint32Array(MAX_LUT_WORDS), mtab: new Uint32Array(MULTI_ENTRIES), scanBuf: new Uint32Array(4 * WG), stage: new Uint32Array(config.stageWords) };
  const inv: Invocation[] = [];
  for (let li = 0; li < WG; li++) inv.push(new Invocation(k, wg));
  const counts = new Uint32Array(WG * R);
  const conts = new Uint32Array(WG * R);
  const mine = new Uint32Array(WG);
  const excl = new Uint32Array(WG);
  for (let w = 0; w < grid; w++) {
    wg.lut.fill(0);
    wg.scanBuf.fill(0);
    wg.stage.fill(0);
    const lw = Math.min(Pm[P.lutWords], MAX_LUT_WORDS);
    wg.lut.set(inp.subarray(0, lw));
    if (Pm[P.mtabOff] + MULTI_ENTRIES <= inp.length) wg.mtab.set(inp.subarray(Pm[P.mtabOff], Pm[P.mtabOff] + MULTI_ENTRIES));
    else for (let i = 0; i < MULTI_ENTRIES; i++) wg.mtab[i] = inp[Math.min(Pm[P.mtabOff] + i, inp.length - 1)];
    for (const I of inv) I.reset();
    let half = 0;
    for (let b = w; b < Pm[P.nBlocks]; b += Pm[P.gridStride]) {
      const blockBase = inp[Pm[P.posOff] + b];
      const blockEnd = Math.max(inp[Pm[P.posOff] + b + 1], blockBase);
      const cnt = blockEnd - blockBase;
      const needed = (4 - ((Pm[P.outByte0] + blockEnd) & 3)) & 3;
      const blockCont = Math.min(needed, Pm[P.elemLimit] - Math.min(blockEnd, Pm[P.elemLimit]));
      for (let li = 0; li < WG; li++) {
        let sum = 0;
        for (let kk = 0; kk < R; kk++) {
          const tb = li * R + kk;
          let x = 0;
          let cont = 0;
          if (tb < Pm[P.T]) {
            cont = staged ? (tb === Pm[P.T] - 1 ? blockCont : 0) : CONTINUATION;
            x = inv[li].decodeThread(b * Pm[P.T] + tb, kk, cont);
          }
          counts[li * R + kk] = x;
          conts[li * R + kk] = cont;
          sum = u32(sum + x);
        }
        mine[li] = sum;
      }
      const total = useSubgroups ? scanSubgroups(wg, mine, half, WG, subgroupSize, excl) : scanWorkgroup(wg, mine, half, WG, excl);
      half = 1 - half;
      if (total !== cnt) inv[0].flags |= FLAG_POSITION;
      if (staged) {
        const h = (Pm[P.outByte0] + blockBase) & 15;
        for (let li = 0; li < WG; li++) {
          let u = h + excl[li];
          for (let kk = 0; kk < R; kk++) {
            placeSymbols(wg, inv[li], kk, counts[li * R + kk] + conts[li * R + kk], u);
            u += counts[li * R + kk];
          }
        }
        const chunks = (h + cnt + blockCont + 15) >>> 4;
        for (let li = 0; li < WG; li++) for (let j = li; j < chunks; j += WG) writeChunk(k, wg, out, j, h, cnt, blockBase);
      } else {
        for (let li = 0; li < WG; li++) {
          let o = u32(blockBase + excl[li]);
          for (let kk = 0; kk < R; kk++) {
            writeDirect(k, inv[li], out, kk, counts[li * R + kk], o);
            o = u32(o + counts[li * R + kk]);
          }
        }
      }
    }
    for (const I of inv) err |= I.flags;
  }
  return err;
}

/** Limits of a device with plenty of workgroup memory (the staged path for every T). */
export const FULL_LIMITS: KernelLimits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupStorageSize: 65536 };
/** WebGPU's default limits (compatibility mode: 128 invocations). */
export const DEFAULT_LIMITS: KernelLimits = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384 };

export interface MirrorOptions extends DecodeOptions {
  /** Device limits to choose the kernel's shape from (default FULL_LIMITS). */
  limits?: KernelLimits;
  /** Cap on invocations per workgroup (as the backend option maxWorkgroupSize). */
  workgroupSize?: number;
  /** Subgroup size of a device with the `subgroups` feature (default 0: none, the workgroup-memory scan). */
  subgroupSize?: number;
  /** Blocks per dispatch cap (forces splitting). */
  maxBlocksPerChunk?: number;
  /** Workgroups per dispatch cap (forces several blocks per workgroup). */
  maxWorkgroups?: number;
  /** Storage binding alignment to simulate (default 256). */
  alignment?: number;
}

/** Reports phase-C flags with the precedence of spec §11.2. */
export function throwFlags(err: number): void {
  if (err & FLAG_GAP) fail(ErrorCode.GAP_MISMATCH, 'a thread does not start where the previous thread\'s codes end');
  if (err & FLAG_POSITION) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say');
}

const planLimits = (options: MirrorOptions): PlanLimits => ({ maxBindingBytes: 2 ** 27, maxWorkgroups: 65535, maxBlocksPerChunk: options.maxBlocksPerChunk });

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
    const tables = buildKernelTables(parsed.header.codeLengths);
    const sgs = options.subgroupSize ?? 0;
    const config = kernelConfig(options.limits ?? FULL_LIMITS, layout.threadsPerBlock, sgs > 0, options.workgroupSize);
    let err = 0;
    const words = new Uint32Array(target.buffer, target.byteOffset, target.length >>> 2);
    for (const c of planChunks(parsed, pos, tables, planLimits(options))) {
      const grid = gridFor(c.b1 - c.b0, options.maxWorkgroups);
      const tg = chunkTarget(c, layout.elementCount, offset, target.length, options.alignment ?? 256, grid);
      const binding = words.subarray(tg.bindOffset / 4, (tg.bindOffset + tg.vecBytes + tg.tailBytes) / 4);
      err |= runKernel({ inp: inputImage(c), params: tg.params }, config, grid, binding, sgs);
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
 * The kernel's decode step for every global thread of a valid-after-phase-B stream, in global coordinates (start
 * and end as absolute bit positions): compared against @ecf8/core's countThread by the mirror test.
 */
export function mirrorThreadCounts(stream: Uint8Array, options: MirrorOptions = {}): { start: number; count: number; end: number }[] {
  const parsed = parseStream(stream, options);
  const pos = validateMetadata(parsed, options.verifyChecksums ?? true);
  const { layout } = parsed;
  const res: { start: number; count: number; end: number }[] = [];
  if (layout.nBlocks === 0) return res;
  const tables = buildKernelTables(parsed.header.codeLengths);
  const T = layout.threadsPerBlock;
  for (const c of planChunks(parsed, pos, tables, planLimits(options))) {
    const k: KernelInput = { inp: inputImage(c), params: chunkTarget(c, layout.elementCount, 0, 4 * Math.ceil(layout.elementCount / 4) + 4, 256, 1).params };
    const wg: Workgroup = { lut: new Uint32Array(MAX_LUT_WORDS), mtab: new Uint32Array(MULTI_ENTRIES), scanBuf: new Uint32Array(0), stage: new Uint32Array(0) };
    wg.lut.set(k.inp.subarray(0, Math.min(k.params[P.lutWords], MAX_LUT_WORDS)));
    wg.mtab.set(k.inp.subarray(k.params[P.mtabOff], k.params[P.mtabOff] + MULTI_ENTRIES));
    const I = new Invocation(k, wg);
    const se = { start: 0, end: 0 };
    for (let t = 0; t < (c.b1 - c.b0) * T; t++) {
      const w = 64 * (c.b0 * T + t);
      if (u32(64 * t) >= k.params[P.bitsRel]) {
        res.push({ start: w, count: 0, end: w });
        continue;
      }
      const count = I.decodeThread(t, 0, 0, se);
      res.push({ start: w + se.start, count, end: w + se.end });
    }
  }
  return res;
}
