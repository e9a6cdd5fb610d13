import { afterAll, describe, expect, it } from 'vitest';
import { skewedFp8, threadsPerBlock } from '../../../conformance/src/arbitraries.js';
import fc from 'fast-check';
import { decode as referenceDecode, encode as referenceEncode, crc32c as referenceCrc, maxEncodedSize, parseStream } from '@ecf8/core';
import { describeBackendSuite } from '../../../conformance/src/backend-suite.js';
import { changedPositions } from '../../../conformance/src/fuzz.js';
import { firstDifference, loadVectors } from '../../../conformance/src/vectors.js';
import {
  cpuFastBackend,
  cpuWorkersBackend,
  crc32c,
  crc32cCombine,
  crc32cUpdate,
  decodeFast,
  decodeFastInto,
  decodeParallel,
  decodeParallelInto,
  encodeFast,
  encodeFastInto,
  encodeParallel,
  WorkerPool,
} from '../src/index.js';
import { geometryOf, kernel, planEncode, encodeWithPlan } from '../src/codec.js';

const pool = new WorkerPool(2);
const par = { pool, minParallelElements: 0 };
// Transport 'copy' (what a web page without cross-origin isolation gets), on three workers so that splits are
// uneven and every worker holds only a slice of the stream.
const pool3 = new WorkerPool(3);
const parT = { pool: pool3, minParallelElements: 0, transport: 'copy' as const };
afterAll(() => Promise.all([pool.terminate(), pool3.terminate()]));

// The shared backend suite (every vector, limits, round trips, corrupted streams vs the reference).
describeBackendSuite(cpuFastBackend);
cpuWorkersBackend.options = par; // exercise the worker path even on tiny vectors
describeBackendSuite(cpuWorkersBackend, { propertyRuns: 20 });
describeBackendSuite(
  {
    ...cpuWorkersBackend,
    name: 'cpu-workers, transport copy',
    decode: (stream, options) => decodeParallel(stream, { ...parT, ...options }),
    decodeInto: (stream, target, offset = 0, options) => decodeParallelInto(stream, target, offset, { ...parT, ...options }),
    dispose: () => {},
  },
  { propertyRuns: 20 },
);

const vectors = loadVectors();
const internals = (p: WorkerPool) => p as unknown as { pending: number; workers: { terminate(): unknown; queued: number }[] };

