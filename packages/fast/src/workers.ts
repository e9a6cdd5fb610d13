/**
 * Parallel decode and encode across worker threads (Node `worker_threads`; browsers: Web Workers from a Blob URL).
 *
 * Workers evaluate the kernel's own source (`createKernel.toString()`), so there is no separate worker file to
 * ship or configure in a bundler. Data moves through SharedArrayBuffers: pass a stream (and a decodeInto target)
 * that already lives in one to avoid a copy; other inputs are copied into a pooled shared buffer.
 *
 * Decode splits the stream by blocks (each worker gets a run of blocks whose output sizes are about equal, and
 * reports gap/position flags and the CRC-32C of its output, which the caller combines). Encode runs the histogram
 * pass per range, chooses the code on the calling thread, then each worker writes its ranges' bitstream, gaps,
 * positions and nibbles; the partial bytes where ranges meet are OR-ed together at the end.
 */
import { ErrorCode, fail, parseStream, type DecodeOptions, type EncodeOptions, type ParsedStream } from '@ecf8/core';
import { createKernel, type Geometry } from './kernel.js';
import {
  checkEncodeArgs,
  checkOutputRoom,
  decodeFastInto,
  encodeWithPlan,
  geometryOf,
  kernel,
  planEncode,
  reportPhaseC,
  splitRanges,
  stitch,
  finishStream,
  validateMetadataFast,
} from './codec.js';

/** Worker program: the kernel plus a message loop (works as a Node eval worker and as a Web Worker script). */
function workerMain(kernelFactory: typeof createKernel): void {
  const k = kernelFactory();
  const R = new Float64Array(4);
  const handle = (m: any): any => {
    if (m.op === 'decode') {
      const s = new Uint8Array(m.stream, m.streamByteOffset, m.streamLength);
      const out = new Uint8Array(m.out, m.outByteOffset, m.outLength);
      const tables = k.buildDecodeTables(m.codeLengths);
      const res = [];
      for (const [b0, b1] of m.ranges) {
        k.decodeRange(s, m.g, tables, out, m.outOffset, b0, b1, m.crc, R);
        res.push([R[0], R[1], R[2]]);
      }
      return res;
    }
    if (m.op === 'scan') {
      const fp8 = new Uint8Array(m.input, m.inputByteOffset, m.inputLength);
      const res = [];
      for (const [i0, i1] of m.ranges) {
        const h = new Float64Array(16);
        const crc = k.scan(fp8, i0, i1, h);
        res.push({ h, crc });
      }
      return res;
    }
    if (m.op === 'encode') {
      const fp8 = new Uint8Array(m.input, m.inputByteOffset, m.inputLength);
      const out = new Uint8Array(m.out, 0, m.outLength);
      const tables = k.buildEncodeTables(m.codeLengths);
      const res = [];
      for (const [i0, i1, p0, p1, last] of m.ranges) res.push(k.encodeRange(fp8, i0, i1, p0, p1, last, m.g, tables, out));
      return res;
    }
    return null;
  };
  const g = globalThis as any;
  if (typeof g.require === 'function' || typeof g.process === 'object') {
    // Node eval worker (CommonJS scope).
    const { parentPort } = g.require('node:worker_threads');
    parentPort.on('message', (m: any) => {
      try {
        parentPort.postMessage({ ok: true, value: handle(m) });
      } catch (e) {
        parentPort.postMessage({ ok: false, error: String((e as Error)?.stack ?? e) });
      }
    });
  } else {
    g.onmessage = (e: MessageEvent) => {
      try {
        g.postMessage({ ok: true, value: handle(e.data) });
      } catch (err) {
        g.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
      }
    };
  }
}

/** The complete worker script. `__name` guards against transpilers that inject a keep-names helper. */
export const WORKER_SOURCE =
  `"use strict";\nvar __name = (f) => f;\nif (typeof require === "function") globalThis.require = require;\n` +
  `(${workerMain.toString()})(${createKernel.toString()});\n`;

