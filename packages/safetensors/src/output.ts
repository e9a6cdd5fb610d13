/**
 * The one output rule of every command that writes (docs/model-files.md, "Outputs"):
 *
 * - an existing path is never replaced without `force` (ECF8_OUTPUT_EXISTS); an empty directory counts as absent;
 * - an output that is an input is refused (ECF8_OUTPUT_IS_INPUT): same real path or same device and inode, a path
 *   inside an input directory, or a directory holding an input;
 * - `-` (and `/dev/stdout`) is standard output, written in order with no temporary file; an existing character
 *   device or FIFO (`/dev/null`, a named pipe) is written through, never replaced; other special files are refused;
 * - a regular output is written to a temporary path next to the target, `.<name>.ecf8-<pid>-<hex>.<kind>` (a long
 *   name is shortened and hashed so the temporary name stays under 255 bytes), and renamed onto the target only when
 *   complete; a run sweeps the temporaries of its target left by a process that no longer exists;
 * - temporaries are removed on any error and, through {@link installSignalCleanup}, on SIGINT, SIGTERM, SIGHUP and
 *   SIGQUIT; a cleanup failure never hides the error that caused it;
 * - a directory replaced with `force` is swapped only after the new tree is complete: the original is renamed to
 *   `.<name>.ecf8-<pid>-<hex>.old` and the new tree renamed into place in two synchronous calls (no signal handler
 *   runs between them); the `.old` tree is never treated as a temporary: a re-run renames it back when the target is
 *   missing (the process was killed between the two renames) and deletes it only when the target is in place.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, renameSync } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Ecf8Error, ErrorCode } from '@ecf8/core';
import { ioError, ModelErrorCode, modelFail } from './errors.js';
import { activeTemps, removeQuietly, sweepStaleTemps, tempPathFor, testPause } from './temps.js';

export { activeTemps, CLEANUP_SIGNALS, installSignalCleanup, removeActiveTemps, removeActiveTempsSync, sweepStaleTemps, tempPathFor, testPause } from './temps.js';

/** The output name that means standard output. */
export const STDOUT = '-';