const T = threadsPerBlock;
const codeOf = (f: () => unknown): unknown => {
  try {
    return f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

describe('vectors', () => {
  it('canonical vectors: encodeFast and encodeParallel reproduce the stream byte for byte', async () => {
    for (const v of vectors.valid.filter((v) => v.canonical)) {
      const opts = { threadsPerBlock: v.threadsPerBlock };
      expect(firstDifference(encodeFast(v.decoded, opts), v.stream), v.name).toBe(-1);
      expect(firstDifference(await encodeParallel(v.decoded, { ...opts, ...par }), v.stream), v.name).toBe(-1);
    }
  });

  it('valid vectors decode into an unaligned workspace, touching only [offset, offset + n)', () => {
    for (const v of vectors.valid) {
      for (const offset of [0, 1, 3]) {
        const work = new Uint8Array(offset + v.elements + 5).fill(0xa5);
        expect(decodeFastInto(v.stream, work, offset)).toBe(v.elements);
        expect(firstDifference(work.subarray(offset, offset + v.elements), v.decoded), v.name).toBe(-1);
        expect(work.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
        expect(work.subarray(offset + v.elements).every((b) => b === 0xa5)).toBe(true);
      }
    }
  });

  it('invalid vectors: the fast decoders report exactly the reference code', async () => {
    for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
      expect(codeOf(() => decodeFast(v.stream)), v.name).toBe(v.error);
      const got = await decodeParallel(v.stream, par).then(
        () => 'ok',
        (e) => e.code,
      );
      expect(got, v.name).toBe(v.error);
    }
  });
});

describe('phase C range', () => {
  it('keeps its output inside the range when the positions changed after phase B (shared memory, another thread)', () => {
    const v = vectors.valid.find((v) => parseStream(v.stream).layout.nBlocks >= 4)!;
    const { layout, header } = parseStream(v.stream);
    const n = layout.elementCount;
    const g = geometryOf(layout);
    const tables = kernel.buildDecodeTables(header.codeLengths);
    for (const { what, stream } of changedPositions(v.stream, layout)) {
      const out = new Uint8Array(n + 64).fill(0xa5);
      const R = new Float64Array(3);
      kernel.decodeRange(stream, g, tables, out, 16, 0, layout.nBlocks, true, R);
      expect(R[0] === 1 || R[1] === 1, what).toBe(true);
      expect(out.subarray(0, 16).every((b) => b === 0xa5) && out.subarray(16 + n).every((b) => b === 0xa5), what).toBe(true);
    }
  });
});

describe('properties (fast-check)', () => {
  it('encodeFast is byte-identical to the reference encoder (arbitrary bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), T, (a, t) => {
        expect(firstDifference(encodeFast(a, { threadsPerBlock: t }), referenceEncode(a, { threadsPerBlock: t }))).toBe(-1);
      }),
      { numRuns: 100, seed: 11 },
    );
  });

  it('encodeFast is byte-identical to the reference encoder (skewed exponents, up to 100k)', () => {
    fc.assert(
      fc.property(skewedFp8(100_000), T, (a, t) => {
        expect(firstDifference(encodeFast(a, { threadsPerBlock: t }), referenceEncode(a, { threadsPerBlock: t }))).toBe(-1);
      }),
      { numRuns: 60, seed: 12 },
    );
  });

  it('encodeFastInto writes the encodeFast bytes into a dirty workspace at an offset, and nothing else', () => {
    fc.assert(
      fc.property(skewedFp8(20_000), T, fc.integer({ min: 0, max: 9 }), (a, t, offset) => {
        const want = encodeFast(a, { threadsPerBlock: t });
        const work = new Uint8Array(offset + maxEncodedSize(a.length, t) + 5).fill(0xa5);
        const size = encodeFastInto(a, work, offset, { threadsPerBlock: t });
        expect(size).toBe(want.length);
        expect(firstDifference(work.subarray(offset, offset + size), want)).toBe(-1);
        expect(work.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
        expect(work.subarray(offset + size).every((b) => b === 0xa5)).toBe(true);
      }),
      { numRuns: 40, seed: 13 },
    );
  });

  it('encodeFastInto: a workspace too small fails with OUTPUT_TOO_SMALL and is left untouched; bad arguments fail', () => {
    const a = encodeFast(new Uint8Array(1000).fill(0x38)).length;
    const work = new Uint8Array(a - 1).fill(7);
    expect(codeOf(() => encodeFastInto(new Uint8Array(1000).fill(0x38), work))).toBe('ECF8_OUTPUT_TOO_SMALL');
    expect(work.every((b) => b === 7)).toBe(true);
    expect(codeOf(() => encodeFastInto(new Uint8Array(10), new Uint8Array(1000), 1001))).toBe('ECF8_OUTPUT_TOO_SMALL');
    expect(codeOf(() => encodeFastInto(new Uint8Array(10), new Uint8Array(1000), -1))).toBe('ECF8_INVALID_ARGUMENT');
    expect(codeOf(() => encodeFastInto(new Uint8Array(10), [] as unknown as Uint8Array))).toBe('ECF8_INVALID_ARGUMENT');
  });

  it('range-split encoding (as workers do it, many tiny ranges) is byte-identical', () => {
    fc.assert(
      fc.property(skewedFp8(20_000), T, fc.integer({ min: 1, max: 64 }), (a, t, step8) => {
        const cuts = [0];
        for (let i = 8 * step8; i < a.length; i += 8 * step8) cuts.push(i);
        cuts.push(a.length);
        if (a.length === 0) cuts.splice(1);
        const hists: Float64Array[] = [];
        const crcs: number[] = [];
        for (let r = 0; r + 1 < cuts.length; r++) {
          const h = new Float64Array(16);
          crcs.push(kernel.scan(a, cuts[r], cuts[r + 1], h));
          hists.push(h);
        }
        const plan = planEncode(a.length, t, cuts, hists, crcs);
        const out = new Uint8Array(plan.layout.streamSize);
        encodeWithPlan(a, plan, cuts, out);
        expect(firstDifference(out, referenceEncode(a, { threadsPerBlock: t }))).toBe(-1);
      }),
      { numRuns: 60, seed: 13 },
    );
  });

  it('decodeFast equals the reference decoder, with and without checksum verification', () => {
    fc.assert(
      fc.property(skewedFp8(100_000), T, (a, t) => {
        const s = referenceEncode(a, { threadsPerBlock: t });
        expect(firstDifference(decodeFast(s), a)).toBe(-1);
        expect(firstDifference(decodeFast(s, { verifyChecksums: false }), a)).toBe(-1);
      }),
      { numRuns: 60, seed: 14 },
    );
  });

  it('encodeParallel and decodeParallel round-trip byte-exactly', async () => {
    await fc.assert(
      fc.asyncProperty(skewedFp8(60_000), T, async (a, t) => {
        const s = await encodeParallel(a, { threadsPerBlock: t, ...par });
        expect(firstDifference(s, referenceEncode(a, { threadsPerBlock: t }))).toBe(-1);
        const out = new Uint8Array(a.length + 3).fill(7);
        expect(await decodeParallelInto(s, out, 3, par)).toBe(a.length);
        expect(firstDifference(out.subarray(3), a)).toBe(-1);
        expect(out[0] === 7 && out[1] === 7 && out[2] === 7).toBe(true);
      }),
      { numRuns: 25, seed: 15 },
    );
  });

  it('mutated streams: reference, fast and worker decoders give identical bytes or the same code', async () => {
    const base = vectors.valid.filter((v) => v.elements > 0 && v.elements < 30_000).map((v) => v.stream);
    await fc.assert(
      fc.asyncProperty(fc.nat(base.length - 1), fc.nat(), fc.nat(7), fc.integer({ min: 0, max: 3 }), fc.boolean(), async (k, at, bit, extra, verify) => {
        const s = base[k].slice();
        s[at % s.length] ^= 1 << bit;
        if (extra) s[(at * 7919 + extra) % s.length] ^= 1 << ((bit + extra) & 7);
        const opts = { verifyChecksums: verify };
        const want = codeOf(() => referenceDecode(s, opts));
        const fast = codeOf(() => decodeFast(s, opts));
        const workers = await decodeParallel(s, { ...opts, ...par }).then(
          (x) => x,
          (e) => e.code,
        );
        for (const got of [fast, workers]) {
          if (typeof want === 'string') expect(got).toBe(want);
          else expect(typeof got === 'string' ? got : firstDifference(got as Uint8Array, want as Uint8Array)).toBe(-1);
        }
      }),
      { numRuns: 300, seed: 16 },
    );
  });
});

