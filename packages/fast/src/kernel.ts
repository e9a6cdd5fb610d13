/**
 * The hot loops of @ecf8/fast, in ONE self-contained factory function: it references nothing outside its own body,
 * so `createKernel.toString()` is a complete program that worker threads (Node `worker_threads`, browser Web
 * Workers) evaluate as-is — no bundler configuration, no second build artefact, and the main thread runs the very
 * same code. Keep it that way: no imports, no references to module-level names.
 *
 * Decoder (spec §6-§9, §11.2 phase C):
 *  - one 12-bit lookup in `DEC` yields up to 4 exponents (already in their byte lanes), their count and the bits
 *    consumed, in one word; they are written with one unaligned 32-bit store; a store may run 3 bytes ahead, which
 *    the next store overwrites, and the loop bounds keep it inside the range;
 *  - the 4 sign/mantissa nibbles of those elements come from one 32-bit load and are spread into the same word with
 *    shifts and masks (no table lookups: every typed-array access costs V8 a map, detach and bounds check);
 *  - the inner loops run a precomputed number of steps that cannot reach the lane's end, so each step tests only
 *    one rarely-true condition (window boundary crossed, or a code longer than 12 bits: DEC bit 31);
 *  - two ranges of the stream are decoded interleaved in one loop (independent dependency chains); a lane's tail
 *    does two lookups per 32-bit exponent load (after <= 12 bits, 13 valid bits remain);
 *  - the gap chain (§8.3) is checked where a lookup crosses a 64-bit window boundary, from the code-start mask:
 *    the first code start at or after the boundary must equal `window + gap` — exactly the sequential reference's
 *    check, so the same streams fail with the same code; block starts also check their output position;
 *  - the content CRC-32C is computed group by group (8 blocks) right after decoding, while the output is in cache.
 * Encoder (spec §12): pair tables (two exponents per lookup, code and length in one word, ≤ 24 bits appended per
 * step) with a branch-free 32-bit big-endian store per step; nibble packing fused into the same loop (one 16-bit
 * store per 4 elements); window gaps and block positions in a
 * rarely-taken branch where a pair crosses a window boundary.
 */

