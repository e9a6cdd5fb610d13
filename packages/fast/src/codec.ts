/**
 * Single-thread fast codec: the spec's phase A (core's parseStream), phase B without allocations, phase C in the
 * kernel. Encoder output is byte-identical to @ecf8/core's reference encoder.
 */
import {
  buildCodeLengths,
  checkDecodeTarget,
  checkOutputRoom,
  DEFAULT_THREADS_PER_BLOCK,
  ErrorCode,
  fail,
  HEADER_SIZE,
  HeaderOffset,
  isValidThreadsPerBlock,
  layoutOf,
  parseStream,
  type DecodeOptions,
  type EncodeOptions,
  type Layout,
  type ParsedStream,
} from '@ecf8/core';
import { createKernel, R_CRC, R_GAP, R_POS, type Geometry } from './kernel.js';

/** The kernel instance of the main thread (workers evaluate their own copy of the same source). */
export const kernel = createKernel();

/** CRC-32C (spec §10), slicing-by-16 over aligned words. `crc32cUpdate(crc32cUpdate(0, a), b) === crc32c(a ++ b)`. */
export function crc32cUpdate(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  return kernel.crc32cUpdate(crc, data, start, end);
}
export function crc32c(data: Uint8Array): number {
  return kernel.crc32cUpdate(0, data, 0, data.length);
}
/** CRC-32C of `a ++ b` from crc32c(a), crc32c(b) and b's length. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  return kernel.crc32cCombine(crcA, crcB, lengthB);
}

export function geometryOf(layout: Layout): Geometry {
  return {
    n: layout.elementCount,
    bits: layout.exponentBitCount,
    T: layout.threadsPerBlock,
    nBlocks: layout.nBlocks,
    nThreads: layout.nThreads,
    positionsOffset: layout.positionsOffset,
    gapsOffset: layout.gapsOffset,
    exponentsOffset: layout.exponentsOffset,
    nibblesOffset: layout.nibblesOffset,
  };
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function u64At(s: Uint8Array, at: number): number {
  const lo = (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)) >>> 0;
  const hi = (s[at + 4] | (s[at + 5] << 8) | (s[at + 6] << 16) | (s[at + 7] << 24)) >>> 0;
  return hi * 2 ** 32 + lo;
}

function gapOf(s: Uint8Array, gapsOffset: number, t: number): number {
  const byte = s[gapsOffset + (t >> 1)];
  return t & 1 ? byte & 0x0f : byte >> 4;
}

function requireZero(s: Uint8Array, start: number, end: number, what: string): void {
  for (let i = start; i < end; i++) {
    if (s[i] !== 0) fail(ErrorCode.NONZERO_PADDING, `${what} byte at offset ${i} is ${s[i]}, not zero`);
  }
}

/** Step 13 of spec §11.2: ECF8_METADATA_CHECKSUM_MISMATCH unless `crc` (of header bytes 0..83, sections 1, 2) matches. */
export function checkMetadataCrc(crc: number, parsed: ParsedStream): void {
  if (crc !== parsed.header.metadataCrc32c) {
    fail(ErrorCode.METADATA_CHECKSUM_MISMATCH, `metadata CRC-32C is ${hex(crc)}, header says ${hex(parsed.header.metadataCrc32c)}`);
  }
}

