/**
 * `import-official`: a release in the authors' layout (spec/ecf8-safetensors-v1.md §8; a file, a sharded checkpoint, a DiffSynth
 * directory or cache files, see official-release.ts) -> one of our files, an ECF8-compressed safetensors file (or,
 * with `plain`, a plain FP8 one) in which every module's layers are F8_E4M3 tensors, bit-exact. Every module must be
 * complete (a buffer without its module is an error, never copied as a raw tensor); the other tensors are copied.
 */
import type { FileHandle } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { Ecf8Error } from '@ecf8/core';
import { addContext } from './errors.js';
import { elementAlignment, FP8_DTYPE, lengthPrefix, serializeHeader, type HeaderEntry } from './format.js';
import { activeTemps, copyRange, readBytes, tempPathFor, writeAll, writeFileAtomically } from './io.js';
import { compressFile, type CompressOptions, type FileResult } from './model.js';
import { bad, decodeOfficial, OFFICIAL_BUFFER_NAMES, splitRanges, type OfficialBuffers } from './official-buffers.js';
import {
  CACHE_FLAT_WEIGHTS,
  layersOf,
  openRelease,
  releasePatternDict,
  releaseShapes,
  releaseTensorNames,
  releaseThreadsPerBlock,
  type Release,
  type ReleaseTensor,
} from './official-release.js';
import { ProgressTracker } from './progress.js';

export interface ImportOptions extends CompressOptions {
  /** threads_per_block of the buffers (default: the release's dfloat_config; required when it has none). */
  officialThreadsPerBlock?: number;
  /** pattern_dict.json (default: the file's `pattern_dict` metadata, else pattern_dict.json beside the release). */
  patternDict?: string;
  /** Shapes: a JSON file {name: [dims]} or a safetensors file of the original checkpoint (default: the file's `ecf8.shapes` metadata, else 1-D). */
  shapes?: string;
  /** Write a plain FP8 safetensors file instead of an ECF8-compressed one. */
  plain?: boolean;
}

export interface ImportResult {
  input: string;
  output: string;
  /** The weight files read. */
  files: string[];
  threadsPerBlock: number;
  modules: number;
  tensors: { name: string; shape: number[]; elements: number; module: string }[];
  copied: number;
  warnings: string[];
  compressed: FileResult | null;
}

type BufferName = (typeof OFFICIAL_BUFFER_NAMES)[number];
const REQUIRED: readonly BufferName[] = ['luts', 'encoded', 'packed_other_4bits', 'output_positions', 'gaps'];

interface Module {
  name: string;
  parts: Record<BufferName, ReleaseTensor | undefined>;
  /** A cache file's copy of the weights before encoding (checked against the decoded bytes). */
  flatWeights: ReleaseTensor | undefined;
}

/** Every module of the release; any buffer-named tensor that is not part of a complete module is an error. */
function findModules(release: Release): Module[] {
  const modules: Module[] = [];
  const claimed = new Set<string>();
  for (const t of release.tensors.values()) {
    if (!t.name.endsWith('.encoded')) continue;
    const name = t.name.slice(0, -'.encoded'.length);
    const parts = Object.create(null) as Module['parts'];
    for (const k of OFFICIAL_BUFFER_NAMES) parts[k] = release.tensors.get(`${name}.${k}`);
    const missing = REQUIRED.filter((k) => !parts[k]);
    if (missing.length) bad(`module ${name} lacks ${missing.map((k) => `${name}.${k}`).join(', ')} (${release.files.length > 1 ? 'not in any file of the release' : 'is the release sharded? import its directory or index'})`);
    for (const k of REQUIRED) if (parts[k]!.info.dtype !== 'U8') bad(`${name}.${k} is ${parts[k]!.info.dtype}, expected U8`);
    if (parts.luts!.info.shape.length !== 2 || parts.luts!.info.shape[1] !== 256) bad(`${name}.luts has shape [${parts.luts!.info.shape}], expected [n, 256]`);
    if (parts.split_positions && parts.split_positions.info.dtype !== 'I64') bad(`${name}.split_positions is ${parts.split_positions.info.dtype}, expected I64`);
    const flatWeights = release.tensors.get(`${name}.${CACHE_FLAT_WEIGHTS}`);
    const cacheFile = flatWeights && flatWeights.name !== flatWeights.info.name;
    if (flatWeights && cacheFile && (flatWeights.info.dtype !== FP8_DTYPE || flatWeights.info.elementCount !== parts.packed_other_4bits!.info.byteLength * 2)) {
      bad(`${flatWeights.file}: flat_weights is not ${parts.packed_other_4bits!.info.byteLength * 2} F8_E4M3 elements`);
    }
    for (const p of Object.values(parts)) if (p) claimed.add(p.name);
    if (cacheFile) claimed.add(flatWeights.name);
    modules.push({ name, parts, flatWeights: cacheFile ? flatWeights : undefined });
  }
  for (const t of release.tensors.values()) {
    if (claimed.has(t.name)) continue;
    const dot = t.name.lastIndexOf('.');
    if ((OFFICIAL_BUFFER_NAMES as readonly string[]).includes(t.name.slice(dot + 1))) {
      const owner = dot < 0 ? `a module (a cache file's block ${t.file}?)` : `module ${t.name.slice(0, dot)}`;
      bad(`${t.name} (in ${t.file}) is a buffer of ${owner} that has no encoded buffer (is the release sharded? import its directory or index)`);
    }
  }
  return modules;
}

