/**
 * Decoding with the WebAssembly kernel: phase A by @ecf8/core's parseStream (§11.2 steps 1-12, then the caller's
 * limits, before any allocation), phase B by the module's CRC-32C (step 13) and @ecf8/fast's validateMetadataFast
 * (steps 14-16), phase C (steps 17-19)
 * in the module, one chunk of whole blocks at a time: the chunk's positions, gaps, exponent bytes and nibbles are
 * copied into the module's memory (only bytes inside their sections), its output copied out to
 * out[offset + pos[b0], offset + pos[b1]). Chunks keep every index in the module an int32 whatever n is, and give
 * the engine's optimizing tier a new call to enter early in a long decode (WebAssembly has no on-stack replacement).
 */
import { checkDecodeTarget, checkOutputRoom, HEADER_SIZE, HeaderOffset, parseStream, type DecodeOptions, type ParsedStream } from '@ecf8/core';
import { checkMetadataCrc, geometryOf, reportPhaseC, validateMetadataFast } from '@ecf8/fast';
import { withKernel, type WasmKernel } from './instance.js';
import { createRangeDecoder } from './range.js';

/** Windows per chunk by default (8192: 16 blocks of T = 512, 64 KiB of bitstream; the chunk stays in L2). */
export const DEFAULT_CHUNK_THREADS = 8192;

/** Decode options of this package: `chunkThreads` (windows per chunk, at most 16384) exists for tests. */
export interface WasmDecodeOptions extends DecodeOptions {
  chunkThreads?: number;
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
  checkDecodeTarget(out, offset);
  const parsed = parseStream(stream, options);
  checkOutputRoom(parsed, out.length, offset);
  decodeParsedWasm(parsed, out, offset, options);
  return parsed.layout.elementCount;
}

/**
 * The CRC-32C of step 13 of spec §11.2 (header bytes 0..83, then sections 1 and 2), computed in the module (in a
 * fresh process it runs compiled at once, where a JavaScript loop would first run unoptimised) over copies made
 * through its OUT buffer.
 */
function metadataCrc(k: WasmKernel, parsed: ParsedStream): number {
  const { stream: s, layout } = parsed;
  const piece = k.CHUNK_THREADS * 64; // OUT's size
  let c = -1;
  for (const [from, to] of [[0, HeaderOffset.metadataCrc32c], [HEADER_SIZE, layout.exponentsOffset]]) {
    for (let at = from; at < to; at += piece) {
      const end = Math.min(at + piece, to);
      k.mem.set(s.subarray(at, end), k.OUT);
      c = k.exports.crcOfOut(c, end - at);
    }
  }
  return ~c >>> 0;
}

/** Phases B and C of a stream that passed phase A, into out[offset, offset + n); errors in §11.2's precedence. */
export function decodeParsedWasm(parsed: ParsedStream, out: Uint8Array, offset: number, options: WasmDecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  if (verify) checkMetadataCrc(withKernel((k) => metadataCrc(k, parsed)), parsed); // step 13
  validateMetadataFast(parsed, false); // steps 14-16
  const { header, layout } = parsed;
  if (layout.elementCount === 0) {
    // Nothing to decode, but the content checksum still applies: the CRC-32C of zero bytes is 0 (spec §10).
    reportPhaseC(false, false, verify ? header.contentCrc32c === 0 : null, parsed, 0);
    return;
  }
  const [gap, position, crc] = withKernel((k) => {
    k.mem.set(header.codeLengths, k.CODE_LENGTHS);
    k.exports.buildDecodeTables();
    const chunkThreads = options.chunkThreads ?? DEFAULT_CHUNK_THREADS;
    return createRangeDecoder(k.exports)(parsed.stream, geometryOf(layout), out, offset, 0, layout.nBlocks, verify, chunkThreads);
  });
  reportPhaseC(gap !== 0, position !== 0, verify ? crc === header.contentCrc32c : null, parsed, crc); // steps 17-19
}
