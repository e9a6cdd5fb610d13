/**
 * Model directories (sharded checkpoints): every `*.safetensors` file is processed shard by shard, every
 * `*.safetensors.index.json` is rewritten for the stored tensor names (the original index bytes are kept in it, so
 * decompression restores it exactly), and every other file is copied. Subdirectories are processed the same way.
 * The output directory is built next to its final path and renamed into place at the end.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ErrorCode } from '@ecf8/core';
import { addContext, ioError, ModelErrorCode, modelFail } from './errors.js';
import { activeTemps, isDirectory, tempPathFor } from './io.js';
import {
  compressFile,
  decompressFile,
  readModelHeader,
  verifyFile,
  type CompressOptions,
  type FileResult,
  type RestoreOptions,
} from './model.js';
import { ProgressTracker } from './progress.js';

export const INDEX_SUFFIX = '.safetensors.index.json';
export const INDEX_FORMAT = 'ecf8-safetensors-index';

export interface ModelResult {
  input: string;
  output: string | null;
  directory: boolean;
  files: FileResult[];
  /** Index files rewritten (compress) or restored (decompress) or checked (verify), relative paths. */
  indexes: string[];
  /** Other files copied unchanged, relative paths. */
  copied: string[];
  originalBytes: number;
  compressedBytes: number;
  fp8Tensors: number;
  tensors: number;
  fp8Bytes: number;
  streamBytes: number;
  seconds: number;
}

export interface DirectoryOptions {
  /** Replace an existing non-empty output directory. */
  force?: boolean;
}

interface Listing {
  safetensors: string[];
  indexes: string[];
  others: string[];
  dirs: string[];
}

async function listTree(root: string): Promise<Listing> {
  const out: Listing = { safetensors: [], indexes: [], others: [], dirs: [] };
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch (e) {
      throw ioError(`cannot read directory ${join(root, rel)}`, e);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = rel ? join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        out.dirs.push(p);
        await walk(p);
      } else if (e.isFile()) {
        if (e.name.endsWith(INDEX_SUFFIX)) out.indexes.push(p);
        else if (e.name.endsWith('.safetensors')) out.safetensors.push(p);
        else out.others.push(p);
      }
    }
  };
  await walk('');
  return out;
}

/** Relative paths of every `.safetensors` file under `root`, sorted. */
export async function listSafetensors(root: string): Promise<string[]> {
  return (await listTree(root)).safetensors;
}

function aggregate(input: string, output: string | null, files: FileResult[], indexes: string[], copied: string[], t0: number, directory: boolean): ModelResult {
  const sum = (f: (r: FileResult) => number) => files.reduce((a, r) => a + f(r), 0);
  return {
    input,
    output,
    directory,
    files,
    indexes,
    copied,
    originalBytes: sum((r) => r.originalBytes),
    compressedBytes: sum((r) => r.compressedBytes),
    fp8Tensors: sum((r) => r.fp8Tensors),
    tensors: sum((r) => r.tensors.length),
    fp8Bytes: sum((r) => r.fp8Bytes),
    streamBytes: sum((r) => r.streamBytes),
    seconds: (performance.now() - t0) / 1e3,
  };
}

