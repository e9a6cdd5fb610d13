/**
 * Reading a release in the authors' official layout (spec/ecf8-safetensors-v1.md §8) as they publish it:
 *  - one safetensors file;
 *  - a `save_pretrained` sharded checkpoint: `model.safetensors.index.json` whose `weight_map` names each tensor's
 *    shard (a module's buffers may sit in different shards), with `config.json` holding `dfloat_config`;
 *  - the DiffSynth layout: a directory of per-block files `<block>.safetensors`, with `dfloat_config.json`;
 *  - their cache files `cache/<block>.safetensors`: buffers named without the module prefix (the block is the file
 *    name), plus `flat_weights`, the block's FP8 weights before encoding.
 * Beside the weights: `pattern_dict.json` (`{"fp8": {pattern: [layer names]}, "bf16": {...}}`) names the layers
 * concatenated in each block. Everything read here is untrusted: JSON is size-capped and validated, patterns are
 * matched by {@link compilePattern} (never run as regexes), shard names are plain file names inside the directory.
 */
import type { FileHandle } from 'node:fs/promises';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_THREADS_PER_BLOCK } from '@ecf8/core';
import { addContext, ModelErrorCode, modelFail } from './errors.js';
import type { SafetensorsHeader, TensorInfo } from './format.js';
import { openRead, openSafetensors, readSafetensorsHeader } from './io.js';
import { isCompressedHeader, readCompressedLayout } from './model.js';
import { OFFICIAL_BUFFER_NAMES, OFFICIAL_BYTES_PER_THREAD } from './official-buffers.js';
import { compilePattern, type CompiledPattern } from './official-pattern.js';

/** Largest JSON side file read (index, config, pattern dict, shapes). */
export const MAX_OFFICIAL_JSON_BYTES = 64 << 20;
export const INDEX_FILE = 'model.safetensors.index.json';
export const CONFIG_FILE = 'config.json';
export const DFLOAT_CONFIG_FILE = 'dfloat_config.json';
export const PATTERN_DICT_FILE = 'pattern_dict.json';
/** The cache files' copy of a block's FP8 weights before encoding. */
export const CACHE_FLAT_WEIGHTS = 'flat_weights';

