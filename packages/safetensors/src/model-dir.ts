/**
 * Model directories (sharded checkpoints): every `*.safetensors` file is processed shard by shard, every
 * `*.safetensors.index.json` is rewritten for the stored tensor names (the original index bytes are kept in it, so
 * decompression restores it exactly), and every other file is copied. Subdirectories are processed the same way.
 * Symbolic links are followed (the output holds the targets' contents, like `cp -rL`), so a Hugging Face cache
 * snapshot (`tokenizer.json -> ../../blobs/...`) gives a complete directory; a dangling link, a link loop or a
 * special file (FIFO, socket, device) is an error, never skipped. The output directory is built next to its final
 * path and put in place by `writeDirectoryOutput` (output.ts).
 */
import { copyFile, mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ErrorCode } from '@ecf8/core';
import { addContext, ioError, ModelErrorCode, modelFail } from './errors.js';
import { isDirectory, readSidecar } from './io.js';
import { writeDirectoryOutput, type OutputPolicy } from './output.js';
import {
  compressFile,
  decompressFile,
  readModelHeader,
  verifyFile,
  type CompressOptions,
  type FileResult,
  type RestoreOptions,
} from './model.js';
import { checkIndexShards, INDEX_FORMAT, INDEX_SUFFIX, indexShardPath as shardPath, originalIndexBytes, parseIndex, sha256Hex, type IndexJson } from './model-index.js';
import { ProgressTracker } from './progress.js';


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

export interface DirectoryOptions extends OutputPolicy {
  /** Replace an existing output (file, or non-empty directory). */
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
  // Real paths of the directories being walked (this one and its ancestors): a link back to one is a loop.
  const walk = async (rel: string, ancestors: Set<string>) => {
    const dir = join(root, rel);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw ioError(`cannot read directory ${dir}`, e);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = rel ? join(rel, e.name) : e.name;
      const full = join(root, p);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        // Followed: the output gets the target's content.
        let st;
        try {
          st = await stat(full);
        } catch (err) {
          throw ioError(`cannot follow the symbolic link ${full}`, err);
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        const real = await realpath(full).catch((err) => {
          throw ioError(`cannot read directory ${full}`, err);
        });
        if (ancestors.has(real)) modelFail(ErrorCode.INVALID_ARGUMENT, `${full} links back to a directory that contains it (a loop)`);
        out.dirs.push(p);
        await walk(p, new Set([...ancestors, real]));
      } else if (isFile) {
        if (e.name.endsWith(INDEX_SUFFIX)) out.indexes.push(p);
        else if (e.name.endsWith('.safetensors')) out.safetensors.push(p);
        else out.others.push(p);
      } else {
        modelFail(ErrorCode.INVALID_ARGUMENT, `${full} is not a regular file, directory or link to one (a FIFO, socket or device); remove it or move it out of the directory`);
      }
    }
  };
  const rootReal = await realpath(root).catch((e) => {
    throw ioError(`cannot read directory ${root}`, e);
  });
  await walk('', new Set([rootReal]));
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