/** Builds a directory at a temp path, then moves it onto `output` (refusing a non-empty `output` unless forced). */
async function writeDirectoryAtomically<T>(output: string, options: DirectoryOptions, build: (tempDir: string) => Promise<T>): Promise<T> {
  let existing = false;
  try {
    const st = await stat(output);
    if (!st.isDirectory()) modelFail(ErrorCode.INVALID_ARGUMENT, `${output} exists and is not a directory`);
    if ((await readdir(output)).length > 0 && !options.force) {
      modelFail(ErrorCode.INVALID_ARGUMENT, `output directory ${output} is not empty (pass --force to replace it)`);
    }
    existing = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const temp = tempPathFor(output, 'tmpdir');
  activeTemps.add(temp);
  try {
    await mkdir(temp, { recursive: true });
    const result = await build(temp);
    if (existing) {
      const old = tempPathFor(output, 'old');
      await rename(output, old);
      activeTemps.add(old);
      await rename(temp, output);
      await rm(old, { recursive: true, force: true });
      activeTemps.delete(old);
    } else {
      await rename(temp, output);
    }
    return result;
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  } finally {
    activeTemps.delete(temp);
  }
}

async function totalsOf(root: string, files: string[]): Promise<{ tensors: number; bytes: number }> {
  let tensors = 0;
  let bytes = 0;
  for (const f of files) {
    const { header, layout } = await readModelHeader(join(root, f));
    const h = layout ? layout.original : header;
    tensors += h.tensors.length;
    bytes += h.dataLength;
  }
  return { tensors, bytes };
}

interface IndexJson {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
  ecf8?: { format: string; version: string; original_index: string; original_sha256: string };
  [k: string]: unknown;
}

function parseIndex(bytes: Uint8Array, path: string): IndexJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: index is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  const j = json as IndexJson;
  if (typeof j !== 'object' || j === null || typeof j.weight_map !== 'object' || j.weight_map === null || Array.isArray(j.weight_map)) {
    modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: index has no weight_map object`);
  }
  for (const [k, v] of Object.entries(j.weight_map)) {
    if (typeof v !== 'string' || v === '' || v === '.' || v === '..' || /[\\/]/.test(v) || v.includes('\0')) {
      modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: weight_map entry ${JSON.stringify(k)} names an unsafe shard ${JSON.stringify(v)}`);
    }
  }
  return j;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readSmall(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
}

/** Compresses a file or a model directory. */
export async function compressModel(input: string, output: string, options: CompressOptions & DirectoryOptions = {}): Promise<ModelResult> {
  const t0 = performance.now();
  if (!(await isDirectory(input))) {
    const r = await compressFile(input, output, options);
    return aggregate(input, output, [r], [], [], t0, false);
  }
  const list = await listTree(input);
  if (list.safetensors.length === 0) modelFail(ErrorCode.INVALID_ARGUMENT, `${input} holds no .safetensors files`);
  const totals = await totalsOf(input, list.safetensors);
  const tracker = options.tracker ?? new ProgressTracker('compress', totals.tensors, totals.bytes, options.onProgress);
  return writeDirectoryAtomically(output, options, async (temp) => {
    for (const d of list.dirs) await mkdir(join(temp, d), { recursive: true });
    const files: FileResult[] = [];
    const byShard = new Map<string, FileResult>();
    for (const f of list.safetensors) {
      const r = await compressFile(join(input, f), join(temp, f), { ...options, tracker });
      r.output = join(output, f);
      files.push(r);
      byShard.set(f, r);
    }
    for (const idx of list.indexes) {
      const bytes = await readSmall(join(input, idx));
      const index = parseIndex(bytes, join(input, idx));
      const dir = dirname(idx) === '.' ? '' : dirname(idx);
      const weightMap: Record<string, string> = {};
      let total = 0;
      const shards = new Set<string>();
      for (const [name, shard] of Object.entries(index.weight_map)) {
        const r = byShard.get(dir ? join(dir, shard) : shard);
        const t = r?.tensors.find((x) => x.name === name);
        weightMap[t ? t.storedName : name] = shard;
        if (r) shards.add(dir ? join(dir, shard) : shard);
      }
      for (const s of shards) {
        const r = byShard.get(s)!;
        total += r.streamBytes + r.otherBytes;
      }
      const metadata = { ...(index.metadata ?? {}) };
      if ('total_size' in metadata) metadata.total_size = total;
      const rewritten: IndexJson = { ...index, metadata, weight_map: weightMap };
      rewritten.ecf8 = { format: INDEX_FORMAT, version: '1', original_index: Buffer.from(bytes).toString('base64'), original_sha256: sha256Hex(bytes) };
      await writeFile(join(temp, idx), JSON.stringify(rewritten, null, 2) + '\n');
    }
    for (const o of list.others) await copyFile(join(input, o), join(temp, o));
    return aggregate(input, output, files, list.indexes, list.others, t0, true);
  });
}

