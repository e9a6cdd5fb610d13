/**
 * Deterministic generator of the shared ECF8 test vectors (see README.md). Run: `npm run vectors`.
 * `--check` regenerates everything in memory and fails if any committed file differs (used by the tests).
 *
 * Every random choice comes from a seeded xorshift generator, so the output is identical on every machine.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildDecodeTables,
  crc32c,
  crc32cUpdate,
  decode,
  encode,
  HeaderOffset,
  HEADER_SIZE,
  parseStream,
  deriveSizes,
  quantizeE4M3,
} from '../packages/core/src/index.js';

const ROOT = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness

/** xorshift32 with a fixed seed per vector; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Per-tensor FP8 quantization (scale = amax / 448, round to nearest even, saturating). */
function quantize(values: Float64Array): Uint8Array {
  return quantizeE4M3(values).data;
}

function gaussianTensor(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = gaussian(r) * 0.02;
  return quantize(v);
}

/** Symmetric alpha-stable samples (Chambers-Mallows-Stuck), the heavy-tailed case of the paper's Theorem 2.1. */
function alphaStableTensor(n: number, alpha: number, seed: number): Uint8Array {
  const r = rng(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const U = Math.PI * (r() - 0.5);
    const W = -Math.log(Math.max(r(), 1e-12));
    v[i] =
      (Math.sin(alpha * U) / Math.cos(U) ** (1 / alpha)) * (Math.cos(U - alpha * U) / W) ** ((1 - alpha) / alpha);
  }
  return quantize(v);
}

function laplaceTensor(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() - 0.5;
    v[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u) + 1e-300);
  }
  return quantize(v);
}

/** Elements whose exponents follow `weights` exactly (in a shuffled order); random sign/mantissa. */
function fromExponentCounts(counts: number[], seed: number): Uint8Array {
  const r = rng(seed);
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(total);
  let k = 0;
  counts.forEach((c, x) => {
    for (let j = 0; j < c; j++) out[k++] = (x << 3) | (r() < 0.5 ? 0x80 : 0) | Math.floor(r() * 8);
  });
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** Elements cycling through all 16 exponents (every code 4 bits long when n is a multiple of 16). */
function cyclingExponents(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i % 16) << 3) | (r() < 0.5 ? 0x80 : 0) | Math.floor(r() * 8);
  return out;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Valid vectors

interface ValidSpec {
  name: string;
  description: string;
  data: Uint8Array;
  threadsPerBlock?: number;
  /** When set, the encoder's stream must equal these bytes exactly (text quoted from the spec). */
  expectedStream?: Uint8Array;
}

const SPEC = join(ROOT, '..', 'spec', 'ecf8-v1.md');

/** The body of the first fenced block after `start` in `text`. */
function fencedBlockAfter(text: string, start: number, what: string): string {
  const open = text.indexOf('```', start);
  const bodyStart = text.indexOf('\n', open) + 1;
  const close = text.indexOf('```', bodyStart);
  if (open < 0 || bodyStart <= 0 || close < 0) throw new Error(`spec: no fenced block for ${what}`);
  return text.slice(bodyStart, close);
}

function sectionStart(text: string, heading: string): number {
  const at = text.indexOf(`\n${heading}`);
  if (at < 0) throw new Error(`spec: heading '${heading}' not found`);
  return at;
}

function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error('spec: malformed hex string');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** The document revision the spec states in its front matter (`| Document revision | 1.0.1, date |`). */
export function specRevision(specText = readFileSync(SPEC, 'utf8')): string {
  const m = /^\| Document revision \| (\d+\.\d+(?:\.\d+)?),/m.exec(specText);
  if (!m) throw new Error('spec: no document revision in the front matter');
  return m[1];
}

/**
 * The worked example of spec §15, read from the spec's own text: the 43 input bytes (the `v` rows of §15.1) and the
 * complete streams of §15.7 (T = 1, the block after "As one hex string") and §15.8 (T = 2). The generator encodes the
 * input and fails unless it reproduces both streams byte for byte, so the spec's text and the vectors cannot drift.
 */
export function workedExampleFromSpec(specText = readFileSync(SPEC, 'utf8')) {
  const split = fencedBlockAfter(specText, sectionStart(specText, '### 15.1'), '§15.1');
  const input = hexBytes(split.split('\n').filter((l) => l.startsWith('v ')).map((l) => l.slice(1)).join(' '));
  const t1 = hexBytes(fencedBlockAfter(specText, specText.indexOf('As one hex string', sectionStart(specText, '### 15.7')), '§15.7'));
  const t2 = hexBytes(fencedBlockAfter(specText, specText.indexOf('As one hex string', sectionStart(specText, '### 15.8')), '§15.8'));
  return { input, t1, t2 };
}