/** Reads an index (size-capped, model-file spec §5) and parses it. */
async function readIndex(path: string): Promise<{ bytes: Uint8Array; index: IndexJson }> {
  const bytes = await readSidecar(path);
  return { bytes, index: parseIndex(bytes, path) };
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
  const policy = { force: options.force, inputs: [input, ...(options.inputs ?? [])] };
  return writeDirectoryOutput(
    output,
    async (temp) => {
      for (const d of list.dirs) await mkdir(join(temp, d), { recursive: true });
      const files: FileResult[] = [];
      const byShard = new Map<string, FileResult>();
      for (const f of list.safetensors) {
        const r = await compressFile(join(input, f), join(temp, f), { ...options, force: false, tracker });
        r.output = join(output, f);
        files.push(r);
        byShard.set(f, r);
      }
      for (const idx of list.indexes) {
        const { bytes, index } = await readIndex(join(input, idx));
        // Objects without prototype: tensor names such as `__proto__` are ordinary keys.
        const weightMap: Record<string, string> = Object.create(null);
        const shards: Record<string, string> = Object.create(null);
        for (const [name, shard] of Object.entries(index.weight_map)) {
          const r = byShard.get(shardPath(idx, shard));
          const t = r?.tensors.find((x) => x.name === name);
          weightMap[t ? t.storedName : name] = shard;
          if (r) shards[shard] = r.sha256;
        }
        let total = 0;
        for (const shard of Object.keys(shards)) {
          const r = byShard.get(shardPath(idx, shard))!;
          total += r.streamBytes + r.otherBytes;
        }
        const metadata: Record<string, unknown> = { ...(index.metadata ?? {}) };
        if (Object.hasOwn(metadata, 'total_size')) metadata.total_size = total;
        const rewritten: IndexJson = { ...index, metadata, weight_map: weightMap };
        rewritten.ecf8 = { format: INDEX_FORMAT, version: '1', original_index: Buffer.from(bytes).toString('base64'), original_sha256: sha256Hex(bytes), shards };
        await writeFile(join(temp, idx), JSON.stringify(rewritten, null, 2) + '\n');
      }
      for (const o of list.others) await copyFile(join(input, o), join(temp, o));
      return aggregate(input, output, files, list.indexes, list.others, t0, true);
    },
    policy,
  );
}

/**
 * Checks that a compressed directory holds every shard its indexes name (model-file spec §5): each shard the `weight_map`
 * names exists and holds the tensor it is named for, and each shard recorded in `ecf8.shards` is a compressed file
 * of that original (its `ecf8.original_sha256`). A missing, renamed or swapped shard is ECF8_MISSING_SHARD.
 */
async function checkShards(input: string, list: Listing): Promise<void> {
  const present = new Set(list.safetensors);
  const headers = new Map<string, Awaited<ReturnType<typeof readModelHeader>>>();
  const shardOf = async (rel: string) => {
    if (!present.has(rel)) return null;
    let h = headers.get(rel);
    if (!h) headers.set(rel, (h = await readModelHeader(join(input, rel))));
    return h;
  };
  for (const idx of list.indexes) {
    const path = join(input, idx);
    const { index } = await readIndex(path);
    await checkIndexShards(index, idx, relative(input, path) || path, shardOf);
  }
}

/** Restores a compressed file or model directory. */
export async function decompressModel(input: string, output: string, options: RestoreOptions & DirectoryOptions = {}): Promise<ModelResult> {
  const t0 = performance.now();
  if (!(await isDirectory(input))) {
    const r = await decompressFile(input, output, options);
    return aggregate(input, output, [r], [], [], t0, false);
  }
  const list = await listTree(input);
  await checkShards(input, list);
  const totals = await totalsOf(input, list.safetensors);
  const tracker = options.tracker ?? new ProgressTracker('decompress', totals.tensors, totals.bytes, options.onProgress);
  const policy = { force: options.force, inputs: [input, ...(options.inputs ?? [])] };
  return writeDirectoryOutput(
    output,
    async (temp) => {
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
        const r = await decompressFile(join(input, f), join(temp, f), { ...options, force: false, tracker });
        r.output = join(output, f);
        files.push(r);
      }
      for (const idx of list.indexes) {
        const { bytes, index } = await readIndex(join(input, idx));
        const original = originalIndexBytes(index, join(input, idx));
        await writeFile(join(temp, idx), original ?? bytes);
      }
      for (const o of list.others) await copyFile(join(input, o), join(temp, o));
      return aggregate(input, output, files, list.indexes, [...copied, ...list.others], t0, true);
    },
    policy,
  );
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
  try {
    await checkShards(input, list);
  } catch (e) {
    throw addContext(e, input);
  }
  const totals = await totalsOf(input, compressed);
  const tracker = options.tracker ?? new ProgressTracker('verify', totals.tensors, totals.bytes, options.onProgress);
  const files: FileResult[] = [];
  for (const f of compressed) files.push(await verifyFile(join(input, f), { ...options, tracker }));
  return aggregate(input, null, files, list.indexes, [], t0, true);
}