interface PoolWorker {
  post(msg: unknown): void;
  onReply: ((reply: { ok: boolean; value?: unknown; error?: string }) => void) | null;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown> | void;
  chain: Promise<unknown>;
}

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

async function spawn(): Promise<PoolWorker> {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    const pw: PoolWorker = {
      post: (m) => w.postMessage(m),
      onReply: null,
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
      chain: Promise.resolve(),
    };
    w.on('message', (r) => pw.onReply?.(r));
    w.on('error', (e) => pw.onReply?.({ ok: false, error: String(e) }));
    w.unref();
    return pw;
  }
  const G = globalThis as any;
  if (typeof G.Worker !== 'function' || typeof G.Blob !== 'function') fail(ErrorCode.BACKEND_UNAVAILABLE, 'no Worker support here');
  const url = G.URL.createObjectURL(new G.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new G.Worker(url);
  const pw: PoolWorker = {
    post: (m) => w.postMessage(m),
    onReply: null,
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
    chain: Promise.resolve(),
  };
  w.onmessage = (e: MessageEvent) => pw.onReply?.(e.data);
  w.onerror = (e: ErrorEvent) => pw.onReply?.({ ok: false, error: e.message });
  return pw;
}

/** Whether this environment can run the worker paths (shared memory + workers). */
export function workersAvailable(): { available: true } | { available: false; reason: string } {
  if (typeof SharedArrayBuffer !== 'function') return { available: false, reason: 'SharedArrayBuffer is unavailable (browsers need cross-origin isolation)' };
  if (!isNode && typeof (globalThis as any).Worker !== 'function') return { available: false, reason: 'no Web Worker support' };
  return { available: true };
}

/** One worker per core: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export async function defaultThreadCount(): Promise<number> {
  if (isNode) {
    const os = await import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return Math.max(1, Number((globalThis as any).navigator?.hardwareConcurrency) || 2);
}

/** A fixed set of workers; one task per worker at a time, queued per worker. */
export class WorkerPool {
  private workers: PoolWorker[] = [];
  private starting: Promise<void> | null = null;
  private pending = 0;
  private size: number;
  private scratch: SharedArrayBuffer[] = [];

  /** `size` workers (default: one per core). Workers start on first use. */
  constructor(size = 0) {
    if (!Number.isInteger(size) || size < 0) fail(ErrorCode.INVALID_ARGUMENT, `worker count ${size} is not a positive integer`);
    this.size = size;
  }

  /** Starts the workers if needed; resolves to their number. */
  async ready(): Promise<number> {
    if (this.workers.length === 0) {
      this.starting ??= (async () => {
        if (this.size === 0) this.size = await defaultThreadCount();
        this.workers = await Promise.all(Array.from({ length: this.size }, spawn));
      })();
      await this.starting;
    }
    return this.workers.length;
  }

  /** Runs one message on worker `i` and resolves with its reply. */
  async run<R>(i: number, msg: unknown): Promise<R> {
    await this.ready();
    const w = this.workers[i % this.workers.length];
    const task = w.chain.then(
      () =>
        new Promise<R>((resolve, reject) => {
          if (this.pending++ === 0) this.workers.forEach((x) => x.ref());
          w.onReply = (r) => {
            w.onReply = null;
            if (--this.pending === 0) this.workers.forEach((x) => x.unref());
            if (r.ok) resolve(r.value as R);
            else reject(new Error(`ecf8 worker failed: ${r.error}`));
          };
          w.post(msg);
        }),
    );
    w.chain = task.catch(() => {});
    return task;
  }

  /** A shared buffer of at least `bytes` bytes, reused across calls (slot 0: inputs, 1: outputs). */
  shared(slot: number, bytes: number): SharedArrayBuffer {
    const cur = this.scratch[slot];
    if (cur && cur.byteLength >= bytes) return cur;
    const sab = new SharedArrayBuffer(Math.max(bytes, cur ? Math.ceil(cur.byteLength * 1.5) : 0));
    this.scratch[slot] = sab;
    return sab;
  }

