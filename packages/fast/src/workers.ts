/**
 * Parallel decode and encode across worker threads (Node `worker_threads`; browsers: Web Workers from a Blob URL).
 *
 * Workers evaluate the kernel's own source (`createKernel.toString()`), so there is no separate worker file to
 * ship or configure in a bundler. Two transports move the data:
 *  - 'shared' (default where SharedArrayBuffer exists: Node, cross-origin-isolated pages): workers read the stream
 *    and write the output in shared memory. Pass a stream (and a decodeInto target) that already lives in a
 *    SharedArrayBuffer to avoid a copy; other inputs are copied into a pooled shared buffer.
 *  - 'copy' (opt-in; where SharedArrayBuffer does not exist and no transport is asked for, the calling thread
 *    does the work, as the copies cost more than a second core gains): each worker receives a copy of only the
 *    parts of the stream (or input) its range needs, packed into one ArrayBuffer with the section offsets shifted to match
 *    (kernel.ts `Geometry`), decodes or encodes into a buffer of its own range's size, and transfers it back; the
 *    calling thread copies the pieces into place.
 *    The calling thread never transfers (detaches) a buffer: the first detach in a V8 isolate invalidates its
 *    "array buffer detaching" protector for good, after which every optimised typed-array access re-checks for
 *    detachment — measured: one 16-byte detach makes @ecf8/fast's single-thread decoder ~17% slower for the rest
 *    of the process (704-716 -> 586-592 MB/s), and it would slow the application's own code the same way. So its
 *    slices go out by structured clone (a copy), and only the workers detach (their replies).
 *
 * Decode splits the stream by blocks (each worker gets a run of blocks whose output sizes are about equal, and
 * reports gap/position flags and the CRC-32C of its output, which the caller combines). Encode runs the histogram
 * pass per range, chooses the code on the calling thread, then each worker writes its ranges' bitstream, gaps,
 * positions and nibbles; the partial bytes where ranges meet are OR-ed together at the end.
 */
import { checkDecodeTarget, checkOutputRoom, ErrorCode, fail, parseStream, type DecodeOptions, type EncodeOptions, type ParsedStream } from '@ecf8/core';
import { createKernel, type Geometry } from './kernel.js';
import {
  checkEncodeArgs,
  decodeFastInto,
  encodeWithPlan,
  geometryOf,
  kernel,
  planEncode,
  reportPhaseC,
  scanRanges,
  encodeRanges,
  type EncodePlan,
  splitRanges,
  stitch,
  finishStream,
  validateMetadataFast,
} from './codec.js';

/**
 * A kernel provider: code that each worker of a pool runs before the built-in JavaScript kernel, so that another
 * package (@ecf8/wasm) can supply its own worker-side decoder without @ecf8/fast depending on it.
 *  - `source`: the JavaScript source of a function `(startValue) => (message) => reply | undefined`, evaluated in
 *    every worker (self-contained: it sees no imports). It is called once with the value `start()` resolved to;
 *    the function it returns gets every message first and answers those it handles (`undefined` passes the message
 *    on to the JavaScript kernel). Messages are the pool's own ('decode', 'scan', 'encode'; see below).
 *  - `start()`: a structured-clonable value posted with each worker's first message (e.g. a WebAssembly.Module).
 */
export interface WorkerKernelProvider {
  source: string;
  start(): unknown | Promise<unknown>;
}

