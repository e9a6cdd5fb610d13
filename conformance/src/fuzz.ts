/**
 * A seeded, reproducible mutation fuzzer over valid streams. Every decoder must either return the exact original
 * bytes or throw an Ecf8Error with the same spec code as the reference decoder — never crash, hang, or return other
 * bytes. Host-side validators of GPU backends (phases A and B only) must reject exactly what the reference rejects
 * in those phases, with the same code.
 */
import {
  crc32cUpdate,
  decode as referenceDecode,
  decodeGpuOrder,
  ErrorCode,
  HeaderOffset,
  HEADER_SIZE,
  isEcf8Error,
  STREAM_ERROR_CODES,
} from '@ecf8/core';

/** A decoder under fuzz: full decoders return bytes; validators (`validateOnly`) only check phases A and B. */
export interface FuzzTarget {
  name: string;
  run: (stream: Uint8Array) => Uint8Array | void | Promise<Uint8Array | void>;
  validateOnly?: boolean;
}

export const PHASE_C_CODES: readonly string[] = [ErrorCode.GAP_MISMATCH, ErrorCode.POSITION_MISMATCH, ErrorCode.CONTENT_CHECKSUM_MISMATCH];

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Valid streams to mutate, with their decoded bytes. */
  corpus: { name: string; stream: Uint8Array; decoded: Uint8Array }[];
  targets: FuzzTarget[];
  /** A decode slower than this counts as a hang (default 2000 ms). */
  hangMs?: number;
  /** Called with progress every `progressEvery` iterations. */
  onProgress?: (done: number, stats: FuzzStats) => void;
  progressEvery?: number;
}

export interface FuzzFailure {
  iteration: number;
  target: string;
  mutator: string;
  base: string;
  problem: string;
  stream: Uint8Array;
}

export interface FuzzStats {
  iterations: number;
  decodes: number;
  accepted: number;
  byCode: Record<string, number>;
  byMutator: Record<string, number>;
  failures: FuzzFailure[];
  maxDecodeMs: number;
  elapsedMs: number;
}

/** xorshift128+-style 32-bit generator, deterministic for a seed. */
export function makeRandom(seed: number) {
  let a = seed >>> 0 || 0x9e3779b9;
  let b = (seed * 0x85ebca6b) >>> 0 || 0x27d4eb2f;
  const next = () => {
    let t = a;
    const s = b;
    a = s;
    t ^= t << 11;
    t ^= t >>> 8;
    b = (t ^ s ^ (s >>> 19)) >>> 0;
    return b;
  };
  return {
    u32: next,
    int: (n: number) => (n <= 0 ? 0 : next() % n),
    chance: (p: number) => next() / 4294967296 < p,
  };
}

type Rand = ReturnType<typeof makeRandom>;

function dv(s: Uint8Array) {
  return new DataView(s.buffer, s.byteOffset, s.byteLength);
}

/** Recomputes metadata_crc32c using the stored section sizes (clamped to the stream), so edits reach phase B/C. */
export function resealMetadata(s: Uint8Array): void {
  if (s.length < HEADER_SIZE) return;
  const d = dv(s);
  const positions = Number(d.getBigUint64(HeaderOffset.positionsSize, true) & 0xffffffffn);
  const gaps = Number(d.getBigUint64(HeaderOffset.gapsSize, true) & 0xffffffffn);
  const end = Math.min(s.length, HEADER_SIZE + positions + gaps);
  let crc = crc32cUpdate(0, s, 0, HeaderOffset.metadataCrc32c);
  crc = crc32cUpdate(crc, s, HEADER_SIZE, end);
  d.setUint32(HeaderOffset.metadataCrc32c, crc, true);
}

/**
 * Copies of a valid stream with one output position changed in a way phase B rejects: what a decoder's phase C sees
 * when another thread writes to a stream in shared memory after phase B passed. Phase C must then report a gap or
 * position mismatch and write nothing outside its range (tests of @ecf8/fast's and @ecf8/wasm's range decoders).
 */
export function changedPositions(stream: Uint8Array, layout: { positionsOffset: number; nBlocks: number; elementCount: number }): { what: string; stream: Uint8Array }[] {
  const n = layout.elementCount;
  const cases: [string, number, number][] = [
    ['far past the output', 1, 2 ** 40],
    ['past the output', 1, n + 5],
    ['the last position past n', layout.nBlocks, n + 100],
    ['decreasing', 2, 0],
    ['the first one moved', 0, 7],
  ];
  return cases.map(([what, block, value]) => {
    const s = stream.slice();
    dv(s).setBigUint64(layout.positionsOffset + 8 * block, BigInt(value), true);
    return { what: `${what}: pos[${block}] = ${value}`, stream: s };
  });
}