  /** Drops the pooled shared buffers (they are only caches). */
  releaseScratch(): void {
    this.scratch = [];
  }

  async terminate(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.starting = null;
    this.scratch = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

let defaultPool: WorkerPool | null = null;
/** The shared default pool (created on first use, one worker per available core). */
export function getDefaultPool(): WorkerPool {
  defaultPool ??= new WorkerPool();
  return defaultPool;
}
/** Terminates the default pool (a later call creates a new one). */
export async function terminateDefaultPool(): Promise<void> {
  const p = defaultPool;
  defaultPool = null;
  await p?.terminate();
}

export interface ParallelOptions {
  /** Pool to use (default: the shared pool with one worker per core). */
  pool?: WorkerPool;
  /** Below this many elements the calling thread does the work itself (default 1 MiB). */
  minParallelElements?: number;
}

const isShared = (a: Uint8Array): boolean => typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;

/** `a` itself if it lives in shared memory, else a copy in the pool's scratch buffer `slot`. */
function toShared(pool: WorkerPool, a: Uint8Array, slot: number): Uint8Array {
  if (isShared(a)) return a;
  const sab = pool.shared(slot, a.length);
  const v = new Uint8Array(sab, 0, a.length);
  v.set(a);
  return v;
}

function readPos(s: Uint8Array, at: number): number {
  const lo = (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)) >>> 0;
  const hi = (s[at + 4] | (s[at + 5] << 8) | (s[at + 6] << 16) | (s[at + 7] << 24)) >>> 0;
  return hi * 2 ** 32 + lo;
}

/** Splits blocks [0, nBlocks) into `parts` runs with about equal output sizes. */
function splitBlocks(parsed: ParsedStream, parts: number): number[] {
  const { stream, layout } = parsed;
  const cuts = [0];
  const n = layout.elementCount;
  let b = 0;
  for (let k = 1; k < parts; k++) {
    const target = (n * k) / parts;
    while (b < layout.nBlocks && readPos(stream, layout.positionsOffset + 8 * b) < target) b++;
    if (b > cuts[cuts.length - 1] && b < layout.nBlocks) cuts.push(b);
  }
  cuts.push(layout.nBlocks);
  return cuts;
}

async function decodeParsedParallel(parsed: ParsedStream, out: Uint8Array, offset: number, options: DecodeOptions & ParallelOptions): Promise<void> {
  const verify = options.verifyChecksums ?? true;
  validateMetadataFast(parsed, verify);
  const { layout, header } = parsed;
  const n = layout.elementCount;
  if (n === 0) {
    // Nothing to decode, but the content checksum still applies: the CRC-32C of zero bytes is 0 (spec §10).
    reportPhaseC(false, false, verify ? header.contentCrc32c === 0 : null, parsed, 0);
    return;
  }
  const pool = options.pool ?? getDefaultPool();
  const s = toShared(pool, parsed.stream, 0);
  const direct = isShared(out);
  const target = direct ? out : new Uint8Array(pool.shared(1, n), 0, n);
  const targetOffset = direct ? offset : 0;
  const cuts = splitBlocks(parsed, await pool.ready());
  const g: Geometry = geometryOf(layout);
  const replies = await Promise.all(
    cuts.slice(0, -1).map((b0, k) =>
      pool.run<number[][]>(k, {
        op: 'decode',
        stream: s.buffer,
        streamByteOffset: s.byteOffset,
        streamLength: s.length,
        out: target.buffer,
        outByteOffset: target.byteOffset,
        outLength: target.length,
        outOffset: targetOffset,
        codeLengths: header.codeLengths,
        g,
        crc: verify,
        ranges: [[b0, cuts[k + 1]]],
      }),
    ),
  );
  const flat = replies.flat();
  const gap = flat.some((r) => r[0] !== 0);
  const pos = flat.some((r) => r[1] !== 0);
  let crc = 0;
  if (verify && !gap && !pos) {
    for (let k = 0; k < flat.length; k++) {
      const len = readPos(parsed.stream, layout.positionsOffset + 8 * cuts[k + 1]) - readPos(parsed.stream, layout.positionsOffset + 8 * cuts[k]);
      crc = k === 0 ? flat[0][2] : kernel.crc32cCombine(crc, flat[k][2], len);
    }
  }
  reportPhaseC(gap, pos, verify ? crc === header.contentCrc32c : null, parsed, crc);
  if (!direct) out.set(target.subarray(0, n), offset);
}

/**
 * Decodes with worker threads. The result lives in a SharedArrayBuffer (no copy). Same bytes or the same error
 * code as the reference decoder.
 */
export async function decodeParallel(stream: Uint8Array, options: DecodeOptions & ParallelOptions = {}): Promise<Uint8Array> {
  const parsed = parseStream(stream, options);
  const n = parsed.layout.elementCount;
  if (n < (options.minParallelElements ?? 1 << 20) || workersAvailable().available === false) {
    const out = new Uint8Array(n);
    decodeFastInto(stream, out, 0, options);
    return out;
  }
  const out = new Uint8Array(new SharedArrayBuffer(n));
  await decodeParsedParallel(parsed, out, 0, options);
  return out;
}

/** Parallel decodeInto; a target in shared memory is written directly, any other one through a pooled buffer. */
export async function decodeParallelInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: DecodeOptions & ParallelOptions = {}): Promise<number> {
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
  const parsed = parseStream(stream, options);
  const n = parsed.layout.elementCount;
  checkOutputRoom(n, out.length, offset);
  if (n < (options.minParallelElements ?? 1 << 20) || workersAvailable().available === false) {
    decodeFastInto(stream, out, offset, options);
    return n;
  }
  await decodeParsedParallel(parsed, out, offset, options);
  return n;
}

