/**
 * Error codes for model files (spec/ecf8-safetensors-v1.md §7). They are not about an ECF8 stream, so they are not in the stream
 * list of spec §11.1; they are reported the same way (an {@link Ecf8Error} whose message starts with the code).
 * A stream stored inside a model file that is itself invalid is reported with the stream's own §11.1 code.
 */
import { Ecf8Error, ErrorCode } from '@ecf8/core';

export const ModelErrorCode = {
  /** The file is not a valid safetensors file (header length, JSON, dtypes, shapes, offsets, coverage). */
  BAD_SAFETENSORS: 'ECF8_BAD_SAFETENSORS',
  /** A compressed model file's `ecf8.*` metadata (or a compressed index's `ecf8` entry) is missing or inconsistent. */
  BAD_MODEL_METADATA: 'ECF8_BAD_MODEL_METADATA',
  /** The restored file's SHA-256 or size differs from the one recorded at compression time. */
  MODEL_CHECKSUM_MISMATCH: 'ECF8_MODEL_CHECKSUM_MISMATCH',
  /** Buffers in the authors' official ECF8 layout are malformed or inconsistent. */
  BAD_OFFICIAL_LAYOUT: 'ECF8_BAD_OFFICIAL_LAYOUT',
  /** The output path exists and `--force` was not given (nothing is replaced without it). */
  OUTPUT_EXISTS: 'ECF8_OUTPUT_EXISTS',
  /** The output path is one of the inputs (same path, same file, or a directory holding or inside an input). */
  OUTPUT_IS_INPUT: 'ECF8_OUTPUT_IS_INPUT',
  /** A compressed checkpoint directory lacks a shard its index names, or a shard is not the one the index recorded. */
  MISSING_SHARD: 'ECF8_MISSING_SHARD',
} as const;

export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

/** Throws an {@link Ecf8Error} with a model-file code (or any core code). */
export function modelFail(code: ModelErrorCode | ErrorCode, message: string): never {
  throw new Ecf8Error(code as ErrorCode, message);
}

/** Re-throws an Ecf8Error with `context` prefixed to its message (same code); other errors pass through. */
export function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw addContext(e, context);
  }
}

export function addContext(e: unknown, context: string): unknown {
  if (e instanceof Ecf8Error) {
    const bare = e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message;
    return new Ecf8Error(e.code, `${context}: ${bare}`);
  }
  return asEcf8Error(e, context);
}

/**
 * Gives a plain JavaScript or Node error a stable code and the file it concerns: an allocation the engine refuses
 * (`RangeError`, e.g. "Invalid typed array length" for a tensor over 4 GiB) is ECF8_LIMIT_EXCEEDED, a file-system
 * error (`ENOENT`, `EACCES`, ...) is ECF8_IO_ERROR. Anything else is returned unchanged (an internal error).
 */
export function asEcf8Error(e: unknown, context: string): unknown {
  if (e instanceof Ecf8Error) return e;
  if (e instanceof RangeError) return new Ecf8Error(ErrorCode.LIMIT_EXCEEDED, `${context}: more memory than this process can address (${e.message})`);
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new Ecf8Error(ErrorCode.IO_ERROR, `${context}: ${(e as Error).message}`);
  return e;
}

/** Wraps a Node file-system error as ECF8_IO_ERROR. */
export function ioError(what: string, e: unknown): Ecf8Error {
  return new Ecf8Error(ErrorCode.IO_ERROR, `${what}: ${(e as Error).message}`);
}
