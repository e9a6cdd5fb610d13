/** Canonical Huffman code assignment from code lengths (spec §5.2). */
import { SYMBOL_COUNT } from './element.js';

/**
 * Returns `codes[x]` (the code of symbol x as an integer whose `codeLengths[x]` low bits are the code, first bit
 * most significant); unused symbols get 0. Order: (length ascending, symbol ascending); the first code is 0 and
 * each next one is `(prev + 1) << (len - prevLen)`.
 */
export function canonicalCodes(codeLengths: ArrayLike<number>): Uint32Array {
  const codes = new Uint32Array(SYMBOL_COUNT);
  const order = symbolsInCanonicalOrder(codeLengths);
  let code = 0;
  let prevLen = 0;
  order.forEach((x, i) => {
    const len = codeLengths[x];
    code = i === 0 ? 0 : (code + 1) << (len - prevLen);
    codes[x] = code;
    prevLen = len;
  });
  return codes;
}

/** Used symbols sorted by (length, symbol) — the canonical order of spec §5.2 step 1. */
export function symbolsInCanonicalOrder(codeLengths: ArrayLike<number>): number[] {
  const order: number[] = [];
  for (let x = 0; x < SYMBOL_COUNT; x++) if (codeLengths[x] > 0) order.push(x);
  return order.sort((a, b) => codeLengths[a] - codeLengths[b] || a - b);
}

/** Formats a code as its bit string, e.g. `codeString(6, 3) === "110"`. */
export function codeString(code: number, length: number): string {
  return length === 0 ? '' : code.toString(2).padStart(length, '0');
}
