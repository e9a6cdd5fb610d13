/**
 * Figures and algorithms stated in spec/ecf8-v1.md, checked against the code: the largest stream_size of §11.3
 * (exact BigInt arithmetic with core's header code), and the front-to-back walk of §8.3, transcribed line by line
 * and compared with the reference and GPU-order decoders on every vector and on mutated streams.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildDecodeTables,
  crc32c,
  crc32cUpdate,
  decode,
  decodeGpuOrder,
  deriveSizes,
  encode,
  ErrorCode,
  gapOf,
  HEADER_SIZE,
  HeaderOffset,
  joinElement,
  parseStream,
  readHeader,
  symbolAt,
  validateMetadata,
} from '@ecf8/core';
import { firstDifference, loadVectors } from '../src/vectors.js';

const spec = readFileSync(new URL('../../spec/ecf8-v1.md', import.meta.url), 'utf8');
const vectors = loadVectors();
const U64_MAX = (1n << 64n) - 1n;
const POWERS_OF_TWO_T = Array.from({ length: 11 }, (_, k) => 2 ** k);

/** A header with the given fields, code lengths {x0: 1, x1: 1}, and the section sizes derived from them. */
function header(n: bigint, bits: bigint, T: number): Uint8Array {
  const h = encode(new Uint8Array(64)).slice(0, HEADER_SIZE); // 64 zeros: code lengths 1 and 1
  const dv = new DataView(h.buffer);
  const d = deriveSizes(n, bits, T);
  dv.setUint32(HeaderOffset.threadsPerBlock, T, true);
  dv.setBigUint64(HeaderOffset.elementCount, n, true);
  dv.setBigUint64(HeaderOffset.exponentBitCount, bits, true);
  dv.setBigUint64(HeaderOffset.positionsSize, d.positionsSize, true);
  dv.setBigUint64(HeaderOffset.gapsSize, d.gapsSize, true);
  dv.setBigUint64(HeaderOffset.exponentsSize, d.exponentsSize, true);
  dv.setBigUint64(HeaderOffset.nibblesSize, d.nibblesSize, true);
  return h;
}

const withThousands = (v: bigint) => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

describe('spec front matter and change log', () => {
  it('the vectors name the revision the spec states, and the change log has a dated row for it', () => {
    const revision = /^\| Document revision \| ([\d.]+), (\d{4}-\d{2}-\d{2})/m.exec(spec);
    expect(revision).not.toBeNull();
    expect(vectors.specRevision).toBe(revision![1]);
    const log = spec.slice(spec.indexOf('## 14. Change log'), spec.indexOf('## 15.'));
    expect(log).toContain(`| ${revision![1]} | ${revision![2]} |`);
    // Each erratum of revision 1.0.1 has its own row.
    for (const e of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8']) expect(log).toMatch(new RegExp(`\\| 1\\.0\\.1 \\| 2026-12-06 \\| \\*\\*${e}\\*\\*`));
  });
});

describe('spec §11.3: the largest stream_size', () => {
  const max = 2n ** 63n + 2n ** 62n + 2n ** 57n + 112n;

  it('is 2^63 + 2^62 + 2^57 + 112 = 13,979,173,243,358,019,696, for a header that passes steps 1-11', () => {
    expect(max).toBe(13_979_173_243_358_019_696n);
    const h = header(U64_MAX, U64_MAX, 1);
    expect(() => readHeader(h)).not.toThrow(); // steps 1-11 with core's header code
    expect(deriveSizes(U64_MAX, U64_MAX, 1).streamSize).toBe(max);
    expect(max < 2n ** 64n).toBe(true);
  });

  it('is the maximum: over every T, and never exceeded for any n, bits (sizes non-decreasing in both)', () => {
    for (const T of POWERS_OF_TWO_T) expect(deriveSizes(U64_MAX, U64_MAX, T).streamSize <= max, `T = ${T}`).toBe(true);
    expect(deriveSizes(U64_MAX, U64_MAX, 512).streamSize).toBe(2n ** 63n + 2n ** 61n + 2n ** 57n + 2n ** 52n + 112n);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), fc.bigInt({ min: 0n, max: U64_MAX }), fc.constantFrom(...POWERS_OF_TWO_T), (n, bits, T) => {
        const d = deriveSizes(n, bits, T);
        expect(d.streamSize <= max).toBe(true);
        // Monotone: one more element or bit never shrinks the stream.
        if (n < U64_MAX) expect(deriveSizes(n + 1n, bits, T).streamSize >= d.streamSize).toBe(true);
        if (bits < U64_MAX) expect(deriveSizes(n, bits + 1n, T).streamSize >= d.streamSize).toBe(true);
      }),
      { numRuns: 2000, seed: 1411 },
    );
  });

  it('is the figure the spec and the vector description state', () => {
    const section = spec.slice(spec.indexOf('### 11.3'), spec.indexOf('### 11.4'));
    expect(section).toContain(withThousands(max));
    expect(section).toContain('2^63 + 2^62 + 2^57 + 112');
    expect(section).toContain('2^63 + 2^61 + 2^57 + 2^52 + 112');
    const stale = vectors.invalid.find((v) => v.name === 'max-element-count-stale-sizes')!;
    expect(stale.description).toContain(max.toString());
  });
});