/** Parallel encoder; the stream is byte-identical to the reference encoder's and lives in a SharedArrayBuffer. */
export async function encodeParallel(fp8: Uint8Array, options: EncodeOptions & ParallelOptions = {}): Promise<Uint8Array> {
  const T = checkEncodeArgs(fp8, options);
  const n = fp8.length;
  const pool = options.pool ?? getDefaultPool();
  if (n < (options.minParallelElements ?? 1 << 20) || workersAvailable().available === false) {
    const { encodeFast } = await import('./codec.js');
    return encodeFast(fp8, options);
  }
  const threads = await pool.ready();
  const input = toShared(pool, fp8, 0);
  const cuts = splitRanges(n, threads);
  const nRanges = cuts.length - 1;
  // Contiguous runs of ranges per worker.
  const per = Math.ceil(nRanges / threads);
  const groups: number[][] = [];
  for (let r = 0; r < nRanges; r += per) groups.push(Array.from({ length: Math.min(per, nRanges - r) }, (_, j) => r + j));
  const common = { input: input.buffer, inputByteOffset: input.byteOffset, inputLength: n };
  const scans = await Promise.all(
    groups.map((rs, k) => pool.run<{ h: Float64Array; crc: number }[]>(k, { op: 'scan', ...common, ranges: rs.map((r) => [cuts[r], cuts[r + 1]]) })),
  );
  const flat = scans.flat();
  const plan = planEncode(n, T, cuts, flat.map((x) => x.h), flat.map((x) => x.crc));
  const out = new Uint8Array(new SharedArrayBuffer(plan.layout.streamSize));
  const g = geometryOf(plan.layout);
  const partials = await Promise.all(
    groups.map((rs, k) =>
      pool.run<number[]>(k, {
        op: 'encode',
        ...common,
        out: out.buffer,
        outLength: out.length,
        codeLengths: plan.codeLengths,
        g,
        ranges: rs.map((r) => [cuts[r], cuts[r + 1], plan.bitStarts[r], plan.bitStarts[r + 1], r === nRanges - 1]),
      }),
    ),
  );
  stitch(out, plan, partials.flat());
  finishStream(out, plan.layout, plan.codeLengths, plan.contentCrc);
  return out;
}

export { encodeWithPlan };
