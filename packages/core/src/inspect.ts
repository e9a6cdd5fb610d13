/** Stream inspection and input analysis: header, codes, tables, entropy and the Shannon bound (4 + H) / 8. */
import { canonicalCodes, codeString } from './canonical.js';
import { buildCodeLengths, exponentHistogram, totalCodeBits } from './code-lengths.js';
import { decode } from './decode.js';
import { SYMBOL_COUNT } from './element.js';
import { DEFAULT_THREADS_PER_BLOCK, layoutOf, parseStream, readHeader, type DecodeOptions, type Header, type Layout } from './header.js';
import { buildDecodeTables, type DecodeTables } from './tables.js';

/** Shannon entropy in bits per symbol of a histogram. */
export function entropyBits(histogram: ArrayLike<number>): number {
  let total = 0;
  for (let x = 0; x < histogram.length; x++) total += histogram[x];
  if (total === 0) return 0;
  let h = 0;
  for (let x = 0; x < histogram.length; x++) {
    const c = histogram[x];
    if (c > 0) h -= (c / total) * Math.log2(c / total);
  }
  return h;
}

/** Bytes of the entropy bound for n elements: exponent entropy plus 4 raw bits, (4 + H) / 8 per element. */
export function shannonBoundBytes(n: number, entropy: number): number {
  return ((4 + entropy) / 8) * n;
}

export interface CodeInfo {
  symbol: number;
  length: number;
  /** The canonical code as a bit string (spec §5.2). */
  code: string;
}

function codeTable(codeLengths: Uint8Array): CodeInfo[] {
  const codes = canonicalCodes(codeLengths);
  const rows: CodeInfo[] = [];
  for (let x = 0; x < SYMBOL_COUNT; x++) {
    if (codeLengths[x] > 0) rows.push({ symbol: x, length: codeLengths[x], code: codeString(codes[x], codeLengths[x]) });
  }
  return rows;
}

export interface Analysis {
  elementCount: number;
  histogram: number[];
  /** Exponent entropy H in bits per element. */
  entropy: number;
  codeLengths: Uint8Array;
  codes: CodeInfo[];
  /** Mean Huffman code length in bits per element. */
  meanCodeLength: number;
  /** Exact size of the stream the reference encoder would produce (default T unless given). */
  predictedStreamBytes: number;
  /** (4 + H) / 8 * n. */
  shannonBoundBytes: number;
  /** predictedStreamBytes / n (1.0 = no gain). */
  ratioToInput: number;
  /** predictedStreamBytes / shannonBoundBytes. */
  ratioToBound: number;
}

/** Analyses FP8 bytes without encoding them: histogram, entropy, code, predicted size vs the Shannon bound. */
export function analyze(fp8: Uint8Array, threadsPerBlock = DEFAULT_THREADS_PER_BLOCK): Analysis {
  const histogram = exponentHistogram(fp8);
  const codeLengths = buildCodeLengths(histogram);
  const n = fp8.length;
  const bits = totalCodeBits(histogram, codeLengths);
  const layout = layoutOf(n, bits, threadsPerBlock);
  const entropy = entropyBits(histogram);
  const bound = shannonBoundBytes(n, entropy);
  return {
    elementCount: n,
    histogram: Array.from(histogram),
    entropy,
    codeLengths,
    codes: codeTable(codeLengths),
    meanCodeLength: n ? bits / n : 0,
    predictedStreamBytes: layout.streamSize,
    shannonBoundBytes: bound,
    ratioToInput: n ? layout.streamSize / n : 0,
    ratioToBound: bound ? layout.streamSize / bound : 0,
  };
}

export interface StreamInfo {
  header: Header;
  layout: Layout;
  codes: CodeInfo[];
  tables: DecodeTables;
  /** Exponent histogram of the decoded data. */
  histogram: number[];
  entropy: number;
  meanCodeLength: number;
  shannonBoundBytes: number;
  /** stream bytes / n. */
  ratioToInput: number;
  /** stream bytes / Shannon bound. */
  ratioToBound: number;
}

/** Fully validates and decodes a stream, then reports its header, code, tables and statistics. */
export function inspect(stream: Uint8Array, options: DecodeOptions = {}): StreamInfo {
  const parsed = parseStream(stream, options);
  const decoded = decode(stream, options);
  const histogram = exponentHistogram(decoded);
  const entropy = entropyBits(histogram);
  const n = parsed.layout.elementCount;
  const bound = shannonBoundBytes(n, entropy);
  return {
    header: parsed.header,
    layout: parsed.layout,
    codes: codeTable(parsed.header.codeLengths),
    tables: buildDecodeTables(parsed.header.codeLengths),
    histogram: Array.from(histogram),
    entropy,
    meanCodeLength: n ? parsed.layout.exponentBitCount / n : 0,
    shannonBoundBytes: bound,
    ratioToInput: n ? stream.length / n : 0,
    ratioToBound: bound ? stream.length / bound : 0,
  };
}

/** Phase A steps 1-11 only: reads a header even when the sections are absent (e.g. header-only vectors). */
export function inspectHeader(stream: Uint8Array): { header: Header; codes: CodeInfo[] } {
  const header = readHeader(stream);
  return { header, codes: codeTable(header.codeLengths) };
}
