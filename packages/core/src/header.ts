/**
 * Stream header and layout (spec §3, §4) and the phase-A checks of spec §11.2 (steps 1-12).
 *
 * Header fields are untrusted: every derived size is computed with BigInt (spec §11.3) and nothing is allocated
 * from a header field until step 12 has proved that the stream really holds the sections it declares.
 */
import { ErrorCode, fail } from './errors.js';
import { ELEMENT_FORMAT_E4M3FN, SYMBOL_COUNT } from './element.js';
import { checkCodeLengths } from './code-lengths.js';

/** ASCII "ECF8" (spec §4.1). */
export const MAGIC = new Uint8Array([0x45, 0x43, 0x46, 0x38]);
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 88;
/** B, bytes of bitstream per thread window; the only value of version 1 (spec §4.1). */
export const BYTES_PER_THREAD = 8;
export const DEFAULT_THREADS_PER_BLOCK = 512;
export const MAX_THREADS_PER_BLOCK = 1024;
/** Zero bytes that follow the used bitstream bytes (rounded up to 8) in section 3 (spec §3, §7). */
export const EXPONENT_LOOKAHEAD_BYTES = 16;
/** Maximum code length (spec §5.1). */
export const MAX_CODE_LENGTH = 16;

/** Byte offsets of the header fields (spec §4.1). */
export const HeaderOffset = {
  magic: 0,
  version: 4,
  elementFormat: 5,
  bytesPerThread: 6,
  reservedA: 7,
  threadsPerBlock: 8,
  reservedB: 12,
  elementCount: 16,
  exponentBitCount: 24,
  codeLengths: 32,
  positionsSize: 48,
  gapsSize: 56,
  exponentsSize: 64,
  nibblesSize: 72,
  contentCrc32c: 80,
  metadataCrc32c: 84,
} as const;

/** Sizes and counts derived from n, bits and T (spec §4.2). All exact integers. */
export interface Layout {
  elementCount: number;
  exponentBitCount: number;
  threadsPerBlock: number;
  /** ceil(bits / 8). */
  usedBytes: number;
  nBlocks: number;
  nThreads: number;
  positionsSize: number;
  gapsSize: number;
  exponentsSize: number;
  nibblesSize: number;
  /** Offsets of sections 1-4 from the start of the stream. */
  positionsOffset: number;
  gapsOffset: number;
  exponentsOffset: number;
  nibblesOffset: number;
  streamSize: number;
}

/** A parsed header (spec §4.1). Counts are bigint because they are u64 on the wire. */
export interface Header {
  version: number;
  elementFormat: number;
  bytesPerThread: number;
  threadsPerBlock: number;
  elementCount: bigint;
  exponentBitCount: bigint;
  codeLengths: Uint8Array;
  positionsSize: bigint;
  gapsSize: bigint;
  exponentsSize: bigint;
  nibblesSize: bigint;
  contentCrc32c: number;
  metadataCrc32c: number;
}

const roundup8 = (x: bigint): bigint => ((x + 7n) / 8n) * 8n;
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** Derived section sizes of spec §4.2, as bigints (never overflow). */
export function deriveSizes(n: bigint, bits: bigint, T: number) {
  const usedBytes = ceilDiv(bits, 8n);
  const nBlocks = ceilDiv(usedBytes, BigInt(BYTES_PER_THREAD * T));
  const nThreads = nBlocks * BigInt(T);
  const positionsSize = 8n * (nBlocks + 1n);
  const gapsSize = roundup8(ceilDiv(nThreads, 2n));
  const exponentsSize = roundup8(usedBytes) + BigInt(EXPONENT_LOOKAHEAD_BYTES);
  const nibblesSize = roundup8(ceilDiv(n, 2n));
  const streamSize = BigInt(HEADER_SIZE) + positionsSize + gapsSize + exponentsSize + nibblesSize;
  return { usedBytes, nBlocks, nThreads, positionsSize, gapsSize, exponentsSize, nibblesSize, streamSize };
}

/** Builds the {@link Layout} for validated (or encoder-chosen) n, bits, T. */
export function layoutOf(n: number, bits: number, T: number): Layout {
  const d = deriveSizes(BigInt(n), BigInt(bits), T);
  const positionsOffset = HEADER_SIZE;
  const gapsOffset = positionsOffset + Number(d.positionsSize);
  const exponentsOffset = gapsOffset + Number(d.gapsSize);
  const nibblesOffset = exponentsOffset + Number(d.exponentsSize);
  return {
    elementCount: n,
    exponentBitCount: bits,
    threadsPerBlock: T,
    usedBytes: Number(d.usedBytes),
    nBlocks: Number(d.nBlocks),
    nThreads: Number(d.nThreads),
    positionsSize: Number(d.positionsSize),
    gapsSize: Number(d.gapsSize),
    exponentsSize: Number(d.exponentsSize),
    nibblesSize: Number(d.nibblesSize),
    positionsOffset,
    gapsOffset,
    exponentsOffset,
    nibblesOffset,
    streamSize: Number(d.streamSize),
  };
}

