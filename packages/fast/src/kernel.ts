/**
 * The hot loops of @ecf8/fast, in ONE self-contained factory function: it references nothing outside its own body,
 * so `createKernel.toString()` is a complete program that worker threads (Node `worker_threads`, browser Web
 * Workers) evaluate as-is — no bundler configuration, no second build artefact, and the main thread runs the very
 * same code. Keep it that way: no imports, no references to module-level names.
 *
 * Decoder (spec §6-§9, §11.2 phase C), two passes per group of blocks (about 50K elements, so the second pass
 * finds the output in cache):
 *  1. exponents: one lane per block, four lanes interleaved (independent dependency chains). One 12-bit lookup
 *     (tables `lo`/`hi`, 2 x 16 KiB: they must stay in L1) yields up to 7 exponents, already shifted into their
 *     byte lanes, with their count and the bits consumed; two unaligned 32-bit stores write them (bytes past the
 *     count are overwritten by the lane's next write). The loops run a precomputed number of steps that cannot reach a
 *     lane's end, contain no call, and branch only on a code longer than 12 bits (hi bit 31, handled outside).
 *     Every typed-array access costs V8 a map, detach and bounds check, so the loops do as few as possible.
 *  2. nibbles and CRC: a word pass ORs the sign/mantissa nibbles of 16 elements per step into the output (spread
 *     with shifts and masks, no tables) and runs slicing-by-16 CRC-32C on the finished words.
 *  - The gap chain (§8.3): a step that crosses a 64-bit window boundary is logged (its bit position, stored
 *    unconditionally, kept by advancing the log index by the crossing bit; one log for the four lanes, as bit
 *    positions are the group's, which keeps three registers free); after a lane, each logged step is
 *    re-looked-up and the first code start at or after the boundary, from the table's code-start mask, must equal
 *    `window + gap` — exactly the sequential reference's check, so the same streams fail with the same code. A
 *    lane's last codes are decoded one at a time and checked at once; there the crossing into the next block also
 *    checks that block's output position (§8.1).
 * Encoder (spec §12): pair tables (two exponents per lookup, code and length in one word, ≤ 24 bits appended per
 * step) with a branch-free 32-bit big-endian store per step; nibble packing fused into the same loop (one 16-bit
 * store per 4 elements); window gaps and block positions in a
 * rarely-taken branch where a pair crosses a window boundary.
 */

/**
 * Decode geometry of a stream that passed phases A and B: section offsets from the start of `stream`. For a worker
 * that holds only a slice of the stream (workers.ts, transport 'copy') the offsets are shifted so that the same
 * absolute indices (thread, block, element, bit) land in the slice; they may then be negative, and the kernel only
 * ever adds an index of the slice's own range to them.
 */
export interface Geometry {
  n: number;
  bits: number;
  T: number;
  nBlocks: number;
  nThreads: number;
  positionsOffset: number;
  gapsOffset: number;
  exponentsOffset: number;
  nibblesOffset: number;
}

export interface DecodeTablesFast {
  /**
   * 12-bit index: consumed | count << 7 | code-start mask << 10 of the up to 7 codes that lie wholly in the 12 bits;
   * 127 = the first code is longer than 12 bits.
   */
  meta: Int32Array;
  /** 12-bit index: exponents 0-3 of that lookup, exponent j << 3 in byte lane j (an FP8 byte minus its nibble). */
  lo: Int32Array;
  /**
   * 12-bit index: exponents 4-6 in byte lanes 0-2 (as in `lo`) | count << 24 | bits consumed << 27; bit 31 alone
   * when the first code is longer than 12 bits. Stored as written, lane 3 holds garbage the next store overwrites.
   */
  hi: Int32Array;
  /** 12-bit index: symbol | length << 4 of the first code, or -1 when it is longer than 12 bits. */
  sym: Int32Array;
  /** Canonical decoding data for codes longer than 12 bits. */
  firstCode: Int32Array;
  firstIndex: Int32Array;
  count: Int32Array;
  sorted: Int32Array;
}

export interface EncodeTablesFast {
  /** Pair index e0 | e1 << 4: code(e0) << len(e1) | code(e1). */
  pairCode: Int32Array;
  /** Pair index: len(e0) + len(e1) | len(e0) << 8. */
  pairLen: Int32Array;
  /** Pair index: pairCode (0 when len(e0) + len(e1) > 24) | (len(e0) + len(e1)) << 24. */
  pairCodeLen: Int32Array;
  code: Int32Array;
  len: Int32Array;
}

/** Result slots of decodeRange (a Float64Array so that no object is allocated per call). */
export const R_GAP = 0; // 1 when a gap-chain mismatch was found (§11.2 step 17)
export const R_POS = 1; // 1 when a position mismatch was found (step 18)
export const R_CRC = 2; // CRC-32C of the range's output (pre/post-conditioned), when requested

export interface Kernel {
  crc32cUpdate(crc: number, data: Uint8Array, start: number, end: number): number;
  crc32cCombine(crc1: number, crc2: number, len2: number): number;
  buildDecodeTables(codeLengths: ArrayLike<number>): DecodeTablesFast;
  buildEncodeTables(codeLengths: ArrayLike<number>): EncodeTablesFast;
  /** Phase C over blocks [b0, b1): writes out[outOffset + pos[b0] .. outOffset + pos[b1]) only. */
  decodeRange(
    stream: Uint8Array,
    g: Geometry,
    t: DecodeTablesFast,
    out: Uint8Array,
    outOffset: number,
    b0: number,
    b1: number,
    crc: boolean,
    result: Float64Array,
  ): void;
  /** Histogram (16 bins, added into `hist`) and CRC-32C of fp8[start, end). */
  scan(fp8: Uint8Array, start: number, end: number, hist: Float64Array): number;
  /**
   * Bitstream, gaps, positions and nibbles of elements [i0, i1) whose codes start at bit p0. Writes exponent bytes
   * [floor(p0 / 8), floor(p1 / 8)) (p1 = end bit) — the whole tail when `last` — and returns the final partial
   * byte's value (for the caller to OR into byte floor(p1 / 8)) or -1 when there is none or `last`.
   */
  encodeRange(
    fp8: Uint8Array,
    i0: number,
    i1: number,
    p0: number,
    p1: number,
    last: boolean,
    g: Geometry,
    t: EncodeTablesFast,
    out: Uint8Array,
    /** `fp8[0]` is element `inputBase` (a worker that holds only a slice of the input); default 0. */
    inputBase?: number,
  ): number;
  /** Largest i1 - i0 of one encodeRange call. */
  MAX_RANGE: number;
}

