import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sha256 } from '../src/sha256.js';

describe('Sha256', () => {
  it('matches node:crypto for any data fed in any pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(200), { maxLength: 8 }), (data, cuts) => {
        const h = new Sha256();
        let at = 0;
        for (const c of cuts) {
          h.update(data.subarray(at, Math.min(data.length, at + c)));
          at = Math.min(data.length, at + c);
        }
        h.update(data.subarray(at));
        expect(h.hex()).toBe(createHash('sha256').update(data).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes the empty input and a megabyte', () => {
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
    expect(new Sha256().update(big).hex()).toBe(createHash('sha256').update(big).digest('hex'));
  });
});
