/**
 * Deliberately broken decoders, each with one classic implementation mistake, built from @ecf8/core's pieces. With
 * no fault the decoder is a correct GPU-order decoder, which proves the harness itself is sound.
 */
import {
  buildDecodeTables,
  crc32c,
  Ecf8Error,
  ErrorCode,
  gapOf,
  joinElement,
  parseStream,
  symbolAt,
  validateMetadata,
  BYTES_PER_THREAD,
  HEADER_SIZE,
} from '@ecf8/core';

export type Fault = 'none' | 'gap-ignored' | 'nibble-order' | 'no-checksum' | 'block-off-by-one' | 'accepts-truncated';

export function brokenDecoder(fault: Fault): (stream: Uint8Array, options?: { maxOutputBytes?: number }) => Uint8Array {
  return (input, options = {}) => {
    let stream = input;
    if (fault === 'accepts-truncated' && input.length >= HEADER_SIZE) {
      // Mistake: pads a short stream with zeros up to its declared size instead of rejecting it.
      try {
        parseStream(input);
      } catch (e) {
        if ((e as Ecf8Error).code !== ErrorCode.TRUNCATED) throw e;
        const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
        let size = HEADER_SIZE;
        for (let off = 48; off < 80; off += 8) size += Number(dv.getBigUint64(off, true));
        if (size < 1 << 28) {
          stream = new Uint8Array(size);
          stream.set(input);
        }
      }
    }
    const parsed = parseStream(stream, options);
    const verify = fault !== 'no-checksum';
    const pos = validateMetadata(parsed, verify);
    const { layout } = parsed;
    const tables = buildDecodeTables(parsed.header.codeLengths);
    const out = new Uint8Array(layout.elementCount);
    const windowBits = 8 * BYTES_PER_THREAD;
    const T = layout.threadsPerBlock;
    let prevEnd = 0;
    for (let b = 0; b < layout.nBlocks; b++) {
      let o = pos[b] + (fault === 'block-off-by-one' && b > 0 ? 1 : 0);
      for (let t = b * T; t < (b + 1) * T; t++) {
        const w = t * windowBits;
        if (w >= layout.exponentBitCount) break;
        const gap = fault === 'gap-ignored' ? 0 : gapOf(stream, layout.gapsOffset, t);
        let p = w + gap;
        if (fault !== 'gap-ignored' && p !== prevEnd) throw new Ecf8Error(ErrorCode.GAP_MISMATCH, `thread ${t}`);
        const limit = Math.min(w + windowBits, layout.exponentBitCount);
        while (p < limit) {
          const x = symbolAt(stream, layout.exponentsOffset, tables, p);
          if (o < pos[b + 1] && o < out.length) {
            const byte = stream[layout.nibblesOffset + (o >> 1)];
            const high = fault === 'nibble-order' ? o % 2 === 1 : o % 2 === 0;
            out[o] = joinElement(x, high ? byte >> 4 : byte & 15);
          }
          o++;
          p += tables.bytes[tables.lengthTableOffset + x];
        }
        prevEnd = p;
      }
      if (fault !== 'block-off-by-one' && o !== pos[b + 1]) throw new Ecf8Error(ErrorCode.POSITION_MISMATCH, `block ${b}`);
    }
    if (layout.exponentBitCount > 0 && prevEnd !== layout.exponentBitCount && fault !== 'gap-ignored') {
      throw new Ecf8Error(ErrorCode.GAP_MISMATCH, 'last thread');
    }
    if (verify && crc32c(out) !== parsed.header.contentCrc32c) throw new Ecf8Error(ErrorCode.CONTENT_CHECKSUM_MISMATCH, 'content');
    return out;
  };
}