function fail(message: string): never {
  return modelFail(ModelErrorCode.BAD_OFFICIAL_LAYOUT, message);
}
function badMeta(message: string): never {
  return modelFail(ModelErrorCode.BAD_MODEL_METADATA, message);
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A tensor of the release under its full name (cache files' names get their block prefix). */
export interface ReleaseTensor {
  name: string;
  file: string;
  info: TensorInfo;
  header: SafetensorsHeader;
}

export interface Release {
  input: string;
  /** The weight files, in the order read. */
  files: string[];
  tensors: Map<string, ReleaseTensor>;
  /** Directories searched for config.json, dfloat_config.json and pattern_dict.json. */
  sideDirs: string[];
  /** `__metadata__` of the files merged (first value wins); a null-prototype record. */
  metadata: Record<string, string>;
  warnings: string[];
  /** An open handle of a weight file (opened once, closed by `close`). */
  handle(file: string): Promise<FileHandle>;
  close(): Promise<void>;
}

/** Parses JSON text; errors name `what` and carry a stable code instead of a raw JavaScript message. */
export function parseJsonText(text: string, what: string, code: 'layout' | 'metadata' = 'layout'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return (code === 'layout' ? fail : badMeta)(`${what} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Reads a JSON side file (size-capped). */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const { fh, size } = await openRead(path);
  try {
    if (size > MAX_OFFICIAL_JSON_BYTES) fail(`${what} ${path} is ${size} bytes, over the ${MAX_OFFICIAL_JSON_BYTES}-byte limit`);
    return parseJsonText(await fh.readFile('utf8'), `${what} ${path}`);
  } finally {
    await fh.close();
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Shard names in an index are plain file names in the index's directory. */
function checkShardName(name: string, index: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) fail(`${index}: weight_map names shard ${JSON.stringify(name)}, not a file name in its directory`);
  return name;
}

async function readIndex(path: string): Promise<{ shards: string[]; weightMap: Map<string, string> }> {
  const j = await readJsonFile(path, 'index');
  if (!isObject(j) || !isObject(j.weight_map)) return fail(`${path}: expected {"weight_map": {"tensor": "shard.safetensors", ...}}`);
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(j.weight_map)) {
    if (typeof shard !== 'string') fail(`${path}: weight_map value of ${JSON.stringify(tensor)} is not a file name`);
    weightMap.set(tensor, checkShardName(shard as string, path));
  }
  return { shards: [...new Set(weightMap.values())], weightMap };
}

/** The weight files of `input` (a file, an index file, or a directory) and the index, when there is one. */
async function locate(input: string): Promise<{ dir: string; files: string[]; index: string | null; weightMap: Map<string, string> | null }> {
  let st;
  try {
    st = await stat(input);
  } catch (e) {
    return fail(`cannot read ${input}: ${(e as Error).message}`);
  }
  let index: string | null = null;
  let dir: string;
  if (st.isDirectory()) {
    dir = input;
    const names = (await readdir(input)).sort();
    const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
    if (indexes.includes(INDEX_FILE)) index = join(input, INDEX_FILE);
    else if (indexes.length === 1) index = join(input, indexes[0]);
    else if (indexes.length > 1) fail(`${input} holds several indexes (${indexes.join(', ')}); name the one to import`);
    if (!index) {
      const files: string[] = [];
      for (const n of names) if (n.endsWith('.safetensors') && (await isFile(join(input, n)))) files.push(join(input, n));
      if (files.length === 0) fail(`${input} holds no .safetensors files and no ${INDEX_FILE}`);
      return { dir, files, index: null, weightMap: null };
    }
  } else if (input.endsWith('.json')) {
    index = input;
    dir = dirname(input);
  } else return { dir: dirname(input), files: [input], index: null, weightMap: null };
  const { shards, weightMap } = await readIndex(index);
  if (shards.length === 0) fail(`${index}: weight_map is empty`);
  return { dir, files: shards.map((s) => join(dir, s)), index, weightMap };
}

/** A cache file holds bare buffer names (`encoded`, `luts`, ...) and its block is its file name. */
function cacheBlockOf(file: string, header: SafetensorsHeader): string | null {
  if (!header.byName.has('encoded')) return null;
  const block = basename(file).replace(/\.safetensors$/, '');
  for (const t of header.tensors) {
    if (t.name !== CACHE_FLAT_WEIGHTS && !(OFFICIAL_BUFFER_NAMES as readonly string[]).includes(t.name)) {
      fail(`${file} looks like a cache file of block ${block} (a tensor named "encoded") but also holds ${JSON.stringify(t.name)}`);
    }
  }
  return block;
}

/** Opens a release: reads every weight file's header and checks them against the index. */
export async function openRelease(input: string): Promise<Release> {
  const { dir, files, index, weightMap } = await locate(input);
  const tensors = new Map<string, ReleaseTensor>();
  const metadata: Record<string, string> = Object.create(null);
  const warnings: string[] = [];
  for (const file of files) {
    let header: SafetensorsHeader;
    try {
      const { fh, size } = await openRead(file);
      try {
        header = await readSafetensorsHeader(fh, size);
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw addContext(e, file);
    }
    if (isCompressedHeader(header)) fail(`${file} is an ECF8-compressed file of ours, not the official layout (use decompress)`);
    const block = weightMap ? null : cacheBlockOf(file, header);
    for (const info of header.tensors) {
      const name = block !== null ? `${block}.${info.name}` : info.name;
      const other = tensors.get(name);
      if (other) fail(`tensor ${JSON.stringify(name)} is in both ${other.file} and ${file}`);
      if (weightMap) {
        const shard = weightMap.get(name);
        if (shard === undefined) fail(`${file} holds ${JSON.stringify(name)}, which ${index} does not list`);
        if (join(dir, shard) !== file) fail(`${file} holds ${JSON.stringify(name)}, which ${index} puts in ${shard}`);
      }
      tensors.set(name, { name, file, info, header });
    }
    for (const [k, v] of Object.entries(header.metadata ?? {})) {
      if (!Object.hasOwn(metadata, k)) metadata[k] = v;
      else if (metadata[k] !== v) warnings.push(`metadata ${JSON.stringify(k)} differs between files; kept the first value`);
    }
  }
  if (weightMap) for (const [name, shard] of weightMap) if (!tensors.has(name)) fail(`${index} puts ${JSON.stringify(name)} in ${shard}, which does not hold it`);
  const sideDirs = [dir];
  if (basename(dir) === 'cache') sideDirs.push(dirname(dir));
  const handles = new Map<string, Promise<FileHandle>>();
  return {
    input,
    files,
    tensors,
    sideDirs,
    metadata,
    warnings,
    handle(file) {
      let h = handles.get(file);
      if (!h) {
        h = openRead(file).then((r) => r.fh);
        handles.set(file, h);
      }
      return h;
    },
    async close() {
      for (const h of handles.values()) await h.then((fh) => fh.close()).catch(() => {});
      handles.clear();
    },
  };
}

/** The first of `name` in the release's side directories that exists. */
async function sideFile(release: Release, name: string): Promise<string | null> {
  for (const d of release.sideDirs) if (await isFile(join(d, name))) return join(d, name);
  return null;
}

/** threads_per_block from a dfloat_config object (bytes_per_thread must be the layout's 8). */
function threadsFromConfig(config: unknown, where: string): number {
  if (!isObject(config)) return fail(`${where}: dfloat_config is not an object`);
  const t = config.threads_per_block;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 1024) fail(`${where}: threads_per_block ${JSON.stringify(t)} is not an integer in 1..1024`);
  const b = config.bytes_per_thread;
  if (b !== undefined && b !== OFFICIAL_BYTES_PER_THREAD) fail(`${where}: bytes_per_thread ${JSON.stringify(b)} is not supported (the layout uses ${OFFICIAL_BYTES_PER_THREAD})`);
  return t as number;
}

/**
 * threads_per_block of the release: the option, else the files' own `dfloat_config` metadata, else `config.json`'s
 * `dfloat_config`, else `dfloat_config.json`. Without any of them the release cannot be decoded safely: a clear error.
 */
export async function releaseThreadsPerBlock(release: Release, option: number | undefined): Promise<{ threadsPerBlock: number; source: string }> {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1 || option > 1024) modelFail(ModelErrorCode.BAD_OFFICIAL_LAYOUT, `--official-threads-per-block ${option} is not in 1..1024`);
    return { threadsPerBlock: option, source: '--official-threads-per-block' };
  }
  const meta = release.metadata.dfloat_config;
  if (meta !== undefined) return { threadsPerBlock: threadsFromConfig(parseJsonText(meta, `${release.input}: metadata dfloat_config`), `${release.input}: metadata dfloat_config`), source: 'metadata dfloat_config' };
  const config = await sideFile(release, CONFIG_FILE);
  if (config) {
    const j = await readJsonFile(config, 'config');
    if (isObject(j) && j.dfloat_config !== undefined) return { threadsPerBlock: threadsFromConfig(j.dfloat_config, config), source: config };
  }
  const dfloat = await sideFile(release, DFLOAT_CONFIG_FILE);
  if (dfloat) return { threadsPerBlock: threadsFromConfig(await readJsonFile(dfloat, 'dfloat config'), dfloat), source: dfloat };
  return fail(
    `threads per block unknown: no dfloat_config in the file's metadata, no ${CONFIG_FILE} with "dfloat_config" and no ${DFLOAT_CONFIG_FILE} in ${release.sideDirs.join(' or ')}; ` +
      `pass --official-threads-per-block T (the authors' default is ${DEFAULT_THREADS_PER_BLOCK})`,
  );
}

/** One `fp8` entry of a pattern dict: blocks whose name fully matches `pattern` hold `layers` (null: not recorded). */
export interface PatternRule {
  pattern: CompiledPattern;
  layers: string[] | null;
}

/** Validates a pattern dict and compiles its `fp8` patterns (in the file's order; the first match wins). */
export function parsePatternDict(j: unknown, where: string): PatternRule[] {
  if (!isObject(j)) return fail(`${where}: expected {"fp8": {"pattern": ["layer", ...]}, "bf16": ...}`);
  const fp8 = j.fp8;
  if (fp8 === undefined || fp8 === null) return [];
  const rules: PatternRule[] = [];
  const entries: [string, unknown][] = Array.isArray(fp8) ? fp8.map((p) => [p, null]) : isObject(fp8) ? Object.entries(fp8) : fail(`${where}: "fp8" is neither an object nor a list`);
  for (const [pattern, layers] of entries) {
    if (typeof pattern !== 'string') fail(`${where}: an fp8 pattern is not a string`);
    if (layers !== null && !(Array.isArray(layers) && layers.every((x) => typeof x === 'string'))) fail(`${where}: the layers of pattern ${JSON.stringify(pattern)} are not a list of names`);
    try {
      rules.push({ pattern: compilePattern(pattern), layers: layers as string[] | null });
    } catch (e) {
      throw addContext(e, where);
    }
  }
  return rules;
}

/** The release's pattern dict: the option's file, else the files' `pattern_dict` metadata, else pattern_dict.json. */
export async function releasePatternDict(release: Release, option: string | undefined): Promise<PatternRule[]> {
  if (option) return parsePatternDict(await readJsonFile(option, 'pattern dict'), option);
  const meta = release.metadata.pattern_dict;
  if (meta !== undefined) return parsePatternDict(parseJsonText(meta, `${release.input}: metadata pattern_dict`), `${release.input}: metadata pattern_dict`);
  const file = await sideFile(release, PATTERN_DICT_FILE);
  return file ? parsePatternDict(await readJsonFile(file, 'pattern dict'), file) : [];
}

/** The layers of `block` by the first rule whose pattern fully matches it. */
export function layersOf(rules: readonly PatternRule[], block: string): string[] | null {
  for (const r of rules) if (r.pattern.fullmatch(block)) return r.layers;
  return null;
}

/** A shape: a list of non-negative decimal integers (JSON numbers) whose product is a safe integer. */
function checkShape(v: unknown, where: string, onBad: (m: string) => never): number[] {
  if (!Array.isArray(v)) return onBad(`${where}: shape ${JSON.stringify(v)} is not a list of dimensions`);
  let count = 1;
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) onBad(`${where}: dimension ${JSON.stringify(d)} is not a non-negative integer`);
    count *= d as number;
    if (!Number.isSafeInteger(count)) onBad(`${where}: shape ${JSON.stringify(v)} holds too many elements`);
  }
  return v as number[];
}

