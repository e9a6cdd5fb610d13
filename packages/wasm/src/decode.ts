/**
 * Decoding with the WebAssembly kernel: phase A by @ecf8/core's parseStream (§11.2 steps 1-12, then the caller's
 * limits, before any allocation), phase B by @ecf8/fast's validateMetadataFast (steps 13-16), phase C (steps 17-19)
 * in the module, one chunk of whole blocks at a time: the chunk's positions, gaps, exponent bytes and nibbles are
 * copied into the module's memory (only bytes inside their sections), its output copied out to
 * out[offset + pos[b0], offset + pos[b1]). Chunks keep every index in the module an int32 whatever n is, and give
 * the engine's optimizing tier a new call to enter early in a long decode (WebAssembly has no on-stack replacement).
 */
import { ErrorCode, fail, parseStream, type DecodeOptions, type ParsedStream } from '@ecf8/core';
import { validateMetadataFast } from '@ecf8/fast';
import { withKernel, type WasmKernel } from './instance.js';

/** Windows per chunk by default (8192: 16 blocks of T = 512, 64 KiB of bitstream; the chunk stays in L2). */
export const DEFAULT_CHUNK_THREADS = 8192;

/** Decode options of this package: `chunkThreads` (windows per chunk, at most 16384) exists for tests. */
export interface WasmDecodeOptions extends DecodeOptions {
  chunkThreads?: number;
}

const FLAG_GAP = 1;
const FLAG_POS = 2;

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function u64At(s: Uint8Array, at: number): number {
  const lo = (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)) >>> 0;
  const hi = (s[at + 4] | (s[at + 5] << 8) | (s[at + 6] << 16) | (s[at + 7] << 24)) >>> 0;
  return hi * 2 ** 32 + lo;
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

/** Phases B and C of a stream that passed phase A, into out[offset, offset + n). */
export function decodeParsedWasm(parsed: ParsedStream, out: Uint8Array, offset: number, options: WasmDecodeOptions): void {
  const verify = options.verifyChecksums ?? true;
  validateMetadataFast(parsed, verify);
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
  const { stream: s, layout } = parsed;
  const { nBlocks, threadsPerBlock: T, exponentBitCount: bits } = layout;
  const x = k.exports;
  const mem = k.mem;
  mem.set(parsed.header.codeLengths, k.CODE_LENGTHS);
  x.buildDecodeTables();
  x.setCrcState(-1);
  const blocksPerChunk = Math.max(1, Math.floor(Math.min(chunkThreads, k.CHUNK_THREADS) / T));
  const posIn = k.POS_IN >>> 2;
  let positionError = false;
  let posStart = 0; // pos[b0]
  for (let b0 = 0; b0 < nBlocks; ) {
    const b1 = Math.min(b0 + blocksPerChunk, nBlocks);
    // Output positions of blocks b0..b1, relative to pos[b0] (validated in phase B: non-decreasing, <= 64 T apart).
    for (let b = b0; b <= b1; b++) k.i32[posIn + b - b0] = u64At(s, layout.positionsOffset + 8 * b) - posStart;
    const posEnd = posStart + k.i32[posIn + b1 - b0];
    // Gap bytes of windows b0 T .. b1 T (the last one is the next block's first window, read only when live).
    const thread0 = b0 * T;
    const g0 = Math.floor(thread0 / 2);
    const gEnd = Math.min(Math.floor((b1 * T) / 2) + 1, layout.gapsSize);
    mem.set(s.subarray(layout.gapsOffset + g0, layout.gapsOffset + gEnd), k.GAPS_IN);
    // Exponent bytes of the chunk's windows and up to 16 bytes after (a code may continue into the next block).
    const e0 = b0 * 8 * T;
    const eEnd = Math.min(b1 * 8 * T + 16, layout.exponentsSize);
    mem.set(s.subarray(layout.exponentsOffset + e0, layout.exponentsOffset + eEnd), k.EX_IN);
    mem.fill(0, k.EX_IN + eEnd - e0, k.EX_IN + eEnd - e0 + 32);
    // Nibble bytes of elements pos[b0] .. pos[b1] - 1.
    const n0 = Math.floor(posStart / 2);
    const nEnd = Math.ceil(posEnd / 2);
    mem.set(s.subarray(layout.nibblesOffset + n0, layout.nibblesOffset + nEnd), k.NIB_IN);
    mem.fill(0, k.NIB_IN + nEnd - n0, k.NIB_IN + nEnd - n0 + 16);
    const nOut = posEnd - posStart;
    const live = Math.min(bits - e0 * 8, 2 ** 30);
    const flags = x.decodeChunk(b1 - b0, T, live, thread0 % 2, b0 === 0 ? 1 : 0, b1 === nBlocks ? 1 : 0, nOut, posStart % 2, verify && !positionError ? 1 : 0, eEnd - e0);
    if (flags & FLAG_GAP) fail(ErrorCode.GAP_MISMATCH, 'the gap chain is broken: a window does not start where the codes before it end');
    if (flags & FLAG_POS) positionError = true;
    out.set(mem.subarray(k.OUT, k.OUT + nOut), offset + posStart);
    posStart = posEnd;
    b0 = b1;
  }
  return { positionError, crc: ~x.getCrcState() >>> 0 };
}