/** Spec §11.2 phase B (steps 13-16), in the reference's order, allocating nothing sized by the stream. */
export function validateMetadataFast(parsed: ParsedStream, verifyChecksums: boolean): void {
  const { stream: s, header, layout } = parsed;
  const { nBlocks, nThreads, threadsPerBlock: T, elementCount: n, exponentBitCount: bits } = layout;
  if (verifyChecksums) {
    const crc = kernel.crc32cUpdate(0, s, 0, HeaderOffset.metadataCrc32c);
    checkMetadataCrc(kernel.crc32cUpdate(crc, s, HEADER_SIZE, layout.exponentsOffset), parsed);
  }
  const maxPerBlock = 64 * T;
  const p0 = u64At(s, layout.positionsOffset);
  if (p0 !== 0) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `first output position is ${p0}, not 0`);
  let prev = p0;
  for (let b = 0; b < nBlocks; b++) {
    const next = u64At(s, layout.positionsOffset + 8 * (b + 1));
    const span = next - prev;
    if (!(span >= 0)) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `output positions decrease at block ${b}`);
    if (span > maxPerBlock) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `block ${b} claims ${span} elements, more than ${maxPerBlock}`);
    prev = next;
  }
  if (prev !== n) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `last output position is ${prev}, not the element count ${n}`);
  for (let t = Math.max(0, nThreads - T); t < nThreads; t++) {
    const w = t * 64;
    const gap = gapOf(s, layout.gapsOffset, t);
    if (w >= bits && gap !== 0) fail(ErrorCode.BAD_GAP, `thread ${t} lies past the bitstream but has gap ${gap}`);
    if (w < bits && w + gap > bits) fail(ErrorCode.BAD_GAP, `gap ${gap} of thread ${t} points past the end of the bitstream`);
  }
  const usedGapBytes = Math.ceil(nThreads / 2);
  if (nThreads & 1 && (s[layout.gapsOffset + usedGapBytes - 1] & 0x0f) !== 0) {
    fail(ErrorCode.NONZERO_PADDING, 'the pad nibble of the gaps section is not zero');
  }
  requireZero(s, layout.gapsOffset + usedGapBytes, layout.exponentsOffset, 'gaps section padding');
  if (bits % 8 !== 0) {
    const last = s[layout.exponentsOffset + layout.usedBytes - 1];
    if ((last & ((1 << (8 - (bits % 8))) - 1)) !== 0) fail(ErrorCode.NONZERO_PADDING, 'bits after the end of the exponent bitstream are not zero');
  }
  requireZero(s, layout.exponentsOffset + layout.usedBytes, layout.nibblesOffset, 'exponent section padding');
  const usedNibbleBytes = Math.ceil(n / 2);
  if (n & 1 && (s[layout.nibblesOffset + usedNibbleBytes - 1] & 0x0f) !== 0) {
    fail(ErrorCode.NONZERO_PADDING, 'the pad nibble of an odd element count is not zero');
  }
  requireZero(s, layout.nibblesOffset + usedNibbleBytes, layout.streamSize, 'nibble section padding');
}

/** Reports phase-C outcomes in the spec's precedence (gap chain, positions, content). */
export function reportPhaseC(gap: boolean, pos: boolean, crcOk: boolean | null, parsed: ParsedStream, crc: number): void {
  if (gap) fail(ErrorCode.GAP_MISMATCH, 'the gap chain is broken: a window does not start where the codes before it end');
  if (pos) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say');
  if (crcOk === false) {
    fail(ErrorCode.CONTENT_CHECKSUM_MISMATCH, `decoded bytes have CRC-32C ${hex(crc)}, header says ${hex(parsed.header.contentCrc32c)}`);
  }
}

const result = new Float64Array(4);

function decodeParsedFast(parsed: ParsedStream, out: Uint8Array, offset: number, options: DecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  validateMetadataFast(parsed, verify);
  const { layout, header, stream } = parsed;
  if (layout.elementCount === 0) {
    // Nothing to decode, but the content checksum still applies: the CRC-32C of zero bytes is 0 (spec §10).
    reportPhaseC(false, false, verify ? header.contentCrc32c === 0 : null, parsed, 0);
    return;
  }
  const g = geometryOf(layout);
  const tables = kernel.buildDecodeTables(header.codeLengths);
  kernel.decodeRange(stream, g, tables, out, offset, 0, layout.nBlocks, verify, result);
  const crc = result[R_CRC];
  reportPhaseC(result[R_GAP] !== 0, result[R_POS] !== 0, verify ? crc === header.contentCrc32c : null, parsed, crc);
}

/** Decodes a stream into a new array of FP8 bytes (same result or the same error code as the reference). */
export function decodeFast(stream: Uint8Array, options: DecodeOptions = {}): Uint8Array {
  const parsed = parseStream(stream, options);
  const out = new Uint8Array(parsed.layout.elementCount);
  decodeParsedFast(parsed, out, 0, options);
  return out;
}

