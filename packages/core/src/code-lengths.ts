/**
 * Exponent code lengths: validity (spec §5.1, §11.2 steps 8-9) and the reference encoder's length-limited
 * optimal construction by package-merge (spec §12.2).
 */
import { ErrorCode, fail } from './errors.js';
import { SYMBOL_COUNT } from './element.js';

const MAX_LEN = 16;
const KRAFT_FULL = 1 << MAX_LEN;

/** Kraft sum K = Σ 2^(16 - len) over used symbols (spec §5.1). K = 65536 means the code is complete. */
export function kraftSum(codeLengths: ArrayLike<number>): number {
  let k = 0;
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    const len = codeLengths[x];
    if (len > 0 && len <= MAX_LEN) k += 1 << (MAX_LEN - len);
  }
  return k;
}

/** Spec §11.2 steps 8-9 for a stream of `n` elements. */
export function checkCodeLengths(codeLengths: Uint8Array, n: bigint): void {
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    if (codeLengths[x] > MAX_LEN) fail(ErrorCode.BAD_CODE_LENGTH, `code length ${codeLengths[x]} of symbol ${x} exceeds ${MAX_LEN}`);
    if (n === 0n && codeLengths[x] !== 0) fail(ErrorCode.BAD_CODE_LENGTH, `symbol ${x} has a code in an empty stream`);
  }
  if (n === 0n) return;
  const k = kraftSum(codeLengths);
  if (k > KRAFT_FULL) fail(ErrorCode.CODE_OVERSUBSCRIBED, `code lengths are over-subscribed (Kraft sum ${k}/65536)`);
  if (k < KRAFT_FULL) fail(ErrorCode.CODE_INCOMPLETE, `code lengths are incomplete (Kraft sum ${k}/65536)`);
}

/** Exponent histogram h[x] (spec §12.1). */
export function exponentHistogram(fp8: Uint8Array): Float64Array {
  // Count in a 256-bin byte histogram first (cheap inner loop), then fold into exponents.
  const bytes = new Float64Array(256);
  const chunk = new Uint32Array(256);
  const CHUNK = 1 << 24; // keeps Uint32 counters from overflowing
  for (let start = 0; start < fp8.length; start += CHUNK) {
    chunk.fill(0);
    const end = Math.min(fp8.length, start + CHUNK);
    for (let i = start; i < end; i++) chunk[fp8[i]]++;
    for (let v = 0; v < 256; v++) bytes[v] += chunk[v];
  }
  const h = new Float64Array(SYMBOL_COUNT);
  for (let v = 0; v < 256; v++) h[(v >> 3) & 15] += bytes[v];
  return h;
}

/** One package-merge item: its weight and how many times each symbol occurs in it. */
interface Item {
  weight: number;
  isLeaf: boolean;
  counts: Uint8Array;
}

/**
 * Reference code lengths for a histogram (spec §12.2): none for an empty input, lengths 1+1 for a single used
 * symbol (paired with the smallest other symbol), otherwise package-merge limited to 16 bits with the spec's exact
 * tie-breaking, so every canonical encoder derives the same lengths.
 */
export function buildCodeLengths(histogram: ArrayLike<number>): Uint8Array {
  const lengths = new Uint8Array(SYMBOL_COUNT);
  const used: number[] = [];
  for (let x = 0; x < SYMBOL_COUNT; x++) if (histogram[x] > 0) used.push(x);
  const k = used.length;
  if (k === 0) return lengths;
  if (k === 1) {
    const x = used[0];
    lengths[x] = 1;
    lengths[x === 0 ? 1 : 0] = 1;
    return lengths;
  }
  // Step 1: leaves sorted by (weight, symbol).
  used.sort((a, b) => histogram[a] - histogram[b] || a - b);
  const leaves: Item[] = used.map((x) => {
    const counts = new Uint8Array(SYMBOL_COUNT);
    counts[x] = 1;
    return { weight: histogram[x], isLeaf: true, counts };
  });
  // Step 2: 15 rounds of package + merge.
  let list = leaves;
  for (let round = 1; round < MAX_LEN; round++) {
    const packages: Item[] = [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const counts = new Uint8Array(SYMBOL_COUNT);
      for (let x = 0; x < SYMBOL_COUNT; x++) counts[x] = list[i].counts[x] + list[i + 1].counts[x];
      packages.push({ weight: list[i].weight + list[i + 1].weight, isLeaf: false, counts });
    }
    list = mergeByWeight(leaves, packages);
  }
  // Step 3: the first 2k - 2 items; a symbol's length is how often it occurs in them.
  for (let i = 0; i < 2 * k - 2; i++) {
    for (let x = 0; x < SYMBOL_COUNT; x++) lengths[x] += list[i].counts[x];
  }
  return lengths;
}

/** Stable merge of two weight-sorted lists; on equal weight, leaves (first list) come first. */
function mergeByWeight(leaves: Item[], packages: Item[]): Item[] {
  const out: Item[] = [];
  let i = 0;
  let j = 0;
  while (i < leaves.length || j < packages.length) {
    if (j >= packages.length || (i < leaves.length && leaves[i].weight <= packages[j].weight)) out.push(leaves[i++]);
    else out.push(packages[j++]);
  }
  return out;
}

/** Total exponent bits Σ h[x] * len[x] for a histogram under given lengths. */
export function totalCodeBits(histogram: ArrayLike<number>, codeLengths: ArrayLike<number>): number {
  let bits = 0;
  for (let x = 0; x < SYMBOL_COUNT; x++) bits += histogram[x] * codeLengths[x];
  return bits;
}