async function readTensor(release: Release, t: ReleaseTensor): Promise<Uint8Array> {
  return readBytes(await release.handle(t.file), t.header.dataOffset + t.info.begin, t.info.byteLength);
}

async function readI64s(release: Release, t: ReleaseTensor | undefined): Promise<number[]> {
  if (!t) return [];
  const bytes = await readTensor(release, t);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const v = dv.getBigInt64(i, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${t.name}: value ${v} out of range`);
    out.push(Number(v));
  }
  return out;
}

async function readModuleBuffers(release: Release, m: Module): Promise<OfficialBuffers> {
  return {
    luts: await readTensor(release, m.parts.luts!),
    encoded: await readTensor(release, m.parts.encoded!),
    packedOther4bits: await readTensor(release, m.parts.packed_other_4bits!),
    outputPositions: await readTensor(release, m.parts.output_positions!),
    gaps: await readTensor(release, m.parts.gaps!),
    splitPositions: await readI64s(release, m.parts.split_positions),
  };
}

/** Lets signal handlers run between long synchronous stretches. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Replaces an internal temp path in an error's message with the user's output name. */
function hideTemp(e: unknown, temp: string, output: string): unknown {
  if (e instanceof Ecf8Error && e.message.includes(temp)) return new Ecf8Error(e.code, e.message.split(temp).join(output).replace(/^ECF8_[A-Z_]+: /, ''));
  return e;
}

/** Converts a release in the official layout into our file (see the file comment). */
export async function importOfficial(input: string, output: string, options: ImportOptions = {}): Promise<ImportResult> {
  let temp: string | null = null;
  let release: Release | null = null;
  try {
    release = await openRelease(input);
    const warnings = [...release.warnings];
    const { threadsPerBlock: T } = await releaseThreadsPerBlock(release, options.officialThreadsPerBlock);
    const rules = await releasePatternDict(release, options.patternDict);
    const shapes = await releaseShapes(release, options.shapes);
    const exactNames = releaseTensorNames(release);

    const modules = findModules(release);
    if (modules.length === 0) bad(`${input} holds no official-layout modules (tensors NAME.encoded with NAME.luts, NAME.packed_other_4bits, NAME.output_positions, NAME.gaps)`);
    const moduleTensors = new Set<string>();
    for (const m of modules) {
      for (const p of Object.values(m.parts)) if (p) moduleTensors.add(p.name);
      if (m.flatWeights) moduleTensors.add(m.flatWeights.name);
    }
    const copied = [...release.tensors.values()].filter((t) => !moduleTensors.has(t.name));
    // Name and shape every part of every module (sizes need no decoding: n = 2 * nibble bytes).
    const planned: { module: Module; names: string[]; ranges: [number, number][]; shapes: number[][] }[] = [];
    const taken = new Set(copied.map((t) => t.name));
    for (const [index, m] of modules.entries()) {
      if (index % 64 === 63) await yieldToEvents();
      const n = m.parts.packed_other_4bits!.info.byteLength * 2;
      const ranges = splitRanges(await readI64s(release, m.parts.split_positions), n);
      let names = exactNames.get(m.name);
      if (names) {
        if (names.length !== ranges.length) bad(`module ${m.name}: ecf8.official_tensors names ${names.length} tensors but split_positions make ${ranges.length} parts`);
      } else {
        let layers = layersOf(rules, m.name);
        if (!layers) {
          if (ranges.length !== 1) bad(`module ${m.name} holds ${ranges.length} tensors; name them with a pattern dict (--pattern-dict pattern_dict.json)`);
          layers = [''];
        }
        if (layers.length !== ranges.length) bad(`module ${m.name}: the pattern dict names ${layers.length} layers but split_positions make ${ranges.length} parts`);
        names = layers.map((l) => (l === '' ? `${m.name}.weight` : `${m.name}.${l}.weight`));
      }
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
    const copyOrder = copied.slice().sort((a, b) => elementAlignment(b.info.dtype) - elementAlignment(a.info.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const entries: HeaderEntry[] = [];
    let cursor = 0;
    for (const t of copyOrder) {
      entries.push({ name: t.name, dtype: t.info.dtype, shape: t.info.shape, begin: cursor, end: cursor + t.info.byteLength });
      cursor += t.info.byteLength;
    }
    for (const p of planned) {
      p.names.forEach((name, i) => {
        const len = p.ranges[i][1] - p.ranges[i][0];
        entries.push({ name, dtype: FP8_DTYPE, shape: p.shapes[i], begin: cursor, end: cursor + len });
        cursor += len;
      });
    }
    const outMeta: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(release.metadata)) if (k !== 'dfloat_config' && k !== 'pattern_dict' && !k.startsWith('ecf8.')) outMeta[k] = v;
    const headerBytes = serializeHeader(entries, Object.keys(outMeta).length ? outMeta : null);
    const tracker = new ProgressTracker('import', planned.length, cursor, options.onProgress);
    tracker.file = input;
    const rel = release;
    const writePlain = async (out: FileHandle) => {
      await writeAll(out, lengthPrefix(headerBytes.length), 0);
      await writeAll(out, headerBytes, 8);
      let at = 8 + headerBytes.length;
      const scratch = { buf: new Uint8Array(0) };
      for (const t of copyOrder) {
        await copyRange(await rel.handle(t.file), t.header.dataOffset + t.info.begin, t.info.byteLength, out, at, null, scratch);
        at += t.info.byteLength;
      }
      for (const p of planned) {
        tracker.tensor = p.module.name;
        tracker.emit();
        let fp8: Uint8Array;
        try {
          fp8 = decodeOfficial(await readModuleBuffers(rel, p.module), T);
          if (p.module.flatWeights) {
            const flat = await readTensor(rel, p.module.flatWeights);
            const i = flat.findIndex((v, k) => v !== fp8[k]);
            if (i >= 0) bad(`decoded element ${i} is ${fp8[i]} but the cache's flat_weights holds ${flat[i]}`);
          }
        } catch (e) {
          throw addContext(e, `module ${p.module.name}`);
        }
        await writeAll(out, fp8, at);
        at += fp8.length;
        tracker.bytesDone += fp8.length;
        tracker.tensorDone();
      }
    };
    let compressed: FileResult | null = null;
    if (options.plain) await writeFileAtomically(output, writePlain);
    else {
      temp = tempPathFor(output, 'plain');
      activeTemps.add(temp);
      try {
        await writeFileAtomically(temp, writePlain);
        compressed = await compressFile(temp, output, { ...options, onProgress: options.onProgress });
      } catch (e) {
        throw hideTemp(e, temp, output);
      }
    }
    return {
      input,
      output,
      files: release.files,
      threadsPerBlock: T,
      modules: planned.length,
      tensors: planned.flatMap((p) => p.names.map((name, i) => ({ name, shape: p.shapes[i], elements: p.ranges[i][1] - p.ranges[i][0], module: p.module.name }))),
      copied: copied.length,
      warnings,
      compressed,
    };
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await release?.close();
    if (temp) {
      await rm(temp, { force: true });
      activeTemps.delete(temp);
    }
  }
}
