/**
 * Interop with the buffer layout of the paper authors' release (spec/ecf8-safetensors-v1.md §8). Per compressed module (a
 * transformer block, or one linear layer) it stores:
 *   luts               U8 [n_luts, 256]  root table, 8-bit-prefix subtables (pointer 256 - row), code-length row last
 *   encoded            U8 [n_bytes]      exponent codes, MSB-first, windows of 8 bytes per thread
 *   packed_other_4bits U8 [n / 2]        sign+mantissa nibbles, element 2j in the high nibble (n is even)
 *   output_positions   U8 [8 * k]        u64 little-endian: elements before each thread block, then n
 *   gaps               U8                4-bit bit offset of each thread's first code, even thread in the high nibble
 *   split_positions    I64 [parts - 1]   element offsets where the concatenated layers of the block are split
 * with threads_per_block (512) and bytes_per_thread (8) in a config. Their Huffman codes need not be canonical and
 * carry an end-of-data symbol whose bits may fill the last byte. Importing decodes those buffers sequentially with
 * their own tables (and checks gaps and positions); exporting slices our streams (whose tables are already in this
 * format) without re-encoding, then checks the buffers with an emulation of the authors' thread-parallel decoder.
 */
import type { FileHandle } from 'node:fs/promises';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  buildCodeLengths,
  buildDecodeTables,
  decode,
  DEFAULT_THREADS_PER_BLOCK,
  encode,
  ErrorCode,
  exponentHistogram,
  isValidThreadsPerBlock,
  layoutOf,
  parseStream,
  readHeader as readStreamHeader,
  totalCodeBits,
} from '@ecf8/core';
import { addContext, ModelErrorCode, modelFail } from './errors.js';
import { elementAlignment, FP8_DTYPE, lengthPrefix, serializeHeader, type HeaderEntry, type SafetensorsHeader, type TensorInfo } from './format.js';
import { copyRange, exists, openSafetensors, readBytes, tempPathFor, writeAll, writeFileAtomically, activeTemps } from './io.js';
import { compressFile, isCompressedHeader, readCompressedLayout, type CompressOptions, type FileResult } from './model.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';

export const OFFICIAL_BUFFER_NAMES = ['luts', 'encoded', 'packed_other_4bits', 'output_positions', 'gaps', 'split_positions'] as const;
export const OFFICIAL_BYTES_PER_THREAD = 8;

export interface OfficialBuffers {
  luts: Uint8Array;
  encoded: Uint8Array;
  packedOther4bits: Uint8Array;
  /** u64 little-endian values as bytes. */
  outputPositions: Uint8Array;
  gaps: Uint8Array;
  /** Element offsets where the block's concatenated tensors are split (parts - 1 values). */
  splitPositions: number[];
}

function bad(message: string): never {
  return modelFail(ModelErrorCode.BAD_OFFICIAL_LAYOUT, message);
}

