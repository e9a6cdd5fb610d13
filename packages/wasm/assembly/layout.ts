/**
 * Fixed memory layout of the module (byte addresses). Every region is at a compile-time constant so that table and
 * buffer bases fold into the load/store instructions' immediate offsets. The memory never grows after
 * instantiation (the build sets the initial size from MEMORY_BYTES), so the host's views of it stay attached.
 *
 * Decoding works on chunks of whole blocks of at most CHUNK_THREADS windows; encoding on chunks of at most
 * ENC_CHUNK elements. The host copies each chunk's sections in and its results out.
 */

/** Most windows (threads) per decode chunk (128 KiB of bitstream, at most 1 MiB of output); the host uses 8192. */
export const CHUNK_THREADS: i32 = 16384;
/** Elements per encode chunk (a multiple of 8). */
export const ENC_CHUNK: i32 = 1 << 19;
/** Decode lanes interleaved by the fast loop (one block each). */
export const LANES: i32 = 8;

// Tables.
export const CRC_TABLE: usize = 65536; // 16 x 256 u32: slicing-by-16 CRC-32C
export const DEC_TABLE: usize = CRC_TABLE + 16384; // 4096 x 16 bytes: u64 up to 6 exponents | count << 48 | bits << 56, then
// INC_TABLE's u64 bits consumed | count << 32 (0: a long code)
export const INC_TABLE: usize = DEC_TABLE + 8;
export const META_TABLE: usize = DEC_TABLE + 65536; // 4096 u32: bits consumed | code-start mask << 8
export const SYM_TABLE: usize = META_TABLE + 16384; // 4096 u16: symbol | length << 4 of the first code, 0xffff if > 12 bits
export const LONG_TABLE: usize = SYM_TABLE + 8192; // 4 x 32 i32: first code, first index, count (by length), sorted symbols
export const CODE_LENGTHS: usize = LONG_TABLE + 512; // 16 u8: the header's code lengths
export const ENC_TABLE: usize = CODE_LENGTHS + 64; // 16 u32 codes, 16 u32 lengths, then 256 u64 pair entries
export const ENC_PAIRS: usize = ENC_TABLE + 128;
export const HIST: usize = ENC_PAIRS + 2048; // 16 u32: the scan's exponent histogram (scan.ts); then 256 u32 of scratch
export const LANE_STATE: usize = HIST + 4096; // per lane: u64 p | o << 32, i32 fast bounds, end, oEnd, flags
export const RESULT: usize = LANE_STATE + 1024; // i32 results of the last call (see index.ts)
/** Per window of the chunk, the bit position of the last fast step that started in it (0xffffffff: none). */
export const LOG: usize = RESULT + 256;
export const LOG_CAPACITY: i32 = CHUNK_THREADS;
/** The chunk's gap nibbles one per byte (GAP_BYTES[g] = gap of the chunk's g-th window counted from an even one). */
export const GAP_BYTES: usize = LOG + <usize>LOG_CAPACITY * 4;

// Decode chunk buffers.
export const POS_IN: usize = GAP_BYTES + <usize>(CHUNK_THREADS + 64); // i32 output positions of the chunk's blocks, relative
export const GAPS_IN: usize = POS_IN + <usize>(CHUNK_THREADS + 16) * 4; // the chunk's gap bytes (+ the next window's)
export const EX_IN: usize = GAPS_IN + <usize>(CHUNK_THREADS / 2 + 64); // the chunk's exponent bytes (+ 16 lookahead)
/**
 * EX_IN byte-reversed, ending at EX_REV_END (byte i at EX_REV_END - 1 - i): a little-endian load there reads
 * bitstream bytes in big-endian (MSB-first) order, as WebAssembly has no byte-swap instruction.
 */
export const EX_REV: usize = EX_IN + <usize>(CHUNK_THREADS * 8 + 64);
export const EX_REV_END: usize = EX_REV + <usize>(CHUNK_THREADS * 8 + 64);
export const NIB_IN: usize = EX_REV_END; // the chunk's nibble bytes
export const OUT: usize = NIB_IN + <usize>(CHUNK_THREADS * 32 + 64); // the chunk's decoded bytes

// Encode chunk buffers.
export const ENC_IN: usize = OUT + <usize>(CHUNK_THREADS * 64 + 64); // the chunk's FP8 bytes
export const ENC_EX: usize = ENC_IN + <usize>(ENC_CHUNK + 64); // its bitstream bytes from the window holding its first code
/** The bitstream is written byte-reversed, ending at ENC_EX_REV_END (little-endian stores), then put in order. */
export const ENC_EX_REV: usize = ENC_EX + <usize>(ENC_CHUNK * 2 + 64);
export const ENC_EX_REV_END: usize = ENC_EX_REV + <usize>(ENC_CHUNK * 2 + 64);
export const ENC_NIB: usize = ENC_EX_REV_END; // its nibble bytes
export const ENC_GAPS: usize = ENC_NIB + <usize>(ENC_CHUNK / 2 + 64); // gap nibbles of the windows it starts
export const ENC_POS: usize = ENC_GAPS + <usize>(ENC_CHUNK / 8 + 64); // i32 element index (relative) of each block it starts
/** u16 per pair of elements (2k, 2k + 1): its entry's byte offset in ENC_PAIRS / ENC_PAIR_LENGTHS, (e0 | e1 << 4) << 3. */
export const ENC_PAIR_ADDR: usize = ENC_POS + <usize>(ENC_CHUNK / 4 + 64) * 4;
/** Per window w of the chunk (relative), u32 bit and u32 element of the last code group that starts before it. */
export const ENC_LOG: usize = ENC_PAIR_ADDR + <usize>(ENC_CHUNK + 64);
/** 65536 u32: counts of four consecutive exponents (e0 | e1 << 4 | e2 << 8 | e3 << 12) of the scan (scan.ts). */
export const ENC_QUAD_HIST: usize = ENC_LOG + <usize>(ENC_CHUNK / 4 + 64) * 8;
/** 256 u64: the length of a pair entry of ENC_PAIRS; then 16 u64: each exponent's code, left-aligned in 64 bits. */
export const ENC_PAIR_LENGTHS: usize = ENC_QUAD_HIST + 65536 * 4;
export const ENC_CODES_LEFT: usize = ENC_PAIR_LENGTHS + 2048;
/** 16 v128: masks of the encoder's SIMD loops (encode.ts: storeMasks). */
export const ENC_MASKS: usize = ENC_CODES_LEFT + 128;
export const MEMORY_BYTES: usize = ENC_MASKS + 256;