/** Validates `{"tensor name": [dims]}` into a map. */
export function parseShapes(j: unknown, where: string, code: 'layout' | 'metadata'): Map<string, number[]> {
  const onBad = code === 'layout' ? fail : badMeta;
  if (!isObject(j)) return onBad(`${where}: expected {"tensor name": [dims], ...}`);
  const shapes = new Map<string, number[]>();
  for (const [k, v] of Object.entries(j)) shapes.set(k, checkShape(v, `${where}: ${JSON.stringify(k)}`, onBad));
  return shapes;
}

/** Shapes: the option's file (JSON, or a safetensors file of the original checkpoint), else `ecf8.shapes` metadata. */
export async function releaseShapes(release: Release, option: string | undefined): Promise<Map<string, number[]>> {
  if (option) {
    if (option.endsWith('.json')) return parseShapes(await readJsonFile(option, 'shapes'), option, 'layout');
    const { fh, header } = await openSafetensors(option).catch((e) => {
      throw addContext(e, option);
    });
    await fh.close();
    const h = isCompressedHeader(header) ? readCompressedLayout(header).original : header;
    return new Map(h.tensors.map((t) => [t.name, t.shape]));
  }
  const meta = release.metadata['ecf8.shapes'];
  if (meta === undefined) return new Map();
  const where = `${release.input}: metadata ecf8.shapes`;
  return parseShapes(parseJsonText(meta, where, 'metadata'), where, 'metadata');
}

/** Our own export's exact tensor names per module (`ecf8.official_tensors`), so names round-trip unchanged. */
export function releaseTensorNames(release: Release): Map<string, string[]> {
  const meta = release.metadata['ecf8.official_tensors'];
  const names = new Map<string, string[]>();
  if (meta === undefined) return names;
  const where = `${release.input}: metadata ecf8.official_tensors`;
  const j = parseJsonText(meta, where, 'metadata');
  if (!isObject(j)) return badMeta(`${where}: expected {"module": ["tensor name", ...]}`);
  for (const [m, v] of Object.entries(j)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) badMeta(`${where}: the names of module ${JSON.stringify(m)} are not a list of strings`);
    names.set(m, v as string[]);
  }
  return names;
}

/** Reads a side file's text, or null when it does not exist (for export's merge of config.json). */
export async function readTextIfExists(path: string): Promise<string | null> {
  if (!(await isFile(path))) return null;
  const st = await stat(path);
  if (st.size > MAX_OFFICIAL_JSON_BYTES) fail(`${path} is ${st.size} bytes, over the ${MAX_OFFICIAL_JSON_BYTES}-byte limit`);
  return readFile(path, 'utf8');
}