/** Worker program: the kernel plus a message loop (works as a Node eval worker and as a Web Worker script). */
function workerMain(kernelFactory: typeof createKernel, providerFactory: ((start: unknown) => (m: any) => unknown) | null): void {
  const k = kernelFactory();
  let provided: ((m: any) => unknown) | null = null;
  const R = new Float64Array(4);
  // Transport 'copy': input slices kept between an encode's two passes, by the caller's id.
  const kept = new Map<number, ArrayBuffer>();
  const handle = (m: any): any => {
    if (m.op === 'ping') {
      if (providerFactory) provided = providerFactory(m.start);
      return 'pong';
    }
    if (provided) {
      const answered = provided(m);
      if (answered !== undefined) return answered;
    }
    if (m.op === 'drop') return kept.delete(m.id);
    if (m.op === 'decode') {
      const s = new Uint8Array(m.stream, m.streamByteOffset, m.streamLength);
      m.out ??= new ArrayBuffer(m.outLength); // transport 'copy': the worker's own piece, transferred back
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
      if (m.keep !== undefined) kept.set(m.keep, m.input);
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
      if (m.kept !== undefined) {
        m.input = kept.get(m.kept);
        kept.delete(m.kept);
        if (!m.input) throw new Error(`no input kept under id ${m.kept}`);
      }
      m.out ??= new ArrayBuffer(m.outLength);
      const fp8 = new Uint8Array(m.input, m.inputByteOffset, m.inputLength);
      const out = new Uint8Array(m.out, 0, m.outLength);
      const tables = k.buildEncodeTables(m.codeLengths);
      const res = [];
      for (const [i0, i1, p0, p1, last] of m.ranges) res.push(k.encodeRange(fp8, i0, i1, p0, p1, last, m.g, tables, out, m.inputBase));
      return res;
    }
    return null;
  };
  // Transport 'copy': the message's `giveBack` buffer (the worker's output piece) goes back by transfer (this
  // worker's buffer is detached, not the caller's).
  const answer = (m: any, post: (reply: unknown, transfer: ArrayBuffer[]) => void): void => {
    try {
      const value = handle(m);
      if (m.giveBack) post({ ok: true, value: { res: value, buffer: m[m.giveBack] } }, [m[m.giveBack]]);
      else post({ ok: true, value }, []);
    } catch (e) {
      post({ ok: false, error: String((e as Error)?.stack ?? e) }, []);
    }
  };
  const g = globalThis as any;
  if (typeof g.require === 'function' || typeof g.process === 'object') {
    // Node eval worker (CommonJS scope).
    const { parentPort } = g.require('node:worker_threads');
    parentPort.on('message', (m: any) => answer(m, (r, t) => parentPort.postMessage(r, t)));
  } else {
    g.onmessage = (e: MessageEvent) => answer(e.data, (r, t) => g.postMessage(r, t));
  }
}

/**
 * The complete worker script, with a provider's code when given. `__name` guards against transpilers that inject a
 * keep-names helper.
 */
export function workerSource(provider?: WorkerKernelProvider | null): string {
  return (
    `"use strict";\nvar __name = (f) => f;\nif (typeof require === "function") globalThis.require = require;\n` +
    `(${workerMain.toString()})(${createKernel.toString()}, ${provider ? `(${provider.source})` : 'null'});\n`
  );
}

/** The worker script of a pool without a provider. */
export const WORKER_SOURCE = workerSource(null);

type Reply = { ok: boolean; value?: unknown; error?: string };

interface PoolWorker {
  post(msg: unknown, transfer: ArrayBuffer[]): void;
  /** The answer handler of the message in flight (one at a time). */
  onReply: ((reply: Reply) => void) | null;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown> | void;
  /** Called once the worker has answered its first message (a browser revokes the Blob URL it started from). */
  started(): void;
  chain: Promise<unknown>;
  /** Messages posted or waiting, not yet answered. */
  queued: number;
  /** Why the worker can take no more messages (it failed, exited or was terminated); null while it can. */
  dead: string | null;
}

/** Marks a worker dead and fails its message in flight (later ones fail when their turn comes). */
function die(w: PoolWorker, reason: string): void {
  if (w.dead !== null) return;
  w.dead = reason;
  w.onReply?.({ ok: false, error: reason });
}

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

/**
 * Imports a Node built-in at run time. The specifier is a variable so that bundlers targeting browsers
 * (esbuild --platform=browser, Vite) leave it alone instead of failing to resolve it; only Node ever calls this.
 */
