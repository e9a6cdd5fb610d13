/**
 * Decoding with the WebAssembly kernel: phase A by @ecf8/core's parseStream (§11.2 steps 1-12, then the caller's
 * limits, before any allocation), phase B by the module's CRC-32C (step 13) and @ecf8/fast's validateMetadataFast
 * (steps 14-16), phase C (steps 17-19)
 * in the module, one chunk of whole blocks at a time: the chunk's positions, gaps, exponent bytes and nibbles are
 * copied into the module's memory (only bytes inside their sections), its output copied out to
 * out[offset + pos[b0], offset + pos[b1]). Chunks keep every index in the module an int32 whatever n is, and give
 * the engine's optimizing tier a new call to enter early in a long decode (WebAssembly has no on-stack replacement).
 */
import { ErrorCode, fail, HEADER_SIZE, HeaderOffset, parseStream, type DecodeOptions, type ParsedStream } from '@ecf8/core';
import { validateMetadataFast } from '@ecf8/fast';
import { withKernel, type WasmKernel } from './instance.js';
import { createRangeDecoder } from './range.js';

/** Windows per chunk by default (8192: 16 blocks of T = 512, 64 KiB of bitstream; the chunk stays in L2). */
export const DEFAULT_CHUNK_THREADS = 8192;

/** Decode options of this package: `chunkThreads` (windows per chunk, at most 16384) exists for tests. */
export interface WasmDecodeOptions extends DecodeOptions {
  chunkThreads?: number;
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function checkArgs(out: Uint8Array, offset: number): void {
  if (!(out instanceof Uint8Array)) fail(ErrorCode.INVALID_ARGUMENT, 'output must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) fail(ErrorCode.INVALID_ARGUMENT, `offset ${offset} is not a non-negative integer`);
}

function checkOutputRoom(n: number, capacity: number, offset: number): void {
  if (offset > capacity || capacity - offset < n) {
    fail(ErrorCode.OUTPUT_TOO_SMALL, `output holds ${Math.max(0, capacity - offset)} bytes at offset ${offset}; the stream decodes to ${n}`);
  }
}

/** Decodes a stream into a new array of FP8 bytes: the reference's bytes, or its error code. */
export function decodeWasm(stream: Uint8Array, options: WasmDecodeOptions = {}): Uint8Array {
  const parsed = parseStream(stream, options);
  const out = new Uint8Array(parsed.layout.elementCount);
  decodeParsedWasm(parsed, out, 0, options);
  return out;
}

/** Decodes into out[offset, offset + n) and returns n; writes nothing outside that range. */
export function decodeWasmInto(stream: Uint8Array, out: Uint8Array, offset = 0, options: WasmDecodeOptions = {}): number {
  checkArgs(out, offset);
  const parsed = parseStream(stream, options);
  checkOutputRoom(parsed.layout.elementCount, out.length, offset);
  decodeParsedWasm(parsed, out, offset, options);
  return parsed.layout.elementCount;
}

/**
 * Step 13 of spec §11.2: the CRC-32C of header bytes 0..83, then sections 1 and 2, against `metadata_crc32c`,
 * computed in the module (in a fresh process it runs compiled at once, where a JavaScript loop would first run
 * unoptimised) over copies made through its OUT buffer.
 */
function checkMetadataCrc(k: WasmKernel, parsed: ParsedStream): void {
  const { stream: s, header, layout } = parsed;
  const piece = k.CHUNK_THREADS * 64; // OUT's size
  let c = -1;
  for (const [from, to] of [[0, HeaderOffset.metadataCrc32c], [HEADER_SIZE, layout.exponentsOffset]]) {
    for (let at = from; at < to; at += piece) {
      const end = Math.min(at + piece, to);
      k.mem.set(s.subarray(at, end), k.OUT);
      c = k.exports.crcOfOut(c, end - at);
    }
  }
  const crc = ~c >>> 0;
  if (crc !== header.metadataCrc32c) {
    fail(ErrorCode.METADATA_CHECKSUM_MISMATCH, `metadata CRC-32C is ${hex(crc)}, header says ${hex(header.metadataCrc32c)}`);
  }
}

/** Phases B and C of a stream that passed phase A, into out[offset, offset + n). */
export function decodeParsedWasm(parsed: ParsedStream, out: Uint8Array, offset: number, options: WasmDecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  if (verify) withKernel((k) => checkMetadataCrc(k, parsed));
  validateMetadataFast(parsed, false); // steps 14-16
  const { header, layout } = parsed;
  if (layout.elementCount === 0) {
    // Nothing to decode; the CRC-32C of zero bytes is 0 (spec §10).
    if (verify && header.contentCrc32c !== 0) contentMismatch(0, header.contentCrc32c);
    return;
  }
  const { positionError, crc } = withKernel((k) => phaseC(k, parsed, out, offset, verify, options.chunkThreads ?? DEFAULT_CHUNK_THREADS));
  // Step 17 failures have been thrown; then step 18, then step 19 (spec §11.2 precedence).
  if (positionError) fail(ErrorCode.POSITION_MISMATCH, 'a block decodes a different number of codes than its output positions say');
  if (verify && crc !== header.contentCrc32c) contentMismatch(crc, header.contentCrc32c);
}

function contentMismatch(crc: number, want: number): never {
  fail(ErrorCode.CONTENT_CHECKSUM_MISMATCH, `decoded bytes have CRC-32C ${hex(crc)}, header says ${hex(want)}`);
}

function phaseC(k: WasmKernel, parsed: ParsedStream, out: Uint8Array, offset: number, verify: boolean, chunkThreads: number): { positionError: boolean; crc: number } {
  const { layout } = parsed;
  k.mem.set(parsed.header.codeLengths, k.CODE_LENGTHS);
  k.exports.buildDecodeTables();
  const g = { ...layout, n: layout.elementCount, bits: layout.exponentBitCount, T: layout.threadsPerBlock };
  const [gap, position, crc] = createRangeDecoder(k.exports)(parsed.stream, g, out, offset, 0, layout.nBlocks, verify, chunkThreads);
  if (gap) fail(ErrorCode.GAP_MISMATCH, 'the gap chain is broken: a window does not start where the codes before it end');
  return { positionError: position !== 0, crc };
}