function originalIndexBytes(index: IndexJson, path: string): Uint8Array | null {
  if (index.ecf8 === undefined) return null;
  const e = index.ecf8;
  if (typeof e !== 'object' || e === null || e.format !== INDEX_FORMAT || e.version !== '1' || typeof e.original_index !== 'string') {
    modelFail(ModelErrorCode.BAD_MODEL_METADATA, `${path}: malformed ecf8 entry`);
  }
  const b = Buffer.from(e.original_index, 'base64');
  if (b.toString('base64') !== e.original_index) modelFail(ModelErrorCode.BAD_MODEL_METADATA, `${path}: ecf8.original_index is not valid base64`);
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (sha256Hex(bytes) !== e.original_sha256) modelFail(ModelErrorCode.MODEL_CHECKSUM_MISMATCH, `${path}: original index does not match its SHA-256`);
  return bytes;
}

/** Restores a compressed file or model directory. */
export async function decompressModel(input: string, output: string, options: RestoreOptions & DirectoryOptions = {}): Promise<ModelResult> {
  const t0 = performance.now();
  if (!(await isDirectory(input))) {
    const r = await decompressFile(input, output, options);
    return aggregate(input, output, [r], [], [], t0, false);
  }
  const list = await listTree(input);
  const totals = await totalsOf(input, list.safetensors);
  const tracker = options.tracker ?? new ProgressTracker('decompress', totals.tensors, totals.bytes, options.onProgress);
  return writeDirectoryAtomically(output, options, async (temp) => {
    for (const d of list.dirs) await mkdir(join(temp, d), { recursive: true });
    const files: FileResult[] = [];
    const copied: string[] = [];
    for (const f of list.safetensors) {
      const { layout } = await readModelHeader(join(input, f));
      if (!layout) {
        // Not compressed (e.g. added by hand): copied as it is.
        await copyFile(join(input, f), join(temp, f));
        copied.push(f);
        continue;
      }
      const r = await decompressFile(join(input, f), join(temp, f), { ...options, tracker });
      r.output = join(output, f);
      files.push(r);
    }
    for (const idx of list.indexes) {
      const bytes = await readSmall(join(input, idx));
      const original = originalIndexBytes(parseIndex(bytes, join(input, idx)), join(input, idx));
      await writeFile(join(temp, idx), original ?? bytes);
    }
    for (const o of list.others) await copyFile(join(input, o), join(temp, o));
    return aggregate(input, output, files, list.indexes, [...copied, ...list.others], t0, true);
  });
}

/** Verifies a compressed file or every compressed file (and index) of a directory; writes nothing. */
export async function verifyModel(input: string, options: RestoreOptions = {}): Promise<ModelResult> {
  const t0 = performance.now();
  if (!(await isDirectory(input))) {
    const r = await verifyFile(input, options);
    return aggregate(input, null, [r], [], [], t0, false);
  }
  const list = await listTree(input);
  const compressed: string[] = [];
  for (const f of list.safetensors) if ((await readModelHeader(join(input, f))).layout) compressed.push(f);
  if (compressed.length === 0) modelFail(ModelErrorCode.BAD_MODEL_METADATA, `${input} holds no ECF8-compressed .safetensors files`);
  const totals = await totalsOf(input, compressed);
  const tracker = options.tracker ?? new ProgressTracker('verify', totals.tensors, totals.bytes, options.onProgress);
  const files: FileResult[] = [];
  for (const f of compressed) files.push(await verifyFile(join(input, f), { ...options, tracker }));
  for (const idx of list.indexes) {
    const path = join(input, idx);
    try {
      originalIndexBytes(parseIndex(await readSmall(path), path), path);
    } catch (e) {
      throw addContext(e, relative(input, path) || path);
    }
  }
  return aggregate(input, null, files, list.indexes, [], t0, true);
}