function importNodeOnly(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/** How long a new worker may take to evaluate the kernel and answer a first message. */
export const WORKER_START_TIMEOUT_MS = 10_000;

async function spawn(source: string): Promise<PoolWorker> {
  const base = { onReply: null, chain: Promise.resolve(), queued: 0, dead: null };
  if (isNode) {
    const { Worker } = (await importNodeOnly('node:worker_threads')) as typeof import('node:worker_threads');
    const w = new Worker(source, { eval: true });
    const pw: PoolWorker = {
      ...base,
      post: (m, t) => w.postMessage(m, t),
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
      started: () => {},
    };
    w.on('message', (r) => pw.onReply?.(r));
    w.on('error', (e) => die(pw, `worker error: ${String(e)}`));
    w.on('exit', (code) => die(pw, `worker exited with code ${code}`));
    w.unref();
    return pw;
  }
  const G = globalThis as any;
  if (typeof G.Worker !== 'function' || typeof G.Blob !== 'function') fail(ErrorCode.BACKEND_UNAVAILABLE, 'no Worker support here');
  const url = G.URL.createObjectURL(new G.Blob([source], { type: 'text/javascript' }));
  let w: any;
  try {
    w = new G.Worker(url);
  } catch (e) {
    G.URL.revokeObjectURL(url);
    throw e;
  }
  const pw: PoolWorker = {
    ...base,
    post: (m, t) => w.postMessage(m, t),
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
    started: () => G.URL.revokeObjectURL(url),
  };
  w.onmessage = (e: MessageEvent) => pw.onReply?.(e.data);
  w.onmessageerror = () => pw.onReply?.({ ok: false, error: 'a reply could not be deserialized' });
  // A Content-Security-Policy that forbids the Blob URL, or a script error, arrives here.
  w.onerror = (e: ErrorEvent) => die(pw, `worker error: ${e.message || 'the worker could not start'}`);
  return pw;
}

/** The first message of a new worker; rejects when it fails or takes longer than WORKER_START_TIMEOUT_MS. */
function ping(w: PoolWorker, start: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (w.dead !== null) {
      reject(new Error(w.dead));
      return;
    }
    const timer = setTimeout(() => {
      w.onReply = null;
      reject(new Error(`no answer within ${WORKER_START_TIMEOUT_MS} ms`));
    }, WORKER_START_TIMEOUT_MS);
    w.onReply = (r) => {
      clearTimeout(timer);
      w.onReply = null;
      if (r.ok) resolve();
      else reject(new Error(r.error));
    };
    try {
      w.post({ op: 'ping', start }, []);
    } catch (e) {
      clearTimeout(timer);
      w.onReply = null;
      reject(e);
    }
  }).finally(() => w.started());
}

/** A started worker that has answered its first message, or ECF8_BACKEND_UNAVAILABLE saying why not. */
async function startWorker(provider: WorkerKernelProvider | null): Promise<PoolWorker> {
  let w: PoolWorker | null = null;
  try {
    const start = provider ? await provider.start() : undefined;
    w = await spawn(workerSource(provider));
    await ping(w, start);
    return w;
  } catch (e) {
    if (w) {
      die(w, 'failed to start');
      await w.terminate();
    }
    const reason = (e as Error)?.message ?? String(e);
    return fail(ErrorCode.BACKEND_UNAVAILABLE, `a worker did not start: ${reason}${isNode ? '' : ' (a Content-Security-Policy may forbid Blob-URL workers)'}`);
  }
}

/**
 * Whether this environment can run the worker paths: Node, or a browser with Web Workers and Blob URLs. (Without
 * SharedArrayBuffer — a page that is not cross-origin isolated — they use transport 'copy'.)
 */
export function workersAvailable(): { available: true } | { available: false; reason: string } {
  if (isNode) return { available: true };
  const G = globalThis as any;
  if (typeof G.Worker !== 'function') return { available: false, reason: 'no Web Worker support' };
  if (typeof G.Blob !== 'function' || typeof G.URL?.createObjectURL !== 'function') return { available: false, reason: 'no Blob URLs to start a worker from' };
  return { available: true };
}

/** How data reaches the workers (see the top of this file). */
export type Transport = 'shared' | 'copy';

/**
 * The transport asked for, or 'shared' where SharedArrayBuffer exists; null (work on the calling thread) where it
 * does not and none was asked for. Throws ECF8_INVALID_ARGUMENT / ECF8_BACKEND_UNAVAILABLE for a transport that is
 * unknown / impossible here — on 2 cores 'copy' measured slower than one thread in Chromium (see
 * docs/benchmarks.md, "Browser"), so workers without shared memory are opt-in.
 */
export function chooseTransport(options: ParallelOptions): Transport | null {
  const hasShared = typeof SharedArrayBuffer === 'function';
  const t = options.transport;
  if (t === undefined) return hasShared ? 'shared' : null;
  if (t !== 'shared' && t !== 'copy') fail(ErrorCode.INVALID_ARGUMENT, `transport ${String(t)} is not 'shared' or 'copy'`);
  if (t === 'shared' && !hasShared) {
    fail(ErrorCode.BACKEND_UNAVAILABLE, "SharedArrayBuffer is unavailable (a web page needs cross-origin isolation); use transport 'copy'");
  }
  return t;
}