/**
 * Spec §8.3 "Front-to-back decoding", transcribed line by line (after phases A and B, done here by core). Returns the
 * decoded bytes, or the error code the walk stops with.
 */
function frontToBack(stream: Uint8Array): Uint8Array | string {
  let parsed;
  let pos: Float64Array;
  try {
    parsed = parseStream(stream);
    pos = validateMetadata(parsed);
  } catch (e) {
    return (e as { code: string }).code;
  }
  const { layout } = parsed;
  const { elementCount: n, exponentBitCount: bits, nThreads, threadsPerBlock: T, gapsOffset, exponentsOffset, nibblesOffset } = layout;
  const W = 64;
  const tables = buildDecodeTables(parsed.header.codeLengths);
  const codeLength = (x: number) => parsed.header.codeLengths[x];
  const nibble = (i: number) => (i & 1 ? stream[nibblesOffset + (i >> 1)] & 15 : stream[nibblesOffset + (i >> 1)] >> 4);
  const output = new Uint8Array(n);
  let p = 0;
  let i = 0;
  let t = 0;
  let firstBadBlock = -1;
  for (;;) {
    while (t < nThreads && t * W <= p && t * W < bits) {
      if (t * W + gapOf(stream, gapsOffset, t) !== p) return ErrorCode.GAP_MISMATCH;
      if (t % T === 0 && pos[t / T] !== i && firstBadBlock < 0) firstBadBlock = t / T;
      t++;
    }
    if (p >= bits) break;
    const x = symbolAt(stream, exponentsOffset, tables, p);
    if (i < n) output[i] = joinElement(x, nibble(i));
    i++;
    p += codeLength(x);
  }
  if (p !== bits) return ErrorCode.GAP_MISMATCH;
  if (firstBadBlock >= 0) return ErrorCode.POSITION_MISMATCH;
  if (i !== n) return ErrorCode.POSITION_MISMATCH;
  if (crc32c(output) !== parsed.header.contentCrc32c) return ErrorCode.CONTENT_CHECKSUM_MISMATCH;
  return output;
}

function outcome(f: () => Uint8Array): Uint8Array | string {
  try {
    return f();
  } catch (e) {
    return (e as { code: string }).code;
  }
}

function expectSame(got: Uint8Array | string, want: Uint8Array | string, what: string) {
  if (typeof want === 'string') expect(got, what).toBe(want);
  else expect(typeof got === 'string' ? got : firstDifference(got, want), what).toBe(-1);
}

describe('spec §8.3: the front-to-back walk, as written, reports what the decoders report', () => {
  it('on every valid and invalid vector', () => {
    for (const v of vectors.valid) expectSame(frontToBack(v.stream), v.decoded, v.name);
    for (const v of [...vectors.invalid, ...vectors.headerOnly]) expectSame(frontToBack(v.stream), v.error, v.name);
  });

  it('on mutated streams: the same bytes or code as the reference and GPU-order decoders (fast-check)', () => {
    const base = vectors.valid.filter((v) => v.elements > 0 && v.elements < 30_000).map((v) => v.stream);
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 3 }), (k, flips) => {
        const s = base[k].slice();
        for (const [at, bit] of flips) s[at % s.length] ^= 1 << bit;
        // Re-seal the metadata checksum half the time so that phase C sees corrupted gaps and positions too.
        if (flips[0][0] % 2 === 0 && s.length >= HEADER_SIZE) {
          try {
            const { layout } = parseStream(s, { verifyChecksums: false });
            let crc = crc32cUpdate(0, s, 0, HeaderOffset.metadataCrc32c);
            crc = crc32cUpdate(crc, s, HEADER_SIZE, layout.exponentsOffset);
            new DataView(s.buffer).setUint32(HeaderOffset.metadataCrc32c, crc, true);
          } catch {
            // phase A fails: nothing to re-seal
          }
        }
        const want = outcome(() => decode(s));
        expectSame(frontToBack(s), want, 'reference');
        expectSame(outcome(() => decodeGpuOrder(s)), want, 'GPU order');
      }),
      { numRuns: 3000, seed: 83 },
    );
  });
});