const INTERESTING_U64 = [0n, 1n, 2n, 7n, 8n, 63n, 64n, 65n, 511n, 512n, 4096n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

type Mutator = (s: Uint8Array, r: Rand, corpus: Uint8Array[]) => Uint8Array;

const u64Fields = [
  HeaderOffset.elementCount,
  HeaderOffset.exponentBitCount,
  HeaderOffset.positionsSize,
  HeaderOffset.gapsSize,
  HeaderOffset.exponentsSize,
  HeaderOffset.nibblesSize,
];

export const MUTATORS: Record<string, Mutator> = {
  'bit-flip': (s, r) => {
    const out = s.slice();
    const flips = 1 + r.int(4);
    for (let i = 0; i < flips; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  'byte-edit': (s, r) => {
    const out = s.slice();
    const edits = 1 + r.int(4);
    for (let i = 0; i < edits; i++) out[r.int(out.length)] = r.int(256);
    return out;
  },
  truncate: (s, r) => s.slice(0, r.int(s.length)),
  extend: (s, r) => {
    const out = new Uint8Array(s.length + 1 + r.int(64));
    out.set(s);
    if (r.chance(0.5)) for (let i = s.length; i < out.length; i++) out[i] = r.int(256);
    return out;
  },
  'header-u64': (s, r) => {
    const out = s.slice();
    if (out.length < HEADER_SIZE) return out;
    const off = u64Fields[r.int(u64Fields.length)];
    const cur = dv(out).getBigUint64(off, true);
    const choice = r.int(4);
    const v = choice === 0 ? INTERESTING_U64[r.int(INTERESTING_U64.length)] : choice === 1 ? cur + 1n : choice === 2 ? (cur > 0n ? cur - 1n : 0n) : BigInt(r.u32()) * BigInt(r.int(1 << 20) + 1);
    dv(out).setBigUint64(off, BigInt.asUintN(64, v), true);
    if (r.chance(0.7)) resealMetadata(out);
    return out;
  },
  'header-small': (s, r) => {
    const out = s.slice();
    if (out.length < HEADER_SIZE) return out;
    const which = r.int(5);
    if (which === 0) dv(out).setUint32(HeaderOffset.threadsPerBlock, [0, 1, 3, 16, 64, 512, 1024, 2048, 0xffffffff][r.int(9)], true);
    else if (which === 1) out[HeaderOffset.codeLengths + r.int(16)] = r.int(18);
    else if (which === 2) out[HeaderOffset.bytesPerThread] = [0, 4, 8, 16][r.int(4)];
    else if (which === 3) out[HeaderOffset.version + r.int(2)] = r.int(4);
    else out[HeaderOffset.reservedA] = r.int(2);
    if (r.chance(0.7)) resealMetadata(out);
    return out;
  },
  'gap-edit': (s, r) => {
    const out = s.slice();
    if (out.length < HEADER_SIZE) return out;
    const positions = Number(dv(out).getBigUint64(HeaderOffset.positionsSize, true));
    const gaps = Number(dv(out).getBigUint64(HeaderOffset.gapsSize, true));
    if (gaps === 0) return out;
    const at = HEADER_SIZE + positions + r.int(gaps);
    out[at] = r.chance(0.5) ? out[at] ^ (1 << r.int(8)) : r.int(256);
    if (r.chance(0.8)) resealMetadata(out);
    return out;
  },
  'position-edit': (s, r) => {
    const out = s.slice();
    if (out.length < HEADER_SIZE) return out;
    const positions = Number(dv(out).getBigUint64(HeaderOffset.positionsSize, true));
    if (positions < 8) return out;
    const at = HEADER_SIZE + 8 * r.int(positions / 8);
    const cur = dv(out).getBigUint64(at, true);
    const delta = BigInt(r.int(5)) - 2n;
    dv(out).setBigUint64(at, r.chance(0.8) ? BigInt.asUintN(64, cur + delta) : INTERESTING_U64[r.int(INTERESTING_U64.length)], true);
    if (r.chance(0.8)) resealMetadata(out);
    return out;
  },
  splice: (s, r, corpus) => {
    const other = corpus[r.int(corpus.length)];
    const out = s.slice();
    const len = 1 + r.int(Math.min(64, other.length));
    const from = r.int(Math.max(1, other.length - len));
    const to = r.int(Math.max(1, out.length - len));
    out.set(other.subarray(from, from + len).subarray(0, Math.max(0, out.length - to)), to);
    if (r.chance(0.5)) resealMetadata(out);
    return out;
  },
};

type Outcome = { bytes: Uint8Array } | { code: string } | { crash: string };

async function outcomeOf(target: FuzzTarget, stream: Uint8Array): Promise<{ o: Outcome; ms: number }> {
  const t0 = performance.now();
  try {
    const bytes = await target.run(stream);
    return { o: { bytes: bytes ?? new Uint8Array(0) }, ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    // Duck-typed as well as instanceof: a backend loaded from its build carries its own copy of @ecf8/core.
    if (isEcf8Error(e)) return { o: { code: e.code }, ms };
    const code = (e as { name?: string; code?: unknown }).code;
    if ((e as { name?: string }).name === 'Ecf8Error' && typeof code === 'string') return { o: { code }, ms };
    return { o: { crash: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, ms };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs the fuzzer. The reference decoder is always the first target and the judge of expected codes. */
export async function fuzz(options: FuzzOptions): Promise<FuzzStats> {
  const r = makeRandom(options.seed);
  const names = Object.keys(MUTATORS);
  const corpusStreams = options.corpus.map((c) => c.stream);
  const reference: FuzzTarget = { name: 'reference', run: (s) => referenceDecode(s) };
  const targets = [reference, ...options.targets.filter((t) => t.name !== 'reference')];
  const hangMs = options.hangMs ?? 2000;
  const stats: FuzzStats = { iterations: 0, decodes: 0, accepted: 0, byCode: {}, byMutator: {}, failures: [], maxDecodeMs: 0, elapsedMs: 0 };
  const started = performance.now();
  const validCodes = new Set<string>([...STREAM_ERROR_CODES, ErrorCode.LIMIT_EXCEEDED]);
  for (let it = 0; it < options.iterations; it++) {
    const base = options.corpus[r.int(options.corpus.length)];
    const mutator = names[r.int(names.length)];
    const mutated = MUTATORS[mutator](base.stream, r, corpusStreams);
    stats.byMutator[mutator] = (stats.byMutator[mutator] ?? 0) + 1;
    const fail = (target: string, problem: string) =>
      stats.failures.length < 100 && stats.failures.push({ iteration: it, target, mutator, base: base.name, problem, stream: mutated });
    let want: Outcome | undefined;
    for (const target of targets) {
      const { o, ms } = await outcomeOf(target, mutated);
      stats.decodes++;
      stats.maxDecodeMs = Math.max(stats.maxDecodeMs, ms);
      if (ms > hangMs) fail(target.name, `took ${ms.toFixed(0)} ms (hang?)`);
      if ('crash' in o) {
        fail(target.name, `threw a non-ECF8 error: ${o.crash}`);
        continue;
      }
      if ('code' in o && !validCodes.has(o.code)) fail(target.name, `unexpected code ${o.code}`);
      if (target === reference) {
        want = o;
        if ('bytes' in o) {
          stats.accepted++;
          if (!equalBytes(o.bytes, base.decoded)) fail(target.name, 'returned bytes that differ from the original');
        } else stats.byCode[o.code] = (stats.byCode[o.code] ?? 0) + 1;
        continue;
      }
      if (!want || 'crash' in want) continue;
      if (target.validateOnly) {
        const refPhaseAB = 'code' in want && !PHASE_C_CODES.includes(want.code);
        if (refPhaseAB && !('code' in o && o.code === (want as { code: string }).code)) {
          fail(target.name, `validation gave ${'code' in o ? o.code : 'success'}, reference ${(want as { code: string }).code}`);
        }
        if (!refPhaseAB && 'code' in o) fail(target.name, `validation rejected (${o.code}) what passes phases A and B`);
        continue;
      }
      if ('code' in want) {
        if (!('code' in o) || o.code !== want.code) fail(target.name, `gave ${'code' in o ? o.code : 'bytes'}, reference ${want.code}`);
      } else if (!('bytes' in o) || !equalBytes(o.bytes, want.bytes)) fail(target.name, `gave ${'code' in o ? o.code : 'different bytes'}, reference returned bytes`);
    }
    stats.iterations++;
    if (options.onProgress && options.progressEvery && (it + 1) % options.progressEvery === 0) {
      stats.elapsedMs = performance.now() - started;
      options.onProgress(it + 1, stats);
    }
  }
  stats.elapsedMs = performance.now() - started;
  return stats;
}

/** The core's own decoders as fuzz targets. */
export const coreTargets: FuzzTarget[] = [{ name: 'reference-gpu-order', run: (s) => decodeGpuOrder(s) }];
