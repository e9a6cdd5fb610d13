/**
 * The reference sequential decoder: spec §11.2 phases A and B, then phase C by walking the bitstream once from bit
 * 0, checking every window's gap (§8.3 gap chain) and every block's output position as it goes.
 */
import { crc32cUpdate } from './crc32c.js';
import { ErrorCode, fail } from './errors.js';
import { BYTES_PER_THREAD, parseStream, type DecodeOptions, type ParsedStream } from './header.js';
import { gapOf, hex, validateMetadata } from './metadata.js';
import { buildDecodeTables, POINTER_BASE } from './tables.js';

/** Decodes a stream into a new array of FP8 bytes. */
export function decode(stream: Uint8Array, options: DecodeOptions = {}): Uint8Array {
  const parsed = parseStream(stream, options);
  // n is bounded by the validated stream length (spec §11.2 after step 12).
  const out = new Uint8Array(parsed.layout.elementCount);
  decodeParsed(parsed, out, 0, options);
  return out;
}

/**
 * Decodes into `out[offset .. offset + n)` (a caller's preallocated workspace, e.g. one buffer the size of the
 * largest layer). Returns n. Writes nothing outside that range.
 */
export function decodeInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: DecodeOptions = {}): number {
  checkDecodeTarget(out, offset);
  const parsed = parseStream(stream, options);
  checkOutputRoom(parsed, out.length, offset);
  decodeParsed(parsed, out, offset, options);
  return parsed.layout.elementCount;
}

/** ECF8_INVALID_ARGUMENT unless `out` is a Uint8Array and `offset` a non-negative integer (every decodeInto's first check). */
export function checkDecodeTarget(out: Uint8Array, offset: number): void {
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
}

/** ECF8_OUTPUT_TOO_SMALL unless `n` bytes fit at `offset` in a buffer of `capacity` bytes. */
export function checkOutputRoom(parsed: ParsedStream, capacity: number, offset: number): void {
  const n = parsed.layout.elementCount;
  if (offset > capacity || capacity - offset < n) {
    fail(ErrorCode.OUTPUT_TOO_SMALL, `output holds ${Math.max(0, capacity - offset)} bytes at offset ${offset}; the stream decodes to ${n}`);
  }
}

/** Phases B and C on a parsed stream. */
export function decodeParsed(parsed: ParsedStream, out: Uint8Array, offset: number, options: DecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  const pos = validateMetadata(parsed, verify);
  decodeSequential(parsed, pos, out, offset);
  if (verify) verifyContent(parsed, out, offset);
}

/** Step 19: the decoded bytes must match content_crc32c. */
export function verifyContent(parsed: ParsedStream, out: Uint8Array, offset: number): void {
  const n = parsed.layout.elementCount;
  const crc = crc32cUpdate(0, out, offset, offset + n);
  if (crc !== parsed.header.contentCrc32c) {
    fail(ErrorCode.CONTENT_CHECKSUM_MISMATCH, `decoded bytes have CRC-32C ${hex(crc)}, header says ${hex(parsed.header.contentCrc32c)}`);
  }
}

/**
 * Phase C, steps 17-18, sequentially. The code starting at bit p is decoded with the table cascade (§6). Before
 * decoding it, every window starting at or before p checks that its gap points at p (the first code start in it).
 */
function decodeSequential(parsed: ParsedStream, pos: Float64Array, out: Uint8Array, offset: number): void {
  const { stream, header, layout } = parsed;
  const { elementCount: n, exponentBitCount: bits } = layout;
  const tables = buildDecodeTables(header.codeLengths);
  const lut = tables.bytes;
  const lenTable = tables.lengthTableOffset;
  const ex = stream.subarray(layout.exponentsOffset, layout.exponentsOffset + layout.exponentsSize);
  const nib = stream.subarray(layout.nibblesOffset, layout.nibblesOffset + layout.nibblesSize);
  const state: WindowCheck = { nextThread: 0, nextWindowStart: 0, firstPositionMismatch: -1 };

  let p = 0;
  let i = 0;
  let nextWindowStart = 0;
  while (p < bits) {
    if (p >= nextWindowStart) {
      checkWindowsUpTo(parsed, pos, state, p, i);
      nextWindowStart = state.nextWindowStart;
    }
    // Peek 16 bits at p (MSB-first); the section's 16 zero bytes of lookahead make the reads safe (§7).
    const k = p >>> 3;
    const w = (((ex[k] << 16) | (ex[k + 1] << 8) | ex[k + 2]) >>> (8 - (p & 7))) & 0xffff;
    let x = lut[w >>> 8];
    if (x >= POINTER_BASE) x = lut[256 * (256 - x) + (w & 0xff)];
    if (i < n) {
      // §2: the byte is sign | exponent | mantissa; element i's nibble is the high one when i is even (§9).
      const q = i & 1 ? nib[i >>> 1] & 0x0f : nib[i >>> 1] >>> 4;
      out[offset + i] = ((q & 0x08) << 4) | (x << 3) | (q & 0x07);
    }
    i++;
    p += lut[lenTable + x];
  }
  // Live windows after the last code start must point at the end of the last code, which must be `bits`.
  checkWindowsUpTo(parsed, pos, state, p, i);
  if (p !== bits) fail(ErrorCode.GAP_MISMATCH, `the last code ends at bit ${p}, past the bitstream's ${bits} bits`);
  if (state.firstPositionMismatch >= 0) {
    fail(ErrorCode.POSITION_MISMATCH, `block ${state.firstPositionMismatch} does not start at its stored output position`);
  }
  if (i !== n) fail(ErrorCode.POSITION_MISMATCH, `the bitstream holds ${i} codes but the stream has ${n} elements`);
}

interface WindowCheck {
  /** First thread whose gap has not been checked yet. */
  nextThread: number;
  nextWindowStart: number;
  firstPositionMismatch: number;
}

/**
 * Gap chain (§8.3) seen sequentially: every live window starting at or before bit `p` (the start of the next code,
 * after `i` codes) must have `gap = p - window start`; a block's first window must see `pos[b] = i`.
 */
function checkWindowsUpTo(parsed: ParsedStream, pos: Float64Array, s: WindowCheck, p: number, i: number): void {
  const { stream, layout } = parsed;
  const { nThreads, threadsPerBlock: T, exponentBitCount: bits } = layout;
  while (s.nextThread < nThreads && s.nextWindowStart <= p && s.nextWindowStart < bits) {
    const gap = gapOf(stream, layout.gapsOffset, s.nextThread);
    if (s.nextWindowStart + gap !== p) {
      fail(ErrorCode.GAP_MISMATCH, `thread ${s.nextThread}: gap ${gap} but the first code in its window starts at offset ${p - s.nextWindowStart}`);
    }
    if (s.nextThread % T === 0 && pos[s.nextThread / T] !== i && s.firstPositionMismatch < 0) s.firstPositionMismatch = s.nextThread / T;
    s.nextThread++;
    s.nextWindowStart += 8 * BYTES_PER_THREAD;
  }
}