/** Whether a call of `n` elements is too small for the workers, or there are none. */
function onCallingThread(n: number, options: ParallelOptions): boolean {
  return n < (options.minParallelElements ?? 1 << 20) || workersAvailable().available === false;
}

/** One worker per core: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export async function defaultThreadCount(): Promise<number> {
  if (isNode) {
    const os = (await importNodeOnly('node:os')) as typeof import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return Math.max(1, Number((globalThis as any).navigator?.hardwareConcurrency) || 2);
}

/**
 * A fixed set of workers; one task per worker at a time, queued per worker. A worker that dies is replaced when its
 * next message comes; its message in flight fails with the reason. terminate() fails every message in flight or
 * queued.
 */
export class WorkerPool {
  private workers: PoolWorker[] = [];
  private starting: Promise<void> | null = null;
  private pending = 0;
  private size: number;
  private scratch: SharedArrayBuffer[] = [];
  /** Incremented by terminate(): a start that was under way when it ran installs nothing. */
  private generation = 0;

  private provider: WorkerKernelProvider | null;

  /**
   * `size` workers (default: one per core), running `provider`'s code before the JavaScript kernel when given (see
   * {@link WorkerKernelProvider}). Workers start on first use.
   */
  constructor(size = 0, provider: WorkerKernelProvider | null = null) {
    this.provider = provider;
    if (!Number.isInteger(size) || size < 0) fail(ErrorCode.INVALID_ARGUMENT, `worker count ${size} is not a positive integer`);
    this.size = size;
  }