/** True for a power of two in 1..1024 (spec §4.1, `threads_per_block`). */
export function isValidThreadsPerBlock(T: number): boolean {
  return Number.isInteger(T) && T >= 1 && T <= MAX_THREADS_PER_BLOCK && (T & (T - 1)) === 0;
}

function view(stream: Uint8Array): DataView {
  return new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
}

/**
 * Spec §11.2 phase A, steps 1-11: checks the header without looking at the sections or the stream's length beyond
 * the header. Used by `inspect` on header-only inputs; {@link parseStream} adds step 12.
 */
export function readHeader(stream: Uint8Array): Header {
  // Step 1: magic (on the bytes that exist).
  const m = Math.min(stream.length, 4);
  for (let i = 0; i < m; i++) {
    if (stream[i] !== MAGIC[i]) fail(ErrorCode.BAD_MAGIC, 'stream does not start with the ECF8 magic bytes');
  }
  // Step 2: a whole header.
  if (stream.length < HEADER_SIZE) {
    fail(ErrorCode.TRUNCATED, `stream is ${stream.length} bytes, shorter than the ${HEADER_SIZE}-byte header`);
  }
  const dv = view(stream);
  const h: Header = {
    version: dv.getUint8(HeaderOffset.version),
    elementFormat: dv.getUint8(HeaderOffset.elementFormat),
    bytesPerThread: dv.getUint8(HeaderOffset.bytesPerThread),
    threadsPerBlock: dv.getUint32(HeaderOffset.threadsPerBlock, true),
    elementCount: dv.getBigUint64(HeaderOffset.elementCount, true),
    exponentBitCount: dv.getBigUint64(HeaderOffset.exponentBitCount, true),
    codeLengths: stream.slice(HeaderOffset.codeLengths, HeaderOffset.codeLengths + SYMBOL_COUNT),
    positionsSize: dv.getBigUint64(HeaderOffset.positionsSize, true),
    gapsSize: dv.getBigUint64(HeaderOffset.gapsSize, true),
    exponentsSize: dv.getBigUint64(HeaderOffset.exponentsSize, true),
    nibblesSize: dv.getBigUint64(HeaderOffset.nibblesSize, true),
    contentCrc32c: dv.getUint32(HeaderOffset.contentCrc32c, true),
    metadataCrc32c: dv.getUint32(HeaderOffset.metadataCrc32c, true),
  };
  // Steps 3-7: fixed fields.
  if (h.version !== FORMAT_VERSION) fail(ErrorCode.UNSUPPORTED_VERSION, `stream version ${h.version}; this decoder reads version ${FORMAT_VERSION}`);
  if (h.elementFormat !== ELEMENT_FORMAT_E4M3FN) fail(ErrorCode.UNSUPPORTED_FORMAT, `element format ${h.elementFormat} is not supported (1 = FP8 E4M3FN)`);
  if (h.bytesPerThread !== BYTES_PER_THREAD) fail(ErrorCode.BAD_BYTES_PER_THREAD, `bytes per thread is ${h.bytesPerThread}; version 1 requires ${BYTES_PER_THREAD}`);
  if (!isValidThreadsPerBlock(h.threadsPerBlock)) fail(ErrorCode.BAD_THREADS_PER_BLOCK, `threads per block ${h.threadsPerBlock} is not a power of two in 1..${MAX_THREADS_PER_BLOCK}`);
  if (dv.getUint8(HeaderOffset.reservedA) !== 0 || dv.getUint32(HeaderOffset.reservedB, true) !== 0) {
    fail(ErrorCode.RESERVED_NONZERO, 'reserved header fields must be zero');
  }
  // Steps 8-9: code lengths (spec §5.1).
  checkCodeLengths(h.codeLengths, h.elementCount);
  // Step 10: the bit count must be achievable with n codes of these lengths.
  const n = h.elementCount;
  const bits = h.exponentBitCount;
  if (n === 0n) {
    if (bits !== 0n) fail(ErrorCode.BAD_BIT_COUNT, `exponent bit count ${bits} for an empty stream`);
  } else {
    let minLen = MAX_CODE_LENGTH;
    let maxLen = 0;
    for (const len of h.codeLengths) {
      if (len > 0) {
        minLen = Math.min(minLen, len);
        maxLen = Math.max(maxLen, len);
      }
    }
    if (bits < n * BigInt(minLen) || bits > n * BigInt(maxLen)) {
      fail(ErrorCode.BAD_BIT_COUNT, `exponent bit count ${bits} impossible for ${n} codes of ${minLen}..${maxLen} bits`);
    }
  }
  // Step 11: stored section sizes equal the derived ones.
  const d = deriveSizes(n, bits, h.threadsPerBlock);
  const pairs: [string, bigint, bigint][] = [
    ['positions', h.positionsSize, d.positionsSize],
    ['gaps', h.gapsSize, d.gapsSize],
    ['exponents', h.exponentsSize, d.exponentsSize],
    ['nibbles', h.nibblesSize, d.nibblesSize],
  ];
  for (const [name, stored, derived] of pairs) {
    if (stored !== derived) fail(ErrorCode.SECTION_SIZE_MISMATCH, `${name} section size ${stored} differs from the derived ${derived}`);
  }
  return h;
}

