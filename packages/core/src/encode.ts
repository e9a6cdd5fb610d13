/**
 * The reference encoder (spec §12). Deterministic: the same FP8 bytes and T always give the same stream bytes,
 * which canonical encoders must reproduce.
 */
import { crc32c, crc32cUpdate } from './crc32c.js';
import { canonicalCodes } from './canonical.js';
import { buildCodeLengths, exponentHistogram, totalCodeBits } from './code-lengths.js';
import { ErrorCode, fail } from './errors.js';
import {
  BYTES_PER_THREAD,
  DEFAULT_THREADS_PER_BLOCK,
  HeaderOffset,
  HEADER_SIZE,
  isValidThreadsPerBlock,
  layoutOf,
  writeHeader,
  type Layout,
} from './header.js';

export interface EncodeOptions {
  /** T, threads per block (spec §4.1): a power of two in 1..1024. Default 512. */
  threadsPerBlock?: number;
}

/** Encodes FP8 E4M3FN bytes into an ECF8 stream (spec §12). */
export function encode(fp8: Uint8Array, options: EncodeOptions = {}): Uint8Array {
  return encodeWith(fp8, options, (size) => new Uint8Array(size));
}

/**
 * Encodes into `out[offset ..)` (a reusable workspace, e.g. one buffer of {@link maxEncodedSize} for the largest
 * tensor of a model) and returns the stream's length. Throws ECF8_OUTPUT_TOO_SMALL, writing nothing, when the
 * stream does not fit. The stream bytes are identical to {@link encode}'s.
 */
export function encodeInto(fp8: Uint8Array, out: Uint8Array, offset = 0, options: EncodeOptions = {}): number {
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
  return encodeWith(fp8, options, (size) => {
    if (offset > out.length || out.length - offset < size) {
      fail(ErrorCode.OUTPUT_TOO_SMALL, `the stream needs ${size} bytes; the output holds ${Math.max(0, out.length - offset)} at offset ${offset}`);
    }
    const region = out.subarray(offset, offset + size);
    region.fill(0); // every padding byte of the stream is zero (spec §3)
    return region;
  }).length;
}

/**
 * The largest stream `n` elements can encode to with threads per block T: every code at most 15 bits long, the
 * longest a complete code over 16 symbols has (spec §5.1). A workspace of this size fits any tensor of n elements.
 */
export function maxEncodedSize(n: number, threadsPerBlock = DEFAULT_THREADS_PER_BLOCK): number {
  return layoutOf(n, 15 * n, threadsPerBlock).streamSize;
}

function encodeWith(fp8: Uint8Array, options: EncodeOptions, allocate: (size: number) => Uint8Array): Uint8Array {
  if (!(fp8 instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'input must be a Uint8Array of FP8 bytes');
  const T = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
  if (!isValidThreadsPerBlock(T)) fail(ErrorCode.INVALID_ARGUMENT, `threadsPerBlock ${T} is not a power of two in 1..1024`);
  const n = fp8.length;

  // §12.1-12.2: histogram and code lengths; §5.2: canonical codes.
  const histogram = exponentHistogram(fp8);
  const codeLengths = buildCodeLengths(histogram);
  const codes = canonicalCodes(codeLengths);
  const bits = totalCodeBits(histogram, codeLengths);

  // §3-4: the layout is known before any section is written, so the stream is allocated once, zero-filled.
  const layout = layoutOf(n, bits, T);
  const out = allocate(layout.streamSize);

  writeExponentsAndMetadata(fp8, codes, codeLengths, layout, out);
  writeNibbles(fp8, out.subarray(layout.nibblesOffset, layout.nibblesOffset + layout.nibblesSize));

  // §10: checksums.
  writeHeader(out, layout, codeLengths, crc32c(fp8));
  let meta = crc32cUpdate(0, out, 0, HeaderOffset.metadataCrc32c);
  meta = crc32cUpdate(meta, out, HEADER_SIZE, layout.exponentsOffset);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(HeaderOffset.metadataCrc32c, meta, true);
  return out;
}

/**
 * §7-8: writes the bitstream (MSB-first canonical codes) and, in the same pass, the gap of every window (offset of
 * the first code starting in it, or of `bits` when none does) and each block's output position.
 */
function writeExponentsAndMetadata(
  fp8: Uint8Array,
  codes: Uint32Array,
  codeLengths: Uint8Array,
  layout: Layout,
  out: Uint8Array,
): void {
  const { nThreads, threadsPerBlock: T, exponentBitCount: bits } = layout;
  const windowBits = 8 * BYTES_PER_THREAD;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const gaps = out.subarray(layout.gapsOffset, layout.gapsOffset + layout.gapsSize);
  const stream = out.subarray(layout.exponentsOffset, layout.exponentsOffset + layout.exponentsSize);
  const setPosition = (block: number, value: number) =>
    dv.setBigUint64(layout.positionsOffset + 8 * block, BigInt(value), true);
  const setGap = (t: number, gap: number) => {
    gaps[t >> 1] |= t & 1 ? gap : gap << 4;
  };

  let acc = 0; // pending bits, right-aligned
  let accBits = 0;
  let byte = 0;
  let p = 0; // bit position of the next code
  let nextThread = 0; // first window whose gap is not yet known
  let nextWindowStart = 0;
  for (let i = 0; i < fp8.length; i++) {
    // Every window that starts at or before p gets its gap now: p is the first code start in it (§8.2).
    while (nextWindowStart <= p && nextThread < nThreads) {
      setGap(nextThread, p - nextWindowStart);
      if (nextThread % T === 0) setPosition(nextThread / T, i);
      nextThread++;
      nextWindowStart += windowBits;
    }
    const x = (fp8[i] >> 3) & 15;
    const len = codeLengths[x];
    acc = (acc << len) | codes[x];
    accBits += len;
    p += len;
    while (accBits >= 8) {
      accBits -= 8;
      stream[byte++] = acc >>> accBits;
      acc &= (1 << accBits) - 1;
    }
  }
  if (accBits > 0) stream[byte++] = acc << (8 - accBits);
  // Live windows after the last code start hold only the tail of the final code: gap points to `bits`.
  while (nextThread < nThreads && nextWindowStart < bits) {
    setGap(nextThread, bits - nextWindowStart);
    if (nextThread % T === 0) setPosition(nextThread / T, fp8.length);
    nextThread++;
    nextWindowStart += windowBits;
  }
  // Dead windows keep gap 0 (the buffer is zero-filled). The final position is n.
  setPosition(layout.nBlocks, fp8.length);
}

/** §9: sign/mantissa nibbles, element 2j in the high nibble; the pad nibble stays zero. */
function writeNibbles(fp8: Uint8Array, nibbles: Uint8Array): void {
  const n = fp8.length;
  const pairs = n >> 1;
  for (let j = 0; j < pairs; j++) {
    const a = fp8[2 * j];
    const b = fp8[2 * j + 1];
    nibbles[j] = ((a & 0x80) | ((a & 7) << 4)) | (((b >> 4) & 8) | (b & 7));
  }
  if (n & 1) {
    const a = fp8[n - 1];
    nibbles[pairs] = (a & 0x80) | ((a & 7) << 4);
  }
}