const STDOUT_ALIASES = new Set([STDOUT, '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/** True when `target` names standard output (`-` or `/dev/stdout`). */
export function isStdout(target: string): boolean {
  return STDOUT_ALIASES.has(target);
}

// ---------------------------------------------------------------------------------------------------------------
// Policy: force and inputs, given per call or for a whole command (the CLI wraps each command in one)

export interface OutputPolicy {
  /** Replace an existing output (a regular file, a non-empty directory). Default false. */
  force?: boolean;
  /** Paths the command reads; the output may not be any of them. */
  inputs?: readonly string[];
}

const policyStore = new AsyncLocalStorage<OutputPolicy>();

/** Runs `fn` with `policy` applying to every output written inside it (unless a call passes its own). */
export function withOutputPolicy<T>(policy: OutputPolicy, fn: () => Promise<T>): Promise<T> {
  return policyStore.run(policy, fn);
}

function effectivePolicy(options: OutputPolicy = {}): { force: boolean; inputs: string[] } {
  const ambient = policyStore.getStore() ?? {};
  return { force: options.force ?? ambient.force ?? false, inputs: [...(ambient.inputs ?? []), ...(options.inputs ?? [])] };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks before writing

type Planned = { kind: 'stdout' } | { kind: 'device' } | { kind: 'regular'; existing: boolean } | { kind: 'directory'; existing: boolean };

/** Real path of `p`, or of its parent joined with its name when `p` does not exist (null when neither exists). */
async function resolvedPath(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch {
    try {
      return join(await realpath(dirname(resolve(p))), basename(p));
    } catch {
      return null;
    }
  }
}

const inside = (child: string, parent: string) => child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

async function refuseInputs(target: string, inputs: readonly string[]): Promise<void> {
  if (inputs.length === 0) return;
  const out = await resolvedPath(target);
  const outStat = await stat(target).catch(() => null);
  for (const input of inputs) {
    if (isStdout(input)) continue;
    const real = await resolvedPath(input);
    const inStat = await stat(input).catch(() => null);
    const same = (out !== null && real !== null && out === real) || (outStat !== null && inStat !== null && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same) modelFail(ModelErrorCode.OUTPUT_IS_INPUT, `output ${target} is the input ${input}`);
    if (out !== null && real !== null) {
      if (inside(real, out)) modelFail(ModelErrorCode.OUTPUT_IS_INPUT, `output ${target} holds the input ${input}; replacing it would delete the input`);
      // Anything written inside an input directory would change (or replace a file of) the input.
      if (inStat?.isDirectory() && inside(out, real)) modelFail(ModelErrorCode.OUTPUT_IS_INPUT, `output ${target} is inside the input directory ${input}`);
    }
  }
}

async function planOutput(target: string, policy: { force: boolean; inputs: string[] }, directory: boolean): Promise<Planned> {
  if (target === '') modelFail(ErrorCode.INVALID_ARGUMENT, 'empty output path');
  if (isStdout(target)) {
    if (directory) modelFail(ErrorCode.INVALID_ARGUMENT, 'a directory cannot be written to standard output');
    return { kind: 'stdout' };
  }
  if (!directory && /[\\/]$/.test(target)) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} ends with a path separator; give a file name`);
  await refuseInputs(target, policy.inputs);
  sweepStaleTemps(target);
  let st;
  try {
    st = await stat(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot write ${target}`, e);
    // A dangling symbolic link is still something that would be replaced.
    const isLink = await lstat(target).then(() => true, () => false);
    if (isLink && !policy.force) modelFail(ModelErrorCode.OUTPUT_EXISTS, `${target} exists (a dangling symbolic link); pass --force to replace it`);
    return directory ? { kind: 'directory', existing: isLink } : { kind: 'regular', existing: isLink };
  }
  if (st.isCharacterDevice() || st.isFIFO()) {
    if (directory) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} is a device or pipe, not a directory`);
    return { kind: 'device' };
  }
  if (st.isDirectory()) {
    if (!directory) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} is a directory; give a file name`);
    const entries = await readdir(target).catch((e) => {
      throw ioError(`cannot read directory ${target}`, e);
    });
    if (entries.length > 0 && !policy.force) modelFail(ModelErrorCode.OUTPUT_EXISTS, `output directory ${target} exists and is not empty; pass --force to replace it`);
    return { kind: 'directory', existing: true };
  }
  if (st.isFile()) {
    if (directory) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} exists and is not a directory`);
    if (!policy.force) modelFail(ModelErrorCode.OUTPUT_EXISTS, `${target} exists; pass --force to replace it`);
    return { kind: 'regular', existing: true };
  }
  return modelFail(ErrorCode.INVALID_ARGUMENT, `${target} is a special file (socket or block device); refusing to write to it`);
}

// ---------------------------------------------------------------------------------------------------------------
// Sinks

/** Where a command writes its bytes. */
export interface OutputSink {
  /** The path given (or `-`). */
  readonly target: string;
  /** True for standard output, pipes and devices: writes must come in order (`position` = bytes written so far). */
  readonly sequential: boolean;
  write(bytes: Uint8Array, position: number): Promise<void>;
}

/** Largest single write call (fs calls take 32-bit lengths). */
const MAX_IO = 1 << 30;

async function writeFully(fh: FileHandle, buf: Uint8Array, position: number | null, what: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let r;
    try {
      r = await fh.write(buf, done, Math.min(buf.length - done, MAX_IO), position === null ? null : position + done);
    } catch (e) {
      throw ioError(`cannot write ${what}`, e);
    }
    done += r.bytesWritten;
  }
}

function orderedSink(target: string, put: (bytes: Uint8Array) => Promise<void>): OutputSink {
  let written = 0;
  return {
    target,
    sequential: true,
    async write(bytes, position) {
      if (position !== written) throw new Error(`internal: out-of-order write to ${target} (at ${position}, ${written} written)`);
      await put(bytes);
      written += bytes.length;
    },
  };
}

function stdoutSink(): OutputSink {
  const out = process.stdout;
  let failure: Error | null = null;
  // Kept for the life of the process: an EPIPE (the reader went away) must be an error code, not a crash.
  out.on('error', (e) => {
    failure ??= e;
  });
  return orderedSink(STDOUT, (bytes) => {
    return new Promise<void>((resolveWrite, reject) => {
      if (failure) return reject(ioError('cannot write to standard output', failure));
      if (bytes.length === 0) return resolveWrite();
      // A copy (the caller reuses its buffers); the callback comes once the bytes are handed over (backpressure).
      out.write(Buffer.from(bytes), (e) => (e ? reject(ioError('cannot write to standard output', e)) : resolveWrite()));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

export interface OutputOptions extends OutputPolicy {
  /** The writer writes in order from byte 0, so standard output and pipes can take it. Default false. */
  sequential?: boolean;
}

/**
 * Writes `target` by the rule of this module; `write` fills a sink. Regular targets get a temporary file renamed into
 * place at the end (never over a path that appeared meanwhile, unless forced); standard output and devices are
 * written directly, in order, which only a `sequential` writer can do.
 */
export async function writeOutput<T>(target: string, write: (sink: OutputSink) => Promise<T>, options: OutputOptions = {}): Promise<T> {
  const policy = effectivePolicy(options);
  const plan = await planOutput(target, policy, false);
  if (plan.kind === 'stdout' || plan.kind === 'device') {
    if (!options.sequential) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} is not a regular file, and this output is written out of order; give a file name`);
    if (plan.kind === 'stdout') return write(stdoutSink());
    await testPause('device-open');
    const fh = await openExisting(target);
    try {
      return await write(orderedSink(target, (bytes) => writeFully(fh, bytes, null, target)));
    } finally {
      await fh.close().catch(() => {});
    }
  }
  return writeRegular(target, plan.kind === 'regular' && plan.existing, policy.force, async (fh) =>
    write({ target, sequential: false, write: (bytes, position) => writeFully(fh, bytes, position, target) }),
  );
}