describe('decoder hot paths', () => {
  // Deep codes (> 12 bits: the multi-symbol table's escape), many blocks (two interleaved lanes, lane tails, the
  // two-lookups-per-load loop), and single-bit flips inside the exponent bitstream (header and metadata intact, so
  // the stream reaches phase C and gap-chain / position / content errors must match the reference exactly).
  const deep = fc
    .record({ n: fc.integer({ min: 1, max: 40_000 }), seed: fc.integer({ min: 1, max: 0x7fffffff }), depth: fc.integer({ min: 2, max: 15 }) })
    .map(({ n, seed, depth }) => {
      let s = seed;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        // Geometric exponents: P(x) ~ 2^-x up to `depth` symbols, so code lengths reach 13-15 bits.
        const x = Math.min(depth, Math.clz32(s | 1) >>> 1);
        out[i] = ((s >>> 7) & 0x80) | (x << 3) | ((s >>> 20) & 7);
      }
      return out;
    });
  it('deep codes and many blocks: fast and reference agree on valid and bit-flipped bitstreams', () => {
    fc.assert(
      fc.property(deep, fc.constantFrom(1, 2, 4, 8, 64), fc.nat(), fc.nat(7), fc.boolean(), (a, t, at, bit, verify) => {
        const s = referenceEncode(a, { threadsPerBlock: t });
        expect(firstDifference(decodeFast(s, { verifyChecksums: verify }), a)).toBe(-1);
        const parsed = new DataView(s.buffer, s.byteOffset, s.byteLength);
        const exponentsSize = Number(parsed.getBigUint64(64, true));
        const nibblesSize = Number(parsed.getBigUint64(72, true));
        const exStart = s.length - nibblesSize - exponentsSize;
        const m = s.slice();
        m[exStart + (at % (exponentsSize - 16))] ^= 1 << bit;
        const want = codeOf(() => referenceDecode(m, { verifyChecksums: verify }));
        const got = codeOf(() => decodeFast(m, { verifyChecksums: verify }));
        if (typeof want === 'string') expect(got).toBe(want);
        else expect(typeof got === 'string' ? got : firstDifference(got as Uint8Array, want as Uint8Array)).toBe(-1);
      }),
      { numRuns: 150, seed: 18 },
    );
  });
});

