import { describe, expect, it } from 'vitest';
import { skewedFp8, threadsPerBlock } from '../../../conformance/src/arbitraries.js';
import fc from 'fast-check';
import { decode, decodeGpuOrder, decodeInto, encode, encodeInto, maxEncodedSize, isEcf8Error, buildCodeLengths, kraftSum, canonicalCodes, analyze, parseStream } from '../src/index.js';
import { loadVectors } from '../../../conformance/src/vectors.js';

const T = threadsPerBlock;

describe('round trips (fast-check)', () => {
  it('decode(encode(x)) == x for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), T, (a, t) => {
        expect(decode(encode(a, { threadsPerBlock: t }))).toEqual(a);
      }),
      { numRuns: 150, seed: 1 },
    );
  });

  it('decode(encode(x)) == x for skewed exponent distributions of lengths 0..100k', () => {
    fc.assert(
      fc.property(skewedFp8(100_000), T, (a, t) => {
        expect(decode(encode(a, { threadsPerBlock: t }))).toEqual(a);
      }),
      { numRuns: 60, seed: 2 },
    );
  });

  it('the GPU-order decoder equals the sequential decoder', () => {
    fc.assert(
      fc.property(skewedFp8(50_000), T, (a, t) => {
        const s = encode(a, { threadsPerBlock: t });
        expect(decodeGpuOrder(s)).toEqual(decode(s));
      }),
      { numRuns: 60, seed: 3 },
    );
  });

  it('decodeInto writes exactly [offset, offset + n) of a larger workspace', () => {
    fc.assert(
      fc.property(skewedFp8(5000), fc.nat(100), fc.nat(100), (a, before, after) => {
        const work = new Uint8Array(before + a.length + after).fill(0xa5);
        expect(decodeInto(encode(a), work, before)).toBe(a.length);
        expect(work.subarray(before, before + a.length)).toEqual(a);
        expect(work.subarray(0, before).every((b) => b === 0xa5)).toBe(true);
        expect(work.subarray(before + a.length).every((b) => b === 0xa5)).toBe(true);
      }),
      { numRuns: 100, seed: 4 },
    );
  });

  it('decodeInto rejects a workspace that is too small without writing', () => {
    const a = new Uint8Array(100).fill(0x38);
    const work = new Uint8Array(120).fill(7);
    expect(() => decodeInto(encode(a), work, 21)).toThrow(expect.objectContaining({ code: 'ECF8_OUTPUT_TOO_SMALL' }));
    expect(work.every((b) => b === 7)).toBe(true);
  });

  it('the encoder is deterministic and its codes are complete, canonical and optimal', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000_000), { minLength: 16, maxLength: 16 }), (h) => {
        const lengths = buildCodeLengths(h);
        const used = h.filter((c) => c > 0).length;
        if (used === 0) return;
        expect(kraftSum(lengths)).toBe(65536);
        expect(Math.max(...lengths)).toBeLessThanOrEqual(16);
        // Optimality: no better prefix code exists; compare with a plain Huffman merge (lengths unconstrained).
        if (used >= 2) {
          const cost = h.reduce((s, c, x) => s + c * lengths[x], 0);
          expect(cost).toBe(huffmanCost(h.filter((c) => c > 0)));
        }
        const codes = canonicalCodes(lengths);
        // Prefix-free: no code is a prefix of another.
        for (let x = 0; x < 16; x++)
          for (let y = 0; y < 16; y++)
            if (x !== y && lengths[x] && lengths[y] && lengths[x] <= lengths[y]) {
              expect(codes[y] >>> (lengths[y] - lengths[x])).not.toBe(codes[x]);
            }
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('analyze predicts the exact stream size', () => {
    fc.assert(
      fc.property(skewedFp8(20_000), T, (a, t) => {
        expect(analyze(a, t).predictedStreamBytes).toBe(encode(a, { threadsPerBlock: t }).length);
      }),
      { numRuns: 40, seed: 6 },
    );
  });
});

/** Total cost of an optimal (unconstrained) Huffman code. */
function huffmanCost(weights: number[]): number {
  const heap = [...weights].sort((a, b) => a - b);
  let cost = 0;
  while (heap.length > 1) {
    const a = heap.shift()!;
    const b = heap.shift()!;
    cost += a + b;
    const s = a + b;
    let i = 0;
    while (i < heap.length && heap[i] < s) i++;
    heap.splice(i, 0, s);
  }
  return cost;
}