/** Decodes into out[offset .. offset + n); returns n. Allocates nothing proportional to n; writes nothing outside. */
export function decodeFastInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: DecodeOptions = {}): number {
  checkDecodeTarget(out, offset);
  const parsed = parseStream(stream, options);
  checkOutputRoom(parsed, out.length, offset);
  decodeParsedFast(parsed, out, offset, options);
  return parsed.layout.elementCount;
}

export function checkEncodeArgs(fp8: Uint8Array, options: EncodeOptions): number {
  if (!(fp8 instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'input must be a Uint8Array of FP8 bytes');
  const T = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
  if (!isValidThreadsPerBlock(T)) fail(ErrorCode.INVALID_ARGUMENT, `threadsPerBlock ${T} is not a power of two in 1..1024`);
  return T;
}

/** Writes the header fields and the metadata CRC once sections 1-4 are in place (spec §4, §10). */
export function finishStream(out: Uint8Array, layout: Layout, codeLengths: Uint8Array, contentCrc: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set([0x45, 0x43, 0x46, 0x38, 1, 1, 8, 0], 0);
  dv.setUint32(HeaderOffset.threadsPerBlock, layout.threadsPerBlock, true);
  dv.setUint32(HeaderOffset.reservedB, 0, true);
  const u64 = (at: number, v: number) => {
    dv.setUint32(at, v % 2 ** 32, true);
    dv.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
  };
  u64(HeaderOffset.elementCount, layout.elementCount);
  u64(HeaderOffset.exponentBitCount, layout.exponentBitCount);
  out.set(codeLengths, HeaderOffset.codeLengths);
  u64(HeaderOffset.positionsSize, layout.positionsSize);
  u64(HeaderOffset.gapsSize, layout.gapsSize);
  u64(HeaderOffset.exponentsSize, layout.exponentsSize);
  u64(HeaderOffset.nibblesSize, layout.nibblesSize);
  dv.setUint32(HeaderOffset.contentCrc32c, contentCrc >>> 0, true);
  let meta = kernel.crc32cUpdate(0, out, 0, HeaderOffset.metadataCrc32c);
  meta = kernel.crc32cUpdate(meta, out, HEADER_SIZE, layout.exponentsOffset);
  dv.setUint32(HeaderOffset.metadataCrc32c, meta, true);
}

export function totalBits(hist: ArrayLike<number>, lengths: ArrayLike<number>): number {
  let bits = 0;
  for (let x = 0; x < 16; x++) bits += hist[x] * lengths[x];
  return bits;
}

/** A split of the input into ranges (starts are multiples of 8, at most kernel.MAX_RANGE elements each). */
export function splitRanges(n: number, pieces: number): number[] {
  const size = Math.min(kernel.MAX_RANGE, Math.max(8, Math.ceil(n / pieces / 8) * 8));
  const cuts = [0];
  for (let i = size; i < n; i += size) cuts.push(i);
  cuts.push(n);
  return cuts;
}

/** Everything the bitstream pass needs once the histogram pass is done. */
export interface EncodePlan {
  codeLengths: Uint8Array;
  layout: Layout;
  /** Bit offset where each range's codes start (and, last, `bits`). */
  bitStarts: number[];
  contentCrc: number;
}

export function planEncode(n: number, T: number, cuts: number[], hists: Float64Array[], crcs: number[]): EncodePlan {
  const hist = new Float64Array(16);
  for (const h of hists) for (let x = 0; x < 16; x++) hist[x] += h[x];
  const codeLengths = buildCodeLengths(hist);
  const bitStarts = [0];
  let contentCrc = 0;
  for (let r = 0; r < hists.length; r++) {
    bitStarts.push(bitStarts[r] + totalBits(hists[r], codeLengths));
    contentCrc = r === 0 ? crcs[0] : kernel.crc32cCombine(contentCrc, crcs[r], cuts[r + 1] - cuts[r]);
  }
  const bits = bitStarts[bitStarts.length - 1];
  return { codeLengths, layout: layoutOf(n, bits, T), bitStarts, contentCrc };
}

/** Sets pos[n_blocks] = n and ORs each range's final partial byte into the next range's first byte. */
export function stitch(out: Uint8Array, plan: EncodePlan, partials: number[]): void {
  const { layout } = plan;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const n = layout.elementCount;
  dv.setUint32(layout.positionsOffset + 8 * layout.nBlocks, n % 2 ** 32, true);
  dv.setUint32(layout.positionsOffset + 8 * layout.nBlocks + 4, Math.floor(n / 2 ** 32), true);
  for (let r = 0; r < partials.length; r++) {
    if (partials[r] >= 0) out[layout.exponentsOffset + Math.floor(plan.bitStarts[r + 1] / 8)] |= partials[r];
  }
}

/** Histogram pass (histogram and CRC-32C) of ranges `rs` (indices into `cuts`) on this thread. */
export function scanRanges(fp8: Uint8Array, cuts: number[], rs: number[]): { h: Float64Array; crc: number }[] {
  return rs.map((r) => {
    const h = new Float64Array(16);
    return { h, crc: kernel.scan(fp8, cuts[r], cuts[r + 1], h) };
  });
}

/** Bitstream pass of ranges `rs` on this thread, straight into the stream `out`; returns their partial bytes. */
export function encodeRanges(fp8: Uint8Array, plan: EncodePlan, cuts: number[], rs: number[], out: Uint8Array): number[] {
  const g = geometryOf(plan.layout);
  const tables = kernel.buildEncodeTables(plan.codeLengths);
  const last = cuts.length - 2;
  return rs.map((r) => kernel.encodeRange(fp8, cuts[r], cuts[r + 1], plan.bitStarts[r], plan.bitStarts[r + 1], r === last, g, tables, out));
}

/** The indices 0 .. count - 1. */
export function rangeIndices(count: number): number[] {
  return Array.from({ length: count }, (_, r) => r);
}

/** Histogram pass and code choice of a single-thread encode (ranges of at most kernel.MAX_RANGE elements). */
function planFast(fp8: Uint8Array, T: number): { plan: EncodePlan; cuts: number[] } {
  const cuts = splitRanges(fp8.length, 1);
  const scans = scanRanges(fp8, cuts, rangeIndices(cuts.length - 1));
  return { plan: planEncode(fp8.length, T, cuts, scans.map((x) => x.h), scans.map((x) => x.crc)), cuts };
}

/** Encodes FP8 bytes; the stream is byte-identical to @ecf8/core's `encode` for the same input and T. */
export function encodeFast(fp8: Uint8Array, options: EncodeOptions = {}): Uint8Array {
  const T = checkEncodeArgs(fp8, options);
  const { plan, cuts } = planFast(fp8, T);
  const out = new Uint8Array(plan.layout.streamSize);
  encodeWithPlan(fp8, plan, cuts, out);
  return out;
}

/**
 * Encodes into `out[offset ..)` (a reusable workspace, e.g. one buffer of core's `maxEncodedSize` for the largest
 * tensor) and returns the stream's length; the bytes are those of {@link encodeFast}. Throws ECF8_OUTPUT_TOO_SMALL,
 * writing nothing, when the stream does not fit.
 */
export function encodeFastInto(fp8: Uint8Array, out: Uint8Array, offset = 0, options: EncodeOptions = {}): number {
  const T = checkEncodeArgs(fp8, options);
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
  const { plan, cuts } = planFast(fp8, T);
  const size = plan.layout.streamSize;
  if (offset > out.length || out.length - offset < size) {
    fail(ErrorCode.OUTPUT_TOO_SMALL, `the stream needs ${size} bytes; the output holds ${Math.max(0, out.length - offset)} at offset ${offset}`);
  }
  const region = out.subarray(offset, offset + size);
  region.fill(0); // the kernel ORs gaps and partial bytes into zeroed memory; every padding byte is zero (spec §3)
  encodeWithPlan(fp8, plan, cuts, region);
  return size;
}

export function encodeWithPlan(fp8: Uint8Array, plan: EncodePlan, cuts: number[], out: Uint8Array): void {
  const { layout, codeLengths } = plan;
  if (layout.elementCount > 0) stitch(out, plan, encodeRanges(fp8, plan, cuts, rangeIndices(cuts.length - 1), out));
  finishStream(out, layout, codeLengths, plan.contentCrc);
}
