/** fast-check generators shared by every package's property tests. */
import fc from 'fast-check';

/**
 * FP8 bytes whose exponents follow a random skewed distribution (as trained weights' do): 16 random weights raised
 * to a random power pick each exponent; sign and mantissa are random. Lengths 0..maxLength.
 */
export const skewedFp8 = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc
    .record({
      weights: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 16, maxLength: 16 }),
      power: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 0, max: maxLength }),
      seed: fc.integer({ min: 1, max: 0x7fffffff }),
    })
    .map(({ weights, power, n, seed }) => {
      const w = weights.map((x) => x ** power);
      const total = w.reduce((a, b) => a + b, 0) || 1;
      let s = seed;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        let u = (s / 2 ** 32) * total;
        let x = 0;
        while (x < 15 && u >= w[x]) u -= w[x++];
        out[i] = ((s >>> 7) & 0x80) | (x << 3) | ((s >>> 20) & 7);
      }
      return out;
    });

/** Every threads-per-block class worth testing: the smallest, small, and the GPU-typical ones up to the maximum. */
export const threadsPerBlock = fc.constantFrom(1, 2, 4, 32, 64, 128, 256, 512, 1024);