  /**
   * Starts the workers if needed (each must answer a first message) and resolves to their number; rejects with
   * ECF8_BACKEND_UNAVAILABLE when one cannot start (a later call tries again).
   */
  async ready(): Promise<number> {
    if (this.workers.length === 0) {
      const generation = this.generation;
      const starting = (this.starting ??= (async () => {
        if (this.size === 0) this.size = await defaultThreadCount();
        const started = await Promise.allSettled(Array.from({ length: this.size }, () => startWorker(this.provider)));
        const failed = started.find((r) => r.status === 'rejected');
        if (failed || generation !== this.generation) {
          await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.terminate() : undefined)));
          if (failed) throw failed.reason;
          fail(ErrorCode.BACKEND_UNAVAILABLE, 'the worker pool was terminated while its workers were starting');
        }
        this.workers = started.map((r) => (r as PromiseFulfilledResult<PoolWorker>).value);
      })());
      try {
        await starting;
      } catch (e) {
        if (this.starting === starting) this.starting = null;
        throw e;
      }
    }
    return this.workers.length;
  }

  /**
   * Runs one message on worker `i` and resolves with its reply. Buffers in `transfer` are moved, not copied, which
   * detaches them in the calling thread (see the top of this file for what that costs; @ecf8/fast never does). When the
   * workers are started and worker `i` is idle, the message is posted before this returns, so a caller can prepare
   * the next worker's message while this one already works.
   */
  run<R>(i: number, msg: unknown, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.workers.length === 0) return this.ready().then(() => this.run<R>(i, msg, transfer));
    const slot = i % this.workers.length;
    const w = this.workers[slot];
    if (w.dead !== null && w.queued === 0) {
      // Replace a dead worker once nothing waits on it any more.
      const replacement = startWorker(this.provider);
      const task = replacement.then((fresh) => {
        if (this.workers[slot] === w) this.workers[slot] = fresh;
        else void fresh.terminate();
        return this.run<R>(i, msg, transfer);
      });
      return task;
    }
    const start = () =>
      new Promise<R>((resolve, reject) => {
        if (w.dead !== null) {
          w.queued--;
          reject(new Error(`ecf8 worker failed: ${w.dead}`));
          return;
        }
        if (this.pending++ === 0) this.workers.forEach((x) => x.ref());
        const settle = () => {
          w.onReply = null;
          w.queued--;
          if (--this.pending === 0) this.workers.forEach((x) => x.unref());
        };
        w.onReply = (r) => {
          settle();
          if (r.ok) resolve(r.value as R);
          else reject(new Error(`ecf8 worker failed: ${r.error}`));
        };
        try {
          w.post(msg, transfer);
        } catch (e) {
          settle();
          reject(e);
        }
      });
    const task = w.queued++ === 0 ? start() : w.chain.then(start);
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

  /** Stops the workers; every message in flight or queued fails. The pool starts new workers if used again. */
  async terminate(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.starting = null;
    this.generation++;
    this.scratch = [];
    for (const w of ws) die(w, 'the worker pool was terminated');
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
  /**
   * 'shared' (SharedArrayBuffer) or 'copy' (each worker gets a copy of its part, its result comes back to be
   * copied into place). Default: 'shared' where SharedArrayBuffer exists; where it does not (a web page that is
   * not cross-origin isolated), the work runs on the calling thread unless 'copy' is asked for — on 2 cores the
   * copies cost more than the second core gains (docs/benchmarks.md, "Browser"), but 'copy' with
   * `useCallingThread: false` keeps the page's thread free while workers decode. 'shared' where it does not exist
   * fails with ECF8_BACKEND_UNAVAILABLE.
   */
  transport?: Transport;
  /**
   * Transport 'copy' only: the calling thread also takes one worker's share (it is blocked for that long, as it is
   * for the copies anyway), and the pool's first worker stays idle; its share then needs no copies. Default true.
   */
  useCallingThread?: boolean;
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

/**
 * Splits blocks [0, nBlocks) into `parts` runs with about equal output sizes, except that the first run's size is
 * `firstWeight` times the others'.
 */
function splitBlocks(parsed: ParsedStream, parts: number, firstWeight = 1): number[] {
  const { stream, layout } = parsed;
  const cuts = [0];
  const n = layout.elementCount;
  const unit = n / (parts - 1 + firstWeight);
  let b = 0;
  for (let k = 1; k < parts; k++) {
    const target = unit * (firstWeight + k - 1);
    while (b < layout.nBlocks && readPos(stream, layout.positionsOffset + 8 * b) < target) b++;
    if (b > cuts[cuts.length - 1] && b < layout.nBlocks) cuts.push(b);
  }
  cuts.push(layout.nBlocks);
  return cuts;
}

/** Where byte ranges `parts` start when packed one after another, and their total size. */
function packParts(parts: [number, number][]): { at: number[]; size: number } {
  const at: number[] = [];
  let size = 0;
  for (const [a, b] of parts) {
    at.push(size);
    size += Math.max(0, b - a);
  }
  return { at, size };
}

/**
 * Copies byte ranges `parts` of `src` into one new ArrayBuffer, one after another; returns it and where each part
 * starts in it.
 */
function gather(src: Uint8Array, parts: [number, number][]): { buffer: ArrayBuffer; at: number[] } {
  const { at, size } = packParts(parts);
  const buffer = new ArrayBuffer(size);
  const view = new Uint8Array(buffer);
  parts.forEach(([a, b], k) => {
    if (b > a) view.set(src.subarray(a, b), at[k]);
  });
  return { buffer, at };
}

/**
 * The geometry of a gathered slice: each section offset moved so that an absolute index into that section lands in
 * the slice (`parts` in the order positions, gaps, exponents, nibbles).
 */
function sliceGeometry(g: Geometry, parts: [number, number][], at: number[]): Geometry {
  return {
    ...g,
    positionsOffset: at[0] - (parts[0][0] - g.positionsOffset),
    gapsOffset: at[1] - (parts[1][0] - g.gapsOffset),
    exponentsOffset: at[2] - (parts[2][0] - g.exponentsOffset),
    nibblesOffset: at[3] - (parts[3][0] - g.nibblesOffset),
  };
}

/**
 * What phase C of blocks [b0, b1) reads (kernel.ts decodeRange): output positions b0..b1, the gaps of threads
 * b0 T .. b1 T (the crossing into block b1's first window is checked), the blocks' exponent bytes plus 8 (a lane's
 * last code and the table loads run past its end; the section's 16 padding bytes cover the last block), and the
 * nibbles of elements pos[b0] .. pos[b1].
 */
function decodeParts(parsed: ParsedStream, b0: number, b1: number): { parts: [number, number][]; o0: number; o1: number } {
  const { stream, layout } = parsed;
  const T = layout.threadsPerBlock;
  const o0 = readPos(stream, layout.positionsOffset + 8 * b0);
  const o1 = readPos(stream, layout.positionsOffset + 8 * b1);
  const exEnd = layout.exponentsOffset + layout.exponentsSize;
  const parts: [number, number][] = [
    [layout.positionsOffset + 8 * b0, layout.positionsOffset + 8 * (b1 + 1)],
    [layout.gapsOffset + Math.floor((b0 * T) / 2), Math.min(layout.exponentsOffset, layout.gapsOffset + Math.floor((b1 * T) / 2) + 1)],
    [layout.exponentsOffset + b0 * 8 * T, Math.min(exEnd, layout.exponentsOffset + b1 * 8 * T + 8)],
    [layout.nibblesOffset + Math.floor(o0 / 2), layout.nibblesOffset + Math.ceil(o1 / 2)],
  ];
  return { parts, o0, o1 };
}

/**
 * Transport 'copy', decode: the calling thread's part is this many times a worker's. Measured on 2 cores,
 * alpha-stable-1.8 16/32 MiB, speedup over one thread: 1.0 -> 1.14/1.25x, 1.25 -> 1.31/1.48x, 1.5 -> 1.25/1.45x.
 */
const CALLER_SHARE = 1.25;

async function decodeParsedParallel(
  parsed: ParsedStream, out: Uint8Array, offset: number, options: DecodeOptions & ParallelOptions, transport: Transport,
): Promise<void> {
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
  const threads = await pool.ready();
  // Transport 'copy' with the calling thread taking part 0: the workers start later (their copies go out first) and
  // their first detach slows their typed-array code (see the top of this file), so part 0 is made larger.
  const byCaller = transport === 'copy' && (options.useCallingThread ?? true) && threads > 1;
  const cuts = splitBlocks(parsed, threads, byCaller ? CALLER_SHARE : 1);
  const callerPart = byCaller && cuts.length > 2; // else one part only: a worker takes it
  const g: Geometry = geometryOf(layout);
  const common = { op: 'decode', codeLengths: header.codeLengths, crc: verify };
  let flat: number[][];
  let afterChecks = () => {}; // 'shared' through a pooled buffer: copy the result out once it passed
  if (transport === 'shared') {
    const s = toShared(pool, parsed.stream, 0);
    const direct = isShared(out);
    const target = direct ? out : new Uint8Array(pool.shared(1, n), 0, n);
    const replies = await Promise.all(
      cuts.slice(0, -1).map((b0, k) =>
        pool.run<number[][]>(k, {
          ...common,
          stream: s.buffer,
          streamByteOffset: s.byteOffset,
          streamLength: s.length,
          out: target.buffer,
          outByteOffset: target.byteOffset,
          outLength: target.length,
          outOffset: direct ? offset : 0,
          g,
          ranges: [[b0, cuts[k + 1]]],
        }),
      ),
    );
    flat = replies.flat();
    if (!direct) afterChecks = () => out.set(target.subarray(0, n), offset);
  } else {
    // The calling thread decodes part 0 itself, straight into the target, once the workers have their messages:
    // its part costs no copies (see ParallelOptions.useCallingThread).
    const replies = Promise.all(
      cuts.slice(callerPart ? 1 : 0, -1).map(async (b0, j) => {
        const k = callerPart ? j + 1 : j;
        const { parts, o0, o1 } = decodeParts(parsed, b0, cuts[k + 1]);
        const { buffer, at } = gather(parsed.stream, parts);
        const msg = {
          ...common,
          stream: buffer, // cloned, not transferred (see the top of this file)
          streamByteOffset: 0,
          streamLength: buffer.byteLength,
          out: null, // the worker allocates its piece and transfers it back
          outByteOffset: 0,
          outLength: o1 - o0,
          outOffset: -o0, // element e goes to piece[e - o0]
          g: sliceGeometry(g, parts, at),
          ranges: [[b0, cuts[k + 1]]],
          giveBack: 'out',
        };
        const r = await pool.run<{ res: number[][]; buffer: ArrayBuffer }>(k, msg);
        // Placed at once, while the other workers still decode (on an error the target's bytes in [offset,
        // offset + n) are unspecified anyway, spec §11.2).
        out.set(new Uint8Array(r.buffer), offset + o0);
        return r.res;
      }),
    );
    let own: number[][] = [];
    if (callerPart) {
      const R = new Float64Array(3);
      kernel.decodeRange(parsed.stream, g, kernel.buildDecodeTables(header.codeLengths), out, offset, cuts[0], cuts[1], verify, R);
      own = [[R[0], R[1], R[2]]];
    }
    flat = [...own, ...(await replies).flat()];
  }
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
  afterChecks();
}

/**
 * Decodes with worker threads. With transport 'shared' the result lives in a SharedArrayBuffer (no copy). Same
 * bytes or the same error code as the reference decoder.
 */
export async function decodeParallel(stream: Uint8Array, options: DecodeOptions & ParallelOptions = {}): Promise<Uint8Array> {
  const transport = chooseTransport(options);
  const parsed = parseStream(stream, options);
  const n = parsed.layout.elementCount;
  if (transport === null || onCallingThread(n, options)) {
    const out = new Uint8Array(n);
    decodeFastInto(stream, out, 0, options);
    return out;
  }
  const out = transport === 'shared' ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
  await decodeParsedParallel(parsed, out, 0, options, transport);
  return out;
}

/**
 * Parallel decodeInto. Transport 'shared': a target in shared memory is written directly, any other one through a
 * pooled buffer; 'copy': the workers' pieces are copied into the target.
 */
export async function decodeParallelInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: DecodeOptions & ParallelOptions = {}): Promise<number> {
  checkDecodeTarget(out, offset);
  const transport = chooseTransport(options);
  const parsed = parseStream(stream, options);
  const n = parsed.layout.elementCount;
  checkOutputRoom(parsed, out.length, offset);
  if (transport === null || onCallingThread(n, options)) {
    decodeFastInto(stream, out, offset, options);
    return n;
  }
  await decodeParsedParallel(parsed, out, offset, options, transport);
  return n;
}

