/**
 * A second decoder that works exactly the way the GPU algorithm of spec §13 does: every block on its own, every
 * thread from its own gap, a block-wide prefix sum of the per-thread counts, writes at the block's output position.
 * It exists to prove the metadata right: it must agree with the sequential decoder on every stream, valid or not
 * (same bytes or the same error code), and GPU backends mirror its per-thread logic.
 */
import { joinElement } from './element.js';
import { ErrorCode, fail } from './errors.js';
import { BYTES_PER_THREAD, parseStream, type DecodeOptions, type ParsedStream } from './header.js';
import { gapOf, validateMetadata } from './metadata.js';
import { buildDecodeTables, POINTER_BASE, type DecodeTables } from './tables.js';
import { checkOutputRoom, verifyContent } from './decode.js';

/** What one thread computes in its counting pass (spec §8.3). */
export interface ThreadCount {
  /** c_t: number of codes that start in the window. */
  count: number;
  /** e_t: bit position just after the last of them (= start when count is 0). */
  end: number;
  /** w_t + gap_t: where the thread starts decoding. */
  start: number;
}

/** Decodes with the GPU-order algorithm into a new array. */
export function decodeGpuOrder(stream: Uint8Array, options: DecodeOptions = {}): Uint8Array {
  const parsed = parseStream(stream, options);
  const out = new Uint8Array(parsed.layout.elementCount);
  decodeGpuOrderParsed(parsed, out, 0, options);
  return out;
}

/** GPU-order decode into `out[offset .. offset + n)`; returns n. */
export function decodeGpuOrderInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: DecodeOptions = {}): number {
  const parsed = parseStream(stream, options);
  checkOutputRoom(parsed, out.length, offset);
  decodeGpuOrderParsed(parsed, out, offset, options);
  return parsed.layout.elementCount;
}

/**
 * Counting pass of global thread t (spec §8.3): decode from w_t + gap_t while the position is below
 * min(window end, bits). Dead threads count nothing.
 */
export function countThread(parsed: ParsedStream, tables: DecodeTables, t: number): ThreadCount {
  const { stream, layout } = parsed;
  const w = t * 8 * BYTES_PER_THREAD;
  if (w >= layout.exponentBitCount) return { count: 0, end: w, start: w };
  const start = w + gapOf(stream, layout.gapsOffset, t);
  const limit = Math.min(w + 8 * BYTES_PER_THREAD, layout.exponentBitCount);
  const ex = layout.exponentsOffset;
  let p = start;
  let count = 0;
  while (p < limit) {
    p += tables.bytes[tables.lengthTableOffset + symbolAt(stream, ex, tables, p)];
    count++;
  }
  return { count, end: p, start };
}

/** Decodes the symbol whose code starts at bitstream position p (spec §6). */
export function symbolAt(stream: Uint8Array, exponentsOffset: number, tables: DecodeTables, p: number): number {
  const k = exponentsOffset + (p >>> 3);
  const w = (((stream[k] << 16) | (stream[k + 1] << 8) | stream[k + 2]) >>> (8 - (p & 7))) & 0xffff;
  const x = tables.bytes[w >>> 8];
  return x >= POINTER_BASE ? tables.bytes[256 * (256 - x) + (w & 0xff)] : x;
}

export function decodeGpuOrderParsed(parsed: ParsedStream, out: Uint8Array, offset: number, options: DecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  const pos = validateMetadata(parsed, verify);
  const { stream, header, layout } = parsed;
  const { nBlocks, threadsPerBlock: T, exponentBitCount: bits, elementCount: n } = layout;
  const tables = buildDecodeTables(header.codeLengths);
  const nib = layout.nibblesOffset;
  let gapMismatch = -1;
  let positionMismatch = -1;
  let previousEnd = 0; // e_{t-1}, with e_{-1} = 0
  const counts = new Uint32Array(T);
  const starts = new Float64Array(T);
  for (let b = 0; b < nBlocks; b++) {
    // Count pass + gap chain (§8.3, §13 steps 2-3).
    for (let t = 0; t < T; t++) {
      const g = b * T + t;
      const c = countThread(parsed, tables, g);
      counts[t] = c.count;
      starts[t] = c.start;
      if (g * 8 * BYTES_PER_THREAD < bits) {
        if (c.start !== previousEnd && gapMismatch < 0) gapMismatch = g;
        previousEnd = c.end;
      }
    }
    // Block-wide exclusive prefix sum (§13 step 4).
    let total = 0;
    const blockBase = pos[b];
    const blockEnd = pos[b + 1];
    for (let t = 0; t < T; t++) {
      const c = counts[t];
      counts[t] = total;
      total += c;
    }
    if (blockBase + total !== blockEnd && positionMismatch < 0) positionMismatch = b;
    // Decode pass (§13 step 5), writes clamped to the block's range [pos[b], pos[b+1]).
    for (let t = 0; t < T; t++) {
      const g = b * T + t;
      const w = g * 8 * BYTES_PER_THREAD;
      if (w >= bits) continue;
      const limit = Math.min(w + 8 * BYTES_PER_THREAD, bits);
      let p = starts[t];
      let o = blockBase + counts[t];
      while (p < limit) {
        const x = symbolAt(stream, layout.exponentsOffset, tables, p);
        if (o < blockEnd) {
          const byte = stream[nib + Math.floor(o / 2)];
          out[offset + o] = joinElement(x, o % 2 ? byte & 0x0f : byte >>> 4);
        }
        o++;
        p += tables.bytes[tables.lengthTableOffset + x];
      }
    }
  }
  // The last live thread must end exactly at `bits`.
  if (bits > 0 && previousEnd !== bits && gapMismatch < 0) gapMismatch = layout.nThreads;
  // Precedence by rule (spec §11.2): gap chain, then positions, then content.
  if (gapMismatch >= 0) fail(ErrorCode.GAP_MISMATCH, `thread ${gapMismatch} does not start where the previous thread's codes end`);
  if (positionMismatch >= 0) fail(ErrorCode.POSITION_MISMATCH, `block ${positionMismatch}: its threads decode a different number of codes than its output positions say`);
  void n;
  if (verify) verifyContent(parsed, out, offset);
}