/** Decode geometry of a stream that passed phases A and B (all offsets from the start of `stream`). */
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
  /** 12-bit index: consumed | count << 7 | start mask << 10; 127 = the first code is longer than 12 bits. */
  meta: Int32Array;
  /** 12-bit index: up to 4 exponents << 3, symbol j in byte lane j. */
  exp: Int32Array;
  /**
   * 12-bit index, one word per lookup: the exponents of `exp` (bits 3-6 of each byte lane) | count (bits 0-2) |
   * bits consumed << 7 (bits 7-10); bit 31 set (and count = consumed = 0) when the first code is longer than 12 bits.
   */
  dec: Int32Array;
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

  const K = 12;
  const KMASK = (1 << K) - 1;
  const LONG = 127;

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
    const exp = new Int32Array(1 << K);
    const dec = new Int32Array(1 << K);
    for (let idx = 0; idx <= KMASK; idx++) {
      let consumed = 0;
      let cnt = 0;
      let mask = 0;
      let e = 0;
      while (cnt < 4) {
        const s = sym[(idx << consumed) & KMASK];
        if (s < 0 || (s >>> 4) > K - consumed) break;
        mask |= 1 << consumed;
        e |= (s & 15) << (3 + 8 * cnt);
        consumed += s >>> 4;
        cnt++;
      }
      meta[idx] = cnt === 0 ? LONG : consumed | (cnt << 7) | (mask << 10);
      exp[idx] = e;
      dec[idx] = cnt === 0 ? 1 << 31 : e | cnt | (consumed << 7);
    }
    return { meta, exp, dec, sym, firstCode, firstIndex, count, sorted };
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
   * A lane decodes the codes of blocks [b0, b1) sequentially from window b0's gap. Coordinates are relative: bit p
   * from the lane's first window, output o from pos[b0]. Everything a lane needs is in one small object.
   */
  interface Lane {
    ex: DataView; // exponent bytes from the lane's first window
    exBase: number; // absolute stream offset of ex
    nd: DataView; // nibble bytes from the one holding element pos[b0]
    odd: number;
    od: DataView; // the lane's output range [pos[b0], pos[b1])
    ob: Uint8Array; // the same range as bytes
    oBase: number; // pos[b0]
    p: number;
    o: number;
    nw: number; // next window boundary to check (relative)
    thread: number; // its absolute index
    end: number; // relative bit where the lane stops (min(W(b1), bits) - W(b0))
    oEnd: number; // pos[b1] - pos[b0]
    live: number; // bits - W(b0): windows at or past it are dead
    flags: number;
  }

  function makeLane(s: Uint8Array, g: Geometry, out: Uint8Array, outOffset: number, b0: number, b1: number): Lane {
    const bit0 = b0 * 64 * g.T;
    const exBase = g.exponentsOffset + bit0 / 8;
    const oBase = readPos(s, g.positionsOffset + 8 * b0);
    const oEnd = readPos(s, g.positionsOffset + 8 * b1) - oBase;
    const thread = b0 * g.T;
    const p = gapAt(s, g.gapsOffset, thread);
    const nibBase = g.nibblesOffset + Math.floor(oBase / 2);
    return {
      ex: new DataView(s.buffer, s.byteOffset + exBase, s.byteLength - exBase),
      exBase,
      nd: new DataView(s.buffer, s.byteOffset + nibBase, s.byteLength - nibBase),
      odd: oBase & 1,
      od: new DataView(out.buffer, out.byteOffset + outOffset + oBase, oEnd),
      ob: out.subarray(outOffset + oBase, outOffset + oBase + oEnd),
      oBase,
      p,
      o: 0,
      nw: 64,
      thread: thread + 1, // window b0 itself is checked by the lane before (block 0: gap 0 is checked here)
      end: Math.min(b1 * 64 * g.T, g.bits) - bit0,
      oEnd,
      live: g.bits - bit0,
      flags: b0 === 0 && p !== 0 ? FLAG_GAP : 0,
    };
  }

  /** Output byte of lane element o with exponent x (spec §2), nibble read from the lane's nibble view. */
  function laneByte(L: Lane, o: number, x: number): number {
    const j = o + L.odd;
    const v = L.nd.getUint8(j >>> 1);
    const q = j & 1 ? v & 15 : v >>> 4;
    return ((q & 8) << 4) | (x << 3) | (q & 7);
  }

  /**
   * The rare path of one lookup at p: a code longer than 12 bits first, and/or a window boundary crossed (at most
   * one: spans are <= 16 bits, windows 64). Updates L.p, L.o, L.nw, L.thread, L.flags.
   */
  function rarePath(s: Uint8Array, g: Geometry, t: DecodeTablesFast, L: Lane, p: number, o: number, m: number): void {
    let span = m & 127;
    let mask = m >>> 10;
    let cnt = (m >>> 7) & 7;
    if (span === LONG) {
      const x = slowSymbol(s, L.exBase, t, p);
      if (o < L.oEnd) L.ob[o] = laneByte(L, o, x & 15);
      span = x >>> 4;
      mask = 1;
      cnt = 1;
    }
    const pn = p + span;
    if (L.nw <= pn) {
      if (L.nw < L.live) L.flags |= windowCheck(s, g, L.thread, L.nw - p, span, mask, L.oBase + o);
      L.thread++;
      L.nw += 64;
    }
    L.p = pn;
    L.o = o + cnt;
  }

  /** Decodes one lane to its end: 12-bit multi-symbol lookups while far from the end, then one code at a time. */
  function finishLane(s: Uint8Array, g: Geometry, t: DecodeTablesFast, L: Lane): void {
    const DEC = t.dec;
    const ex = L.ex;
    const od = L.od;
    const nd = L.nd;
    const odd = L.odd;
    let p = L.p;
    let o = L.o;
    let nw = L.nw;
    // Two lookups per step from one 32-bit load: after the first lookup's <= 12 bits, 13 more valid bits remain.
    // A step advances <= 32 bits and 8 elements, and its second nibble load must stay inside the stream.
    const pFast = L.end - K;
    const oFast = L.oEnd - 12;
    for (;;) {
      let steps = Math.min((pFast - p) >> 5, (oFast - o) >> 3);
      if (steps < 0) break;
      for (; steps >= 0; steps--) {
        const w = ex.getUint32(p >>> 3) << (p & 7);
        const i1 = w >>> 20;
        const m1 = DEC[i1];
        const j1 = o + odd;
        const v1 = nd.getUint32(j1 >>> 1) << ((j1 & 1) << 2);
        const x1 = (v1 >>> 28) | ((v1 >>> 16) & 0xf00) | ((v1 >>> 4) & 0xf0000) | ((v1 << 8) & 0xf000000);
        od.setUint32(o, (m1 & 0x78787878) | (x1 & 0x07070707) | ((x1 & 0x08080808) << 4), true);
        const c1 = (m1 >>> 7) & 15;
        const p1 = p + c1;
        if (((nw - 1 - p1) | m1) < 0) {
          L.nw = nw;
          rarePath(s, g, t, L, p, o, t.meta[i1]);
          if (L.flags & FLAG_GAP) return;
          p = L.p;
          o = L.o;
          nw = L.nw;
          continue;
        }
        const o1 = o + (m1 & 7);
        const i2 = (w << c1) >>> 20;
        const m2 = DEC[i2];
        const j2 = o1 + odd;
        const v2 = nd.getUint32(j2 >>> 1) << ((j2 & 1) << 2);
        const x2 = (v2 >>> 28) | ((v2 >>> 16) & 0xf00) | ((v2 >>> 4) & 0xf0000) | ((v2 << 8) & 0xf000000);
        od.setUint32(o1, (m2 & 0x78787878) | (x2 & 0x07070707) | ((x2 & 0x08080808) << 4), true);
        const p2 = p1 + ((m2 >>> 7) & 15);
        if (((nw - 1 - p2) | m2) < 0) {
          L.nw = nw;
          rarePath(s, g, t, L, p1, o1, t.meta[i2]);
          if (L.flags & FLAG_GAP) return;
          p = L.p;
          o = L.o;
          nw = L.nw;
          continue;
        }
        o = o1 + (m2 & 7);
        p = p2;
      }
    }
    // Then one lookup per step.
    const oFast1 = L.oEnd - 8;
    for (;;) {
      let steps = Math.min((pFast - p) >> 4, (oFast1 - o) >> 2);
      if (steps < 0) break;
      for (; steps >= 0; steps--) {
        const idx = (ex.getUint32(p >>> 3) << (p & 7)) >>> 20;
        const m = DEC[idx];
        const j = o + odd;
        const v = nd.getUint32(j >>> 1) << ((j & 1) << 2);
        const x = (v >>> 28) | ((v >>> 16) & 0xf00) | ((v >>> 4) & 0xf0000) | ((v << 8) & 0xf000000);
        od.setUint32(o, (m & 0x78787878) | (x & 0x07070707) | ((x & 0x08080808) << 4), true);
        const pn = p + ((m >>> 7) & 15);
        if (((nw - 1 - pn) | m) < 0) {
          L.nw = nw;
          rarePath(s, g, t, L, p, o, t.meta[idx]);
          if (L.flags & FLAG_GAP) return;
          p = L.p;
          o = L.o;
          nw = L.nw;
        } else {
          o += m & 7;
          p = pn;
        }
      }
    }
    // Tail: one code at a time, writes clamped to the lane's range.
    const ob = L.ob;
    const end = L.end;
    const oEnd = L.oEnd;
    L.nw = nw;
    while (p < end) {
      const x = slowSymbol(s, L.exBase, t, p);
      if (o < oEnd) ob[o] = laneByte(L, o, x & 15);
      const pn = p + (x >>> 4);
      if (L.nw <= pn) {
        if (L.nw < L.live) L.flags |= windowCheck(s, g, L.thread, L.nw - p, x >>> 4, 1, L.oBase + o);
        if (L.flags & FLAG_GAP) return;
        L.thread++;
        L.nw += 64;
      }
      o++;
      p = pn;
    }
    L.p = p;
    L.o = o;
  }

  /**
   * Two lanes interleaved (independent dependency chains) while both are far from their ends. The inner loop runs a
   * precomputed number of steps that cannot reach either lane's end (a step advances <= 16 bits and 4 elements), so
   * it tests only the rare-path trigger: a window boundary crossed or a code longer than 12 bits (DEC bit 31).
   */
  function twoLanes(s: Uint8Array, g: Geometry, t: DecodeTablesFast, A: Lane, B: Lane): void {
    const DEC = t.dec;
    const ea = A.ex, eb = B.ex, da = A.od, db = B.od, na = A.nd, nb = B.nd;
    const oddA = A.odd, oddB = B.odd;
    let p = A.p, o = A.o, nw = A.nw;
    let q = B.p, r = B.o, nv = B.nw;
    const pFast = A.end - K, oFast = A.oEnd - 8;
    const qFast = B.end - K, rFast = B.oEnd - 8;
    for (;;) {
      let steps = Math.min((pFast - p) >> 4, (oFast - o) >> 2, (qFast - q) >> 4, (rFast - r) >> 2);
      if (steps < 0) break;
      for (; steps >= 0; steps--) {
        const ia = (ea.getUint32(p >>> 3) << (p & 7)) >>> 20;
        const ib = (eb.getUint32(q >>> 3) << (q & 7)) >>> 20;
        const ma = DEC[ia];
        const mb = DEC[ib];
        const ja = o + oddA;
        const jb = r + oddB;
        const va = na.getUint32(ja >>> 1) << ((ja & 1) << 2);
        const vb = nb.getUint32(jb >>> 1) << ((jb & 1) << 2);
        // The 4 nibbles at bits 31-16 of va, spread to byte lanes 0-3, sign to bit 7 (no table lookups).
        const xa = (va >>> 28) | ((va >>> 16) & 0xf00) | ((va >>> 4) & 0xf0000) | ((va << 8) & 0xf000000);
        const xb = (vb >>> 28) | ((vb >>> 16) & 0xf00) | ((vb >>> 4) & 0xf0000) | ((vb << 8) & 0xf000000);
        da.setUint32(o, (ma & 0x78787878) | (xa & 0x07070707) | ((xa & 0x08080808) << 4), true);
        db.setUint32(r, (mb & 0x78787878) | (xb & 0x07070707) | ((xb & 0x08080808) << 4), true);
        const pn = p + ((ma >>> 7) & 15);
        const qn = q + ((mb >>> 7) & 15);
        if (((nw - 1 - pn) | ma) < 0) {
          A.nw = nw;
          rarePath(s, g, t, A, p, o, t.meta[ia]);
          if (A.flags & FLAG_GAP) return;
          p = A.p;
          o = A.o;
          nw = A.nw;
        } else {
          o += ma & 7;
          p = pn;
        }
        if (((nv - 1 - qn) | mb) < 0) {
          B.nw = nv;
          rarePath(s, g, t, B, q, r, t.meta[ib]);
          if (B.flags & FLAG_GAP) return;
          q = B.p;
          r = B.o;
          nv = B.nw;
        } else {
          r += mb & 7;
          q = qn;
        }
      }
    }
    A.p = p; A.o = o; A.nw = nw;
    B.p = q; B.o = r; B.nw = nv;
  }

  const GROUP_BLOCKS = 4; // blocks per lane; a group is two lanes

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
    let e = readPos(s, g.positionsOffset + 8 * b0);
    for (let b = b0; b < b1; ) {
      const mid = Math.min(b + GROUP_BLOCKS, b1);
      const hi = Math.min(mid + GROUP_BLOCKS, b1);
      const A = makeLane(s, g, out, outOffset, b, mid);
      let last = A;
      if (hi > mid) {
        const B = makeLane(s, g, out, outOffset, mid, hi);
        twoLanes(s, g, t, A, B);
        if ((A.flags | B.flags) & FLAG_GAP) { result[0] = 1; return; }
        finishLane(s, g, t, B);
        if (B.flags & FLAG_GAP) { result[0] = 1; return; }
        posFlag |= B.flags;
        last = B;
      }
      finishLane(s, g, t, A);
      if (A.flags & FLAG_GAP) { result[0] = 1; return; }
      posFlag |= A.flags;
      if (hi === g.nBlocks) {
        // The last lane must end exactly at `bits` (gap chain) having decoded exactly n codes (positions).
        if (last.p !== last.live) { result[0] = 1; return; }
        if (last.oBase + last.o !== g.n) posFlag |= FLAG_POS;
      }
      // CRC of the group's output while it is in cache (pointless once a position is wrong).
      const e1 = readPos(s, g.positionsOffset + 8 * hi);
      if (crc && !(posFlag & FLAG_POS)) c = crcRaw(c, out, outOffset + e, outOffset + e1);
      e = e1;
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
    out: Uint8Array,
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
    const src = fp8.subarray(i0, i1);
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
