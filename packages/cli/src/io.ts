/** File helpers for the CLI: atomic writes (temp file + rename) so a failed run never leaves a valid-looking output. */
import { closeSync, openSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp path next to `target` (same directory, so the final rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `write(tempPath)`, then renames the temp file onto `target`. On any error the temp file is removed and the
 * previous `target` (if any) is left untouched.
 */
export async function writeAtomically(target: string, write: (tempPath: string) => Promise<void> | void): Promise<void> {
  const temp = tempPathFor(target);
  try {
    await write(temp);
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** Writes bytes to `path` durably. */
export function writeBytes(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
