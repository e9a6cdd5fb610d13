/** Spec §11.2 phase B (steps 13-16): metadata checksum, output positions, gaps and padding. */
import { crc32cUpdate } from './crc32c.js';
import { ErrorCode, fail } from './errors.js';
import { BYTES_PER_THREAD, HeaderOffset, HEADER_SIZE, type ParsedStream } from './header.js';

/** Output positions pos[0..n_blocks] as numbers (valid ones are ≤ n, a safe integer). */
export function readPositions(parsed: ParsedStream): Float64Array {
  const { stream, layout } = parsed;
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const pos = new Float64Array(layout.nBlocks + 1);
  for (let b = 0; b <= layout.nBlocks; b++) {
    const at = layout.positionsOffset + 8 * b;
    pos[b] = dv.getUint32(at + 4, true) * 2 ** 32 + dv.getUint32(at, true);
  }
  return pos;
}

/** Gap of global thread t (spec §8.2): high nibble for even t. */
export function gapOf(stream: Uint8Array, gapsOffset: number, t: number): number {
  const byte = stream[gapsOffset + (t >> 1)];
  return t & 1 ? byte & 0x0f : byte >> 4;
}

/** Runs phase B; returns the output positions for phase C. */
export function validateMetadata(parsed: ParsedStream, verifyChecksums = true): Float64Array {
  const { stream, header, layout } = parsed;
  const { nBlocks, nThreads, threadsPerBlock: T, elementCount: n, exponentBitCount: bits } = layout;

  // Step 13: metadata CRC-32C over header bytes 0..83, then sections 1 and 2.
  if (verifyChecksums) {
    let crc = crc32cUpdate(0, stream, 0, HeaderOffset.metadataCrc32c);
    crc = crc32cUpdate(crc, stream, HEADER_SIZE, layout.exponentsOffset);
    if (crc !== header.metadataCrc32c) {
      fail(ErrorCode.METADATA_CHECKSUM_MISMATCH, `metadata CRC-32C is ${hex(crc)}, header says ${hex(header.metadataCrc32c)}`);
    }
  }

  // Step 14: output positions partition 0..n into block ranges of at most 8BT elements.
  const pos = readPositions(parsed);
  const maxPerBlock = 8 * BYTES_PER_THREAD * T;
  if (pos[0] !== 0) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `first output position is ${pos[0]}, not 0`);
  for (let b = 0; b < nBlocks; b++) {
    const span = pos[b + 1] - pos[b];
    if (!(span >= 0)) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `output positions decrease at block ${b}`);
    if (span > maxPerBlock) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `block ${b} claims ${span} elements, more than ${maxPerBlock}`);
  }
  if (pos[nBlocks] !== n) fail(ErrorCode.BAD_OUTPUT_POSITIONS, `last output position is ${pos[nBlocks]}, not the element count ${n}`);

  // Step 15: gaps in range. Only the last block can hold dead threads or the window of the final code's tail.
  const windowBits = 8 * BYTES_PER_THREAD;
  for (let t = Math.max(0, nThreads - T); t < nThreads; t++) {
    const w = t * windowBits;
    const gap = gapOf(stream, layout.gapsOffset, t);
    if (w >= bits && gap !== 0) fail(ErrorCode.BAD_GAP, `thread ${t} lies past the bitstream but has gap ${gap}`);
    if (w < bits && w + gap > bits) fail(ErrorCode.BAD_GAP, `gap ${gap} of thread ${t} points past the end of the bitstream`);
  }

  // Step 16: every padding bit and byte is zero.
  const usedGapBytes = Math.ceil(nThreads / 2);
  if (nThreads & 1 && (stream[layout.gapsOffset + usedGapBytes - 1] & 0x0f) !== 0) {
    fail(ErrorCode.NONZERO_PADDING, 'the pad nibble of the gaps section is not zero');
  }
  requireZero(stream, layout.gapsOffset + usedGapBytes, layout.exponentsOffset, 'gaps section padding');
  if (bits % 8 !== 0) {
    const last = stream[layout.exponentsOffset + layout.usedBytes - 1];
    if ((last & ((1 << (8 - (bits % 8))) - 1)) !== 0) fail(ErrorCode.NONZERO_PADDING, 'bits after the end of the exponent bitstream are not zero');
  }
  requireZero(stream, layout.exponentsOffset + layout.usedBytes, layout.nibblesOffset, 'exponent section padding');
  const usedNibbleBytes = Math.ceil(n / 2);
  if (n & 1 && (stream[layout.nibblesOffset + usedNibbleBytes - 1] & 0x0f) !== 0) {
    fail(ErrorCode.NONZERO_PADDING, 'the pad nibble of an odd element count is not zero');
  }
  requireZero(stream, layout.nibblesOffset + usedNibbleBytes, layout.streamSize, 'nibble section padding');
  return pos;
}

function requireZero(stream: Uint8Array, start: number, end: number, what: string): void {
  for (let i = start; i < end; i++) {
    if (stream[i] !== 0) fail(ErrorCode.NONZERO_PADDING, `${what} byte at offset ${i} is ${stream[i]}, not zero`);
  }
}

export function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}
