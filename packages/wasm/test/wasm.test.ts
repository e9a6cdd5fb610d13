import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode as referenceDecode, encode as referenceEncode, maxEncodedSize, isEcf8Error, listBackends, parseStream } from '@ecf8/core';
import { geometryOf } from '@ecf8/fast';
import { describeBackendSuite } from '../../../conformance/src/backend-suite.js';
import { skewedFp8, threadsPerBlock } from '../../../conformance/src/arbitraries.js';
import { changedPositions } from '../../../conformance/src/fuzz.js';
import { firstDifference, loadVectors } from '../../../conformance/src/vectors.js';
import { cpuWasmBackend, decodeWasm, decodeWasmInto, encodeWasm, encodeWasmInto, setSimd, usesSimd } from '../src/index.js';
import { kernel, withKernel } from '../src/instance.js';
import { createRangeDecoder } from '../src/range.js';

// This file runs the SIMD build where the engine has SIMD (Node 20 has); wasm-baseline.test.ts the other one.
describeBackendSuite(cpuWasmBackend);

const vectors = loadVectors();
const outcome = (f: () => Uint8Array): string | Uint8Array => {
  try {
    return f();
  } catch (e) {
    return (e as { code?: string }).code ?? `not an Ecf8Error: ${String(e)}`;
  }
};
const sameOutcome = (got: string | Uint8Array, want: string | Uint8Array) => {
  if (typeof want === 'string') expect(got).toBe(want);
  else expect(typeof got === 'string' ? got : firstDifference(got, want)).toBe(-1);
};
// Chunks of one block, of a few blocks, and the default: the chunk seams must not change any outcome.
const CHUNKINGS = [1, 64, 1000, undefined];