export function createKernel(): Kernel {
  // ---------------------------------------------------------------------------------------------------- CRC-32C
  const POLY = 0x82f63b78;
  const CRC = new Int32Array(16 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    CRC[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < 16; k++) {
      const prev = CRC[(k - 1) * 256 + b];
      CRC[k * 256 + b] = (prev >>> 8) ^ CRC[prev & 0xff];
    }
  }

  // One Int32Array view per ArrayBuffer, so word loads need no allocation per call.
  let viewBuffer: ArrayBufferLike | null = null;
  let viewWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
  function wordsOf(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
    if (buffer !== viewBuffer) {
      viewBuffer = buffer;
      viewWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    }
    return viewWords;
  }

  /** Raw CRC state update, one byte at a time, over bytes [i, end). */
  function crcBytes(c: number, data: Uint8Array, i: number, end: number): number {
    const t = CRC;
    for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
    return c;
  }

  /**
   * Raw CRC state update over 32-bit words [k, k1) of `w` (a multiple of 4 words). Slicing-by-16; the terms that
   * do not depend on the running CRC are XOR-ed first, so the loop-carried chain is one lookup deep.
   */
  function crcWords(c: number, w: Int32Array<ArrayBufferLike>, k: number, k1: number): number {
    const t = CRC;
    for (; k < k1; k += 4) {
      const b = w[k + 1];
      const d = w[k + 2];
      const e = w[k + 3];
      const x =
        t[2816 + (b & 0xff)] ^ t[2560 + ((b >>> 8) & 0xff)] ^ t[2304 + ((b >>> 16) & 0xff)] ^ t[2048 + (b >>> 24)] ^
        t[1792 + (d & 0xff)] ^ t[1536 + ((d >>> 8) & 0xff)] ^ t[1280 + ((d >>> 16) & 0xff)] ^ t[1024 + (d >>> 24)] ^
        t[768 + (e & 0xff)] ^ t[512 + ((e >>> 8) & 0xff)] ^ t[256 + ((e >>> 16) & 0xff)] ^ t[e >>> 24];
      const a = c ^ w[k];
      c = x ^ t[3840 + (a & 0xff)] ^ t[3584 + ((a >>> 8) & 0xff)] ^ t[3328 + ((a >>> 16) & 0xff)] ^ t[3072 + (a >>> 24)];
    }
    return c;
  }

  /**
   * Raw CRC state update (no pre/post inversion) over bytes [i, end): bytes up to a word boundary, slicing-by-16 on
   * aligned words, the remaining bytes. (The loops live in separate functions: a loop that a long-running call
   * reaches for the first time after optimisation would otherwise deoptimise the whole function again and again.)
   */
  function crcRaw(c: number, data: Uint8Array, i: number, end: number): number {
    const base = data.byteOffset;
    const head = Math.min(end, i + ((4 - ((base + i) & 3)) & 3));
    c = crcBytes(c, data, i, head);
    i = head;
    const wordsEnd = i + ((end - i) & ~15);
    if (wordsEnd > i) c = crcWords(c, wordsOf(data.buffer), (base + i) >>> 2, (base + wordsEnd) >>> 2);
    return crcBytes(c, data, wordsEnd > i ? wordsEnd : i, end);
  }

  function crc32cUpdate(crc: number, data: Uint8Array, start: number, end: number): number {
    return ~crcRaw(~crc, data, start, end) >>> 0;
  }

  // CRC combination (zlib's crc32_combine, multiply by x^(8 len2) mod P in the reflected domain).
  function multModP(a: number, b: number): number {
    let m = 0x80000000;
    let p = 0;
    for (;;) {
      if (a & m) {
        p ^= b;
        if ((a & (m - 1)) === 0) break;
      }
      m >>>= 1;
      b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
    }
    return p >>> 0;
  }
  // X2N[k] = x^(2^k) mod P
  const X2N = new Int32Array(32);
  {
    let p = 0x40000000; // x^1
    X2N[0] = p;
    for (let k = 1; k < 32; k++) X2N[k] = p = multModP(p, p);
  }
  function x8nModP(len: number): number {
    // x^(8 len) mod P; len may exceed 2^32 (use division instead of shifts).
    let k = 3;
    let p = 0x80000000; // x^0
    while (len > 0) {
      if (len % 2 === 1) p = multModP(X2N[k & 31], p);
      len = Math.floor(len / 2);
      k++;
    }
    return p;
  }
  function crc32cCombine(crc1: number, crc2: number, len2: number): number {
    return (multModP(x8nModP(len2), crc1 >>> 0) ^ (crc2 >>> 0)) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------- code tables
  function canonical(codeLengths: ArrayLike<number>): { codes: Int32Array; order: number[] } {
    const order: number[] = [];
    for (let x = 0; x < 16; x++) if (codeLengths[x] > 0) order.push(x);
    order.sort((a, b) => codeLengths[a] - codeLengths[b] || a - b);
    const codes = new Int32Array(16);
    let code = 0;
    let prevLen = 0;
    for (let i = 0; i < order.length; i++) {
      const len = codeLengths[order[i]];
      code = i === 0 ? 0 : (code + 1) << (len - prevLen);
      codes[order[i]] = code;
      prevLen = len;
    }
    return { codes, order };
  }

  const K = 12; // bits per table lookup: 2 x 16 KiB tables stay in L1
  const KMASK = (1 << K) - 1;
  const LONG = 127;
  const MAX_SYMBOLS = 7; // symbols per lookup: 4 in `lo`, 3 in `hi` (its top byte holds count and bits)

  function buildDecodeTables(codeLengths: ArrayLike<number>): DecodeTablesFast {
    const { codes, order } = canonical(codeLengths);
    const sym = new Int32Array(1 << K).fill(-1);
    const firstCode = new Int32Array(17);
    const firstIndex = new Int32Array(17);
    const count = new Int32Array(17);
    const sorted = new Int32Array(16);
    for (let i = 0; i < order.length; i++) {
      const x = order[i];
      const len = codeLengths[x];
      sorted[i] = x;
      if (count[len]++ === 0) {
        firstCode[len] = codes[x];
        firstIndex[len] = i;
      }
      if (len <= K) sym.fill(x | (len << 4), codes[x] << (K - len), (codes[x] + 1) << (K - len));
    }
    const meta = new Int32Array(1 << K);
    const lo = new Int32Array(1 << K);
    const hi = new Int32Array(1 << K);
    for (let idx = 0; idx <= KMASK; idx++) {
      let consumed = 0;
      let cnt = 0;
      let mask = 0;
      let e0 = 0;
      let e1 = 0;
      while (cnt < MAX_SYMBOLS) {
        const s = sym[(idx << consumed) & KMASK];
        if (s < 0 || (s >>> 4) > K - consumed) break;
        mask |= 1 << consumed;
        if (cnt < 4) e0 |= (s & 15) << (3 + 8 * cnt);
        else e1 |= (s & 15) << (3 + 8 * (cnt - 4));
        consumed += s >>> 4;
        cnt++;
      }
      meta[idx] = cnt === 0 ? LONG : consumed | (cnt << 7) | (mask << 10);
      lo[idx] = e0;
      hi[idx] = cnt === 0 ? 1 << 31 : e1 | (cnt << 24) | (consumed << 27);
    }
    return { meta, lo, hi, sym, firstCode, firstIndex, count, sorted };
  }

  function buildEncodeTables(codeLengths: ArrayLike<number>): EncodeTablesFast {
    const { codes } = canonical(codeLengths);
    const code = new Int32Array(16);
    const len = new Int32Array(16);
    for (let x = 0; x < 16; x++) {
      code[x] = codes[x];
      len[x] = codeLengths[x];
    }
    const pairCode = new Int32Array(256);
    const pairLen = new Int32Array(256);
    const pairCodeLen = new Int32Array(256);
    for (let a = 0; a < 16; a++) {
      for (let b = 0; b < 16; b++) {
        const total = len[a] + len[b];
        pairCode[a | (b << 4)] = total <= 24 ? (code[a] << len[b]) | code[b] : 0;
        pairLen[a | (b << 4)] = total | (len[a] << 8);
        pairCodeLen[a | (b << 4)] = pairCode[a | (b << 4)] | (total << 24);
      }
    }
    return { pairCode, pairLen, pairCodeLen, code, len };
  }

  // -------------------------------------------------------------------------------------------------- decoding
  /** Symbol | length << 4 of the code at bit p (any length, spec §6 semantics). */
  function slowSymbol(ex: Uint8Array, exOff: number, t: DecodeTablesFast, p: number): number {
    const k = exOff + (p >>> 3);
    const w = (((ex[k] << 16) | (ex[k + 1] << 8) | ex[k + 2]) >>> (8 - (p & 7))) & 0xffff;
    const s = t.sym[w >>> 4];
    if (s >= 0) return s;
    for (let len = K + 1; len <= 16; len++) {
      const c = w >>> (16 - len);
      const d = c - t.firstCode[len];
      if (t.count[len] > 0 && d >= 0 && d < t.count[len]) return t.sorted[t.firstIndex[len] + d] | (len << 4);
    }
    return 0 | (16 << 4); // unreachable for a complete code (validated in phase A)
  }

  function readPos(s: Uint8Array, at: number): number {
    return (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16)) + s[at + 3] * 0x1000000 +
      (s[at + 4] | (s[at + 5] << 8) | (s[at + 6] << 16) | (s[at + 7] << 24)) * 0x100000000;
  }

  function gapAt(s: Uint8Array, gapsOffset: number, t: number): number {
    const byte = s[gapsOffset + (t >>> 1)];
    return t & 1 ? byte & 15 : byte >>> 4;
  }

  const POP = new Int32Array(1 << 16);
  for (let i = 1; i < 1 << 16; i++) POP[i] = POP[i >>> 1] + (i & 1);

  const FLAG_GAP = 1;
  const FLAG_POS = 2;

  /**
   * The check of one live window boundary W crossed by the lookup at p (codes start at p + the set bits of `mask`,
   * the next code at p + span): the first code start at or after W must be W + gap (§8.3); at a block's first
   * window the number of codes before W must equal pos[block] (§8.1). `rel` = W - p (1..16), `codesBefore` = the
   * absolute element index of the lookup's first code. Returns FLAG_* bits.
   */
  function windowCheck(s: Uint8Array, g: Geometry, thread: number, rel: number, span: number, mask: number, codesBefore: number): number {
    const m = (mask | (1 << span)) >>> rel;
    let f = 31 - Math.clz32(m & -m) === gapAt(s, g.gapsOffset, thread) ? 0 : FLAG_GAP;
    if ((thread & (g.T - 1)) === 0 && codesBefore + POP[mask & ((1 << rel) - 1)] !== readPos(s, g.positionsOffset + 8 * (thread / g.T))) {
      f |= FLAG_POS;
    }
    return f;
  }

  /**
   * Phase C works on groups of consecutive blocks (2048 windows at T <= 512, i.e. 16 KiB of bitstream and ~50K
   * elements of output; four blocks at T = 1024). A group's blocks are decoded four at a time, one lane per block,
   * interleaved (four independent dependency chains); then one pass merges the sign/mantissa nibbles into the
   * group's output and runs the CRC while the bytes are in cache. Bit coordinates are relative to the group's first
   * window W (a multiple of 64), output coordinates to pos[group's first block]; all fit an int32 (a group spans
   * <= 2^18 bits and as many elements).
   *
   * The state of the four lanes lives in one Int32Array (ST_* offsets, lane i at + 2i or + i), so the hot loops
   * touch no objects.
   */
  const ST_P = 0; // + 2i: bit of the next code
  const ST_O = 1; // + 2i: its element
  const ST_PFAST = 8; // + 2i: last p at which a fast step may start (end - 13)
  const ST_OFAST = 9; // + 2i: last o at which a fast step may start (oEnd - 8)
  const ST_K = 16; // next free entry of the crossing log (shared by the four lanes)
  const ST_END = 20; // + i: bit where the lane stops (min(W(b + 1), bits) - W)
  const ST_OEND = 24; // + i: pos[b + 1] - pos[group's first block]
  const ST_FLAGS = 28; // + i: FLAG_* bits found so far
  const ST_SIZE = 32;

  /**
   * The crossing log: p of every fast step that crossed a window boundary, of all four lanes (coordinates are the
   * group's, so an entry needs no lane). Four blocks cross <= 4 (T - 1) boundaries (T <= 1024), + 1 slot for the
   * unconditional store.
   */
  const LOGP = new Int32Array(4 * 1024 + 1);

  interface Group {
    ex: DataView; // exponent bytes from W
    exBase: number; // absolute stream offset of ex
    od: DataView; // the group's output range [pos[b0], pos[b1])
    ob: Uint8Array; // the same range as bytes
    nd: DataView; // nibble bytes from the one holding element pos[b0]
    odd: number; // pos[b0] & 1
    oBase: number; // pos[b0]
    oEnd: number; // pos[b1] - pos[b0]
    live: number; // bits - W: windows at or past it are dead
    thread0: number; // thread (window) index of W: relative boundary x is thread thread0 + x / 64
    s: Uint8Array; // the stream (or a worker's slice of it, §8 offsets in `g` shifted to match)
    gapsOffset: number; // g.gapsOffset (may be negative for a slice: only indices of the slice's threads are used)
    b0: number; // the group's blocks [b0, b1), decoded four at a time
    b1: number;
    st: Int32Array; // lane state of the four blocks being decoded
  }

  function makeGroup(s: Uint8Array, g: Geometry, out: Uint8Array, outOffset: number, b0: number, b1: number, st: Int32Array): Group {
    const exBase = g.exponentsOffset + b0 * 8 * g.T;
    const oBase = GROUP_POS[0];
    const oEnd = GROUP_POS[b1 - b0] - oBase;
    const nibBase = g.nibblesOffset + Math.floor(oBase / 2);
    return {
      ex: new DataView(s.buffer, s.byteOffset + exBase, s.byteLength - exBase),
      exBase,
      od: new DataView(out.buffer, out.byteOffset + outOffset + oBase, oEnd),
      ob: out.subarray(outOffset + oBase, outOffset + oBase + oEnd),
      nd: new DataView(s.buffer, s.byteOffset + nibBase, s.byteLength - nibBase),
      odd: oBase & 1,
      oBase,
      oEnd,
      live: g.bits - b0 * 64 * g.T,
      thread0: b0 * g.T,
      s,
      gapsOffset: g.gapsOffset,
      b0,
      b1,
      st,
    };
  }

  /** Lane state of blocks q0 .. q0 + count - 1 of group G (count <= 4), lane i = block q0 + i. */
  function initLanes(s: Uint8Array, g: Geometry, G: Group, q0: number, count: number): void {
    const st = G.st;
    const W = G.b0 * 64 * g.T;
    st[ST_K] = 0; // the crossing log starts empty (a decode that stopped at a gap error may have left entries)
    for (let i = 0; i < count; i++) {
      const b = q0 + i;
      const gap = gapAt(s, g.gapsOffset, b * g.T);
      const end = Math.min((b + 1) * 64 * g.T, g.bits) - W;
      const laneOEnd = GROUP_POS[b + 1 - G.b0] - G.oBase;
      st[ST_P + 2 * i] = b * 64 * g.T - W + gap;
      st[ST_O + 2 * i] = GROUP_POS[b - G.b0] - G.oBase;
      st[ST_PFAST + 2 * i] = end - 13;
      st[ST_OFAST + 2 * i] = laneOEnd - 8;
      st[ST_END + i] = end;
      st[ST_OEND + i] = laneOEnd;
      // Window b * T itself is checked by the lane before (the crossing of its boundary); block 0's gap must be 0.
      st[ST_FLAGS + i] = b === 0 && gap !== 0 ? FLAG_GAP : 0;
    }
  }

  /** Output byte of group element o with exponent x (spec §2), nibble read from the group's nibble view. */
  function laneByte(G: Group, o: number, x: number): number {
    const j = o + G.odd;
    const v = G.nd.getUint8(j >>> 1);
    const q = j & 1 ? v & 15 : v >>> 4;
    return ((q & 8) << 4) | (x << 3) | (q & 7);
  }

  /**
   * The check of the window boundary crossed by a code run at p (codes start at p + the set bits of `mask`, the run
   * ends at p + span, span <= 16): the boundary is x = (p + span) rounded down to 64 (relative), checked by
   * windowCheck when live. Returns FLAG_* bits.
   */
  function crossing(s: Uint8Array, g: Geometry, G: Group, p: number, o: number, span: number, mask: number): number {
    const x = (p + span) & ~63;
    return x < G.live ? windowCheck(s, g, G.thread0 + x / 64, x - p, span, mask, G.oBase + o) : 0;
  }

  /**
   * Lane i's next code, one at a time (a code longer than 12 bits, or the lane's last bits): written whole (clamped
   * to the lane), its window crossing checked at once. Returns false when the lane has reached its end.
   */
  function slowCode(s: Uint8Array, g: Geometry, t: DecodeTablesFast, G: Group, i: number): boolean {
    const st = G.st;
    const p = st[ST_P + 2 * i];
    if (p >= st[ST_END + i]) return false;
    const o = st[ST_O + 2 * i];
    const x = slowSymbol(s, G.exBase, t, p);
    if (o < st[ST_OEND + i]) G.ob[o] = laneByte(G, o, x & 15);
    const pn = p + (x >>> 4);
    if ((p ^ pn) > 63) st[ST_FLAGS + i] |= crossing(s, g, G, p, o, x >>> 4, 1);
    st[ST_P + 2 * i] = pn;
    st[ST_O + 2 * i] = o + 1;
    return true;
  }

  // A fast step (fourLanes, oneLane) at bit p, element o: a 12-bit lookup gives the exponents of up to 7 codes,
  // stored with two unaligned 32-bit stores at o (bytes past the count are garbage that the lane's next write
  // overwrites; only a block that decodes fewer codes than its positions say can leave some, and that is reported
  // as a position mismatch),
  // then p, o advance. A step advances <= 12 bits and <= 7 elements. It may start at p <= end - 13, so its codes end
  // before the lane's end and no fast step reaches the next block's first window (that crossing, which also checks
  // the block's output position, is slowCode's; lanes are single blocks, so no other crossing is a block start), and
  // at o <= oEnd - 8, so its stores stay in the lane. The loops run a precomputed number of steps that cannot break
  // either bound (a step that stops at a long code advances nothing) and contain no call and no data-dependent
  // branch but one that is almost never taken (a code longer than 12 bits: hi bit 31; they return and the caller
  // decodes it). A step that crosses a window boundary ((p ^ pn) >= 64) is only logged, and checkLog checks the log
  // once the lane is done: a branch per crossing, taken about every sixth step and unpredictably, cost more.

  /** Four lanes interleaved until one reaches its fast bound (returns 0) or meets a long code (returns 1). */
  function fourLanes(ex: DataView, od: DataView, LO: Int32Array, HI: Int32Array, LOG: Int32Array, st: Int32Array): number {
    let p0 = st[0], o0 = st[1], p1 = st[2], o1 = st[3], p2 = st[4], o2 = st[5], p3 = st[6], o3 = st[7];
    const pEnd0 = st[8], oEnd0 = st[9], pEnd1 = st[10], oEnd1 = st[11];
    const pEnd2 = st[12], oEnd2 = st[13], pEnd3 = st[14], oEnd3 = st[15];
    let k = st[ST_K];
    let long = 0;
    for (;;) {
      const bitsLeft = Math.min(pEnd0 - p0, pEnd1 - p1, pEnd2 - p2, pEnd3 - p3);
      const outLeft = Math.min(oEnd0 - o0, oEnd1 - o1, oEnd2 - o2, oEnd3 - o3);
      if ((bitsLeft | outLeft) < 0) break;
      let steps = Math.min(Math.floor(bitsLeft / 12), Math.floor(outLeft / 7));
      for (; steps >= 0; steps--) {
        const i0 = (ex.getUint32(p0 >>> 3) << (p0 & 7)) >>> 20;
        const i1 = (ex.getUint32(p1 >>> 3) << (p1 & 7)) >>> 20;
        const i2 = (ex.getUint32(p2 >>> 3) << (p2 & 7)) >>> 20;
        const i3 = (ex.getUint32(p3 >>> 3) << (p3 & 7)) >>> 20;
        const h0 = HI[i0];
        const h1 = HI[i1];
        const h2 = HI[i2];
        const h3 = HI[i3];
        if ((h0 | h1 | h2 | h3) < 0) {
          long = 1;
          break;
        }
        od.setUint32(o0, LO[i0], true);
        od.setUint32(o0 + 4, h0, true);
        od.setUint32(o1, LO[i1], true);
        od.setUint32(o1 + 4, h1, true);
        od.setUint32(o2, LO[i2], true);
        od.setUint32(o2 + 4, h2, true);
        od.setUint32(o3, LO[i3], true);
        od.setUint32(o3 + 4, h3, true);
        const q0 = p0 + (h0 >>> 27);
        const q1 = p1 + (h1 >>> 27);
        const q2 = p2 + (h2 >>> 27);
        const q3 = p3 + (h3 >>> 27);
        LOG[k] = p0;
        k += (63 - (p0 ^ q0)) >>> 31;
        LOG[k] = p1;
        k += (63 - (p1 ^ q1)) >>> 31;
        LOG[k] = p2;
        k += (63 - (p2 ^ q2)) >>> 31;
        LOG[k] = p3;
        k += (63 - (p3 ^ q3)) >>> 31;
        o0 += (h0 >>> 24) & 7;
        o1 += (h1 >>> 24) & 7;
        o2 += (h2 >>> 24) & 7;
        o3 += (h3 >>> 24) & 7;
        p0 = q0;
        p1 = q1;
        p2 = q2;
        p3 = q3;
      }
      if (long) break;
    }
    st[0] = p0; st[1] = o0; st[2] = p1; st[3] = o1; st[4] = p2; st[5] = o2; st[6] = p3; st[7] = o3;
    st[ST_K] = k;
    return long;
  }

  /** Lane i alone until its fast bound (returns 0) or a long code (returns 1). */
  function oneLane(ex: DataView, od: DataView, LO: Int32Array, HI: Int32Array, LOG: Int32Array, st: Int32Array, i: number): number {
    let p = st[ST_P + 2 * i];
    let o = st[ST_O + 2 * i];
    let k = st[ST_K];
    const pF = st[ST_PFAST + 2 * i];
    const oF = st[ST_OFAST + 2 * i];
    let long = 0;
    for (;;) {
      if (((pF - p) | (oF - o)) < 0) break;
      let steps = Math.min(Math.floor((pF - p) / 12), Math.floor((oF - o) / 7));
      for (; steps >= 0; steps--) {
        const idx = (ex.getUint32(p >>> 3) << (p & 7)) >>> 20;
        const h = HI[idx];
        if (h < 0) {
          long = 1;
          break;
        }
        od.setUint32(o, LO[idx], true);
        od.setUint32(o + 4, h, true);
        const pn = p + (h >>> 27);
        LOG[k] = p;
        k += (63 - (p ^ pn)) >>> 31;
        o += (h >>> 24) & 7;
        p = pn;
      }
      if (long) break;
    }
    st[ST_P + 2 * i] = p;
    st[ST_O + 2 * i] = o;
    st[ST_K] = k;
    return long;
  }

  /**
   * The gap checks (§8.3) of the logged crossings; empties the log and returns FLAG_GAP when one fails. A logged step
   * crossed boundary x (group-relative) and is never a long code (those do not advance) nor a block start (see the
   * fast step); the first code start at or after x, from the step's code-start mask, must be x + gap of window
   * thread0 + x / 64.
   */
  function checkLog(t: DecodeTablesFast, G: Group): number {
    const st = G.st;
    const META = t.meta;
    const s = G.s;
    const gapsOffset = G.gapsOffset;
    const ex = G.ex;
    const thread0 = G.thread0;
    const k1 = st[ST_K];
    let bad = 0;
    for (let j = 0; j < k1; j++) {
      const p = LOGP[j];
      const m = META[(ex.getUint32(p >>> 3) << (p & 7)) >>> 20];
      const span = m & 127;
      const x = (p + span) & ~63;
      const mm = ((m >>> 10) | (1 << span)) >>> (x - p);
      const th = thread0 + (x >>> 6);
      bad |= (31 - Math.clz32(mm & -mm)) ^ gapAt(s, gapsOffset, th);
    }
    st[ST_K] = 0;
    return bad !== 0 ? FLAG_GAP : 0;
  }

  /**
   * Decodes the group's blocks, four lanes at a time, to their ends; returns the OR of their FLAG_* bits (stops at
   * the first gap error) and leaves the last block's lane in lane state `(b1 - b0 - 1) % 4`.
   */
  function decodeGroup(s: Uint8Array, g: Geometry, t: DecodeTablesFast, G: Group): number {
    const st = G.st;
    const LO = t.lo;
    const HI = t.hi;
    let flags = 0;
    for (let q0 = G.b0; q0 < G.b1; q0 += 4) {
      const count = Math.min(4, G.b1 - q0);
      initLanes(s, g, G, q0, count);
      if (count === 4) {
        while (fourLanes(G.ex, G.od, LO, HI, LOGP, st) !== 0) {
          // A lane met a code longer than 12 bits: decode it (each lane whose next lookup is long), then go on.
          for (let i = 0; i < 4; i++) {
            const p = st[ST_P + 2 * i];
            if (HI[(G.ex.getUint32(p >>> 3) << (p & 7)) >>> 20] < 0) slowCode(s, g, t, G, i);
          }
          if ((st[ST_FLAGS] | st[ST_FLAGS + 1] | st[ST_FLAGS + 2] | st[ST_FLAGS + 3]) & FLAG_GAP) return FLAG_GAP;
        }
      }
      for (let i = 0; i < count; i++) {
        while (oneLane(G.ex, G.od, LO, HI, LOGP, st, i) !== 0) slowCode(s, g, t, G, i);
        while (slowCode(s, g, t, G, i)) if (st[ST_FLAGS + i] & FLAG_GAP) return FLAG_GAP;
        flags |= st[ST_FLAGS + i] | checkLog(t, G);
        if (flags & FLAG_GAP) return FLAG_GAP;
      }
    }
    return flags;
  }

  /**
   * Spec §9 (§2): ORs the sign/mantissa nibble of elements [e0, e1) into out[outOffset + e] — bytes the fast steps wrote
   * hold only the exponent bits; the OR leaves bytes written whole unchanged — and, when `withCrc`, continues the
   * raw CRC-32C state c over the finished bytes (§10).
   */
  function mergeNibbles(
    c: number, s: Uint8Array, nibblesOffset: number, out: Uint8Array, outOffset: number, e0: number, e1: number,
    withCrc: boolean,
  ): number {
    const head = Math.min(e1, e0 + ((16 - (e0 % 16)) % 16));
    c = mergeBytes(c, s, nibblesOffset, out, outOffset, e0, head, withCrc);
    const count = e1 - head - ((e1 - head) % 16);
    if (count > 0) {
      const nd = new DataView(s.buffer, s.byteOffset + nibblesOffset + head / 2, count / 2);
      const od = new DataView(out.buffer, out.byteOffset + outOffset + head, count);
      c = mergeWords(c, nd, od, count, withCrc);
    }
    return mergeBytes(c, s, nibblesOffset, out, outOffset, head + count, e1, withCrc);
  }

  function mergeBytes(
    c: number, s: Uint8Array, nibblesOffset: number, out: Uint8Array, outOffset: number, e0: number, e1: number,
    withCrc: boolean,
  ): number {
    for (let e = e0; e < e1; e++) {
      const v = s[nibblesOffset + Math.floor(e / 2)];
      const q = e % 2 === 1 ? v & 15 : v >>> 4;
      const b = out[outOffset + e] | ((q & 8) << 4) | (q & 7);
      out[outOffset + e] = b;
      if (withCrc) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
    }
    return c;
  }

  /**
   * The word pass: 16 elements (element-aligned nibble bytes) per step from two 32-bit nibble loads, and, when
   * `withCrc`, slicing-by-16 CRC-32C over the 16 finished bytes (fused: the words are in registers). Nibbles 0-3
   * (bits 31-16 of v, element order) are spread to 4 little-endian byte lanes, x = nibble j in lane j, byte =
   * (x & 7) | (x & 8) << 4.
   */
  function mergeWords(c: number, nd: DataView, od: DataView, count: number, withCrc: boolean): number {
    const t = CRC;
    for (let e = 0; e < count; e += 16) {
      const v = nd.getUint32(e >>> 1);
      const u = nd.getUint32((e >>> 1) + 4);
      const a = (v >>> 28) | ((v >>> 16) & 0xf00) | ((v >>> 4) & 0xf0000) | ((v << 8) & 0xf000000);
      const b = ((v >>> 12) & 0xf) | (v & 0xf00) | ((v << 12) & 0xf0000) | ((v << 24) & 0xf000000);
      const d = (u >>> 28) | ((u >>> 16) & 0xf00) | ((u >>> 4) & 0xf0000) | ((u << 8) & 0xf000000);
      const f = ((u >>> 12) & 0xf) | (u & 0xf00) | ((u << 12) & 0xf0000) | ((u << 24) & 0xf000000);
      const wa = od.getUint32(e, true) | (a & 0x07070707) | ((a & 0x08080808) << 4);
      const wb = od.getUint32(e + 4, true) | (b & 0x07070707) | ((b & 0x08080808) << 4);
      const wd = od.getUint32(e + 8, true) | (d & 0x07070707) | ((d & 0x08080808) << 4);
      const wf = od.getUint32(e + 12, true) | (f & 0x07070707) | ((f & 0x08080808) << 4);
      od.setUint32(e, wa, true);
      od.setUint32(e + 4, wb, true);
      od.setUint32(e + 8, wd, true);
      od.setUint32(e + 12, wf, true);
      if (withCrc) {
        const x = c ^ wa;
        c =
          t[3840 + (x & 0xff)] ^ t[3584 + ((x >>> 8) & 0xff)] ^ t[3328 + ((x >>> 16) & 0xff)] ^ t[3072 + (x >>> 24)] ^
          t[2816 + (wb & 0xff)] ^ t[2560 + ((wb >>> 8) & 0xff)] ^ t[2304 + ((wb >>> 16) & 0xff)] ^ t[2048 + (wb >>> 24)] ^
          t[1792 + (wd & 0xff)] ^ t[1536 + ((wd >>> 8) & 0xff)] ^ t[1280 + ((wd >>> 16) & 0xff)] ^ t[1024 + (wd >>> 24)] ^
          t[768 + (wf & 0xff)] ^ t[512 + ((wf >>> 8) & 0xff)] ^ t[256 + ((wf >>> 16) & 0xff)] ^ t[wf >>> 24];
      }
    }
    return c;
  }

  const ST = new Int32Array(ST_SIZE);
  /**
   * The output positions of the group being decoded (pos[b0] .. pos[b1], at most 2048 blocks + 1), read once and
   * checked by decodeRange: makeGroup and initLanes use these, never the stream, so that a stream in shared memory
   * changed by another thread after phase B cannot move a write outside the range's output.
   */
  const GROUP_POS = new Float64Array(4 * 512 + 1);

  function decodeRange(
    s: Uint8Array, g: Geometry, t: DecodeTablesFast, out: Uint8Array, outOffset: number, b0: number, b1: number,
    crc: boolean, result: Float64Array,
  ): void {
    result[0] = 0;
    result[1] = 0;
    result[2] = 0;
    if (b1 <= b0) return;
    let c = -1; // raw CRC state
    let posFlag = 0;
    // Blocks per group: 2048 windows (16 KiB of bitstream, ~50K elements of output) at T <= 512, four blocks above.
    const perGroup = 4 * Math.max(1, Math.floor(512 / g.T));
    // The range's output [pos[b0], pos[b1]), and each group's positions, are checked as they are read (phase B
    // validated them; only a stream changed since, by another thread, fails here: reported as a position mismatch).
    const rangeEnd = readPos(s, g.positionsOffset + 8 * b1);
    let groupStart = readPos(s, g.positionsOffset + 8 * b0);
    if (!(groupStart >= 0 && groupStart <= rangeEnd && rangeEnd <= g.n)) { result[1] = 1; return; }
    for (let b = b0; b < b1; ) {
      const hi = Math.min(b + perGroup, b1);
      GROUP_POS[0] = groupStart;
      for (let k = 1; k <= hi - b; k++) {
        const p = readPos(s, g.positionsOffset + 8 * (b + k));
        const prev = GROUP_POS[k - 1];
        if (!(p >= prev && p - prev <= 64 * g.T && p <= rangeEnd)) { result[1] = 1; return; }
        GROUP_POS[k] = p;
      }
      groupStart = GROUP_POS[hi - b];
      const G = makeGroup(s, g, out, outOffset, b, hi, ST);
      const f = decodeGroup(s, g, t, G);
      if (f & FLAG_GAP) { result[0] = 1; return; }
      posFlag |= f;
      if (hi === g.nBlocks) {
        // The last lane must end exactly at `bits` (gap chain) having decoded exactly n codes (positions).
        const last = (hi - b - 1) % 4;
        if (ST[ST_P + 2 * last] !== G.live) { result[0] = 1; return; }
        if (G.oBase + ST[ST_O + 2 * last] !== g.n) posFlag |= FLAG_POS;
      }
      // Nibbles and CRC of the group's output while it is in cache (the CRC is pointless once a position is wrong).
      c = mergeNibbles(c, s, g.nibblesOffset, out, outOffset, G.oBase, G.oBase + G.oEnd, crc && !(posFlag & FLAG_POS));
      b = hi;
    }
    if (posFlag & FLAG_POS) result[1] = 1;
    result[2] = ~c >>> 0;
  }

  // -------------------------------------------------------------------------------------------------- encoding
  /** Histogram of exponents and CRC-32C of fp8[start, end) in one pass. */
  function scan(fp8: Uint8Array, start: number, end: number, hist: Float64Array): number {
    const t = CRC;
    const h0 = new Int32Array(256);
    const h1 = new Int32Array(256);
    const hs = new Int32Array(16);
    let c = -1;
    let i = start;
    const base = fp8.byteOffset;
    while (i < end && ((base + i) & 3) !== 0) {
      const v = fp8[i++];
      hs[(v >>> 3) & 15]++;
      c = t[(c ^ v) & 0xff] ^ (c >>> 8);
    }
    const wordsEnd = i + ((end - i) & ~15);
    if (wordsEnd > i) {
      const w = wordsOf(fp8.buffer);
      const w1 = (base + wordsEnd) >>> 2;
      for (let k = (base + i) >>> 2; k < w1; k += 4) {
        const a0 = w[k];
        const b = w[k + 1];
        const d = w[k + 2];
        const e = w[k + 3];
        // Exponent pairs of bytes (0,1) and (2,3) of each word, in two histograms to spread the increments.
        h0[((a0 >>> 3) & 15) | ((a0 >>> 7) & 0xf0)]++;
        h1[((a0 >>> 19) & 15) | ((a0 >>> 23) & 0xf0)]++;
        h0[((b >>> 3) & 15) | ((b >>> 7) & 0xf0)]++;
        h1[((b >>> 19) & 15) | ((b >>> 23) & 0xf0)]++;
        h0[((d >>> 3) & 15) | ((d >>> 7) & 0xf0)]++;
        h1[((d >>> 19) & 15) | ((d >>> 23) & 0xf0)]++;
        h0[((e >>> 3) & 15) | ((e >>> 7) & 0xf0)]++;
        h1[((e >>> 19) & 15) | ((e >>> 23) & 0xf0)]++;
        const x =
          t[2816 + (b & 0xff)] ^ t[2560 + ((b >>> 8) & 0xff)] ^ t[2304 + ((b >>> 16) & 0xff)] ^ t[2048 + (b >>> 24)] ^
          t[1792 + (d & 0xff)] ^ t[1536 + ((d >>> 8) & 0xff)] ^ t[1280 + ((d >>> 16) & 0xff)] ^ t[1024 + (d >>> 24)] ^
          t[768 + (e & 0xff)] ^ t[512 + ((e >>> 8) & 0xff)] ^ t[256 + ((e >>> 16) & 0xff)] ^ t[e >>> 24];
        const a = c ^ a0;
        c = x ^ t[3840 + (a & 0xff)] ^ t[3584 + ((a >>> 8) & 0xff)] ^ t[3328 + ((a >>> 16) & 0xff)] ^ t[3072 + (a >>> 24)];
      }
      i = wordsEnd;
    }
    while (i < end) {
      const v = fp8[i++];
      hs[(v >>> 3) & 15]++;
      c = t[(c ^ v) & 0xff] ^ (c >>> 8);
    }
    for (let x = 0; x < 16; x++) hist[x] += hs[x];
    // Pair counts hold two symbols each.
    for (let pIdx = 0; pIdx < 256; pIdx++) {
      const cnt = h0[pIdx] + h1[pIdx];
      if (cnt === 0) continue;
      hist[pIdx & 15] += cnt;
      hist[pIdx >>> 4] += cnt;
    }
    return ~c >>> 0;
  }

  /** Gap of window `thread` (spec §8.2) and, at a block's first window, the block's output position (§8.1). */
  function putWindow(out: Uint8Array, dv: DataView, g: Geometry, thread: number, gap: number, element: number, shared: boolean): void {
    const idx = g.gapsOffset + (thread >>> 1);
    const v = thread & 1 ? gap : gap << 4;
    // Windows at the ends of a range may share their gap byte with another worker's range.
    if (shared) Atomics.or(out, idx, v);
    else out[idx] |= v;
    if ((thread & (g.T - 1)) === 0) {
      const at = g.positionsOffset + 8 * (thread / g.T);
      dv.setUint32(at, element % 0x100000000, true);
      dv.setUint32(at + 4, Math.floor(element / 0x100000000), true);
    }
  }

  /** Largest element count of one encodeRange call: keeps every relative bit/byte position an int32. */
  const MAX_RANGE = 1 << 26;

  function encodeRange(
    fp8: Uint8Array, i0: number, i1: number, p0: number, p1: number, last: boolean, g: Geometry, t: EncodeTablesFast,
    out: Uint8Array, inputBase = 0,
  ): number {
    if (i1 - i0 > MAX_RANGE) throw new RangeError('encodeRange: range too long');
    const PCL = t.pairCodeLen;
    const CODE = t.code;
    const LEN = t.len;
    // Relative coordinates (all int32): bits from pBase (a window boundary), bytes from exponent byte pBase / 8,
    // elements from i0 (a multiple of 8, so nibble bytes from i0 / 2).
    const pBase = Math.floor(p0 / 64) * 64;
    const exBase = g.exponentsOffset + pBase / 8;
    const ex = out.subarray(exBase);
    const dv = new DataView(out.buffer, out.byteOffset + exBase, out.byteLength - exBase);
    const odv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const src = fp8.subarray(i0 - inputBase, i1 - inputBase);
    const nib = out.subarray(g.nibblesOffset + i0 / 2);
    const n = i1 - i0;
    const liveEnd = Math.min(g.bits - pBase, 0x7fffffff); // windows at or past it are dead
    const DEAD = 0x7fffffff;
    // Bit writer: acc holds accBits (0..7) pending bits, MSB-aligned; bytes before `at` are final.
    let p = p0 - pBase;
    let at = p >>> 3;
    let accBits = p & 7;
    let acc = 0; // phantom zero bits for the part of the first byte written by the range before
    const endByte = Math.floor((p1 - pBase) / 8);
    // Fast stores write 4 bytes at `at`; they must stay below endByte unless this is the last range.
    const atFast = last ? DEAD : endByte - 8;
    // First window boundary after p0 (windows at or before p0 belong to the range before; window 0 needs
    // nothing: its gap and pos[0] are zero).
    let nextW = 64;
    if (nextW >= liveEnd) nextW = DEAD;
    let thread = pBase / 64 + 1;
    const firstThread = thread;
    const lastThread = Math.floor(p1 / 64);

    let i = 0;
    const quadsEnd = n & ~3;
    const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const nv = new DataView(nib.buffer, nib.byteOffset, nib.byteLength);
    // Fast loop: four elements (one 32-bit load, two pair lookups, one append of <= 24 bits) per step.
    for (; i < quadsEnd && at <= atFast; i += 4) {
      const w = sv.getInt32(i, true);
      nv.setUint16(
        i >>> 1,
        ((w & 0x80) << 8) | ((w & 7) << 12) | ((w >>> 4) & 0x800) | (w & 0x700) |
          ((w >>> 16) & 0x80) | ((w >>> 12) & 0x70) | ((w >>> 28) & 8) | ((w >>> 24) & 7),
      );
      const i1 = ((w >>> 3) & 15) | ((w >>> 7) & 0xf0);
      const i2 = ((w >>> 19) & 15) | ((w >>> 23) & 0xf0);
      const c1 = PCL[i1];
      const c2 = PCL[i2];
      const l2 = c2 >>> 24;
      const len = (c1 >>> 24) + l2;
      if (len <= 24) {
        acc |= (((c1 & 0xffffff) << l2) | (c2 & 0xffffff)) << (32 - accBits - len);
        accBits += len;
        dv.setUint32(at, acc, false);
        const adv = accBits & 24;
        at += adv >>> 3;
        acc <<= adv;
        accBits &= 7;
      } else {
        for (let j = 0; j < 4; j++) {
          const x = (w >>> (8 * j + 3)) & 15;
          const l = LEN[x];
          acc |= CODE[x] << (32 - accBits - l);
          accBits += l;
          dv.setUint32(at, acc, false);
          const adv = accBits & 24;
          at += adv >>> 3;
          acc <<= adv;
          accBits &= 7;
        }
      }
      const pn = p + len;
      if (pn >= nextW) {
        // Windows W in (p, pn]: the first code start at or after W is one of the next three codes or the next step.
        while (nextW <= pn) {
          let start = p;
          let j = 0;
          while (start < nextW) start += LEN[(w >>> (8 * j++ + 3)) & 15];
          putWindow(out, odv, g, thread, start - nextW, i0 + i + j, thread === firstThread || thread === lastThread);
          thread++;
          nextW += 64;
          if (nextW >= liveEnd) nextW = DEAD;
        }
      }
      p = pn;
    }
    // Tail: one element at a time with exact byte stores (never at or past endByte unless last).
    for (; i < n; i++) {
      const a = src[i];
      if (i & 1) nib[i >>> 1] |= ((a >>> 4) & 8) | (a & 7);
      else nib[i >>> 1] = (a & 0x80) | ((a & 7) << 4);
      const x = (a >>> 3) & 15;
      const l = LEN[x];
      acc |= CODE[x] << (32 - accBits - l);
      accBits += l;
      while (accBits >= 8) {
        ex[at++] = acc >>> 24;
        acc <<= 8;
        accBits -= 8;
      }
      const pn = p + l;
      while (nextW <= pn) {
        putWindow(out, odv, g, thread, pn - nextW, i0 + i + 1, thread === firstThread || thread === lastThread);
        thread++;
        nextW += 64;
        if (nextW >= liveEnd) nextW = DEAD;
      }
      p = pn;
    }
    if (accBits > 0) {
      if (last) ex[at] = acc >>> 24;
      else return acc >>> 24;
    }
    return -1;
  }

  return { crc32cUpdate, crc32cCombine, buildDecodeTables, buildEncodeTables, decodeRange, scan, encodeRange, MAX_RANGE };
}
