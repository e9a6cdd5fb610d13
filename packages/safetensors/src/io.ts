/**
 * File helpers: inputs opened without blocking (a FIFO or device is refused, never waited on), positioned reads of
 * exact length, chunked copies, size-capped reads of small JSON files. Outputs are written by `output.ts` (one rule
 * for every command); its functions are re-exported here for earlier callers.
 */
import { constants, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { type Hash } from 'node:crypto';
import { ErrorCode } from '@ecf8/core';
import { ioError, modelFail } from './errors.js';
import { headerSizeOf, parseHeaderBytes, type SafetensorsHeader } from './format.js';

import type { OutputSink } from './output.js';

export { activeTemps, removeActiveTemps, tempPathFor, writeFileAtomically } from './output.js';

/**
 * Largest JSON side file read (`*.safetensors.index.json`, `config.json`, pattern dictionaries): 64 MiB. The
 * largest published indexes are a few MB (a compressed index holds the original too, about 2.4 times its size).
 */
export const MAX_SIDECAR_BYTES = 64 << 20;

/** Open flags for inputs: O_NONBLOCK makes opening a FIFO return at once (it is then refused as not a regular file). */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Largest single read or write call (fs calls take 32-bit lengths). */
const MAX_IO = 1 << 30;
/** Chunk size for copying tensors that are not compressed. */
export const COPY_CHUNK = 16 << 20;

export async function openRead(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
  let st;
  try {
    st = await fh.stat();
  } catch (e) {
    await fh.close().catch(() => {});
    throw ioError(`cannot read ${path}`, e);
  }
  if (!st.isFile()) {
    await fh.close().catch(() => {});
    modelFail(ErrorCode.INVALID_ARGUMENT, `${path} is ${kindOf(st)}, not a regular file`);
  }
  return { fh, size: st.size };
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * Reads a whole regular file (at most `maxBytes`), synchronously; FIFOs and devices are refused without blocking.
 * For the CLI's raw-stream commands (`encode`, `decode`, `inspect` of a stream).
 */
export function readWholeFileSync(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) modelFail(ErrorCode.INVALID_ARGUMENT, `${path} is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) modelFail(ErrorCode.LIMIT_EXCEEDED, `${path} is ${st.size} bytes, over the limit of ${maxBytes}`);
    let buf: Uint8Array;
    try {
      buf = new Uint8Array(st.size);
    } catch (e) {
      return modelFail(ErrorCode.LIMIT_EXCEEDED, `${path} is ${st.size} bytes, more than this process can hold (${(e as Error).message})`);
    }
    let done = 0;
    while (done < buf.length) {
      let n;
      try {
        n = readSync(fd, buf, done, Math.min(buf.length - done, MAX_IO), done);
      } catch (e) {
        throw ioError(`cannot read ${path}`, e);
      }
      if (n === 0) throw ioError(`cannot read ${path}`, new Error(`unexpected end of file at byte ${done} (was the file changed while being read?)`));
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Reads a small side file (JSON), refusing one over {@link MAX_SIDECAR_BYTES} before reading it. */
export async function readSidecar(path: string, maxBytes = MAX_SIDECAR_BYTES): Promise<Uint8Array> {
  const { fh, size } = await openRead(path);
  try {
    if (size > maxBytes) modelFail(ErrorCode.LIMIT_EXCEEDED, `${path} is ${size} bytes; JSON side files are limited to ${maxBytes} bytes`);
    return await readBytes(fh, 0, size);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Reads exactly `length` bytes at `position` into `buf[offset..]`. */
export async function readExactly(fh: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    let r;
    try {
      r = await fh.read(buf, offset + done, Math.min(length - done, MAX_IO), position + done);
    } catch (e) {
      throw ioError('read failed', e);
    }
    if (r.bytesRead === 0) throw ioError('read failed', new Error(`unexpected end of file at byte ${position + done} (was the file changed while being read?)`));
    done += r.bytesRead;
  }
}

export async function readBytes(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await readExactly(fh, buf, 0, length, position);
  return buf;
}

export async function writeAll(fh: FileHandle, buf: Uint8Array, position?: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let r;
    try {
      r = await fh.write(buf, done, Math.min(buf.length - done, MAX_IO), position === undefined ? null : position + done);
    } catch (e) {
      throw ioError('write failed', e);
    }
    done += r.bytesWritten;
  }
}

/** Reads and validates the header of an open safetensors file. */
export async function readSafetensorsHeader(fh: FileHandle, size: number): Promise<SafetensorsHeader> {
  const prefix = await readBytes(fh, 0, Math.min(8, size));
  const n = headerSizeOf(prefix, size);
  const headerBytes = await readBytes(fh, 8, n);
  return parseHeaderBytes(headerBytes, size - 8 - n, size);
}

/** Opens a safetensors file and reads its header. The caller closes `fh`. */
export async function openSafetensors(path: string): Promise<{ fh: FileHandle; size: number; header: SafetensorsHeader }> {
  const { fh, size } = await openRead(path);
  try {
    return { fh, size, header: await readSafetensorsHeader(fh, size) };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Copies `length` bytes from `src` at `from` to `dst` at `to` (when given), hashing them if asked. */
export async function copyRange(
  src: FileHandle,
  from: number,
  length: number,
  dst: FileHandle | OutputSink | null,
  to: number,
  hash: Hash | null,
  scratch: { buf: Uint8Array },
  onBytes?: (n: number) => void,
): Promise<void> {
  if (scratch.buf.length < Math.min(length, COPY_CHUNK)) scratch.buf = new Uint8Array(COPY_CHUNK);
  let done = 0;
  while (done < length) {
    const n = Math.min(COPY_CHUNK, length - done);
    const chunk = scratch.buf.subarray(0, n);
    await readExactly(src, chunk, 0, n, from + done);
    hash?.update(chunk);
    if (dst && 'sequential' in dst) await dst.write(chunk, to + done);
    else if (dst) await writeAll(dst, chunk, to + done);
    done += n;
    onBytes?.(n);
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