describe('cpu-wasm', () => {
  it('runs the SIMD build here and is registered above cpu-fast', () => {
    expect(usesSimd()).toBe(true);
    const names = listBackends().map((b) => b.name);
    expect(names).toContain('cpu-wasm');
    const priority = (n: string) => listBackends().find((b) => b.name === n)?.priority ?? -Infinity;
    expect(priority('cpu-wasm')).toBeGreaterThan(priority('cpu-fast'));
  });

  it('valid vectors decode into an unaligned workspace, touching only [offset, offset + n), for every chunking', () => {
    for (const v of vectors.valid) {
      for (const chunkThreads of CHUNKINGS) {
        for (const offset of [0, 1, 3]) {
          const work = new Uint8Array(offset + v.elements + 5).fill(0xa5);
          expect(decodeWasmInto(v.stream, work, offset, { chunkThreads })).toBe(v.elements);
          expect(firstDifference(work.subarray(offset, offset + v.elements), v.decoded), `${v.name} ${chunkThreads}`).toBe(-1);
          expect(work.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
          expect(work.subarray(offset + v.elements).every((b) => b === 0xa5)).toBe(true);
        }
      }
    }
  });

  it('streams and outputs in SharedArrayBuffers at every alignment decode the same bytes, touching only the range', () => {
    // Copies to and from shared memory are staged at the buffer's own alignment (range.ts); every mod-8 case.
    for (const v of vectors.valid.filter((v) => v.elements > 0)) {
      for (const shift of [0, 1, 3, 6, 7]) {
        const shared = new Uint8Array(new SharedArrayBuffer(v.stream.length + 8), shift, v.stream.length);
        shared.set(v.stream);
        const work = new Uint8Array(new SharedArrayBuffer(v.elements + 16)).fill(0xa5);
        const offset = (shift * 5) % 8;
        for (const chunkThreads of [64, undefined]) {
          expect(decodeWasmInto(shared, work, offset, { chunkThreads })).toBe(v.elements);
          expect(firstDifference(work.subarray(offset, offset + v.elements), v.decoded), `${v.name} ${shift}`).toBe(-1);
          expect(work.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
          expect(work.subarray(offset + v.elements).every((b) => b === 0xa5)).toBe(true);
        }
      }
    }
  });

  it('phase C keeps its output inside the range when the positions changed after phase B (shared memory, another thread)', () => {
    const v = vectors.valid.find((v) => parseStream(v.stream).layout.nBlocks >= 4)!;
    const { layout, header } = parseStream(v.stream);
    const n = layout.elementCount;
    const g = geometryOf(layout);
    for (const { what, stream: s } of changedPositions(v.stream, layout)) {
      for (const chunkThreads of [layout.threadsPerBlock, undefined]) {
        const out = new Uint8Array(n + 64).fill(0xa5);
        const r = withKernel((k) => {
          k.mem.set(header.codeLengths, k.CODE_LENGTHS);
          k.exports.buildDecodeTables();
          return createRangeDecoder(k.exports)(s, g, out, 16, 0, layout.nBlocks, true, chunkThreads ?? 8192);
        });
        expect(r[0] === 1 || r[1] === 1, what).toBe(true);
        expect(out.subarray(0, 16).every((b) => b === 0xa5) && out.subarray(16 + n).every((b) => b === 0xa5), what).toBe(true);
      }
    }
  });

  it('invalid vectors give the reference code for every chunking, with and without checksum verification', () => {
    for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
      for (const chunkThreads of CHUNKINGS) {
        for (const verifyChecksums of [true, false]) {
          const want = outcome(() => referenceDecode(v.stream, { verifyChecksums }));
          sameOutcome(outcome(() => decodeWasm(v.stream, { chunkThreads, verifyChecksums })), want);
        }
      }
    }
  });

  it('OUTPUT_TOO_SMALL and LIMIT_EXCEEDED come before any phase B or C error, and nothing is written', () => {
    const v = vectors.valid.find((v) => v.elements > 100)!;
    const work = new Uint8Array(v.elements + 1).fill(7);
    expect(() => decodeWasmInto(v.stream, work, 2)).toThrow(expect.objectContaining({ code: 'ECF8_OUTPUT_TOO_SMALL' }));
    expect(work.every((b) => b === 7)).toBe(true);
    const bad = v.stream.slice();
    bad[bad.length - 1] ^= 1; // a nibble: a content checksum error
    expect(() => decodeWasm(bad, { maxOutputBytes: v.elements - 1 })).toThrow(expect.objectContaining({ code: 'ECF8_LIMIT_EXCEEDED' }));
    expect(() => decodeWasmInto(v.stream, work, -1)).toThrow(expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' }));
  });

  it('canonical vectors: encodeWasm reproduces the stream byte for byte, for every chunking', () => {
    for (const v of vectors.valid.filter((v) => v.canonical)) {
      for (const chunkElements of [8, 64, 4096, undefined]) {
        const got = encodeWasm(v.decoded, { threadsPerBlock: v.threadsPerBlock, chunkElements });
        expect(got.length, v.name).toBe(v.stream.length);
        expect(firstDifference(got, v.stream), `${v.name} ${chunkElements}`).toBe(-1);
      }
    }
  });

  it('encodes random tensors exactly as the reference encoder, chunked or not (fast-check)', () => {
    fc.assert(
      fc.property(skewedFp8(40_000), threadsPerBlock, fc.constantFrom(8, 24, 512, undefined), (fp8, T, chunkElements) => {
        const want = referenceEncode(fp8, { threadsPerBlock: T });
        const got = encodeWasm(fp8, { threadsPerBlock: T, chunkElements });
        expect(got.length).toBe(want.length);
        expect(firstDifference(got, want)).toBe(-1);
        sameOutcome(outcome(() => decodeWasm(got, { chunkThreads: 3 })), fp8);
      }),
      { numRuns: 60, seed: 0xecf8 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(1, 2, 512), (fp8, T) => {
        expect(firstDifference(encodeWasm(fp8, { threadsPerBlock: T, chunkElements: 16 }), referenceEncode(fp8, { threadsPerBlock: T }))).toBe(-1);
      }),
      { numRuns: 60, seed: 0xecf9 },
    );
  });

  it('encodes codes up to 15 bits, and runs of eight codes longer than its 64-bit accumulator, as the reference (both builds)', () => {
    // Exponent e occurs about 2^(15 - e) times, so its code is e + 1 bits long (15 for the two rarest), and runs of
    // the rarest exponents put 8 x 8..15 bits into one group of eight elements.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const exps: number[] = [];
    for (let e = 0; e < 16; e++) for (let c = 0; c < Math.max(1, 2 ** (15 - e)); c++) exps.push(e);
    for (let i = exps.length - 1; i > 0; i--) {
      const j = random() % (i + 1);
      [exps[i], exps[j]] = [exps[j], exps[i]];
    }
    for (let r = 0; r < 40; r++) {
      const at = random() % (exps.length - 16);
      for (let k = 0; k < 9; k++) exps[at + k] = 8 + (random() % 8);
    }
    const fp8 = Uint8Array.from(exps, (e) => (e << 3) | (random() & 0x87));
    try {
      for (const simd of [true, false]) {
        setSimd(simd);
        for (const T of [1, 4, 64]) {
          const want = referenceEncode(fp8, { threadsPerBlock: T });
          for (const chunkElements of [8, 24, 4096, undefined]) {
            expect(firstDifference(encodeWasm(fp8, { threadsPerBlock: T, chunkElements }), want), `simd ${simd} T ${T} chunk ${chunkElements}`).toBe(-1);
            expect(firstDifference(encodeWasm(fp8.subarray(3), { threadsPerBlock: T, chunkElements }), referenceEncode(fp8.subarray(3), { threadsPerBlock: T }))).toBe(-1);
          }
        }
      }
    } finally {
      setSimd(null);
    }
  });

  it('encodeWasmInto writes the same bytes at any offset, and nothing when the stream does not fit', () => {
    const v = vectors.valid.find((v) => v.canonical && v.elements > 1000)!;
    const opts = { threadsPerBlock: v.threadsPerBlock };
    const work = new Uint8Array(maxEncodedSize(v.elements, v.threadsPerBlock) + 3).fill(0xee);
    const size = encodeWasmInto(v.decoded, work, 3, opts);
    expect(firstDifference(work.subarray(3, 3 + size), v.stream)).toBe(-1);
    expect(work.subarray(0, 3).every((b) => b === 0xee)).toBe(true);
    const small = new Uint8Array(v.stream.length - 1).fill(1);
    expect(() => encodeWasmInto(v.decoded, small, 0, opts)).toThrow(expect.objectContaining({ code: 'ECF8_OUTPUT_TOO_SMALL' }));
    expect(small.every((b) => b === 1)).toBe(true);
    expect(() => encodeWasm(v.decoded, { threadsPerBlock: 3 })).toThrow(expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' }));
  });

  it('corrupted streams: the reference outcome at every chunking (fast-check)', () => {
    const base = vectors.valid.filter((v) => v.elements > 0 && v.elements < 30_000).map((v) => v.stream);
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(), fc.nat(7), fc.constantFrom(...CHUNKINGS), (k, at, bit, chunkThreads) => {
        const mutated = base[k].slice();
        mutated[at % mutated.length] ^= 1 << bit;
        sameOutcome(outcome(() => decodeWasm(mutated, { chunkThreads })), outcome(() => referenceDecode(mutated)));
      }),
      { numRuns: 400, seed: 0xecfb },
    );
  });

  it('decode tables are reused only for the same code: interleaved streams and encodes all decode right', () => {
    // Streams with codes longer than 12 bits (decoded through LONG_TABLE, which building encode tables rewrites).
    const longCode = vectors.valid.filter((v) => v.elements > 0 && Math.max(...parseStream(v.stream).header.codeLengths) > 12);
    const others = vectors.valid.filter((v) => v.elements > 0 && !longCode.includes(v)).slice(0, 6);
    expect(longCode.length).toBeGreaterThan(0);
    const check = (v: (typeof vectors.valid)[number]) => expect(firstDifference(decodeWasm(v.stream), v.decoded), v.name).toBe(-1);
    for (const a of longCode) {
      check(a);
      check(a); // same code: tables kept
      for (const b of others) {
        check(b);
        check(a);
        expect(firstDifference(encodeWasm(b.decoded), referenceEncode(b.decoded))).toBe(-1);
        check(a); // the encode rebuilt LONG_TABLE for another code
      }
    }
  });

  it('a trap in the module reaches the caller as an Ecf8Error, and the next call gets a fresh instance', () => {
    const before = kernel();
    let error: unknown;
    try {
      withKernel((k) => k.exports.scanChunk(0x7fffffff)); // reads far past the module's memory
    } catch (e) {
      error = e;
    }
    expect(isEcf8Error(error, 'ECF8_LIMIT_EXCEEDED')).toBe(true);
    expect(kernel()).not.toBe(before);
    const v = vectors.valid.find((v) => v.elements > 100)!;
    expect(firstDifference(decodeWasm(v.stream), v.decoded)).toBe(-1);
  });
});