describe('corruption never goes unnoticed', () => {
  const vectors = loadVectors();
  const small = vectors.valid.filter((v) => v.stream.length <= 1200 && v.elements > 0);

  it('every single-bit flip of small valid streams throws an Ecf8Error (exhaustive), and both decoders agree', () => {
    let flips = 0;
    for (const v of small) {
      for (let bit = 0; bit < v.stream.length * 8; bit++) {
        const s = v.stream.slice();
        s[bit >> 3] ^= 0x80 >> (bit & 7);
        let a = 'no error';
        let b = 'no error';
        try {
          decode(s);
        } catch (e) {
          if (!isEcf8Error(e)) throw e;
          a = e.code;
        }
        try {
          decodeGpuOrder(s);
        } catch (e) {
          if (!isEcf8Error(e)) throw e;
          b = e.code;
        }
        expect(a, `${v.name} bit ${bit}`).not.toBe('no error');
        expect(b, `${v.name} bit ${bit}`).toBe(a);
        flips++;
      }
    }
    expect(flips).toBeGreaterThan(50_000);
  });

  it('random single-bit flips of larger streams are detected (fast-check)', () => {
    const large = vectors.valid.filter((v) => v.stream.length > 1200);
    fc.assert(
      fc.property(fc.nat(large.length - 1), fc.nat(), (k, at) => {
        const s = large[k].stream.slice();
        const bit = at % (s.length * 8);
        s[bit >> 3] ^= 0x80 >> (bit & 7);
        expect(() => decode(s)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ECF8_/) }));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('every truncation and every extension of a valid stream is rejected', () => {
    for (const v of vectors.valid.filter((v) => v.stream.length < 3000)) {
      for (let len = 0; len < v.stream.length; len++) {
        expect(() => decode(v.stream.subarray(0, len)), `${v.name} cut at ${len}`).toThrow(
          expect.objectContaining({ code: 'ECF8_TRUNCATED' }),
        );
      }
      const longer = new Uint8Array(v.stream.length + 1);
      longer.set(v.stream);
      expect(() => decode(longer)).toThrow(expect.objectContaining({ code: 'ECF8_TRAILING_BYTES' }));
    }
  });

  it('random byte edits never crash, hang or return wrong bytes silently (fast-check)', () => {
    fc.assert(
      fc.property(fc.nat(small.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (k, edits) => {
        const v = small[k];
        const s = v.stream.slice();
        for (const [at, value] of edits) s[at % s.length] = value;
        let out: Uint8Array | undefined;
        try {
          out = decode(s);
        } catch (e) {
          expect(isEcf8Error(e)).toBe(true);
          return;
        }
        // Accepted only if the edits changed nothing that matters: then the bytes must be the original ones.
        expect(out).toEqual(v.decoded);
        expect(parseStream(s).header.contentCrc32c).toBe(parseStream(v.stream).header.contentCrc32c);
      }),
      { numRuns: 2000, seed: 8 },
    );
  });
});

describe('encodeInto', () => {
  it('writes the same bytes as encode into a reused, dirty workspace at any offset', () => {
    const work = new Uint8Array(200_000);
    fc.assert(
      fc.property(skewedFp8(10_000), T, fc.nat(64), (a, t, offset) => {
        work.fill(0xee);
        const want = encode(a, { threadsPerBlock: t });
        const len = encodeInto(a, work, offset, { threadsPerBlock: t });
        expect(len).toBe(want.length);
        expect(work.subarray(offset, offset + len)).toEqual(want);
        expect(work.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
        expect(work.subarray(offset + len).every((b) => b === 0xee)).toBe(true);
        expect(len).toBeLessThanOrEqual(maxEncodedSize(a.length, t));
      }),
      { numRuns: 60, seed: 9 },
    );
  });

  it('rejects a workspace that is too small without writing', () => {
    const a = new Uint8Array(1000).fill(0x38);
    const work = new Uint8Array(100).fill(3);
    expect(() => encodeInto(a, work)).toThrow(expect.objectContaining({ code: 'ECF8_OUTPUT_TOO_SMALL' }));
    expect(work.every((b) => b === 3)).toBe(true);
  });

  it('maxEncodedSize bounds the worst case (the deepest code: 15 bits for the rarest symbols)', () => {
    const deepest = new Uint8Array(32768);
    let k = 0;
    [1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384].forEach((c, x) => deepest.fill(x << 3, k, (k += c)));
    expect(encode(deepest).length).toBeLessThanOrEqual(maxEncodedSize(deepest.length));
  });
});
