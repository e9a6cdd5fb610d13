/**
 * @ecf8/wasm's module: the hot loops of decoding (spec §11.2 phase C) and encoding (§12) over chunks that the host
 * copies in and out of the fixed regions of layout.ts. Phases A and B run on the host.
 */
import { initCrcTables } from './crc';
import { MEMORY_BYTES } from './layout';

export {
  CHUNK_THREADS,
  ENC_CHUNK,
  CODE_LENGTHS,
  HIST,
  RESULT,
  POS_IN,
  GAPS_IN,
  EX_IN,
  NIB_IN,
  OUT,
  ENC_IN,
  ENC_EX,
  ENC_NIB,
  ENC_GAPS,
  ENC_POS,
  MEMORY_BYTES,
} from './layout';
export { buildDecodeTables, buildEncodeTables } from './tables';
export { decodeChunk, getCrcState, setCrcState } from './decode';
export { scanStart, scanChunk, scanHistogram } from './scan';
export { encodeChunk } from './encode';

/** Whether this build uses SIMD (the host picks the build; this lets tests see which one runs). */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

// Start-up, before the host makes any view of the memory: grow it once to hold every region, build the CRC tables.
const pages = <i32>((MEMORY_BYTES + 0xffff) >>> 16);
if (memory.size() < pages) memory.grow(pages - memory.size());
initCrcTables();