describe('CRC-32C', () => {
  it('matches the reference on known and random inputs, at any alignment, and combines', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(50), fc.nat(3000), (a, skip, cut) => {
        const buf = new Uint8Array(a.length + skip);
        buf.set(a, skip);
        const v = buf.subarray(skip);
        expect(crc32c(v)).toBe(referenceCrc(a));
        const c = Math.min(cut, a.length);
        expect(crc32cUpdate(crc32cUpdate(0, v, 0, c), v, c, v.length)).toBe(referenceCrc(a));
        expect(crc32cCombine(crc32c(v.subarray(0, c)), crc32c(v.subarray(c)), a.length - c)).toBe(referenceCrc(a));
      }),
      { numRuns: 200, seed: 17 },
    );
  });
});

/**
 * n FP8 bytes with random signs and mantissas and roughly geometric exponents: minExp + min(span, floor(-log2(u) /
 * slope)) for uniform u (an LCG seeded with `seed`), the shape of trained weights' exponents.
 */
function geometricFp8(n: number, seed: number, minExp: number, span: number, slope: number): Uint8Array {
  const a = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const e = minExp + Math.min(span, Math.floor(-Math.log2((s >>> 8) / 2 ** 24 + 1e-9) / slope));
    a[i] = ((s >>> 3) & 0x80) | (e << 3) | (s & 7);
  }
  return a;
}

describe('large tensors', () => {
  it('a 3M-element Gaussian tensor: fast, workers and reference agree (T = 512 and 64)', async () => {
    const a = geometricFp8(3_000_001, 7, 4, 11, 1.3);
    for (const t of [512, 64]) {
      const ref = referenceEncode(a, { threadsPerBlock: t });
      expect(firstDifference(encodeFast(a, { threadsPerBlock: t }), ref)).toBe(-1);
      expect(firstDifference(await encodeParallel(a, { threadsPerBlock: t, pool }), ref)).toBe(-1);
      expect(firstDifference(decodeFast(ref), a)).toBe(-1);
      expect(firstDifference(await decodeParallel(ref, { pool }), a)).toBe(-1);
    }
  });
});

