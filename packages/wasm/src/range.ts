/**
 * Phase C (spec §11.2 steps 17-19) of a run of blocks in the module, one chunk of whole blocks at a time: the chunk's
 * positions, gaps, exponent bytes and nibbles are copied into the module's memory (only bytes inside their
 * sections), decoded there, and its output copied out to out[outOffset + pos[b0], outOffset + pos[b1]).
 *
 * Self-contained (no imports, no helpers from other files), because the worker pool evaluates its source in every
 * worker (workers.ts); decode.ts uses the same function on the calling thread's instance.
 */

/** The section offsets of a stream and its sizes (@ecf8/fast's `Geometry`; sections are contiguous, spec §4). */
export interface RangeGeometry {
  /** The stream's element count (phase A). */
  n: number;
  bits: number;
  T: number;
  nBlocks: number;
  positionsOffset: number;
  gapsOffset: number;
  exponentsOffset: number;
  nibblesOffset: number;
}

/**
 * Decodes blocks [from, to) of stream `s` with an instance's exports, whose tables were built for the stream's code
 * (buildDecodeTables). `chunkThreads` windows per chunk at most (capped by the module's CHUNK_THREADS). Returns
 * [gap-chain mismatch found (the range stops there), position mismatch found, CRC-32C of the range's output
 * (pre/post-conditioned; computed only while no position mismatch was found)], as @ecf8/fast's kernel.decodeRange.
 */
export function createRangeDecoder(
  exports: any,
): (s: Uint8Array, g: RangeGeometry, out: Uint8Array, outOffset: number, from: number, to: number, verify: boolean, chunkThreads: number) => number[] {
  const x = exports;
  const buffer = x.memory.buffer;
  const mem = new Uint8Array(buffer);
  const i32 = new Int32Array(buffer);
  const at = (name: string) => x[name].value as number;
  const CHUNK_THREADS = at('CHUNK_THREADS');
  const POS_IN = at('POS_IN') >>> 2;
  const GAPS_IN = at('GAPS_IN');
  const EX_IN = at('EX_IN');
  const NIB_IN = at('NIB_IN');
  const OUT = at('OUT');
  // Copies between shared memory and the module's: V8 copies to or from a SharedArrayBuffer with relaxed atomic
  // accesses, a word at a time when source and destination have the same address mod 8 and a byte at a time
  // otherwise (2.7-5.5x slower, measured). So a shared slice is copied to OUT at its own alignment, then moved in
  // place by the module (memory.copy); output goes the other way. OUT is free until the chunk is decoded, and has
  // 64 bytes of slack after its largest use. Ordinary buffers are copied directly (a memcpy at any alignment).
  const isShared = (a: Uint8Array) => typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;
  const copyIn = (s: Uint8Array, shared: boolean, a: number, b: number, to: number) => {
    if (!shared) return mem.set(s.subarray(a, b), to);
    const staged = OUT + ((s.byteOffset + a) & 7);
    mem.set(s.subarray(a, b), staged);
    x.moveBytes(to, staged, b - a);
  };
  const copyOut = (out: Uint8Array, shared: boolean, at: number, len: number) => {
    if (!shared) return out.set(mem.subarray(OUT, OUT + len), at);
    const staged = OUT + ((out.byteOffset + at) & 7);
    x.moveBytes(staged, OUT, len);
    out.set(mem.subarray(staged, staged + len), at);
  };
  const u64At = (s: Uint8Array, p: number) =>
    ((s[p] | (s[p + 1] << 8) | (s[p + 2] << 16) | (s[p + 3] << 24)) >>> 0) + ((s[p + 4] | (s[p + 5] << 8) | (s[p + 6] << 16) | (s[p + 7] << 24)) >>> 0) * 2 ** 32;
  return (s, g, out, outOffset, from, to, verify, chunkThreads) => {
    const { T, nBlocks, bits } = g;
    const gapsSize = g.exponentsOffset - g.gapsOffset;
    const exponentsSize = g.nibblesOffset - g.exponentsOffset;
    x.setCrcState(-1);
    const sharedIn = isShared(s);
    const sharedOut = isShared(out);
    const blocksPerChunk = Math.max(1, Math.floor(Math.min(chunkThreads, CHUNK_THREADS) / T));
    let positionError = 0;
    let posStart = u64At(s, g.positionsOffset + 8 * from); // pos[b0]
    const rangeEnd = u64At(s, g.positionsOffset + 8 * to); // pos[b1] of the range: its output ends there
    if (!(posStart <= rangeEnd && rangeEnd <= g.n)) return [0, 1, 0]; // (only a stream changed since phase B)
    for (let b0 = from; b0 < to; ) {
      const b1 = Math.min(b0 + blocksPerChunk, to);
      // Output positions of blocks b0..b1, relative to pos[b0]. Phase B validated them (non-decreasing, <= 64 T
      // apart); they are checked again as they are read, because a stream in shared memory can be changed by another
      // thread during the call: what the module decodes and what is copied out then stays inside the range's output
      // (a changed stream is reported as a position mismatch).
      let rel = 0;
      i32[POS_IN] = 0;
      for (let b = b0 + 1; b <= b1; b++) {
        const next = u64At(s, g.positionsOffset + 8 * b) - posStart;
        if (!(next >= rel && next - rel <= 64 * T)) return [0, 1, 0];
        rel = next;
        i32[POS_IN + b - b0] = rel;
      }
      const posEnd = posStart + rel;
      if (posEnd > rangeEnd) return [0, 1, 0];
      // Gap bytes of windows b0 T .. b1 T (the last one is the next block's first window, read only when live).
      const thread0 = b0 * T;
      const gEnd = Math.min(Math.floor((b1 * T) / 2) + 1, gapsSize);
      copyIn(s, sharedIn, g.gapsOffset + Math.floor(thread0 / 2), g.gapsOffset + gEnd, GAPS_IN);
      // Exponent bytes of the chunk's windows and up to 16 bytes after (a code may continue into the next block).
      const e0 = b0 * 8 * T;
      const eEnd = Math.min(b1 * 8 * T + 16, exponentsSize);
      copyIn(s, sharedIn, g.exponentsOffset + e0, g.exponentsOffset + eEnd, EX_IN);
      mem.fill(0, EX_IN + eEnd - e0, EX_IN + eEnd - e0 + 32);
      // Nibble bytes of elements pos[b0] .. pos[b1] - 1.
      const n0 = Math.floor(posStart / 2);
      const nEnd = Math.ceil(posEnd / 2);
      copyIn(s, sharedIn, g.nibblesOffset + n0, g.nibblesOffset + nEnd, NIB_IN);
      mem.fill(0, NIB_IN + nEnd - n0, NIB_IN + nEnd - n0 + 16);
      const nOut = posEnd - posStart;
      const live = Math.min(bits - e0 * 8, 2 ** 30);
      const flags = x.decodeChunk(b1 - b0, T, live, thread0 % 2, b0 === 0 ? 1 : 0, b1 === nBlocks ? 1 : 0, nOut, posStart % 2, verify && !positionError ? 1 : 0, eEnd - e0);
      if (flags & 1) return [1, positionError, 0]; // step 17: the gap chain is broken
      if (flags & 2) positionError = 1; // step 18, reported after the whole range (step 17 comes first)
      copyOut(out, sharedOut, outOffset + posStart, nOut);
      posStart = posEnd;
      b0 = b1;
    }
    return [0, positionError, ~x.getCrcState() >>> 0];
  };
}
