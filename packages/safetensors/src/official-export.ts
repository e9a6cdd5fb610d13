/**
 * `export-official`: our streams -> the authors' buffer layout (spec/ecf8-safetensors-v1.md §8), sliced without re-encoding and
 * checked with an emulation of their thread-parallel decoder. Beside the output it writes what their loader reads:
 * `config.json` with `dfloat_config` (the transformers layout; merged into a `config.json` found beside the input) or
 * `dfloat_config.json` (the DiffSynth layout), and `pattern_dict.json`. Existing files are replaced only with `force`.
 */
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
  readHeader as readStreamHeader,
  totalCodeBits,
} from '@ecf8/core';
import { addContext, ModelErrorCode, modelFail } from './errors.js';
import { elementAlignment, FP8_DTYPE, lengthPrefix, serializeHeader, type HeaderEntry, type TensorInfo } from './format.js';
import { copyRange, exists, openSafetensors, readBytes, writeAll, writeFileAtomically } from './io.js';
import { isCompressedHeader, readCompressedLayout } from './model.js';
import { emulateOfficialKernel, OFFICIAL_BUFFER_NAMES, OFFICIAL_BYTES_PER_THREAD, officialBuffersFromStream, type OfficialBuffers } from './official-buffers.js';
import { CONFIG_FILE, DFLOAT_CONFIG_FILE, parseJsonText, PATTERN_DICT_FILE, readTextIfExists } from './official-release.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';

export interface ExportOptions {
  /** T used to encode FP8 tensors of a plain input (compressed inputs keep their streams' T). */
  threadsPerBlock?: number;
  /** Check every module with the emulated official decoder (default true). */
  check?: boolean;
  /** Write `dfloat_config.json` (the DiffSynth layout) instead of `config.json` with `dfloat_config`. */
  diffsynth?: boolean;
  /** Replace existing `config.json` / `dfloat_config.json` / `pattern_dict.json` beside the output. */
  force?: boolean;
  onProgress?: ProgressCallback;
}

export interface ExportResult {
  input: string;
  output: string;
  threadsPerBlock: number;
  modules: { module: string; tensor: string; elements: number; bytes: number }[];
  copied: number;
  /** The side files written next to the output (config and pattern dict). */
  sideFiles: string[];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The authors' `dfloat_config` (their release writes this version string). */
const dfloatConfig = (T: number) => ({ version: '0.2.0', threads_per_block: T, bytes_per_thread: OFFICIAL_BYTES_PER_THREAD });

/** The side files' contents: the config (merged into the input's own config.json when there is one) and the pattern dict. */
async function sideFiles(input: string, output: string, T: number, patternDict: unknown, diffsynth: boolean): Promise<{ path: string; text: string }[]> {
  const dir = dirname(output);
  const patterns = { path: join(dir, PATTERN_DICT_FILE), text: JSON.stringify(patternDict, null, 4) + '\n' };
  if (diffsynth) return [{ path: join(dir, DFLOAT_CONFIG_FILE), text: JSON.stringify(dfloatConfig(T), null, 4) + '\n' }, patterns];
  const inputConfig = join(dirname(input), CONFIG_FILE);
  const existing = await readTextIfExists(inputConfig);
  let config: Record<string, unknown> = Object.create(null);
  if (existing !== null) {
    const j = parseJsonText(existing, inputConfig);
    if (typeof j !== 'object' || j === null || Array.isArray(j)) modelFail(ErrorCode.INVALID_ARGUMENT, `${inputConfig} is not a JSON object`);
    config = j as Record<string, unknown>;
  }
  Object.defineProperty(config, 'dfloat_config', { value: dfloatConfig(T), enumerable: true, writable: true, configurable: true });
  return [{ path: join(dir, CONFIG_FILE), text: JSON.stringify(config, null, 2) + '\n' }, patterns];
}

/**
 * Writes our streams as official-layout buffers: one module per F8_E4M3 tensor (module name = tensor name without
 * `.weight`), split_positions empty. Metadata: `dfloat_config` and `pattern_dict` (as in the side files),
 * `ecf8.shapes` with the tensors' shapes and `ecf8.official_tensors` with their exact names (so `emb` comes back as
 * `emb`, not `emb.weight`). Other tensors are copied. The side files (see {@link sideFiles}) are written after the
 * output; none is replaced without `force`, and that is checked before anything is written.
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
    // Null-prototype records: names such as __proto__ or constructor are ordinary keys.
    const meta: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(original.metadata ?? {})) if (!k.startsWith('ecf8.') && k !== 'dfloat_config' && k !== 'pattern_dict') meta[k] = v;
    const patternDict = { fp8: Object.fromEntries(fp8.map((t) => [escapeRegex(moduleOf(t.name)), ['']])), bf16: {} };
    meta.dfloat_config = JSON.stringify(dfloatConfig(T));
    meta.pattern_dict = JSON.stringify(patternDict);
    meta['ecf8.shapes'] = JSON.stringify(Object.fromEntries(fp8.map((t) => [t.name, t.shape])));
    meta['ecf8.official_tensors'] = JSON.stringify(Object.fromEntries(fp8.map((t) => [moduleOf(t.name), [t.name]])));
    const sides = await sideFiles(input, output, T, patternDict, options.diffsynth ?? false);
    if (!options.force) {
      // Checked before anything is written, with the code and words of the output rule (output.ts).
      for (const f of sides) if (await exists(f.path)) modelFail(ModelErrorCode.OUTPUT_EXISTS, `${f.path} exists; pass --force to replace it`);
    }
    const headerBytes = serializeHeader(entries, meta);
    const base = 8 + headerBytes.length;
    const tracker = new ProgressTracker('export', original.tensors.length, original.dataLength, options.onProgress);
    tracker.file = input;
    const modules: ExportResult['modules'] = [];
    const policy = { force: options.force, inputs: [input] };
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
    }, policy);
    for (const f of sides) {
      await writeFileAtomically(f.path, async (fh) => {
        await writeAll(fh, new TextEncoder().encode(f.text), 0);
      }, policy);
    }
    return { input, output, threadsPerBlock: T, modules, copied: others.length, sideFiles: sides.map((f) => f.path) };
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}
