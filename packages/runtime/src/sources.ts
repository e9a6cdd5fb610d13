/**
 * Where a compressed model's bytes come from. Every input becomes a list of shards with positioned reads: bytes in
 * memory (ArrayBuffer, typed array, a fetch Response read once), a Blob or File (read slice by slice, so a file
 * picked in a browser is never read whole), or, in Node only, a path to a file or a directory of shards. The Node
 * part is imported dynamically (node-files.ts), so this module and everything that imports it load in browsers.
 */
import { ErrorCode, fail } from '@ecf8/core';

/** One safetensors file of the model, read by byte ranges. */
export interface Shard {
  /** File name (path relative to the model directory, or a label for in-memory inputs). */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`. In-memory shards return a view (no copy), others a new buffer. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Whether {@link read} returns views of memory the shard already holds (then nothing needs copying). */
  readonly inMemory: boolean;
  close(): Promise<void>;
}

/** A sharded checkpoint's `*.safetensors.index.json`, named like the shards (path relative to the model directory). */
export interface IndexFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A model's shards and, for a directory, its index files (checked against the shards at open). */
export interface ModelFiles {
  shards: Shard[];
  indexes: IndexFile[];
}

/** What {@link openModel} accepts: a path (Node), bytes, a Blob/File, a fetch Response, or several shards. */
export type ModelSource = string | ArrayBuffer | ArrayBufferView | Blob | Response | readonly (ArrayBuffer | ArrayBufferView | Blob)[];

export function memoryShard(bytes: Uint8Array, name = 'model.safetensors'): Shard {
  return {
    name,
    size: bytes.length,
    inMemory: true,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) fail(ErrorCode.IO_ERROR, `${name}: read of ${length} bytes at ${offset} runs past its ${bytes.length} bytes`);
      return bytes.subarray(offset, offset + length);
    },
    close: async () => {},
  };
}

function blobShard(blob: Blob, name: string): Shard {
  return {
    name,
    size: blob.size,
    inMemory: false,
    read: async (offset, length) => {
      const bytes = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      if (bytes.length !== length) fail(ErrorCode.IO_ERROR, `${name}: read ${bytes.length} of ${length} bytes at ${offset}`);
      return bytes;
    },
    close: async () => {},
  };
}

const isResponse = (x: unknown): x is Response => typeof Response !== 'undefined' && x instanceof Response;
const isBlob = (x: unknown): x is Blob => typeof Blob !== 'undefined' && x instanceof Blob;

function bytesOf(x: ArrayBuffer | ArrayBufferView): Uint8Array {
  return x instanceof ArrayBuffer ? new Uint8Array(x) : new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

function one(x: ArrayBuffer | ArrayBufferView | Blob, name: string): Shard {
  if (isBlob(x)) return blobShard(x, (x as File).name || name);
  if (x instanceof ArrayBuffer || ArrayBuffer.isView(x)) return memoryShard(bytesOf(x), name);
  return fail(ErrorCode.INVALID_ARGUMENT, 'a model source must be a path, an ArrayBuffer, a typed array, a Blob or a Response');
}

/** The shards of `source`, in a stable order. */
export async function openShards(source: ModelSource): Promise<Shard[]> {
  return (await openModelFiles(source)).shards;
}

/** The shards of `source`, in a stable order, and the index files of a directory path. */
export async function openModelFiles(source: ModelSource): Promise<ModelFiles> {
  if (typeof source === 'string') {
    // Node only: the file-system reader is loaded when a path is given, never at import time.
    const { openPathFiles } = await import('./node-files.js');
    return openPathFiles(source);
  }
  return { shards: await openInMemory(source), indexes: [] };
}

async function openInMemory(source: Exclude<ModelSource, string>): Promise<Shard[]> {
  if (isResponse(source)) {
    if (!source.ok) fail(ErrorCode.IO_ERROR, `fetch of ${source.url || 'the model'} failed: HTTP ${source.status}`);
    const name = source.url ? decodeURIComponent(new URL(source.url).pathname.split('/').pop() || 'model.safetensors') : 'model.safetensors';
    return [memoryShard(new Uint8Array(await source.arrayBuffer()), name)];
  }
  if (Array.isArray(source)) {
    if (source.length === 0) fail(ErrorCode.INVALID_ARGUMENT, 'no shards given');
    return source.map((s, i) => one(s, `shard-${i}.safetensors`));
  }
  return [one(source as ArrayBuffer | ArrayBufferView | Blob, 'model.safetensors')];
}
