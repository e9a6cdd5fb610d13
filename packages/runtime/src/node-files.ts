/**
 * Node only (imported dynamically by sources.ts): a model path is a compressed `.safetensors` file, or a directory
 * whose `*.safetensors` files (searched recursively, sorted) are the shards of a sharded checkpoint, checked against
 * its `*.safetensors.index.json` files. Files are read
 * with positioned reads; nothing is read whole.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ErrorCode, Ecf8Error, fail } from '@ecf8/core';
import { INDEX_SUFFIX, MAX_INDEX_BYTES, ModelErrorCode } from '@ecf8/safetensors/layout';
import type { IndexFile, ModelFiles, Shard } from './sources.js';

const MAX_READ = 1 << 30;

function ioError(what: string, e: unknown): Ecf8Error {
  return new Ecf8Error(ErrorCode.IO_ERROR, `${what}: ${(e as Error).message}`);
}

async function fileShard(path: string, name: string): Promise<Shard> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
  const size = (await fh.stat()).size;
  return {
    name,
    size,
    inMemory: false,
    async read(offset, length) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        let n: number;
        try {
          n = (await fh.read(out, done, Math.min(MAX_READ, length - done), offset + done)).bytesRead;
        } catch (e) {
          throw ioError(`cannot read ${path}`, e);
        }
        if (n === 0) fail(ErrorCode.IO_ERROR, `${path}: unexpected end of file at byte ${offset + done} (was it changed while open?)`);
        done += n;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

async function findShards(root: string, dir: string, out: string[], indexes: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e) => {
    throw ioError(`cannot read directory ${dir}`, e);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await findShards(root, p, out, indexes);
    else if (e.isFile() && e.name.endsWith('.safetensors')) out.push(relative(root, p));
    else if (e.isFile() && e.name.endsWith(INDEX_SUFFIX)) indexes.push(relative(root, p));
  }
}

/** An index file, refused before reading when over {@link MAX_INDEX_BYTES}. */
async function readIndexFile(path: string, name: string): Promise<IndexFile> {
  const fh = await open(path, 'r').catch((e) => {
    throw ioError(`cannot read ${path}`, e);
  });
  try {
    const size = (await fh.stat()).size;
    if (size > MAX_INDEX_BYTES) fail(ModelErrorCode.BAD_SAFETENSORS as ErrorCode, `${path}: index of ${size} bytes is over the ${MAX_INDEX_BYTES}-byte limit for side files`);
    const bytes = new Uint8Array(size);
    const { bytesRead } = await fh.read(bytes, 0, size, 0).catch((e) => {
      throw ioError(`cannot read ${path}`, e);
    });
    if (bytesRead !== size) fail(ErrorCode.IO_ERROR, `${path}: read ${bytesRead} of ${size} bytes (was it changed while open?)`);
    return { name, bytes };
  } finally {
    await fh.close();
  }
}

/**
 * The shards of a file or directory path and, for a directory, its `*.safetensors.index.json` files (names relative
 * to the directory, like the shards').
 */
export async function openPathFiles(path: string): Promise<ModelFiles> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
  if (!isDir) return { shards: [await fileShard(path, path.split(/[\\/]/).pop()!)], indexes: [] };
  const names: string[] = [];
  const indexNames: string[] = [];
  await findShards(path, path, names, indexNames);
  if (names.length === 0) fail(ErrorCode.INVALID_ARGUMENT, `${path} holds no .safetensors files`);
  const indexes: IndexFile[] = [];
  for (const n of indexNames) indexes.push(await readIndexFile(join(path, n), n));
  const shards: Shard[] = [];
  try {
    for (const n of names) shards.push(await fileShard(join(path, n), n));
  } catch (e) {
    await Promise.all(shards.map((s) => s.close()));
    throw e;
  }
  return { shards, indexes };
}
