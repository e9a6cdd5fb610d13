/**
 * The shared backend test suite (the tfjs pattern): written once, registered for every backend, so adding a backend
 * adds it to every test. Call `describeBackendSuite(backend)` from a vitest file; `skipReason` turns the whole suite
 * into visible skips (e.g. no CUDA device).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode as referenceDecode, encode, type Ecf8Backend } from '@ecf8/core';
import { firstDifference, loadVectors, usesOutputBuffer, type ApiVector } from './vectors.js';

export interface BackendSuiteOptions {
  /** When set, every test is skipped and the reason shows in the test name. */
  skipReason?: string;
  /** Largest element count for property tests (default 100k). */
  maxPropertyElements?: number;
  /** fast-check runs per property (default 40). */
  propertyRuns?: number;
  /** Name of the vectors subset to use (default all). */
  filter?: (name: string) => boolean;
  /**
   * How to make and read back a `decodeInto` target for the API-level vectors that pass an output buffer (default:
   * a host `Uint8Array`). A string skips those vectors, visibly, with that reason.
   */
  outputTarget?: OutputTarget<any> | string;
}

/** A `decodeInto` target of a backend: made with a byte size, read back as host bytes. */
export interface OutputTarget<Target> {
  create(byteLength: number, fill: number): Target | Promise<Target>;
  read(target: Target): Uint8Array | Promise<Uint8Array>;
  destroy?(target: Target): void;
}

/** The default target: a host byte array. */
export const hostOutputTarget: OutputTarget<Uint8Array> = {
  create: (byteLength, fill) => new Uint8Array(byteLength).fill(fill),
  read: (target) => target,
};

/** The fill byte around a decodeInto's output range, checked afterwards to be untouched. */
const FILL = 0xa5;

/**
 * Runs one API-level vector (test-vectors/README.md) on a backend: `decode` with `maxOutputBytes`, or `decodeInto`
 * a target of `outputBytes` bytes at `outputOffset`. Resolves when the outcome is the vector's; throws otherwise.
 */
export async function checkApiVector<Target>(backend: Ecf8Backend<Target>, v: ApiVector, target: OutputTarget<Target>): Promise<void> {
  const options = v.parameters.maxOutputBytes === undefined ? {} : { maxOutputBytes: v.parameters.maxOutputBytes };
  if (!usesOutputBuffer(v)) {
    const call = backend.decode(v.stream, options);
    if (v.error) await expectCode(call, v.error);
    else expect(firstDifference(await call, v.decoded!)).toBe(-1);
    return;
  }
  const size = v.parameters.outputBytes!;
  const offset = v.parameters.outputOffset ?? 0;
  const t = await target.create(size, FILL);
  try {
    const call = backend.decodeInto(v.stream, t, offset, options);
    if (v.error) {
      await expectCode(call, v.error);
      return;
    }
    const n = v.decoded!.length;
    expect(await call).toBe(n);
    const bytes = await target.read(t);
    expect(bytes.length).toBe(size);
    expect(firstDifference(bytes.subarray(offset, offset + n), v.decoded!)).toBe(-1);
    expect(bytes.subarray(0, offset).every((b) => b === FILL), 'bytes before the output range changed').toBe(true);
    expect(bytes.subarray(offset + n).every((b) => b === FILL), 'bytes after the output range changed').toBe(true);
  } finally {
    target.destroy?.(t);
  }
}

function expectCode(promise: Promise<unknown>, code: string) {
  return expect(promise).rejects.toMatchObject({ code });
}