async function writeRegular<T>(target: string, existing: boolean, force: boolean, write: (fh: FileHandle, temp: string) => Promise<T>): Promise<T> {
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
      await fh.close().catch(() => {});
    }
    await testPause('file-written');
    await publish(temp, target, existing || force);
    activeTemps.delete(temp);
    return result;
  } catch (e) {
    await removeQuietly(temp);
    throw e;
  }
}

/** Moves a complete temporary file onto `target`: by rename when replacing is allowed, else by a link that fails if `target` appeared. */
async function publish(temp: string, target: string, replace: boolean): Promise<void> {
  if (!replace) {
    try {
      await link(temp, target);
      await unlink(temp).catch(() => {});
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') modelFail(ModelErrorCode.OUTPUT_EXISTS, `${target} appeared while it was being written; pass --force to replace it`);
      // File systems without hard links: fall back to rename.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK') throw ioError(`cannot write ${target}`, e);
    }
  }
  try {
    await rename(temp, target);
  } catch (e) {
    throw ioError(`cannot write ${target}`, e);
  }
}

/** Opens an existing device or FIFO for writing through it (never replaced); errors name the path. */
async function openExisting(target: string): Promise<FileHandle> {
  try {
    return await open(target, constants.O_WRONLY);
  } catch (e) {
    throw ioError(`cannot write ${target}`, e);
  }
}

/**
 * Writes `target` through a temporary file: `write(fh, tempPath)` fills it, then it is synced and moved onto
 * `target` (the earlier API, kept for callers that write at scattered positions). Devices are opened and written
 * directly; standard output is refused (the writer is not known to write in order).
 */
export async function writeFileAtomically<T>(target: string, write: (fh: FileHandle, tempPath: string) => Promise<T>, options: OutputPolicy = {}): Promise<T> {
  const policy = effectivePolicy(options);
  const plan = await planOutput(target, policy, false);
  if (plan.kind === 'stdout') modelFail(ErrorCode.INVALID_ARGUMENT, `this command writes its output out of order and cannot write to standard output; give a file name`);
  if (plan.kind === 'device') {
    const fh = await openExisting(target);
    try {
      return await write(fh, target);
    } catch (e) {
      if ((e as Error).message.includes('ESPIPE')) modelFail(ErrorCode.INVALID_ARGUMENT, `${target} is a pipe, and this command writes its output out of order; give a file name`);
      throw e;
    } finally {
      await fh.close().catch(() => {});
    }
  }
  return writeRegular(target, plan.kind === 'regular' && plan.existing, policy.force, write);
}

/**
 * Builds a directory at a temporary path with `build(tempDir)`, then puts it at `output`. An existing non-empty
 * `output` needs `force`; it is swapped out only once the new tree is complete (see the module comment).
 */
export async function writeDirectoryOutput<T>(output: string, build: (tempDir: string) => Promise<T>, options: OutputPolicy = {}): Promise<T> {
  const policy = effectivePolicy(options);
  const plan = await planOutput(output, policy, true);
  const existing = plan.kind === 'directory' && plan.existing;
  const temp = tempPathFor(output, 'tmpdir');
  activeTemps.add(temp);
  try {
    try {
      await mkdir(temp);
    } catch (e) {
      throw ioError(`cannot create ${output}`, e);
    }
    const result = await build(temp);
    await testPause('dir-built');
    if (existing) {
      const old = tempPathFor(output, 'old');
      // Two synchronous renames: no signal handler can run between them, so a catchable signal finds either the
      // original or the new tree at `output`. (SIGKILL there leaves the original as `.old`, which a re-run restores.)
      try {
        renameSync(output, old);
      } catch (e) {
        throw ioError(`cannot replace ${output}`, e);
      }
      try {
        renameSync(temp, output);
      } catch (e) {
        try {
          renameSync(old, output);
        } catch (restoreError) {
          // Never hide where the original is: the message names it (and a re-run puts it back).
          throw ioError(`cannot replace ${output} (${(e as Error).message}), and the original could not be put back; it is intact at ${old}`, restoreError);
        }
        throw ioError(`cannot replace ${output}`, e);
      }
      activeTemps.delete(temp);
      await testPause('dir-swapped');
      // The original, now replaced at the user's request (--force). Not a temporary: a signal here leaves it for
      // the next run's sweep, which deletes it because `output` is in place.
      await rm(old, { recursive: true, force: true }).catch(() => {});
    } else {
      try {
        await rename(temp, output);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (e as NodeJS.ErrnoException).code === 'EEXIST') {
          modelFail(ModelErrorCode.OUTPUT_EXISTS, `output directory ${output} appeared while it was being written; pass --force to replace it`);
        }
        throw ioError(`cannot create ${output}`, e);
      }
      activeTemps.delete(temp);
    }
    return result;
  } catch (e) {
    await removeQuietly(temp);
    throw e;
  }
}

/** True for an Ecf8Error with one of the output codes (tests and callers that want to tell them apart). */
export function isOutputRefusal(e: unknown): boolean {
  return e instanceof Ecf8Error && (e.code === (ModelErrorCode.OUTPUT_EXISTS as string) || e.code === (ModelErrorCode.OUTPUT_IS_INPUT as string));
}