/**
 * What encodeRange writes for ranges [rA, rB] (kernel.ts), as `parts`: output positions and gaps of the windows
 * after the first range's first one up to the last range's last one, exponent bytes from the first range's first
 * window on to its last byte (the whole section for the last range; 8 bytes of slack otherwise, never written), and
 * the nibbles of its elements. Of the exponent bytes only [exFrom, exTo) are its own: those before its first code
 * and the one holding its last partial code belong to the neighbouring ranges (stitch ORs the partial bytes).
 */
function encodeParts(plan: EncodePlan, cuts: number[], rA: number, rB: number, lastRange: number): { parts: [number, number][]; exFrom: number; exTo: number } {
  const L = plan.layout;
  const T = L.threadsPerBlock;
  const p0 = plan.bitStarts[rA];
  const p1 = plan.bitStarts[rB + 1];
  const firstThread = Math.floor(p0 / 64) + 1;
  const lastThread = Math.floor(p1 / 64);
  const exEnd = L.exponentsOffset + L.exponentsSize;
  const exTo = rB === lastRange ? exEnd : L.exponentsOffset + Math.floor(p1 / 8);
  const parts: [number, number][] = [
    [L.positionsOffset + 8 * Math.ceil(firstThread / T), Math.min(L.gapsOffset, L.positionsOffset + 8 * (Math.floor(lastThread / T) + 1))],
    [L.gapsOffset + (firstThread >>> 1), Math.min(L.exponentsOffset, L.gapsOffset + (lastThread >>> 1) + 1)],
    [L.exponentsOffset + Math.floor(p0 / 64) * 8, Math.min(exEnd, exTo + 8)],
    [L.nibblesOffset + cuts[rA] / 2, L.nibblesOffset + Math.ceil(cuts[rB + 1] / 2)],
  ];
  return { parts, exFrom: L.exponentsOffset + Math.floor(p0 / 8), exTo };
}