function readU64s(bytes: Uint8Array, what: string): number[] {
  if (bytes.length % 8 !== 0) bad(`${what} is ${bytes.length} bytes, not a whole number of u64 values`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const v = dv.getBigUint64(i, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what}[${i / 8}] = ${v} is out of range`);
    out.push(Number(v));
  }
  return out;
}

const gapOf = (gaps: Uint8Array, t: number) => (t & 1 ? gaps[t >> 1] & 0x0f : gaps[t >> 1] >> 4);

/**
 * Decodes one module's buffers to its FP8 bytes, sequentially, with the buffers' own tables; checks that the gaps
 * and output positions agree with the bitstream (so the authors' parallel decoder would produce the same bytes).
 */
export function decodeOfficial(b: OfficialBuffers, threadsPerBlock = DEFAULT_THREADS_PER_BLOCK, bytesPerThread = OFFICIAL_BYTES_PER_THREAD): Uint8Array {
  const T = threadsPerBlock;
  const B = bytesPerThread;
  if (!Number.isInteger(T) || T < 1 || T > 1024) bad(`threads_per_block ${T} is not in 1..1024`);
  if (B !== OFFICIAL_BYTES_PER_THREAD) bad(`bytes_per_thread ${B} is not supported (the layout uses ${OFFICIAL_BYTES_PER_THREAD})`);
  const { luts, encoded, packedOther4bits: packed, gaps } = b;
  if (luts.length === 0 || luts.length % 256 !== 0) bad(`luts is ${luts.length} bytes, not a non-empty multiple of 256`);
  const nLuts = luts.length / 256;
  if (nLuts < 2) bad('luts needs at least a root table and the code-length row');
  const lenRow = 256 * (nLuts - 1);
  const n = packed.length * 2;
  const nBytes = encoded.length;
  const windowBits = 8 * B;
  const nBlocks = Math.ceil(nBytes / (B * T));
  const nThreads = nBlocks * T;
  if (gaps.length < Math.ceil(nThreads / 2)) bad(`gaps holds ${gaps.length} bytes; ${nThreads} threads need ${Math.ceil(nThreads / 2)}`);
  const pos = readU64s(b.outputPositions, 'output_positions');
  if (pos.length !== nBlocks + 1 && !(pos.length === nBlocks && nBlocks > 0)) bad(`output_positions has ${pos.length} values; ${nBlocks} blocks need ${nBlocks + 1}`);
  if (pos[pos.length - 1] !== n) bad(`last output position is ${pos[pos.length - 1]}, not the element count ${n}`);
  const totalBits = 8 * nBytes;
  const out = new Uint8Array(n);
  let p = 0;
  let nextThread = 0;
  let lastStart = -1;
  for (let i = 0; i < n; i++) {
    while (nextThread < nThreads && nextThread * windowBits <= p) {
      const w = nextThread * windowBits;
      if (gapOf(gaps, nextThread) !== p - w) bad(`thread ${nextThread}: gap ${gapOf(gaps, nextThread)} but its first code starts ${p - w} bits into its window`);
      if (nextThread % T === 0) {
        const blk = nextThread / T;
        if (blk < pos.length && pos[blk] !== i) bad(`output_positions[${blk}] = ${pos[blk]} but ${i} elements precede block ${blk}`);
      }
      nextThread++;
    }
    if (p >= totalBits) bad(`encoded ends after ${i} of ${n} codes`);
    const k = p >>> 3;
    const w16 = ((((encoded[k] ?? 0) << 16) | ((encoded[k + 1] ?? 0) << 8) | (encoded[k + 2] ?? 0)) >>> (8 - (p & 7))) & 0xffff;
    let x = luts[w16 >>> 8];
    if (x >= 240) {
      const row = 256 - x;
      if (row < 1 || row > nLuts - 2) bad(`luts root entry ${w16 >>> 8} points to row ${row}, outside 1..${nLuts - 2}`);
      x = luts[256 * row + (w16 & 0xff)];
      if (x >= 240) bad('luts chains more than two levels (codes longer than 16 bits are not supported)');
    }
    if (x > 15) bad(`luts decodes bit ${p} to ${x}, not an exponent 0..15`);
    const len = luts[lenRow + x];
    if (len < 1 || len > 16) bad(`code length of exponent ${x} is ${len}`);
    if (p + len > totalBits) bad(`code of element ${i} runs past the end of encoded`);
    const q = i & 1 ? packed[i >> 1] & 0x0f : packed[i >> 1] >> 4;
    out[i] = ((q & 0x08) << 4) | (x << 3) | (q & 0x07);
    lastStart = p;
    p += len;
  }
  const bits = p;
  if (Math.ceil(bits / 8) !== nBytes) bad(`encoded is ${nBytes} bytes but its ${n} codes use ${Math.ceil(bits / 8)}`);
  // Windows after the last code start hold only its tail: gap points to the end, or 0 when the end is byte-aligned.
  while (nextThread < nThreads && nextThread * windowBits < bits) {
    const g = gapOf(gaps, nextThread);
    if (g !== bits - nextThread * windowBits && g !== 0) bad(`thread ${nextThread}: gap ${g} in the tail window`);
    nextThread++;
  }
  if (pos.length === nBlocks && lastStart >= (nBlocks - 1) * T * windowBits) bad(`output_positions lacks the entry of block ${nBlocks - 1}`);
  return out;
}

/** Element ranges of the parts of a module. */
export function splitRanges(splits: readonly number[], n: number): [number, number][] {
  const bounds = [0, ...splits, n];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (!(bounds[i + 1] >= bounds[i]) || bounds[i + 1] > n) bad(`split_positions ${JSON.stringify(splits)} are not non-decreasing within 0..${n}`);
    out.push([bounds[i], bounds[i + 1]]);
  }
  return out;
}

/** The official buffers of one of our streams (no re-encoding; our decode tables are already in their format). */
export function officialBuffersFromStream(stream: Uint8Array): OfficialBuffers {
  const { header, layout: l } = parseStream(stream);
  if (l.elementCount % 2 !== 0) modelFail(ErrorCode.INVALID_ARGUMENT, `${l.elementCount} elements: the official layout stores n / 2 nibble bytes and needs an even count`);
  return {
    luts: buildDecodeTables(header.codeLengths).bytes,
    encoded: stream.slice(l.exponentsOffset, l.exponentsOffset + l.usedBytes),
    packedOther4bits: stream.slice(l.nibblesOffset, l.nibblesOffset + l.elementCount / 2),
    outputPositions: stream.slice(l.positionsOffset, l.positionsOffset + l.positionsSize),
    gaps: stream.slice(l.gapsOffset, l.gapsOffset + Math.ceil(l.nThreads / 2)),
    splitPositions: [],
  };
}

/**
 * Emulates the authors' thread-parallel decoder on a module's buffers: per thread, a 10-byte window (8 + 2 bytes of
 * look-ahead, zero past the end), decode from its gap while the code starts inside its 64-bit window; block-wide
 * prefix sums from output_positions; writes clamped to n; each block copies out its staged elements. Returns the
 * bytes, or -1 where the emulated kernel would leave memory unwritten.
 */
export function emulateOfficialKernel(b: OfficialBuffers, threadsPerBlock: number, bytesPerThread = OFFICIAL_BYTES_PER_THREAD): Int16Array {
  const T = threadsPerBlock;
  const B = bytesPerThread;
  const { luts, encoded, packedOther4bits: packed, gaps } = b;
  const nLuts = luts.length / 256;
  const lenRow = 256 * (nLuts - 1);
  const n = packed.length * 2;
  const nBytes = encoded.length;
  const nBlocks = Math.ceil(nBytes / (B * T));
  const pos = readU64s(b.outputPositions, 'output_positions');
  const out = new Int16Array(n).fill(-1);
  const reg = new Uint8Array(B + 2);
  for (let blk = 0; blk < nBlocks; blk++) {
    const symbols: number[][] = [];
    for (let t = 0; t < T; t++) {
      const g = blk * T + t;
      for (let k = 0; k < B + 2; k++) reg[k] = g * B + k < nBytes ? encoded[g * B + k] : 0;
      const list: number[] = [];
      let p = gapOf(gaps, g) ?? 0;
      while (p < 8 * B) {
        const k = p >>> 3;
        const w16 = (((reg[k] << 16) | ((reg[k + 1] ?? 0) << 8) | (reg[k + 2] ?? 0)) >>> (8 - (p & 7))) & 0xffff;
        let x = luts[w16 >>> 8];
        if (x >= 240) x = luts[256 * (256 - x) + (w16 & 0xff)] ?? 0;
        const len = luts[lenRow + x] ?? 0;
        list.push(x);
        if (len === 0) break; // a real kernel would spin here; the emulation stops
        p += len;
      }
      symbols.push(list);
    }
    const start = pos[blk] ?? n;
    const end = pos[blk + 1] ?? n;
    const staging = new Int16Array(Math.max(0, Math.min(end, n) - start)).fill(-1);
    let idx = start;
    for (let t = 0; t < T; t++) {
      const stop = Math.min(idx + symbols[t].length, n);
      for (let j = 0; idx < stop; j++, idx++) {
        const q = idx & 1 ? packed[idx >> 1] & 0x0f : packed[idx >> 1] >> 4;
        const v = ((q & 0x08) << 4) | (symbols[t][j] << 3) | (q & 0x07);
        if (idx - start < staging.length) staging[idx - start] = v & 0xff;
      }
      idx = Math.max(idx, stop);
    }
    for (let i = 0; i < staging.length; i++) out[start + i] = staging[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Files

export interface ImportOptions extends CompressOptions {
  /** threads_per_block of the buffers (default: the file's or directory's dfloat_config, else 512). */
  officialThreadsPerBlock?: number;
  /** pattern_dict.json (default: the file's `pattern_dict` metadata, else pattern_dict.json next to the input). */
  patternDict?: string;
  /** Shapes: a JSON file {name: [dims]} or a safetensors file of the original checkpoint (default: the file's `ecf8.shapes` metadata, else 1-D). */
  shapes?: string;
  /** Write a plain FP8 safetensors file instead of an ECF8-compressed one. */
  plain?: boolean;
}

export interface ImportResult {
  input: string;
  output: string;
  modules: number;
  tensors: { name: string; shape: number[]; elements: number; module: string }[];
  copied: number;
  warnings: string[];
  compressed: FileResult | null;
}

interface Module {
  name: string;
  parts: Record<(typeof OFFICIAL_BUFFER_NAMES)[number], TensorInfo | undefined>;
}

function findModules(header: SafetensorsHeader): Module[] {
  const modules: Module[] = [];
  for (const t of header.tensors) {
    if (!t.name.endsWith('.encoded')) continue;
    const name = t.name.slice(0, -'.encoded'.length);
    const get = (k: string) => header.byName.get(`${name}.${k}`);
    if (!get('luts') || !get('packed_other_4bits') || !get('output_positions') || !get('gaps')) continue;
    const parts = Object.fromEntries(OFFICIAL_BUFFER_NAMES.map((k) => [k, get(k)])) as Module['parts'];
    for (const k of ['luts', 'encoded', 'packed_other_4bits', 'output_positions', 'gaps'] as const) {
      if (parts[k]!.dtype !== 'U8') bad(`${name}.${k} is ${parts[k]!.dtype}, expected U8`);
    }
    if (parts.luts!.shape.length !== 2 || parts.luts!.shape[1] !== 256) bad(`${name}.luts has shape [${parts.luts!.shape}], expected [n, 256]`);
    if (parts.split_positions && parts.split_positions.dtype !== 'I64') bad(`${name}.split_positions is ${parts.split_positions.dtype}, expected I64`);
    modules.push({ name, parts });
  }
  return modules;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    return bad(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Layer names of a block from a pattern dict `{fp8: {regex: [names]}}` (regexes match whole module names). */
function layerNamesFor(patternDict: unknown, block: string): string[] | null {
  const fp8 = (patternDict as { fp8?: unknown } | null)?.fp8;
  if (!fp8 || typeof fp8 !== 'object' || Array.isArray(fp8)) return null;
  for (const [re, names] of Object.entries(fp8 as Record<string, unknown>)) {
    let rx: RegExp;
    try {
      rx = new RegExp(`^(?:${re})$`);
    } catch {
      continue;
    }
    if (rx.test(block) && Array.isArray(names) && names.every((x) => typeof x === 'string')) return names as string[];
  }
  return null;
}

async function loadShapes(path: string): Promise<Map<string, number[]>> {
  const shapes = new Map<string, number[]>();
  if (path.endsWith('.json')) {
    const j = await readJsonFile(path, 'shapes');
    if (!j || typeof j !== 'object') bad(`${path}: expected {"name": [dims]}`);
    for (const [k, v] of Object.entries(j as Record<string, unknown>)) if (Array.isArray(v)) shapes.set(k, v as number[]);
    return shapes;
  }
  const { fh, header } = await openSafetensors(path);
  await fh.close();
  const h = isCompressedHeader(header) ? readCompressedLayout(header).original : header;
  for (const t of h.tensors) shapes.set(t.name, t.shape);
  return shapes;
}

async function readI64s(fh: FileHandle, header: SafetensorsHeader, t: TensorInfo | undefined): Promise<number[]> {
  if (!t) return [];
  const bytes = await readBytes(fh, header.dataOffset + t.begin, t.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const v = dv.getBigInt64(i, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`split_positions value ${v} out of range`);
    out.push(Number(v));
  }
  return out;
}

async function readModuleBuffers(fh: FileHandle, header: SafetensorsHeader, m: Module): Promise<OfficialBuffers> {
  const read = (t: TensorInfo) => readBytes(fh, header.dataOffset + t.begin, t.byteLength);
  return {
    luts: await read(m.parts.luts!),
    encoded: await read(m.parts.encoded!),
    packedOther4bits: await read(m.parts.packed_other_4bits!),
    outputPositions: await read(m.parts.output_positions!),
    gaps: await read(m.parts.gaps!),
    splitPositions: await readI64s(fh, header, m.parts.split_positions),
  };
}

function parseConfigT(text: string | undefined): number | undefined {
  if (!text) return undefined;
  try {
    const j = JSON.parse(text);
    const c = j?.dfloat_config ?? j;
    if (c?.bytes_per_thread !== undefined && c.bytes_per_thread !== OFFICIAL_BYTES_PER_THREAD) bad(`bytes_per_thread ${c.bytes_per_thread} is not supported`);
    return typeof c?.threads_per_block === 'number' ? c.threads_per_block : undefined;
  } catch (e) {
    if ((e as { code?: string }).code) throw e;
    return undefined;
  }
}

/**
 * Converts a safetensors file in the official layout into our files: an ECF8-compressed safetensors file (or, with
 * `plain`, a plain FP8 one) in which every module's tensors are F8_E4M3 weights, bit-exact.
 */
export async function importOfficial(input: string, output: string, options: ImportOptions = {}): Promise<ImportResult> {
  const { fh, header } = await openSafetensors(input).catch((e) => {
    throw addContext(e, input);
  });
  const warnings: string[] = [];
  let temp: string | null = null;
  try {
    const meta = header.metadata ?? {};
    let T = options.officialThreadsPerBlock ?? parseConfigT(meta.dfloat_config);
    const configPath = join(dirname(input), 'config.json');
    if (T === undefined && (await exists(configPath))) T = parseConfigT(await readFile(configPath, 'utf8'));
    T ??= DEFAULT_THREADS_PER_BLOCK;
    let patternDict: unknown = null;
    if (options.patternDict) patternDict = await readJsonFile(options.patternDict, 'pattern dict');
    else if (meta.pattern_dict) patternDict = JSON.parse(meta.pattern_dict);
    else if (await exists(join(dirname(input), 'pattern_dict.json'))) patternDict = await readJsonFile(join(dirname(input), 'pattern_dict.json'), 'pattern dict');
    let shapes = new Map<string, number[]>();
    if (options.shapes) shapes = await loadShapes(options.shapes);
    else if (meta['ecf8.shapes']) for (const [k, v] of Object.entries(JSON.parse(meta['ecf8.shapes']) as Record<string, number[]>)) shapes.set(k, v);

    const modules = findModules(header);
    if (modules.length === 0) bad(`${input} holds no official-layout modules (tensors NAME.encoded with NAME.luts, NAME.packed_other_4bits, NAME.output_positions, NAME.gaps)`);
    const moduleTensors = new Set(modules.flatMap((m) => Object.values(m.parts).filter((t): t is TensorInfo => !!t).map((t) => t.name)));
    const copied = header.tensors.filter((t) => !moduleTensors.has(t.name));
    // Name and shape every part of every module (sizes need no decoding: n = 2 * nibble bytes).
    const planned: { module: Module; names: string[]; ranges: [number, number][]; shapes: number[][] }[] = [];
    const taken = new Set(copied.map((t) => t.name));
    for (const m of modules) {
      const n = m.parts.packed_other_4bits!.byteLength * 2;
      const splits = await readI64s(fh, header, m.parts.split_positions);
      const ranges = splitRanges(splits, n);
      let layers = layerNamesFor(patternDict, m.name);
      if (!layers) {
        if (ranges.length !== 1) bad(`module ${m.name} holds ${ranges.length} tensors; name them with a pattern dict (--pattern-dict pattern_dict.json)`);
        layers = [''];
      }
      if (layers.length !== ranges.length) bad(`module ${m.name}: the pattern dict names ${layers.length} layers but split_positions make ${ranges.length} parts`);
      const names = layers.map((l) => (l === '' ? `${m.name}.weight` : `${m.name}.${l}.weight`));
      const partShapes = names.map((name, i) => {
        const count = ranges[i][1] - ranges[i][0];
        const s = shapes.get(name);
        if (!s) {
          warnings.push(`${name}: no shape known, stored 1-D [${count}] (pass --shapes)`);
          return [count];
        }
        if (s.reduce((a, d) => a * d, 1) !== count) bad(`${name}: shape [${s}] does not hold the ${count} decoded elements`);
        return s;
      });
      for (const name of names) {
        if (taken.has(name)) bad(`tensor name ${name} of module ${m.name} is already used`);
        taken.add(name);
      }
      planned.push({ module: m, names, ranges, shapes: partShapes });
    }
    // Layout of the plain file: copied tensors by alignment then name, then the decoded FP8 tensors.
    const copyOrder = copied.slice().sort((a, b) => elementAlignment(b.dtype) - elementAlignment(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const entries: HeaderEntry[] = [];
    let cursor = 0;
    for (const t of copyOrder) {
      entries.push({ name: t.name, dtype: t.dtype, shape: t.shape, begin: cursor, end: cursor + t.byteLength });
      cursor += t.byteLength;
    }
    for (const p of planned) {
      p.names.forEach((name, i) => {
        const len = p.ranges[i][1] - p.ranges[i][0];
        entries.push({ name, dtype: FP8_DTYPE, shape: p.shapes[i], begin: cursor, end: cursor + len });
        cursor += len;
      });
    }
    const outMeta: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta)) if (k !== 'dfloat_config' && k !== 'pattern_dict' && !k.startsWith('ecf8.')) outMeta[k] = v;
    const headerBytes = serializeHeader(entries, Object.keys(outMeta).length ? outMeta : null);
    const tracker = new ProgressTracker('import', planned.length, cursor, options.onProgress);
    tracker.file = input;
    const plainPath = options.plain ? output : tempPathFor(output, 'plain');
    const writePlain = async (out: FileHandle) => {
      await writeAll(out, lengthPrefix(headerBytes.length), 0);
      await writeAll(out, headerBytes, 8);
      const base = 8 + headerBytes.length;
      let at = base;
      const scratch = { buf: new Uint8Array(0) };
      for (const t of copyOrder) {
        await copyRange(fh, header.dataOffset + t.begin, t.byteLength, out, at, null, scratch);
        at += t.byteLength;
      }
      for (const p of planned) {
        tracker.tensor = p.module.name;
        tracker.emit();
        let fp8: Uint8Array;
        try {
          fp8 = decodeOfficial(await readModuleBuffers(fh, header, p.module), T);
        } catch (e) {
          throw addContext(e, `module ${p.module.name}`);
        }
        await writeAll(out, fp8, at);
        at += fp8.length;
        tracker.bytesDone += fp8.length;
        tracker.tensorDone();
      }
    };
    if (options.plain) await writeFileAtomically(plainPath, writePlain);
    else {
      temp = plainPath;
      activeTemps.add(temp);
      await writeFileAtomically(temp, writePlain);
    }
    const compressed = options.plain ? null : await compressFile(plainPath, output, { ...options, onProgress: options.onProgress });
    return {
      input,
      output,
      modules: planned.length,
      tensors: planned.flatMap((p) => p.names.map((name, i) => ({ name, shape: p.shapes[i], elements: p.ranges[i][1] - p.ranges[i][0], module: p.module.name }))),
      copied: copied.length,
      warnings,
      compressed,
    };
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
    if (temp) {
      await rm(temp, { force: true });
      activeTemps.delete(temp);
    }
  }
}

export interface ExportOptions {
  /** T used to encode FP8 tensors of a plain input (compressed inputs keep their streams' T). */
  threadsPerBlock?: number;
  /** Check every module with the emulated official decoder (default true). */
  check?: boolean;
  onProgress?: ProgressCallback;
}

export interface ExportResult {
  input: string;
  output: string;
  threadsPerBlock: number;
  modules: { module: string; tensor: string; elements: number; bytes: number }[];
  copied: number;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Writes our streams as official-layout buffers: one module per F8_E4M3 tensor (module name = tensor name without
 * `.weight`), split_positions empty, threads_per_block and bytes_per_thread in a `dfloat_config` metadata entry, a
 * `pattern_dict` entry naming the modules, and `ecf8.shapes` with the tensors' shapes. Other tensors are copied.
 */
export async function exportOfficial(input: string, output: string, options: ExportOptions = {}): Promise<ExportResult> {
  const { fh, header } = await openSafetensors(input).catch((e) => {
    throw addContext(e, input);
  });
  try {
    const layout = isCompressedHeader(header) ? readCompressedLayout(header) : null;
    const original = layout ? layout.original : header;
    const encodeT = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
    if (!isValidThreadsPerBlock(encodeT)) modelFail(ErrorCode.INVALID_ARGUMENT, `threads per block ${encodeT} is not a power of two in 1..1024`);
    const readTensor = (t: TensorInfo) => readBytes(fh, original === header ? header.dataOffset + t.begin : header.dataOffset + layout!.copies.get(t.name)!.begin, t.byteLength);
    const streamOf = async (t: TensorInfo): Promise<Uint8Array> => {
      const s = layout?.streams.get(t.name);
      if (s) return readBytes(fh, header.dataOffset + s.begin, s.byteLength);
      return encode(await readTensor(t), { threadsPerBlock: encodeT });
    };
    const fp8 = original.tensors.filter((t) => t.dtype === FP8_DTYPE && t.elementCount > 0);
    const others = original.tensors.filter((t) => !(t.dtype === FP8_DTYPE && t.elementCount > 0));
    // Pass 1: buffer sizes from each stream's header (compressed input) or histogram (plain input).
    let T: number | null = null;
    const sizes = new Map<string, { luts: number; encoded: number; packed: number; positions: number; gaps: number }>();
    for (const t of fp8) {
      if (t.elementCount % 2) modelFail(ErrorCode.INVALID_ARGUMENT, `${t.name}: ${t.elementCount} elements; the official layout needs an even count`);
      let l;
      let codeLengths: Uint8Array;
      const s = layout?.streams.get(t.name);
      if (s) {
        const h = readStreamHeader(await readBytes(fh, header.dataOffset + s.begin, Math.min(88, s.byteLength)));
        codeLengths = h.codeLengths;
        l = layoutOf(Number(h.elementCount), Number(h.exponentBitCount), h.threadsPerBlock);
      } else {
        const hist = exponentHistogram(await readTensor(t));
        codeLengths = buildCodeLengths(hist);
        l = layoutOf(t.elementCount, totalCodeBits(hist, codeLengths), encodeT);
      }
      if (T === null) T = l.threadsPerBlock;
      if (l.threadsPerBlock !== T) modelFail(ErrorCode.INVALID_ARGUMENT, `streams use different threads per block (${T} and ${l.threadsPerBlock}); the official config has one`);
      sizes.set(t.name, { luts: buildDecodeTables(codeLengths).bytes.length, encoded: l.usedBytes, packed: l.elementCount / 2, positions: l.positionsSize, gaps: Math.ceil(l.nThreads / 2) });
    }
    T ??= encodeT;
    const moduleOf = (name: string) => (name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : name);
    const taken = new Set(others.map((t) => t.name));
    for (const t of fp8) {
      for (const k of OFFICIAL_BUFFER_NAMES) {
        const name = `${moduleOf(t.name)}.${k}`;
        if (taken.has(name)) modelFail(ErrorCode.INVALID_ARGUMENT, `exported name ${name} collides with another tensor`);
        taken.add(name);
      }
    }
    // Offsets: 8-byte-aligned regions first (split_positions, output_positions), copied tensors by alignment, then bytes.
    const entries: HeaderEntry[] = [];
    const at = new Map<string, number>();
    let cursor = 0;
    const place = (name: string, dtype: string, shape: number[], bytes: number) => {
      entries.push({ name, dtype, shape, begin: cursor, end: cursor + bytes });
      at.set(name, cursor);
      cursor += bytes;
    };
    for (const t of fp8) place(`${moduleOf(t.name)}.split_positions`, 'I64', [0], 0);
    for (const t of fp8) place(`${moduleOf(t.name)}.output_positions`, 'U8', [sizes.get(t.name)!.positions], sizes.get(t.name)!.positions);
    const copyOrder = others.slice().sort((a, b) => elementAlignment(b.dtype) - elementAlignment(a.dtype) || original.tensors.indexOf(a) - original.tensors.indexOf(b));
    for (const t of copyOrder) place(t.name, t.dtype, t.shape, t.byteLength);
    for (const t of fp8) {
      const s = sizes.get(t.name)!;
      const m = moduleOf(t.name);
      place(`${m}.luts`, 'U8', [s.luts / 256, 256], s.luts);
      place(`${m}.encoded`, 'U8', [s.encoded], s.encoded);
      place(`${m}.packed_other_4bits`, 'U8', [s.packed], s.packed);
      place(`${m}.gaps`, 'U8', [s.gaps], s.gaps);
    }
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(original.metadata ?? {})) if (!k.startsWith('ecf8.')) meta[k] = v;
    meta.dfloat_config = JSON.stringify({ threads_per_block: T, bytes_per_thread: OFFICIAL_BYTES_PER_THREAD });
    meta.pattern_dict = JSON.stringify({ fp8: Object.fromEntries(fp8.map((t) => [escapeRegex(moduleOf(t.name)), ['']])), bf16: {} });
    meta['ecf8.shapes'] = JSON.stringify(Object.fromEntries(fp8.map((t) => [t.name.endsWith('.weight') ? t.name : `${t.name}.weight`, t.shape])));
    const headerBytes = serializeHeader(entries, meta);
    const base = 8 + headerBytes.length;
    const tracker = new ProgressTracker('export', original.tensors.length, original.dataLength, options.onProgress);
    tracker.file = input;
    const modules: ExportResult['modules'] = [];
    await writeFileAtomically(output, async (out) => {
      await writeAll(out, lengthPrefix(headerBytes.length), 0);
      await writeAll(out, headerBytes, 8);
      const scratch = { buf: new Uint8Array(0) };
      for (const t of copyOrder) {
        if (t.byteLength > 0) {
          const from = layout ? header.dataOffset + layout.copies.get(t.name)!.begin : header.dataOffset + t.begin;
          await copyRange(fh, from, t.byteLength, out, base + at.get(t.name)!, null, scratch);
        }
        tracker.bytesDone += t.byteLength;
        tracker.tensorDone();
      }
      for (const t of fp8) {
        tracker.tensor = t.name;
        tracker.emit();
        const m = moduleOf(t.name);
        let buffers: OfficialBuffers;
        try {
          const stream = await streamOf(t);
          buffers = officialBuffersFromStream(stream);
          if (options.check ?? true) {
            const expected = decode(stream);
            const got = emulateOfficialKernel(buffers, T!);
            for (let i = 0; i < expected.length; i++) {
              if (got[i] !== expected[i]) throw new Error(`internal: emulated official decoder differs at element ${i}`);
            }
          }
        } catch (e) {
          throw addContext(e, `tensor ${JSON.stringify(t.name)}`);
        }
        await writeAll(out, buffers.outputPositions, base + at.get(`${m}.output_positions`)!);
        await writeAll(out, buffers.luts, base + at.get(`${m}.luts`)!);
        await writeAll(out, buffers.encoded, base + at.get(`${m}.encoded`)!);
        await writeAll(out, buffers.packedOther4bits, base + at.get(`${m}.packed_other_4bits`)!);
        await writeAll(out, buffers.gaps, base + at.get(`${m}.gaps`)!);
        modules.push({ module: m, tensor: t.name, elements: t.elementCount, bytes: buffers.luts.length + buffers.encoded.length + buffers.packedOther4bits.length + buffers.outputPositions.length + buffers.gaps.length });
        tracker.bytesDone += t.byteLength;
        tracker.tensorDone();
      }
    });
    return { input, output, threadsPerBlock: T, modules, copied: others.length };
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}
