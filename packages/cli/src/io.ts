/**
 * File helpers for the CLI. Every output goes through @ecf8/safetensors' output rule (output.ts there): nothing is
 * replaced without --force, an output that is an input is refused, `-` is standard output, temporaries are removed
 * on errors and signals.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { writeFileAtomically, writeOutput, type OutputPolicy } from '@ecf8/safetensors';

export { tempPathFor } from '@ecf8/safetensors';

/**
 * Runs `write(tempPath)`, then moves the temp file onto `target` (the earlier API: the callback writes the path
 * itself). On any error the temp file is removed and the previous `target` (if any) is left untouched.
 */
export async function writeAtomically(target: string, write: (tempPath: string) => Promise<void> | void, options: OutputPolicy = {}): Promise<void> {
  await writeFileAtomically(target, async (_fh, tempPath) => write(tempPath), options);
}

/** Writes `bytes` as the whole of `target` (`-` = standard output) by the output rule. */
export async function writeWholeOutput(target: string, bytes: Uint8Array, options: OutputPolicy = {}): Promise<void> {
  await writeOutput(target, (sink) => sink.write(bytes, 0), { ...options, sequential: true });
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