function validSpecs(): ValidSpec[] {
  const v: ValidSpec[] = [];
  const add = (name: string, description: string, data: Uint8Array, threadsPerBlock?: number, expectedStream?: Uint8Array) =>
    v.push({ name, description, data, threadsPerBlock, expectedStream });

  add('empty', 'zero elements: no codes, no blocks, all code lengths 0', new Uint8Array(0));
  add('one-element', 'a single element (1.0 = 0x38): single-symbol code paired with symbol 0', new Uint8Array([0x38]));
  add('two-elements', 'two elements with different exponents', new Uint8Array([0x38, 0xc1]));
  add('three-elements', 'three elements, odd count: pad nibble', new Uint8Array([0x38, 0x40, 0x30]));
  add('five-elements-t1', 'five elements with T = 1 (one thread per block)', new Uint8Array([0x01, 0x7e, 0x80, 0x38, 0xb9]), 1);
  const example = workedExampleFromSpec();
  add('worked-example-t1', 'the worked example of spec §15 (43 elements, T = 1): exactly the 192-byte stream printed in §15.7', example.input, 1, example.t1);
  add('worked-example-t2', 'the worked example of spec §15 with T = 2 (a dead thread): exactly the 184-byte stream printed in §15.8', example.input, 2, example.t2);
  add('odd-99', '99 Gaussian-like elements (odd count)', gaussianTensor(99, 11));
  add('odd-1001', '1001 Gaussian-like elements (odd count)', gaussianTensor(1001, 12));
  add('odd-12345-t64', '12345 Gaussian-like elements, T = 64', gaussianTensor(12345, 13), 64);
  // Window boundaries: with all 16 exponents equally frequent every code is 4 bits, 16 codes per 64-bit window.
  for (const n of [15, 16, 17, 32, 33]) add(`window-boundary-${n}`, `${n} elements of 4-bit codes around the 16-code window boundary`, cyclingExponents(n, 20 + n));
  // Block boundaries with T = 32: a block is 2048 bits = 512 four-bit codes.
  for (const n of [511, 512, 513, 1024, 1025]) add(`block-boundary-t32-${n}`, `${n} elements of 4-bit codes around the 512-code block boundary at T = 32`, cyclingExponents(n, 40 + n), 32);
  for (const n of [4095, 4096, 4097]) add(`block-boundary-t128-${n}`, `${n} elements of 4-bit codes around a block boundary at T = 128 (4096 codes/block)`, cyclingExponents(n, 60 + n), 128);
  add('block-boundary-t512-32768', '32768 four-bit codes: exactly one block at T = 512', cyclingExponents(32768, 80));
  add('block-boundary-t512-32769', '32769 four-bit codes: one code into the second block at T = 512', cyclingExponents(32769, 81));
  add('single-exponent-7', '1000 elements all with exponent 7 (code lengths 1+1 with the unused symbol 0)', fromExponentCounts([0, 0, 0, 0, 0, 0, 0, 1000], 90));
  add('single-exponent-0', '777 elements all with exponent 0 (zeros and subnormals; pairs with symbol 1)', fromExponentCounts([777], 91));
  add('single-exponent-15', '64 elements all with exponent 15 (includes NaN encodings)', fromExponentCounts([...Array(15).fill(0), 64], 92));
  add('two-exponents', 'two exponents, 3:1 ratio', fromExponentCounts([0, 0, 0, 300, 100], 93));
  add('all-16-exponents-uniform', 'all 16 exponents equally often (every code 4 bits)', fromExponentCounts(Array(16).fill(257), 94));
  add('all-byte-values', 'each of the 256 byte values once: NaN (0x7f, 0xff), ±0, subnormals, ±448', Uint8Array.from({ length: 256 }, (_, i) => i));
  add('specials', 'NaN, ±0, smallest subnormal, largest subnormal, smallest normal, ±448, 1.0, repeated', Uint8Array.from({ length: 333 }, (_, i) => [0x7f, 0xff, 0x00, 0x80, 0x01, 0x07, 0x08, 0x7e, 0xfe, 0x38, 0xb8][i % 11]));
  // Deepest complete code for 16 symbols: lengths 1..15, 15 (the 16-bit limit cannot bind with 16 symbols, spec §5.1).
  add('max-depth-15', 'power-of-two exponent counts 1,1,2,...,2^14: code lengths 15,15,14,...,1 (two-level tables)', fromExponentCounts([1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384], 95));
  add('two-level-tables', 'geometric exponent counts: several codes longer than 8 bits, several subtables', fromExponentCounts([3, 1, 2, 5, 9, 20, 41, 90, 200, 450, 1000, 2200, 5000, 11000, 6000, 700], 96));
  add('fibonacci-counts', 'Fibonacci exponent counts: a maximally unbalanced Huffman tree', fromExponentCounts([1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987], 97));
  add('random-bytes-4k', '4096 uniformly random bytes (incompressible exponents)', randomBytes(4096, 98));
  add('random-bytes-100k', '100000 uniformly random bytes', randomBytes(100000, 99));
  for (const T of [1, 2, 32, 64, 128, 256, 1024]) add(`gaussian-20k-t${T}`, `20000 quantized Gaussian weights, T = ${T}`, gaussianTensor(20000, 100 + T), T);
  add('gaussian-262144', '262144 quantized Gaussian weights (realistic: amax/448 per-tensor scale)', gaussianTensor(262144, 200));
  add('laplace-65536', '65536 quantized Laplace weights', laplaceTensor(65536, 201));
  add('alpha-stable-1.5-65536', '65536 quantized symmetric alpha-stable (alpha 1.5) weights: heavy tails', alphaStableTensor(65536, 1.5, 202));
  add('alpha-stable-1.9-65536', '65536 quantized symmetric alpha-stable (alpha 1.9) weights', alphaStableTensor(65536, 1.9, 203));
  const real = join(ROOT, 'sources', 'real-weights-slice.fp8');
  if (existsSync(real)) add('real-weights-slice', 'a slice of real trained weights quantized to FP8 E4M3 (see sources/README.md)', new Uint8Array(readFileSync(real)));
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Invalid vectors: each starts from a valid stream and breaks exactly one rule, re-sealing the metadata checksum
// where the broken rule is checked after it (spec §11.2).

interface InvalidSpec {
  name: string;
  description: string;
  stream: Uint8Array;
  error: string;
}

function dv(s: Uint8Array): DataView {
  return new DataView(s.buffer, s.byteOffset, s.byteLength);
}

/** Recomputes metadata_crc32c (header 0..83, positions, gaps) after an edit. */
function resealMetadata(s: Uint8Array): Uint8Array {
  const { layout } = parseStream(s, { verifyChecksums: false } as never);
  let crc = crc32cUpdate(0, s, 0, HeaderOffset.metadataCrc32c);
  crc = crc32cUpdate(crc, s, HEADER_SIZE, layout.exponentsOffset);
  dv(s).setUint32(HeaderOffset.metadataCrc32c, crc, true);
  return s;
}

function invalidSpecs(): InvalidSpec[] {
  const out: InvalidSpec[] = [];
  const base = encode(gaussianTensor(3001, 300), { threadsPerBlock: 32 }); // several blocks, odd count
  const baseInfo = parseStream(base).layout;
  const copy = () => base.slice();
  const add = (name: string, description: string, stream: Uint8Array, error: string) => out.push({ name, description, stream, error });
  const setU64 = (s: Uint8Array, off: number, v: bigint) => dv(s).setBigUint64(off, v, true);

  let s = copy(); s[0] = 0x46; add('bad-magic', 'first byte changed', s, 'ECF8_BAD_MAGIC');
  add('bad-magic-short', 'two bytes that do not begin the magic', new Uint8Array([0x45, 0x00]), 'ECF8_BAD_MAGIC');
  add('truncated-empty', 'zero-length input', new Uint8Array(0), 'ECF8_TRUNCATED');
  add('truncated-magic-only', 'only the 4 magic bytes', base.slice(0, 4), 'ECF8_TRUNCATED');
  add('truncated-header', 'cut inside the header (60 bytes)', base.slice(0, 60), 'ECF8_TRUNCATED');
  add('truncated-positions', 'cut inside the output positions section', base.slice(0, baseInfo.positionsOffset + 5), 'ECF8_TRUNCATED');
  add('truncated-exponents', 'cut inside the exponent bitstream', base.slice(0, baseInfo.exponentsOffset + 100), 'ECF8_TRUNCATED');
  add('truncated-last-byte', 'last byte missing', base.slice(0, base.length - 1), 'ECF8_TRUNCATED');
  s = new Uint8Array(base.length + 8); s.set(base); add('trailing-bytes', '8 zero bytes after the stream', s, 'ECF8_TRAILING_BYTES');
  s = copy(); s[HeaderOffset.version] = 2; add('unsupported-version', 'version 2', s, 'ECF8_UNSUPPORTED_VERSION');
  s = copy(); s[HeaderOffset.version] = 0; add('unsupported-version-0', 'version 0', s, 'ECF8_UNSUPPORTED_VERSION');
  s = copy(); s[HeaderOffset.elementFormat] = 2; add('unsupported-format-e5m2', 'element format 2 (reserved for E5M2)', s, 'ECF8_UNSUPPORTED_FORMAT');
  s = copy(); s[HeaderOffset.elementFormat] = 0; add('unsupported-format-0', 'element format 0', s, 'ECF8_UNSUPPORTED_FORMAT');
  s = copy(); s[HeaderOffset.bytesPerThread] = 16; add('bad-bytes-per-thread', 'B = 16', s, 'ECF8_BAD_BYTES_PER_THREAD');
  s = copy(); dv(s).setUint32(HeaderOffset.threadsPerBlock, 0, true); add('bad-threads-per-block-0', 'T = 0', s, 'ECF8_BAD_THREADS_PER_BLOCK');
  s = copy(); dv(s).setUint32(HeaderOffset.threadsPerBlock, 48, true); add('bad-threads-per-block-48', 'T = 48 (not a power of two)', s, 'ECF8_BAD_THREADS_PER_BLOCK');
  s = copy(); dv(s).setUint32(HeaderOffset.threadsPerBlock, 2048, true); add('bad-threads-per-block-2048', 'T = 2048 (too large)', s, 'ECF8_BAD_THREADS_PER_BLOCK');
  s = copy(); s[HeaderOffset.reservedA] = 1; add('reserved-a-nonzero', 'reserved byte at offset 7 set', s, 'ECF8_RESERVED_NONZERO');
  s = copy(); s[HeaderOffset.reservedB + 3] = 0x80; add('reserved-b-nonzero', 'reserved u32 at offset 12 set', s, 'ECF8_RESERVED_NONZERO');

  // Code lengths. Start from a stream whose code uses lengths 1 and 1 (single exponent) for clean edits.
  const single = encode(fromExponentCounts([0, 0, 0, 0, 0, 0, 0, 64], 301));
  s = single.slice(); s[HeaderOffset.codeLengths + 3] = 17; add('code-length-17', 'a code length of 17', s, 'ECF8_BAD_CODE_LENGTH');
  const empty = encode(new Uint8Array(0));
  s = empty.slice(); s[HeaderOffset.codeLengths + 5] = 1; add('code-length-in-empty-stream', 'an empty stream with a non-zero code length', s, 'ECF8_BAD_CODE_LENGTH');
  s = single.slice(); s[HeaderOffset.codeLengths + 3] = 2; add('code-oversubscribed', 'lengths 1, 1, 2: Kraft sum above 1', s, 'ECF8_CODE_OVERSUBSCRIBED');
  s = single.slice(); s[HeaderOffset.codeLengths + 0] = 2; add('code-incomplete', 'lengths 2 and 1: Kraft sum below 1', s, 'ECF8_CODE_INCOMPLETE');
  s = single.slice(); s.fill(0, HeaderOffset.codeLengths, HeaderOffset.codeLengths + 16); add('code-all-zero', 'n > 0 but no codes', s, 'ECF8_CODE_INCOMPLETE');
  s = copy(); setU64(s, HeaderOffset.exponentBitCount, 0n); add('bit-count-zero', 'exponent bit count 0 with elements present', s, 'ECF8_BAD_BIT_COUNT');
  s = copy(); setU64(s, HeaderOffset.exponentBitCount, 0xffffffffffffffffn); add('bit-count-huge', 'exponent bit count 2^64-1', s, 'ECF8_BAD_BIT_COUNT');
  s = empty.slice(); setU64(s, HeaderOffset.exponentBitCount, 8n); add('bit-count-in-empty-stream', 'an empty stream with 8 exponent bits', s, 'ECF8_BAD_BIT_COUNT');
  s = copy(); setU64(s, HeaderOffset.gapsSize, BigInt(baseInfo.gapsSize + 8)); add('section-size-gaps', 'gaps_size 8 bytes too large', s, 'ECF8_SECTION_SIZE_MISMATCH');
  s = copy(); setU64(s, HeaderOffset.nibblesSize, BigInt(baseInfo.nibblesSize - 8)); add('section-size-nibbles', 'nibbles_size 8 bytes too small', s, 'ECF8_SECTION_SIZE_MISMATCH');
  s = copy(); setU64(s, HeaderOffset.positionsSize, 0n); add('section-size-positions-zero', 'positions_size 0', s, 'ECF8_SECTION_SIZE_MISMATCH');
  // Hostile element counts: consistent header claiming absurd sizes -> no allocation, the stream is simply short.
  s = single.slice(0, HEADER_SIZE);
  {
    const n = 1n << 62n;
    const d = deriveSizes(n, n, 512);
    setU64(s, HeaderOffset.elementCount, n); setU64(s, HeaderOffset.exponentBitCount, n);
    setU64(s, HeaderOffset.positionsSize, d.positionsSize); setU64(s, HeaderOffset.gapsSize, d.gapsSize);
    setU64(s, HeaderOffset.exponentsSize, d.exponentsSize); setU64(s, HeaderOffset.nibblesSize, d.nibblesSize);
    add('absurd-element-count', 'a consistent header claiming 2^62 elements (exabytes) with no data: must not allocate', s, 'ECF8_TRUNCATED');
  }
  s = single.slice(0, HEADER_SIZE);
  {
    const n = 0xffffffffffffffffn;
    setU64(s, HeaderOffset.elementCount, n); setU64(s, HeaderOffset.exponentBitCount, n);
    add('max-element-count-stale-sizes', 'n = bits = 2^64-1 with the section sizes of a 64-element stream: the derived sizes (stream_size at most 13979173243358019696 < 2^64, spec §11.3) differ from the stored ones', s, 'ECF8_SECTION_SIZE_MISMATCH');
  }
  {
    // n = 2^63 with lengths 1, 2, 2 and bits = 2^64 - 1: bits <= 2 n = 2^64 holds in exact arithmetic, but 2 n wraps
    // to 0 in 64-bit arithmetic. A decoder must get step 10 right (spec §11.3) and fail only at step 12.
    const h = encode(fromExponentCounts([0, 0, 0, 0, 0, 0, 2, 4, 2], 304)).slice(0, HEADER_SIZE);
    const n = 1n << 63n;
    const bits = 0xffffffffffffffffn;
    const d = deriveSizes(n, bits, 512);
    setU64(h, HeaderOffset.elementCount, n); setU64(h, HeaderOffset.exponentBitCount, bits);
    setU64(h, HeaderOffset.positionsSize, d.positionsSize); setU64(h, HeaderOffset.gapsSize, d.gapsSize);
    setU64(h, HeaderOffset.exponentsSize, d.exponentsSize); setU64(h, HeaderOffset.nibblesSize, d.nibblesSize);
    if (Array.from(h.subarray(HeaderOffset.codeLengths, HeaderOffset.codeLengths + 16)).join() !== '0,0,0,0,0,0,2,1,2,0,0,0,0,0,0,0') throw new Error('unexpected code lengths');
    add('bit-count-needs-exact-arithmetic', 'n = 2^63, code lengths 1/2/2, bits = 2^64-1: within n*max_len = 2^64 (which overflows 64-bit arithmetic); consistent sizes; the stream is only a header', h, 'ECF8_TRUNCATED');
  }

  // Phase B.
  s = copy(); s[baseInfo.gapsOffset] ^= 0x01; add('metadata-checksum', 'one gap bit flipped without updating metadata_crc32c', s, 'ECF8_METADATA_CHECKSUM_MISMATCH');
  s = copy(); s[HeaderOffset.metadataCrc32c] ^= 0x10; add('metadata-checksum-field', 'metadata_crc32c itself corrupted', s, 'ECF8_METADATA_CHECKSUM_MISMATCH');
  const pos = (st: Uint8Array, b: number) => Number(dv(st).getBigUint64(baseInfo.positionsOffset + 8 * b, true));
  const setPos = (st: Uint8Array, b: number, v: number) => setU64(st, baseInfo.positionsOffset + 8 * b, BigInt(v));
  s = copy(); setPos(s, 0, 1); add('positions-first-nonzero', 'pos[0] = 1', resealMetadata(s), 'ECF8_BAD_OUTPUT_POSITIONS');
  s = copy(); setPos(s, 1, pos(s, 2) + 1); add('positions-decreasing', 'pos[1] > pos[2]', resealMetadata(s), 'ECF8_BAD_OUTPUT_POSITIONS');
  s = copy(); setPos(s, baseInfo.nBlocks, pos(s, baseInfo.nBlocks) - 1); add('positions-last-not-count', 'pos[n_blocks] = n - 1', resealMetadata(s), 'ECF8_BAD_OUTPUT_POSITIONS');
  s = copy(); setPos(s, 1, 0); setPos(s, 2, 0); setPos(s, 3, 2049 + 0); add('positions-block-too-large', 'a block claiming more than 8*B*T = 2048 elements', resealMetadata(s), 'ECF8_BAD_OUTPUT_POSITIONS');
  s = copy(); setPos(s, 1, 2 ** 40); add('positions-huge', 'pos[1] = 2^40', resealMetadata(s), 'ECF8_BAD_OUTPUT_POSITIONS');
  {
    // Gaps of the last block: a dead thread's gap must be 0; a live one must not point past `bits`.
    const bits = baseInfo.exponentBitCount;
    const lastLive = Math.floor((bits - 1) / 64);
    const setGap = (st: Uint8Array, t: number, g: number) => {
      const at = baseInfo.gapsOffset + (t >> 1);
      st[at] = t & 1 ? (st[at] & 0xf0) | g : (st[at] & 0x0f) | (g << 4);
    };
    s = copy(); setGap(s, baseInfo.nThreads - 1, 3); add('gap-dead-thread', 'a thread past the end of the bitstream with gap 3', resealMetadata(s), 'ECF8_BAD_GAP');
    s = copy(); setGap(s, lastLive, 15);
    if (lastLive * 64 + 15 > bits) add('gap-past-end', 'the last live thread\'s gap points past exponent_bit_count', resealMetadata(s), 'ECF8_BAD_GAP');
    s = copy(); setGap(s, 5, (parseStream(base).stream[baseInfo.gapsOffset + 2] & 0x0f) ^ 0x1); add('gap-mismatch', 'thread 5\'s gap off by one (checksum resealed)', resealMetadata(s), 'ECF8_GAP_MISMATCH');
    s = copy(); setGap(s, 0, 1); add('gap-mismatch-thread-0', 'thread 0 with gap 1', resealMetadata(s), 'ECF8_GAP_MISMATCH');
  }
  s = copy(); setPos(s, 1, pos(s, 1) + 1); add('position-mismatch', 'pos[1] one too large (still monotone; checksum resealed)', resealMetadata(s), 'ECF8_POSITION_MISMATCH');
  s = copy(); s[baseInfo.nibblesOffset + Math.floor(3001 / 2)] |= 0x01; add('pad-nibble-nonzero', 'odd element count with a non-zero pad nibble', s, 'ECF8_NONZERO_PADDING');
  s = copy(); s[base.length - 1] = 0x01; add('nibble-padding-byte-nonzero', 'a non-zero byte in the nibble section padding', s, 'ECF8_NONZERO_PADDING');
  s = copy(); s[baseInfo.nibblesOffset - 1] = 0x80; add('exponent-padding-nonzero', 'a non-zero byte in the exponent lookahead padding', s, 'ECF8_NONZERO_PADDING');
  {
    const bits = baseInfo.exponentBitCount;
    s = copy();
    if (bits % 8 !== 0) {
      s[baseInfo.exponentsOffset + baseInfo.usedBytes - 1] |= 1;
      add('exponent-pad-bits-nonzero', 'a non-zero bit after exponent_bit_count in the last used byte (its last bit)', s, 'ECF8_NONZERO_PADDING');
    }
    // Bits are numbered from 0, so bit position `bits` is the first padding bit (spec §3, §7): set exactly that one.
    s = copy();
    s[baseInfo.exponentsOffset + Math.floor(bits / 8)] |= 0x80 >> (bits % 8);
    add('exponent-pad-bit-at-bits', 'exactly bit position exponent_bit_count set (the first padding bit; positions count from 0)', s, 'ECF8_NONZERO_PADDING');
  }
  {
    // Gap section padding: T = 1 with an odd number of threads leaves a pad nibble.
    const t1 = encode(gaussianTensor(40, 302), { threadsPerBlock: 1 });
    const l = parseStream(t1).layout;
    if (l.nThreads % 2 === 1) {
      s = t1.slice(); s[l.gapsOffset + (l.nThreads >> 1)] |= 0x01; add('gap-pad-nibble-nonzero', 'T = 1, odd thread count, non-zero gap pad nibble (checksum resealed)', resealMetadata(s), 'ECF8_NONZERO_PADDING');
    }
    s = t1.slice(); s[l.exponentsOffset - 1] = 0x10; add('gap-padding-byte-nonzero', 'non-zero byte in the gaps section padding (checksum resealed)', resealMetadata(s), 'ECF8_NONZERO_PADDING');
  }
  // Phase C.
  s = copy(); s[baseInfo.nibblesOffset + 10] ^= 0x20; add('content-checksum-nibble', 'one mantissa bit flipped in the nibbles', s, 'ECF8_CONTENT_CHECKSUM_MISMATCH');
  s = empty.slice(); s[HeaderOffset.contentCrc32c] = 0x01; add('empty-content-checksum', 'zero elements but content_crc32c = 1 (the CRC-32C of no bytes is 0); found by the fuzzer in a fast decoder that skipped the check when n = 0', resealMetadata(s), 'ECF8_CONTENT_CHECKSUM_MISMATCH');
  {
    // Found by the fuzzer (seed 20261130, iteration 195457) in a fast decoder whose table steps could end exactly at a
    // block's first window and skipped that crossing's position check: three byte edits make block 230 decode one
    // code more than pos[] says while every gap still holds; the mismatch shows only at the next block's boundary.
    const t2 = encode(gaussianTensor(20000, 102), { threadsPerBlock: 2 }); // the valid vector gaussian-20k-t2
    s = t2.slice(); s[7406] = 223; s[8948] = 140; s[12491] = 99;
    add('position-mismatch-at-step-end', 'gaussian-20k-t2 with three bitstream/nibble bytes edited: one block decodes a code too many, detected only where a code ends exactly at the next block\'s first window (found by the fuzzer)', s, 'ECF8_POSITION_MISMATCH');
  }
  s = copy(); s[HeaderOffset.contentCrc32c] ^= 0x01; add('content-checksum-field', 'content_crc32c itself corrupted (metadata checksum resealed)', resealMetadata(s), 'ECF8_CONTENT_CHECKSUM_MISMATCH');
  {
    // Swap two adjacent codes of equal length in the bitstream: structure intact, content differs.
    const sw = encode(cyclingExponents(64, 303), { threadsPerBlock: 1 });
    const l = parseStream(sw).layout;
    s = sw.slice(); const b0 = s[l.exponentsOffset]; s[l.exponentsOffset] = ((b0 & 0x0f) << 4) | (b0 >> 4);
    add('content-checksum-swapped-codes', 'two 4-bit codes swapped in the bitstream: metadata consistent, bytes differ', s, 'ECF8_CONTENT_CHECKSUM_MISMATCH');
  }
  return out;
}

/** Header-only vectors: valid headers of streams too large to ship (tested by parsing the header alone). */
function headerOnlySpecs() {
  const single = encode(fromExponentCounts([0, 0, 0, 0, 0, 0, 0, 64], 301));
  const s = single.slice(0, HEADER_SIZE);
  const n = 2n ** 32n + 1n;
  const bits = n; // lengths 1 and 1: one bit per element
  const d = deriveSizes(n, bits, 512);
  const w = dv(s);
  w.setBigUint64(HeaderOffset.elementCount, n, true);
  w.setBigUint64(HeaderOffset.exponentBitCount, bits, true);
  w.setBigUint64(HeaderOffset.positionsSize, d.positionsSize, true);
  w.setBigUint64(HeaderOffset.gapsSize, d.gapsSize, true);
  w.setBigUint64(HeaderOffset.exponentsSize, d.exponentsSize, true);
  w.setBigUint64(HeaderOffset.nibblesSize, d.nibblesSize, true);
  return [
    {
      name: 'over-4g-elements-header',
      description: 'the header of a valid stream of 2^32 + 1 elements (single exponent); its sections (about 2.6 GB) are not shipped. The header alone passes phase A steps 1-11; decoding the 88 bytes fails with ECF8_TRUNCATED at step 12.',
      stream: s,
      elements: n.toString(),
      streamSize: d.streamSize.toString(),
      error: 'ECF8_TRUNCATED',
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// API-level vectors (spec §11.1's second table): a stream plus the caller's parameters. They reuse the streams of
// other vectors (no files of their own). A consumer that does not support a parameter must skip the entry and say so.

/** The parameters an API-level vector may set (test-vectors/README.md). */
export interface ApiParameters {
  /** The caller's cap on decoded bytes (ECF8_LIMIT_EXCEEDED when n exceeds it). */
  maxOutputBytes?: number;
  /** Decode into a caller-provided buffer of this many bytes (decodeInto) instead of a new one. */
  outputBytes?: number;
  /** With outputBytes: the byte offset in that buffer where element 0 goes (default 0). */
  outputOffset?: number;
}

interface ApiSpec {
  name: string;
  description: string;
  /** The name of a valid or invalid vector whose stream is used. */
  streamOf: string;
  parameters: ApiParameters;
  /** The expected error code, or undefined when the call must succeed with the vector's decoded bytes. */
  error?: string;
}

function apiSpecs(): ApiSpec[] {
  return [
    { name: 'limit-one-below', description: 'maxOutputBytes = n - 1: rejected after phase A', streamOf: 'odd-1001', parameters: { maxOutputBytes: 1000 }, error: 'ECF8_LIMIT_EXCEEDED' },
    { name: 'limit-exact', description: 'maxOutputBytes = n: decodes', streamOf: 'odd-1001', parameters: { maxOutputBytes: 1001 } },
    { name: 'limit-zero-empty-stream', description: 'maxOutputBytes = 0 with an empty stream: decodes to zero bytes', streamOf: 'empty', parameters: { maxOutputBytes: 0 } },
    { name: 'limit-zero', description: 'maxOutputBytes = 0 with a one-element stream', streamOf: 'one-element', parameters: { maxOutputBytes: 0 }, error: 'ECF8_LIMIT_EXCEEDED' },
    { name: 'limit-after-phase-a', description: 'a truncated stream with maxOutputBytes = 0: phase A (step 12) fails before the limit applies', streamOf: 'truncated-last-byte', parameters: { maxOutputBytes: 0 }, error: 'ECF8_TRUNCATED' },
    { name: 'limit-before-phase-b', description: 'a stream whose metadata checksum is wrong (n = 3001) with maxOutputBytes = 3000: the limit applies before phase B', streamOf: 'metadata-checksum', parameters: { maxOutputBytes: 3000 }, error: 'ECF8_LIMIT_EXCEEDED' },
    { name: 'limit-before-phase-c', description: 'a stream whose gap chain is broken (n = 3001) with maxOutputBytes = 3000: the limit applies before phase C', streamOf: 'gap-mismatch', parameters: { maxOutputBytes: 3000 }, error: 'ECF8_LIMIT_EXCEEDED' },
    // Buffer sizes are multiples of 4 so that APIs whose buffers need it (WebGPU) can run every vector as written.
    { name: 'output-one-too-small', description: 'decodeInto a buffer of n - 1 bytes (n = 1001)', streamOf: 'odd-1001', parameters: { outputBytes: 1000, outputOffset: 0 }, error: 'ECF8_OUTPUT_TOO_SMALL' },
    { name: 'output-too-small-at-offset', description: 'decodeInto a buffer of n + 3 bytes at offset 4 (one byte short)', streamOf: 'odd-1001', parameters: { outputBytes: 1004, outputOffset: 4 }, error: 'ECF8_OUTPUT_TOO_SMALL' },
    { name: 'output-offset-past-end', description: 'decodeInto a buffer of 4 bytes at offset 8 (the offset itself is past the end)', streamOf: 'one-element', parameters: { outputBytes: 4, outputOffset: 8 }, error: 'ECF8_OUTPUT_TOO_SMALL' },
    { name: 'output-fits-at-offset', description: 'decodeInto a buffer of n + 7 bytes at offset 6: decodes; the 6 bytes before and the 1 byte after must be left as they were', streamOf: 'odd-1001', parameters: { outputBytes: 1008, outputOffset: 6 } },
    { name: 'output-empty-stream-at-end', description: 'decodeInto a 4-byte buffer at offset 4 (its end) with an empty stream: decodes, writing nothing', streamOf: 'empty', parameters: { outputBytes: 4, outputOffset: 4 } },
    { name: 'output-limit-first', description: 'decodeInto a buffer of 8 bytes with maxOutputBytes = 1000 (n = 1001): the caller limit is checked before the output room', streamOf: 'odd-1001', parameters: { maxOutputBytes: 1000, outputBytes: 8, outputOffset: 0 }, error: 'ECF8_LIMIT_EXCEEDED' },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface GeneratedFile {
  path: string;
  bytes: Uint8Array;
}

/** Builds every file of the vector set in memory. */
export function generate(): { files: GeneratedFile[]; manifest: Record<string, unknown> } {
  const files: GeneratedFile[] = [];
  const valid = validSpecs().map((v) => {
    const T = v.threadsPerBlock ?? 512;
    const stream = encode(v.data, { threadsPerBlock: T });
    if (v.expectedStream && (stream.length !== v.expectedStream.length || stream.some((b, i) => b !== v.expectedStream![i]))) {
      throw new Error(`${v.name}: the encoder's stream differs from the bytes printed in the spec`);
    }
    const roundTrip = decode(stream);
    if (roundTrip.length !== v.data.length || roundTrip.some((b, i) => b !== v.data[i])) throw new Error(`round trip failed for ${v.name}`);
    const tables = buildDecodeTables(parseStream(stream).header.codeLengths).bytes;
    files.push({ path: `valid/${v.name}.ecf8`, bytes: stream });
    files.push({ path: `valid/${v.name}.fp8`, bytes: v.data });
    files.push({ path: `valid/${v.name}.luts`, bytes: tables });
    return {
      name: v.name,
      description: v.description,
      stream: `valid/${v.name}.ecf8`,
      decoded: `valid/${v.name}.fp8`,
      tables: `valid/${v.name}.luts`,
      elements: v.data.length,
      threadsPerBlock: T,
      contentCrc32c: crc32c(v.data),
      canonical: true,
    };
  });
  const invalid = invalidSpecs().map((v) => {
    files.push({ path: `invalid/${v.name}.ecf8`, bytes: v.stream });
    return { name: v.name, description: v.description, stream: `invalid/${v.name}.ecf8`, error: v.error };
  });
  const headerOnly = headerOnlySpecs().map((v) => {
    files.push({ path: `header-only/${v.name}.ecf8`, bytes: v.stream });
    return { name: v.name, description: v.description, stream: `header-only/${v.name}.ecf8`, elements: v.elements, streamSize: v.streamSize, error: v.error };
  });
  const byName = new Map<string, { stream: string; decoded?: string; error?: string }>();
  for (const v of valid) byName.set(v.name, v);
  for (const v of invalid) byName.set(v.name, v);
  const api = apiSpecs().map((a) => {
    const source = byName.get(a.streamOf);
    if (!source) throw new Error(`api vector ${a.name}: no vector ${a.streamOf}`);
    if (!a.error && !source.decoded) throw new Error(`api vector ${a.name}: a succeeding call needs a valid stream`);
    const outcome = a.error ? { error: a.error } : { decoded: source.decoded };
    return { name: a.name, description: a.description, stream: source.stream, parameters: a.parameters, ...outcome };
  });
  const hashes: Record<string, string> = {};
  for (const f of files) hashes[f.path] = sha256(f.bytes);
  const manifest = {
    format: 'ecf8-test-vectors',
    specVersion: 1,
    specRevision: specRevision(),
    generator: 'test-vectors/generate.ts',
    valid,
    invalid,
    headerOnly,
    api,
    sha256: hashes,
  };
  return { files, manifest };
}

function main() {
  const check = process.argv.includes('--check');
  const { files, manifest } = generate();
  const manifestText = JSON.stringify(manifest, null, 2) + '\n';
  if (check) {
    let bad = 0;
    for (const f of files) {
      const p = join(ROOT, f.path);
      if (!existsSync(p) || sha256(new Uint8Array(readFileSync(p))) !== sha256(f.bytes)) {
        console.error(`differs: ${f.path}`);
        bad++;
      }
    }
    if (readFileSync(join(ROOT, 'manifest.json'), 'utf8') !== manifestText) {
      console.error('differs: manifest.json');
      bad++;
    }
    console.log(bad ? `${bad} files differ` : `all ${files.length} files match`);
    process.exit(bad ? 1 : 0);
  }
  for (const dir of ['valid', 'invalid', 'header-only']) rmSync(join(ROOT, dir), { recursive: true, force: true });
  for (const f of files) {
    mkdirSync(dirname(join(ROOT, f.path)), { recursive: true });
    writeFileSync(join(ROOT, f.path), f.bytes);
  }
  writeFileSync(join(ROOT, 'manifest.json'), manifestText);
  const m = manifest as { valid: unknown[]; invalid: unknown[]; headerOnly: unknown[]; api: unknown[] };
  console.log(`wrote ${m.valid.length} valid, ${m.invalid.length} invalid, ${m.headerOnly.length} header-only, ${m.api.length} api vectors (${files.length} files)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
