/**
 * File helpers: positioned reads of exact length, chunked copies, and atomic outputs (write to a temp path next to
 * the target, rename at the end). Temp paths in use are tracked so that a CLI can remove them on SIGINT/SIGTERM.
 */
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes, type Hash } from 'node:crypto';
import { ioError } from './errors.js';
import { headerSizeOf, parseHeaderBytes, type SafetensorsHeader } from './format.js';

/** Largest single read or write call (fs calls take 32-bit lengths). */
const MAX_IO = 1 << 30;
/** Chunk size for copying tensors that are not compressed. */
export const COPY_CHUNK = 16 << 20;

/** Temp files and directories currently being written; removed by {@link removeActiveTemps}. */
export const activeTemps = new Set<string>();

/** Removes every temp path still in {@link activeTemps} (synchronously safe to call from a signal handler). */
export async function removeActiveTemps(): Promise<void> {
  for (const p of [...activeTemps]) {
    await rm(p, { recursive: true, force: true }).catch(() => {});
    activeTemps.delete(p);
  }
}

export function tempPathFor(target: string, kind = 'tmp'): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

export async function openRead(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(`cannot read ${path}`, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw ioError(`cannot read ${path}`, e);
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
  dst: FileHandle | null,
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
    if (dst) await writeAll(dst, chunk, to + done);
    done += n;
    onBytes?.(n);
  }
}

/**
 * Writes `target` through a temp file: `write(fh)` fills it, then it is synced and renamed onto `target`. On any
 * error (or if the process is interrupted and the CLI cleans up) the temp file is removed and `target` is untouched.
 */
export async function writeFileAtomically<T>(target: string, write: (fh: FileHandle, tempPath: string) => Promise<T>): Promise<T> {
  const temp = tempPathFor(target);
  activeTemps.add(temp);
  try {
    let fh: FileHandle;
    try {
      fh = await open(temp, 'wx');
    } catch (e) {
      throw ioError(`cannot write ${target}`, e);
    }
    let result: T;
    try {
      result = await write(fh, temp);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(temp, target);
    } catch (e) {
      throw ioError(`cannot write ${target}`, e);
    }
    return result;
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  } finally {
    activeTemps.delete(temp);
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
