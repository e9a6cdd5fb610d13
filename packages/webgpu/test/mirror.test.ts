/**
 * CPU mirror test: src/mirror.ts is a step-by-step transliteration of src/decode.wgsl (same input image, same
 * parameters from src/plan.ts, same kernel shape from src/kernel.ts, same per-invocation logic). Here it is checked
 * against @ecf8/core's GPU-order decoder: per-thread starts, counts and ends (spec §8.3) equal core's countThread;
 * decoded bytes and error codes equal decodeGpuOrder's, for both paths (staged: FULL_LIMITS; direct:
 * DEFAULT_LIMITS, the compatibility-mode budget), both scans (workgroup memory; subgroups of 4 and 32), every
 * workgroup size mapping (R = T / WG up to 8), several blocks per workgroup, forced chunk splits, unaligned output
 * offsets and corrupted streams.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildDecodeTables, countThread, decodeGpuOrder, encode, parseStream, validateMetadata } from '@ecf8/core';
import { firstDifference, loadVectors } from '@ecf8/conformance';
import { checkApiVector, hostOutputTarget } from '@ecf8/conformance/backend-suite';
import { kernelConfig, stagedPathSlowOn } from '../src/kernel.js';
import { DEFAULT_LIMITS, FULL_LIMITS, mirrorDecode, mirrorDecodeInto, mirrorThreadCounts, type MirrorOptions } from '../src/mirror.js';

const vectors = loadVectors();

function skewed(n: number, seed: number, skew: number): Uint8Array {
  let s = seed >>> 0;
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    let e = 7;
    let u = s / 2 ** 32;
    while (u < skew && e < 15) {
      e += s & 1 ? 1 : -1;
      if (e < 0) e = 0;
      u = u / skew;
    }
    a[i] = ((s >>> 8) & 0x80) | (e << 3) | ((s >>> 16) & 7);
  }
  return a;
}

function outcome(f: () => Uint8Array): Uint8Array | string {
  try {
    return f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

function expectSame(got: Uint8Array | string, want: Uint8Array | string) {
  if (typeof want === 'string') expect(got).toBe(want);
  else {
    expect(typeof got).not.toBe('string');
    expect(firstDifference(got as Uint8Array, want)).toBe(-1);
  }
}

/** core's per-thread count pass for every thread, or undefined when phase A/B rejects the stream. */
function coreCounts(stream: Uint8Array) {
  const parsed = parseStream(stream);
  validateMetadata(parsed);
  const tables = buildDecodeTables(parsed.header.codeLengths);
  const res = [];
  for (let t = 0; t < parsed.layout.nThreads; t++) res.push(countThread(parsed, tables, t));
  return res;
}