/** Puts a worker's encodeParts pieces into the stream: gaps OR-ed (edge bytes are shared), the rest copied. */
function placeEncoded(out: Uint8Array, piece: Uint8Array, parts: [number, number][], at: number[], exFrom: number, exTo: number): void {
  const [pos, gaps, ex, nib] = parts;
  if (pos[1] > pos[0]) out.set(piece.subarray(at[0], at[0] + pos[1] - pos[0]), pos[0]);
  for (let j = gaps[0]; j < gaps[1]; j++) out[j] |= piece[at[1] + j - gaps[0]];
  out.set(piece.subarray(at[2] + exFrom - ex[0], at[2] + exTo - ex[0]), exFrom);
  if (nib[1] > nib[0]) out.set(piece.subarray(at[3], at[3] + nib[1] - nib[0]), nib[0]);
}

/** Ids of the inputs workers keep between an encode's two passes (transport 'copy'). */
let nextKeepId = 1;

/**
 * Parallel encoder; the stream is byte-identical to the reference encoder's. With transport 'shared' it lives in a
 * SharedArrayBuffer.
 */
export async function encodeParallel(fp8: Uint8Array, options: EncodeOptions & ParallelOptions = {}): Promise<Uint8Array> {
  const T = checkEncodeArgs(fp8, options);
  const transport = chooseTransport(options);
  const n = fp8.length;
  const pool = options.pool ?? getDefaultPool();
  if (transport === null || onCallingThread(n, options)) {
    const { encodeFast } = await import('./codec.js');
    return encodeFast(fp8, options);
  }
  const threads = await pool.ready();
  const cuts = splitRanges(n, threads);
  const nRanges = cuts.length - 1;
  // Contiguous runs of ranges per worker.
  const per = Math.ceil(nRanges / threads);
  const groups: number[][] = [];
  for (let r = 0; r < nRanges; r += per) groups.push(Array.from({ length: Math.min(per, nRanges - r) }, (_, j) => r + j));
  const rangesOf = (rs: number[]) => rs.map((r) => [cuts[r], cuts[r + 1]]);

  if (transport === 'shared') {
    const input = toShared(pool, fp8, 0);
    const common = { input: input.buffer, inputByteOffset: input.byteOffset, inputLength: n };
    const scans = await Promise.all(groups.map((rs, k) => pool.run<{ h: Float64Array; crc: number }[]>(k, { op: 'scan', ...common, ranges: rangesOf(rs) })));
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

  // Transport 'copy': each worker gets a copy of its elements (cloned, not transferred), keeps it under this call's
  // id between the two passes, and transfers back its encodeParts pieces.
  const id = nextKeepId++;
  let encoded = false;
  // The calling thread takes group 0 itself (no copies; see ParallelOptions.useCallingThread).
  const byCaller = (options.useCallingThread ?? true) && groups.length > 1;
  try {
    const scanning = Promise.all(
      groups.map((rs, k) => {
        if (byCaller && k === 0) return null;
        const base = cuts[rs[0]];
        const input = fp8.slice(base, cuts[rs[rs.length - 1] + 1]).buffer;
        const msg = { op: 'scan', input, inputByteOffset: 0, inputLength: input.byteLength, keep: id, ranges: rangesOf(rs).map(([a, b]) => [a - base, b - base]) };
        return pool.run<{ h: Float64Array; crc: number }[]>(k, msg).then((res) => ({ res, base, length: input.byteLength }));
      }),
    );
    const own = byCaller ? scanRanges(fp8, cuts, groups[0]) : [];
    const scans = await scanning;
    const flat = [...own, ...scans.flatMap((x) => x?.res ?? [])];
    const plan = planEncode(n, T, cuts, flat.map((x) => x.h), flat.map((x) => x.crc));
    const L = plan.layout;
    const out = new Uint8Array(L.streamSize);
    const g = geometryOf(L);
    encoded = true; // from here every worker gets its encode message, which consumes the kept input
    const encoding = Promise.all(
      groups.map(async (rs, k) => {
        if (byCaller && k === 0) return [];
        const { parts, exFrom, exTo } = encodeParts(plan, cuts, rs[0], rs[rs.length - 1], nRanges - 1);
        const { at, size } = packParts(parts);
        const msg = {
          op: 'encode',
          kept: id,
          inputByteOffset: 0,
          inputLength: scans[k]!.length,
          inputBase: scans[k]!.base,
          out: null,
          outLength: size,
          codeLengths: plan.codeLengths,
          g: sliceGeometry(g, parts, at),
          ranges: rs.map((r) => [cuts[r], cuts[r + 1], plan.bitStarts[r], plan.bitStarts[r + 1], r === nRanges - 1]),
          giveBack: 'out',
        };
        const r = await pool.run<{ res: number[]; buffer: ArrayBuffer }>(k, msg);
        placeEncoded(out, new Uint8Array(r.buffer), parts, at, exFrom, exTo);
        return r.res;
      }),
    );
    // Group 0 on this thread, straight into the stream (edge gap bytes are OR-ed, as the pieces' are).
    const ownPartials = byCaller ? encodeRanges(fp8, plan, cuts, groups[0], out) : [];
    const partials = await encoding;
    if (byCaller) partials[0] = ownPartials;
    stitch(out, plan, partials.flat());
    finishStream(out, L, plan.codeLengths, plan.contentCrc);
    return out;
  } finally {
    // A failure before the encode messages went out leaves the kept inputs in the workers: drop them.
    if (!encoded) await Promise.allSettled(groups.map((_, k) => (byCaller && k === 0 ? null : pool.run(k, { op: 'drop', id }))));
  }
}

export { encodeWithPlan };
