/**
 * Loading the WebAssembly module: the SIMD build where the engine validates a SIMD probe, the baseline build
 * otherwise. One instance per JavaScript realm (each worker has its own); its memory never grows after start-up, so
 * the views made here stay attached. A trap (which a correct module never raises) becomes an Ecf8Error and the
 * instance is discarded, so the next call starts from a fresh one.
 */
import { ErrorCode, fail, isEcf8Error } from '@ecf8/core';
import { BASELINE_WASM_BASE64, SIMD_WASM_BASE64 } from './binaries.generated.js';

/** The smallest module using a SIMD instruction: (func (result v128) (v128.const i32x4 0 0 0 0)). */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x0b,
]);

interface Exports {
  memory: WebAssembly.Memory;
  buildDecodeTables(): void;
  buildEncodeTables(): void;
  decodeChunk(nb: number, T: number, live: number, parity: number, first: number, last: number, nOut: number, nibParity: number, withCrc: number, exLen: number): number;
  getCrcState(): number;
  crcOfOut(c: number, len: number): number;
  moveBytes(to: number, from: number, len: number): void;
  setCrcState(c: number): void;
  scanStart(): void;
  scanChunk(len: number): void;
  scanHistogram(): void;
  encodeChunk(len: number, pRel: number, live: number, T: number, firstPhase: number, firstParity: number): number;
  simd(): number;
  [region: string]: unknown;
}

/** An instance with views of its memory and the addresses of its regions (assembly/layout.ts). */
export interface WasmKernel {
  exports: Exports;
  simd: boolean;
  mem: Uint8Array;
  i32: Int32Array;
  u32: Uint32Array;
  CHUNK_THREADS: number;
  ENC_CHUNK: number;
  CODE_LENGTHS: number;
  HIST: number;
  RESULT: number;
  POS_IN: number;
  GAPS_IN: number;
  EX_IN: number;
  NIB_IN: number;
  OUT: number;
  ENC_IN: number;
  ENC_EX: number;
  ENC_NIB: number;
  ENC_GAPS: number;
  ENC_POS: number;
}

let simdChoice: boolean | null = null;
/** True when this engine runs WebAssembly SIMD (the choice of build; `ECF8_WASM_SIMD=0` in Node forces the baseline). */
export function simdSupported(): boolean {
  if (simdChoice === null) {
    const forced = typeof process !== 'undefined' ? process.env?.ECF8_WASM_SIMD : undefined;
    simdChoice = forced === '0' ? false : WebAssembly.validate(SIMD_PROBE);
  }
  return simdChoice;
}

/** Forces the SIMD (true) or baseline (false) build for instances made from now on; null restores detection. */
export function setSimd(choice: boolean | null): void {
  simdChoice = choice;
  compiled = null;
  current = null;
}

function base64Bytes(b64: string): Uint8Array {
  // Node's native decoder where there is one: a first call in a fresh process would otherwise run the loop below
  // unoptimised (about a millisecond for the module).
  const nodeBuffer = (globalThis as { Buffer?: { from(s: string, encoding: string): Uint8Array } }).Buffer;
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(b64, 'base64'));
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The binary this engine gets. */
export function wasmBinary(): Uint8Array {
  return base64Bytes(simdSupported() ? SIMD_WASM_BASE64 : BASELINE_WASM_BASE64);
}

let compiled: WebAssembly.Module | null = null;
let current: WasmKernel | null = null;

function wrap(instance: WebAssembly.Instance): WasmKernel {
  const exports = instance.exports as unknown as Exports;
  const buffer = exports.memory.buffer;
  const region = (name: string) => (exports[name] as WebAssembly.Global).value as number;
  return {
    exports,
    simd: exports.simd() === 1,
    mem: new Uint8Array(buffer),
    i32: new Int32Array(buffer),
    u32: new Uint32Array(buffer),
    CHUNK_THREADS: region('CHUNK_THREADS'),
    ENC_CHUNK: region('ENC_CHUNK'),
    CODE_LENGTHS: region('CODE_LENGTHS'),
    HIST: region('HIST'),
    RESULT: region('RESULT'),
    POS_IN: region('POS_IN'),
    GAPS_IN: region('GAPS_IN'),
    EX_IN: region('EX_IN'),
    NIB_IN: region('NIB_IN'),
    OUT: region('OUT'),
    ENC_IN: region('ENC_IN'),
    ENC_EX: region('ENC_EX'),
    ENC_NIB: region('ENC_NIB'),
    ENC_GAPS: region('ENC_GAPS'),
    ENC_POS: region('ENC_POS'),
  };
}

/**
 * Compiles and instantiates asynchronously (what browsers require on the main thread for modules over 4 KiB).
 * Resolves once the synchronous functions can run; rejects with ECF8_BACKEND_UNAVAILABLE when WebAssembly cannot.
 */
export async function initWasm(): Promise<void> {
  if (current) return;
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available in this environment');
    compiled ??= await WebAssembly.compile(wasmBinary() as BufferSource);
    current ??= wrap(await WebAssembly.instantiate(compiled, {}));
  } catch (e) {
    fail(ErrorCode.BACKEND_UNAVAILABLE, `cpu-wasm: ${(e as Error)?.message ?? String(e)}`);
  }
}

/**
 * The compiled module (compiled once per realm), e.g. to post to workers, which instantiate it themselves; rejects
 * with ECF8_BACKEND_UNAVAILABLE when WebAssembly cannot compile it.
 */
export async function wasmModule(): Promise<WebAssembly.Module> {
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available in this environment');
    compiled ??= await WebAssembly.compile(wasmBinary() as BufferSource);
    return compiled;
  } catch (e) {
    return fail(ErrorCode.BACKEND_UNAVAILABLE, `cpu-wasm: ${(e as Error)?.message ?? String(e)}`);
  }
}

/** The instance, made synchronously when {@link initWasm} has not run (fine in Node and in workers). */
export function kernel(): WasmKernel {
  if (current) return current;
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available in this environment');
    compiled ??= new WebAssembly.Module(wasmBinary() as BufferSource);
    current = wrap(new WebAssembly.Instance(compiled, {}));
    return current;
  } catch (e) {
    fail(ErrorCode.BACKEND_UNAVAILABLE, `cpu-wasm: ${(e as Error)?.message ?? String(e)} (in a browser, await initWasm() first)`);
  }
}

/** Runs `f` on the instance; a trap (or a failed allocation) becomes ECF8_LIMIT_EXCEEDED and discards the instance. */
export function withKernel<R>(f: (k: WasmKernel) => R): R {
  const k = kernel();
  try {
    return f(k);
  } catch (e) {
    if (isEcf8Error(e)) throw e;
    // A trap is a RuntimeError; a wasm stack overflow a RangeError.
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      current = null;
      fail(ErrorCode.LIMIT_EXCEEDED, `the WebAssembly codec trapped or ran out of memory (${e.message}); its instance has been reset`);
    }
    throw e;
  }
}