describe('CPU mirror of the WGSL kernel', () => {
  it('per-thread count pass equals core countThread on every valid vector', () => {
    for (const v of vectors.valid) {
      const want = coreCounts(v.stream).map((c) => ({ start: c.start, count: c.count, end: c.end }));
      expect(mirrorThreadCounts(v.stream), v.name).toEqual(want);
      // Split into the smallest chunks too (chunk-relative coordinates must not change anything).
      expect(mirrorThreadCounts(v.stream, { maxBlocksPerChunk: 8 }), v.name).toEqual(want);
    }
  });

  it('chooses the staged path when workgroup storage allows, the direct path in the compatibility budget', () => {
    expect(kernelConfig(FULL_LIMITS, 512, false)).toMatchObject({ path: 'staged', workgroupSize: 512, threadsPerInvocation: 1 });
    expect(kernelConfig(DEFAULT_LIMITS, 512, false)).toMatchObject({ path: 'direct', workgroupSize: 256, threadsPerInvocation: 2 });
    expect(kernelConfig(DEFAULT_LIMITS, 128, true)).toMatchObject({ path: 'staged', subgroups: true });
    expect(kernelConfig({ ...DEFAULT_LIMITS, maxComputeInvocationsPerWorkgroup: 128 }, 1024, false)).toMatchObject({ path: 'direct', workgroupSize: 128, threadsPerInvocation: 8 });
    // SwiftShader (adapter info from Chromium) takes the direct path even where the staging buffer fits; others do not.
    const swiftshader = { vendor: 'google', architecture: 'swiftshader', device: '', description: '' };
    expect(stagedPathSlowOn(swiftshader)).toBe(true);
    expect(stagedPathSlowOn({ vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' })).toBe(false);
    expect(stagedPathSlowOn(undefined)).toBe(false);
    expect(kernelConfig(FULL_LIMITS, 512, true, Infinity, swiftshader)).toMatchObject({ path: 'direct', workgroupSize: 512, stageWords: 4 });
    expect(kernelConfig(DEFAULT_LIMITS, 128, true, Infinity, swiftshader)).toMatchObject({ path: 'direct' });
    expect(kernelConfig(FULL_LIMITS, 512, true, Infinity, { vendor: 'nvidia', architecture: 'hopper' })).toMatchObject({ path: 'staged' });
    for (const T of [1, 2, 8, 64, 256, 512, 1024]) {
      for (const limits of [FULL_LIMITS, DEFAULT_LIMITS]) {
        const c = kernelConfig(limits, T, false, 16);
        expect(c.threadsPerInvocation).toBeLessThanOrEqual(8);
        expect(c.workgroupBytes).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
      }
    }
  });

  it('decodes every valid vector byte-identically on both paths, both scans, R up to 8, split chunks and grids', () => {
    const variants: MirrorOptions[] = [
      {},
      { limits: DEFAULT_LIMITS },
      { subgroupSize: 4 },
      { subgroupSize: 32, limits: DEFAULT_LIMITS },
      { workgroupSize: 1, maxBlocksPerChunk: 8, maxWorkgroups: 3 },
      { workgroupSize: 1, limits: DEFAULT_LIMITS, maxWorkgroups: 2, subgroupSize: 8 },
    ];
    for (const v of vectors.valid) {
      for (const o of variants) {
        const out = mirrorDecode(v.stream, o);
        expect(firstDifference(out, v.decoded), `${v.name} ${JSON.stringify(o)}`).toBe(-1);
      }
    }
  });

  it('rejects every invalid vector with its code on both paths', () => {
    for (const v of vectors.invalid) {
      expect(outcome(() => mirrorDecode(v.stream)), v.name).toBe(v.error);
      expect(outcome(() => mirrorDecode(v.stream, { limits: DEFAULT_LIMITS, subgroupSize: 4, maxWorkgroups: 2 })), v.name).toBe(v.error);
    }
  });

  it('writes exactly [offset, offset + n) at unaligned offsets and across chunk splits (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 2, 8, 32, 64, 256, 512),
        fc.nat(13),
        fc.nat(9),
        fc.constantFrom(undefined, 8, 16),
        fc.boolean(),
        (n, seed, T, before, after, chunk, compat) => {
          const a = skewed(n, seed, 0.6);
          const s = encode(a, { threadsPerBlock: T });
          const size = Math.ceil((before + n + after) / 4) * 4;
          const work = new Uint8Array(size).fill(0xa5);
          const limits = compat ? DEFAULT_LIMITS : FULL_LIMITS;
          mirrorDecodeInto(s, work, before, { maxBlocksPerChunk: chunk, workgroupSize: Math.max(1, T >> 1), alignment: 16, limits, maxWorkgroups: 1 + (seed % 3) });
          expect(firstDifference(work.subarray(before, before + n), a)).toBe(-1);
          expect(work.subarray(0, before).every((b) => b === 0xa5)).toBe(true);
          expect(work.subarray(before + n).every((b) => b === 0xa5)).toBe(true);
        },
      ),
      { numRuns: 80, seed: 11 },
    );
  });

  it('agrees with decodeGpuOrder on corrupted streams: counts, bytes or error code (fast-check)', () => {
    const base = vectors.valid.filter((v) => v.elements > 0 && v.elements <= 30_000).map((v) => v.stream);
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(), fc.nat(7), fc.nat(3), (k, at, bit, extra) => {
        const s = base[k];
        const mutated = s.slice();
        // Corrupt the exponent or nibble sections mostly (phase C), sometimes anywhere.
        const parsed = parseStream(s);
        const from = extra === 0 ? 0 : parsed.layout.exponentsOffset;
        mutated[from + (at % (s.length - from))] ^= 1 << bit;
        expectSame(outcome(() => mirrorDecode(mutated, { workgroupSize: 1 << (at % 4) })), outcome(() => decodeGpuOrder(mutated)));
        expectSame(outcome(() => mirrorDecode(mutated, { verifyChecksums: false, maxBlocksPerChunk: 8, maxWorkgroups: 2 })), outcome(() => decodeGpuOrder(mutated, { verifyChecksums: false })));
        expectSame(outcome(() => mirrorDecode(mutated, { limits: DEFAULT_LIMITS, subgroupSize: 4 })), outcome(() => decodeGpuOrder(mutated)));
        // Wherever phases A and B pass, the kernel's count pass equals core's thread by thread.
        let want;
        try {
          want = coreCounts(mutated).map((c) => ({ start: c.start, count: c.count, end: c.end }));
        } catch {
          return;
        }
        expect(mirrorThreadCounts(mutated)).toEqual(want);
      }),
      { numRuns: 300, seed: 12 },
    );
  });
});

describe('CPU mirror: API-level vectors (maxOutputBytes, decodeInto a host buffer)', () => {
  const mirrorBackend = {
    name: 'webgpu-mirror',
    isAvailable: async () => ({ available: true as const }),
    decode: async (stream: Uint8Array, options?: { maxOutputBytes?: number }) => mirrorDecode(stream, options),
    decodeInto: async (stream: Uint8Array, target: Uint8Array, offset = 0, options?: { maxOutputBytes?: number }) =>
      mirrorDecodeInto(stream, target, offset, options),
    dispose: () => {},
  };
  for (const v of vectors.api) {
    it(`${v.name} -> ${v.error ?? 'decoded bytes'}`, () => checkApiVector(mirrorBackend, v, hostOutputTarget));
  }
});

