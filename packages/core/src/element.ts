/**
 * Element format (spec §2): FP8 E4M3 "fn". Each byte splits into a 4-bit exponent symbol and a 4-bit
 * sign/mantissa nibble; the split is exact for all 256 byte values (NaN, ±0 and subnormals included).
 */

/** `element_format` value of FP8 E4M3FN (spec §2, §4.1). */
export const ELEMENT_FORMAT_E4M3FN = 1;

/** Number of exponent symbols (spec §5). */
export const SYMBOL_COUNT = 16;

/** Exponent symbol `x = (v >> 3) & 0xF` of element byte `v` (spec §2). */
export function exponentOf(v: number): number {
  return (v >> 3) & 0x0f;
}

/** Sign/mantissa nibble `q = (sign << 3) | mantissa` of element byte `v` (spec §2). */
export function nibbleOf(v: number): number {
  return ((v >> 4) & 0x08) | (v & 0x07);
}

/** Reassembles an element byte from its exponent symbol and nibble (spec §2). */
export function joinElement(x: number, q: number): number {
  return ((q & 0x08) << 4) | (x << 3) | (q & 0x07);
}

/** Decodes an E4M3FN byte to a JavaScript number (NaN for S.1111.111). Informative helper for tools. */
export function e4m3ToNumber(v: number): number {
  const sign = v & 0x80 ? -1 : 1;
  const e = (v >> 3) & 0x0f;
  const m = v & 0x07;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * (m / 8) * 2 ** -6;
  return sign * (1 + m / 8) * 2 ** (e - 7);
}