/** Options shared by every decoder. */
export interface DecodeOptions {
  /** Reject streams whose element count exceeds this many bytes (ECF8_LIMIT_EXCEEDED). Default: no cap. */
  maxOutputBytes?: number;
  /** Verify both CRC-32C checksums (spec §10). Default true; disable only for trusted streams. */
  verifyChecksums?: boolean;
}

/** A stream that passed phase A: the header plus the exact layout of its sections. */
export interface ParsedStream {
  stream: Uint8Array;
  header: Header;
  layout: Layout;
}

/** Spec §11.2 phase A (steps 1-12) followed by the caller's limits. Allocates nothing sized by the header. */
export function parseStream(stream: Uint8Array, options: DecodeOptions = {}): ParsedStream {
  if (!(stream instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'stream must be a Uint8Array');
  const header = readHeader(stream);
  // Step 12: exact length.
  const d = deriveSizes(header.elementCount, header.exponentBitCount, header.threadsPerBlock);
  const L = BigInt(stream.length);
  if (L < d.streamSize) fail(ErrorCode.TRUNCATED, `stream is ${L} bytes; its header declares ${d.streamSize}`);
  if (L > d.streamSize) fail(ErrorCode.TRAILING_BYTES, `stream is ${L} bytes; its header declares only ${d.streamSize}`);
  // The stream now holds ceil(n/2) nibble bytes, so n <= 2 * L is a safe JavaScript integer.
  const n = Number(header.elementCount);
  if (options.maxOutputBytes !== undefined && n > options.maxOutputBytes) {
    fail(ErrorCode.LIMIT_EXCEEDED, `stream decodes to ${n} bytes, over the caller's limit of ${options.maxOutputBytes}`);
  }
  return { stream, header, layout: layoutOf(n, Number(header.exponentBitCount), header.threadsPerBlock) };
}

/** Writes a header (spec §4.1) into `out[0..88)`. Checksums are filled in by the encoder. */
export function writeHeader(out: Uint8Array, layout: Layout, codeLengths: Uint8Array, contentCrc: number): void {
  const dv = view(out);
  out.set(MAGIC, HeaderOffset.magic);
  dv.setUint8(HeaderOffset.version, FORMAT_VERSION);
  dv.setUint8(HeaderOffset.elementFormat, ELEMENT_FORMAT_E4M3FN);
  dv.setUint8(HeaderOffset.bytesPerThread, BYTES_PER_THREAD);
  dv.setUint8(HeaderOffset.reservedA, 0);
  dv.setUint32(HeaderOffset.threadsPerBlock, layout.threadsPerBlock, true);
  dv.setUint32(HeaderOffset.reservedB, 0, true);
  dv.setBigUint64(HeaderOffset.elementCount, BigInt(layout.elementCount), true);
  dv.setBigUint64(HeaderOffset.exponentBitCount, BigInt(layout.exponentBitCount), true);
  out.set(codeLengths, HeaderOffset.codeLengths);
  dv.setBigUint64(HeaderOffset.positionsSize, BigInt(layout.positionsSize), true);
  dv.setBigUint64(HeaderOffset.gapsSize, BigInt(layout.gapsSize), true);
  dv.setBigUint64(HeaderOffset.exponentsSize, BigInt(layout.exponentsSize), true);
  dv.setBigUint64(HeaderOffset.nibblesSize, BigInt(layout.nibblesSize), true);
  dv.setUint32(HeaderOffset.contentCrc32c, contentCrc >>> 0, true);
}
