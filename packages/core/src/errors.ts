/**
 * Errors (spec §11.1). Every failure the codec reports is an {@link Ecf8Error} carrying one of the stable codes
 * below; messages are for humans and may change, codes never do.
 */

/** Stable error codes of spec §11.1, stream errors first, then caller/implementation errors. */
export const ErrorCode = {
  BAD_MAGIC: 'ECF8_BAD_MAGIC',
  TRUNCATED: 'ECF8_TRUNCATED',
  UNSUPPORTED_VERSION: 'ECF8_UNSUPPORTED_VERSION',
  UNSUPPORTED_FORMAT: 'ECF8_UNSUPPORTED_FORMAT',
  BAD_BYTES_PER_THREAD: 'ECF8_BAD_BYTES_PER_THREAD',
  BAD_THREADS_PER_BLOCK: 'ECF8_BAD_THREADS_PER_BLOCK',
  RESERVED_NONZERO: 'ECF8_RESERVED_NONZERO',
  BAD_CODE_LENGTH: 'ECF8_BAD_CODE_LENGTH',
  CODE_OVERSUBSCRIBED: 'ECF8_CODE_OVERSUBSCRIBED',
  CODE_INCOMPLETE: 'ECF8_CODE_INCOMPLETE',
  BAD_BIT_COUNT: 'ECF8_BAD_BIT_COUNT',
  SECTION_SIZE_MISMATCH: 'ECF8_SECTION_SIZE_MISMATCH',
  TRAILING_BYTES: 'ECF8_TRAILING_BYTES',
  METADATA_CHECKSUM_MISMATCH: 'ECF8_METADATA_CHECKSUM_MISMATCH',
  BAD_OUTPUT_POSITIONS: 'ECF8_BAD_OUTPUT_POSITIONS',
  BAD_GAP: 'ECF8_BAD_GAP',
  NONZERO_PADDING: 'ECF8_NONZERO_PADDING',
  GAP_MISMATCH: 'ECF8_GAP_MISMATCH',
  POSITION_MISMATCH: 'ECF8_POSITION_MISMATCH',
  CONTENT_CHECKSUM_MISMATCH: 'ECF8_CONTENT_CHECKSUM_MISMATCH',
  LIMIT_EXCEEDED: 'ECF8_LIMIT_EXCEEDED',
  OUTPUT_TOO_SMALL: 'ECF8_OUTPUT_TOO_SMALL',
  INVALID_ARGUMENT: 'ECF8_INVALID_ARGUMENT',
  BACKEND_UNAVAILABLE: 'ECF8_BACKEND_UNAVAILABLE',
  IO_ERROR: 'ECF8_IO_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** All codes that describe an invalid stream (as opposed to a caller or environment problem). */
export const STREAM_ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode).filter(
  (c) =>
    c !== ErrorCode.LIMIT_EXCEEDED &&
    c !== ErrorCode.OUTPUT_TOO_SMALL &&
    c !== ErrorCode.INVALID_ARGUMENT &&
    c !== ErrorCode.BACKEND_UNAVAILABLE &&
    c !== ErrorCode.IO_ERROR,
);

/** The one error class of the codec: `code` is stable (spec §11.1), `message` is human-readable. */
export class Ecf8Error extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'Ecf8Error';
    this.code = code;
  }
}

/** Throws an {@link Ecf8Error}; typed `never` so callers can use it in expressions. */
export function fail(code: ErrorCode, message: string): never {
  throw new Ecf8Error(code, message);
}

/** True when `e` is an {@link Ecf8Error}, optionally with the given code. */
export function isEcf8Error(e: unknown, code?: ErrorCode): e is Ecf8Error {
  return e instanceof Ecf8Error && (code === undefined || e.code === code);
}