export function describeBackendSuite(backend: Ecf8Backend<any>, options: BackendSuiteOptions = {}): void {
  const title = options.skipReason ? `backend ${backend.name} (skipped: ${options.skipReason})` : `backend ${backend.name}`;
  const d = options.skipReason ? describe.skip : describe;
  d(title, () => {
    const vectors = loadVectors();
    const keep = options.filter ?? (() => true);

    it('is available', async () => {
      expect(await backend.isAvailable()).toEqual({ available: true });
    });

    describe('valid vectors decode to their exact bytes', () => {
      for (const v of vectors.valid.filter((v) => keep(v.name))) {
        it(v.name, async () => {
          const out = await backend.decode(v.stream);
          expect(out.length).toBe(v.elements);
          expect(firstDifference(out, v.decoded)).toBe(-1);
        });
      }
    });

    describe('invalid vectors fail with their exact error code', () => {
      for (const v of vectors.invalid.filter((v) => keep(v.name))) {
        it(`${v.name} -> ${v.error}`, async () => {
          await expectCode(backend.decode(v.stream), v.error);
        });
      }
      for (const v of vectors.headerOnly) {
        it(`${v.name} (header only) -> ${v.error}`, async () => {
          await expectCode(backend.decode(v.stream), v.error);
        });
      }
    });

    describe('API-level vectors: the caller\'s parameters (maxOutputBytes, a decodeInto target)', () => {
      const target = options.outputTarget ?? hostOutputTarget;
      for (const v of vectors.api.filter((v) => keep(v.name))) {
        const title = `${v.name} ${JSON.stringify(v.parameters)} -> ${v.error ?? 'decoded bytes'}`;
        if (usesOutputBuffer(v) && typeof target === 'string') it.skip(`${title} (skipped: ${target})`, () => {});
        else it(title, () => checkApiVector(backend, v, target as OutputTarget<unknown>));
      }
    });

    it('respects maxOutputBytes', async () => {
      const v = vectors.valid.find((v) => v.elements > 100)!;
      await expectCode(backend.decode(v.stream, { maxOutputBytes: v.elements - 1 }), 'ECF8_LIMIT_EXCEEDED');
      expect((await backend.decode(v.stream, { maxOutputBytes: v.elements })).length).toBe(v.elements);
    });

    it('round-trips arbitrary bytes and skewed exponent distributions (fast-check)', async () => {
      const max = options.maxPropertyElements ?? 100_000;
      const skewed = fc
        .tuple(fc.integer({ min: 0, max }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.constantFrom(1, 32, 64, 256, 512, 1024))
        .map(([n, seed, skew, T]) => {
          let s = seed;
          const a = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            // geometric exponent distribution around 7 with ratio `skew`; random sign and mantissa
            let e = 7;
            let u = s / 2 ** 32;
            while (u < skew && e < 15) {
              e += (s & 1) ? 1 : -1;
              if (e < 0) e = 0;
              u = u / skew;
            }
            a[i] = ((s >>> 8) & 0x80) | (e << 3) | ((s >>> 16) & 7);
          }
          return { a, T };
        });
      const raw = fc.tuple(fc.uint8Array({ maxLength: 5000 }), fc.constantFrom(1, 2, 32, 512));
      await fc.assert(
        fc.asyncProperty(skewed, async ({ a, T }) => {
          const out = await backend.decode(encode(a, { threadsPerBlock: T }));
          expect(firstDifference(out, a)).toBe(-1);
        }),
        { numRuns: options.propertyRuns ?? 40, seed: 0xecf8 },
      );
      await fc.assert(
        fc.asyncProperty(raw, async ([a, T]) => {
          const out = await backend.decode(encode(a, { threadsPerBlock: T }));
          expect(firstDifference(out, a)).toBe(-1);
        }),
        { numRuns: options.propertyRuns ?? 40, seed: 0xecf9 },
      );
    });

    it('agrees with the reference on corrupted streams: same bytes or the same error code (fast-check)', async () => {
      const base = vectors.valid.filter((v) => v.elements > 0 && v.elements < 30_000).map((v) => v.stream);
      await fc.assert(
        fc.asyncProperty(fc.nat(base.length - 1), fc.nat(), fc.nat(7), fc.boolean(), async (k, at, bit, truncate) => {
          const s = base[k];
          const mutated = truncate ? s.slice(0, at % s.length) : s.slice();
          if (!truncate) mutated[at % s.length] ^= 1 << bit;
          let want: string | Uint8Array;
          try {
            want = referenceDecode(mutated);
          } catch (e) {
            want = (e as { code: string }).code;
          }
          let got: string | Uint8Array;
          try {
            got = await backend.decode(mutated);
          } catch (e) {
            got = (e as { code: string }).code ?? String(e);
          }
          if (typeof want === 'string') expect(got).toBe(want);
          else expect(typeof got === 'string' ? got : firstDifference(got, want)).toBe(-1);
        }),
        { numRuns: options.propertyRuns ? options.propertyRuns * 5 : 200, seed: 0xecfa },
      );
    });
  });
}