describe("transport 'copy' (workers get copies of their slices, results come back to be copied into place)", () => {
  it('canonical vectors encode to the same bytes; valid vectors decode into [offset, offset + n) only', async () => {
    for (const v of vectors.valid) {
      if (v.canonical) {
        const s = await encodeParallel(v.decoded, { threadsPerBlock: v.threadsPerBlock, ...parT });
        expect(s.buffer instanceof SharedArrayBuffer).toBe(false);
        expect(firstDifference(s, v.stream), v.name).toBe(-1);
      }
      const work = new Uint8Array(v.elements + 7).fill(0xa5);
      expect(await decodeParallelInto(v.stream, work, 2, parT)).toBe(v.elements);
      expect(firstDifference(work.subarray(2, 2 + v.elements), v.decoded), v.name).toBe(-1);
      expect(work.subarray(0, 2).every((b) => b === 0xa5) && work.subarray(2 + v.elements).every((b) => b === 0xa5)).toBe(true);
    }
  });

  it('invalid vectors: the same code as the reference', async () => {
    for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
      const got = await decodeParallel(v.stream, parT).then(
        () => 'ok',
        (e) => e.code,
      );
      expect(got, v.name).toBe(v.error);
    }
  });

  it('round trips byte-exactly at every T, and mutated streams give the reference bytes or code', async () => {
    await fc.assert(
      fc.asyncProperty(skewedFp8(60_000), T, async (a, t) => {
        const s = await encodeParallel(a, { threadsPerBlock: t, ...parT });
        expect(firstDifference(s, referenceEncode(a, { threadsPerBlock: t }))).toBe(-1);
        expect(firstDifference(await decodeParallel(s, parT), a)).toBe(-1);
        // One flipped bit anywhere: the same outcome as the reference decoder.
        const m = s.slice();
        const at = (a.length * 7919 + t) % m.length;
        m[at] ^= 1 << (a.length % 8);
        const want = codeOf(() => referenceDecode(m));
        const got = await decodeParallel(m, parT).then(
          (x) => x,
          (e) => e.code,
        );
        if (typeof want === 'string') expect(got).toBe(want);
        else expect(typeof got === 'string' ? got : firstDifference(got as Uint8Array, want as Uint8Array)).toBe(-1);
      }),
      { numRuns: 40, seed: 21 },
    );
  });

  it('a 3M-element tensor over 3 workers: same stream and bytes as the reference (T = 1024, 512, 8)', async () => {
    const n = 3_000_003;
    const a = geometricFp8(n, 11, 3, 12, 1.1);
    for (const t of [1024, 512, 8]) {
      const ref = referenceEncode(a, { threadsPerBlock: t });
      expect(firstDifference(await encodeParallel(a, { threadsPerBlock: t, ...parT }), ref)).toBe(-1);
      const out = new Uint8Array(n);
      expect(await decodeParallelInto(ref, out, 0, parT)).toBe(n);
      expect(firstDifference(out, a)).toBe(-1);
      // The workers alone (the calling thread only copies).
      const alone = { ...parT, useCallingThread: false };
      expect(firstDifference(await decodeParallel(ref, alone), a)).toBe(-1);
      expect(firstDifference(await encodeParallel(a, { threadsPerBlock: t, ...alone }), ref)).toBe(-1);
    }
  });

  it('never transfers (detaches) a buffer of the calling thread; workers keep no input after an encode', async () => {
    const transfers: number[] = [];
    class Spy extends WorkerPool {
      override run<R>(i: number, msg: unknown, transfer: ArrayBuffer[] = []): Promise<R> {
        transfers.push(transfer.length);
        return super.run<R>(i, msg, transfer);
      }
    }
    const p = new Spy(2);
    try {
      const v = vectors.valid.find((x) => x.elements > 10_000 && x.canonical)!;
      const opts = { pool: p, minParallelElements: 0, transport: 'copy' as const };
      expect(firstDifference(await encodeParallel(v.decoded, { ...opts, threadsPerBlock: v.threadsPerBlock }), v.stream)).toBe(-1);
      expect(firstDifference(await decodeParallel(v.stream, opts), v.decoded)).toBe(-1);
      expect(transfers.length).toBeGreaterThanOrEqual(3);
      expect(transfers.every((t) => t === 0)).toBe(true);
      // The inputs kept between the two passes were consumed: dropping any id finds nothing.
      for (const k of [0, 1]) expect(await p.run(k, { op: 'drop', id: 1 })).toBe(false);
    } finally {
      await p.terminate();
    }
  });

  it("an unknown transport fails with INVALID_ARGUMENT; 'shared' without SharedArrayBuffer with BACKEND_UNAVAILABLE", async () => {
    const v = vectors.valid.find((x) => x.elements > 1000)!;
    const bad = { ...parT, transport: 'pigeon' as unknown as 'shared' };
    await expect(decodeParallel(v.stream, bad)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(encodeParallel(v.decoded, bad)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    const saved = globalThis.SharedArrayBuffer;
    try {
      (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
      await expect(decodeParallel(v.stream, { ...parT, transport: 'shared' as const })).rejects.toMatchObject({ code: 'ECF8_BACKEND_UNAVAILABLE' });
      // With no transport asked for, the work then stays on the calling thread: a fresh pool is never started.
      const idle = new WorkerPool(2);
      expect(firstDifference(await decodeParallel(v.stream, { pool: idle, minParallelElements: 0 }), v.decoded)).toBe(-1);
      expect(firstDifference(await encodeParallel(v.decoded, { pool: idle, minParallelElements: 0, threadsPerBlock: v.threadsPerBlock }), referenceEncode(v.decoded, { threadsPerBlock: v.threadsPerBlock }))).toBe(-1);
      expect(internals(idle).workers.length).toBe(0);
      // The cpu-workers backend says why it is unavailable, unless 'copy' is asked for.
      const saved = cpuWorkersBackend.options;
      try {
        cpuWorkersBackend.options = { pool: idle };
        const a = await cpuWorkersBackend.isAvailable();
        expect(a.available).toBe(false);
        expect((a as { reason: string }).reason).toMatch(/SharedArrayBuffer is unavailable.*transport = 'copy'/);
        cpuWorkersBackend.options = { pool: pool3, transport: 'copy' };
        expect(await cpuWorkersBackend.isAvailable()).toEqual({ available: true });
      } finally {
        cpuWorkersBackend.options = saved;
      }
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
  });
});

describe('WorkerPool', () => {
  const ping = { op: 'ping' };

  it('terminate() fails the message in flight and the queued ones instead of leaving them pending', async () => {
    const p = new WorkerPool(1);
    const v = vectors.valid.find((x) => x.elements > 10_000)!;
    const big = new Uint8Array(16 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    await p.ready();
    const busy = [1, 2, 3].map(() => encodeParallel(big, { pool: p, minParallelElements: 0 }));
    await new Promise((ok) => setTimeout(ok, 2));
    const settled = Promise.allSettled([...busy, p.run(0, ping)]); // the ping waits behind the encodes
    await p.terminate();
    const r = await settled;
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(String((r[3] as PromiseRejectedResult).reason)).toMatch(/terminated/);
    // terminate() while the workers are still starting: they are not installed afterwards.
    const q = new WorkerPool(2);
    const starting = q.ready().then(
      () => 'started',
      (e) => e.code,
    );
    await q.terminate();
    expect(await starting).toBe('ECF8_BACKEND_UNAVAILABLE');
    expect(internals(q).workers.length).toBe(0);
    // The pool starts again when used after terminate().
    expect(firstDifference(await decodeParallel(v.stream, { pool: p, minParallelElements: 0 }), v.decoded)).toBe(-1);
    await p.terminate();
  });

  it('a message that cannot be posted fails alone; the counters are restored and the worker keeps working', async () => {
    const p = new WorkerPool(1);
    await p.ready();
    await expect(p.run(0, { op: 'ping', f: () => 1 })).rejects.toThrow();
    expect(internals(p).pending).toBe(0);
    expect(internals(p).workers[0].queued).toBe(0);
    expect(await p.run(0, ping)).toBe('pong');
    expect(internals(p).pending).toBe(0);
    await p.terminate();
  });

  it('a worker that died is replaced on its next message', async () => {
    const p = new WorkerPool(2);
    await p.ready();
    const first = internals(p).workers[1];
    await first.terminate(); // as if it had crashed ('exit' event)
    await new Promise((ok) => setTimeout(ok, 10));
    expect(await p.run(1, ping)).toBe('pong');
    expect(internals(p).workers[1]).not.toBe(first);
    const v = vectors.valid.find((x) => x.elements > 10_000)!;
    expect(firstDifference(await decodeParallel(v.stream, { pool: p, minParallelElements: 0 }), v.decoded)).toBe(-1);
    await p.terminate();
  });

  it('cpu-workers availability does not wait behind queued work', async () => {
    const p = new WorkerPool(1);
    const saved = cpuWorkersBackend.options;
    cpuWorkersBackend.options = { pool: p };
    try {
      await p.ready();
      const big = new Uint8Array(4_000_000).fill(0x40);
      // Three encodes queued on the pool's only worker; availability must answer before the first of them finishes
      // (it would come after all three if it were a message queued behind them). Order, not milliseconds.
      const finished: string[] = [];
      const work = [1, 2, 3].map((i) => encodeParallel(big, { pool: p, minParallelElements: 0 }).then(() => finished.push(`encode ${i}`)));
      const availability = cpuWorkersBackend.isAvailable().then((a) => {
        finished.push('availability');
        return a;
      });
      expect(await availability).toEqual({ available: true });
      await Promise.all(work);
      expect(finished[0]).toBe('availability');
      expect(finished).toHaveLength(4);
    } finally {
      cpuWorkersBackend.options = saved;
      await p.terminate();
    }
  });
});
