/** The addon's results as Ecf8Errors: statuses are the spec's code strings (§11.1); anything else is a device failure. */
import { Ecf8Error, ErrorCode } from '@ecf8/core';
import { loadNative, type NativeBinding, type NativeResult } from './native.js';

const CODES = new Set<string>(Object.values(ErrorCode));

export function toError(r: NativeResult, what: string): Ecf8Error {
  const code = (CODES.has(r.status) ? r.status : ErrorCode.BACKEND_UNAVAILABLE) as ErrorCode;
  return new Ecf8Error(code, `${what}${r.message ? `: ${r.message}` : ''}`);
}

/** Throws the result's error unless it is ECF8_OK. */
export function check(r: NativeResult, what: string): void {
  if (r.status !== 'ECF8_OK') throw toError(r, what);
}

/** An exception thrown by the addon ("ECF8_CODE: message", or a plain Error) as an Ecf8Error. */
export function fromThrown(e: unknown, what: string): Ecf8Error {
  if (e instanceof Ecf8Error) return e;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^(ECF8_[A-Z_]+): (.*)$/s.exec(text);
  return m ? toError({ status: m[1], message: m[2] }, what) : new Ecf8Error(ErrorCode.BACKEND_UNAVAILABLE, `${what}: ${text}`);
}

export function nativeOrThrow(): NativeBinding {
  const l = loadNative();
  if (!l.native) throw new Ecf8Error(ErrorCode.BACKEND_UNAVAILABLE, l.reason);
  return l.native;
}
