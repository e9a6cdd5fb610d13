/**
 * @ecf8/wasm's module: the hot loops of decoding (spec §11.2 phase C) and encoding (§12) over chunks that the host
 * copies in and out of the fixed regions of layout.ts. Phases A and B run on the host.
 */
import { crcUpdate, initCrcTables } from './crc';
import { MEMORY_BYTES, OUT } from './layout';

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

/**
 * The raw CRC-32C state `c` continued over OUT[0, len) (spec §10): the host checks `metadata_crc32c` (§11.2 step 13)
 * with it, copying the header and sections 1-2 into OUT piece by piece (OUT is free between decodes).
 */
export function crcOfOut(c: u32, len: i32): u32 {
  return crcUpdate(c, OUT, <usize>len);
}

/** memory.copy (a memmove): the host aligns copies from and to shared memory through it (src/range.ts). */
export function moveBytes(to: usize, from: usize, len: usize): void {
  memory.copy(to, from, len);
}

/** Whether this build uses SIMD (the host picks the build; this lets tests see which one runs). */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

// Start-up, before the host makes any view of the memory: grow it once to hold every region, build the CRC tables.
const pages = <i32>((MEMORY_BYTES + 0xffff) >>> 16);
if (memory.size() < pages) memory.grow(pages - memory.size());
initCrcTables();
