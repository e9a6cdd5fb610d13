import { describe, expect, it } from 'vitest';
import { e4m3ToNumber, exponentOf, joinElement, nibbleOf, numberToE4M3, quantizeE4M3, crc32c } from '../src/index.js';

describe('E4M3 element split (spec §2)', () => {
  it('splits and rejoins all 256 byte values exactly', () => {
    for (let v = 0; v < 256; v++) expect(joinElement(exponentOf(v), nibbleOf(v))).toBe(v);
  });
  it('matches hand-computed values', () => {
    // 1.0 = 0.0111.000: exponent 7, nibble 0; -448 = 1.1111.110: exponent 15, nibble 1110b; NaN 0x7f.
    expect([exponentOf(0x38), nibbleOf(0x38)]).toEqual([7, 0]);
    expect([exponentOf(0xfe), nibbleOf(0xfe)]).toEqual([15, 0b1110]);
    expect([exponentOf(0x7f), nibbleOf(0x7f)]).toEqual([15, 0b0111]);
    expect([exponentOf(0x81), nibbleOf(0x81)]).toEqual([0, 0b1001]); // -2^-9, smallest negative subnormal
    expect(e4m3ToNumber(0x38)).toBe(1);
    expect(e4m3ToNumber(0x7e)).toBe(448);
    expect(e4m3ToNumber(0x01)).toBe(2 ** -9);
    expect(Number.isNaN(e4m3ToNumber(0xff))).toBe(true);
  });
});

describe('E4M3 quantization (informative)', () => {
  it('maps every finite E4M3 value to itself', () => {
    for (let v = 0; v < 256; v++) {
      if ((v & 0x7f) === 0x7f) continue;
      expect(numberToE4M3(e4m3ToNumber(v)), `0x${v.toString(16)}`).toBe(v);
    }
  });
  it('rounds midpoints to even and saturates', () => {
    for (let v = 0; v < 0x7e; v++) {
      const lo = e4m3ToNumber(v);
      const hi = e4m3ToNumber(v + 1);
      const even = (v & 1) === 0 ? v : v + 1;
      expect(numberToE4M3((lo + hi) / 2), `between 0x${v.toString(16)} and next`).toBe(even);
      expect(numberToE4M3(-(lo + hi) / 2)).toBe(0x80 | even);
    }
    expect(numberToE4M3(1e9)).toBe(0x7e);
    expect(numberToE4M3(-500)).toBe(0xfe);
    expect(numberToE4M3(NaN)).toBe(0x7f);
  });
  it('uses a per-tensor scale of amax / 448', () => {
    const q = quantizeE4M3([0.5, -1, 0.25]);
    expect(q.scale).toBe(1 / 448);
    expect(q.data[1]).toBe(0xfe);
  });
});

describe('CRC-32C (spec §10)', () => {
  it('has the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
});
