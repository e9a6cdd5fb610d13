/**
 * The compressed container of spec/ecf8-safetensors-v1.md: its `__metadata__` keys (§3), stored stream names, the largest
 * stream and tensor this implementation holds, and the validation of a compressed file's metadata against its
 * tensors (§4 step 2), which gives a reader the mapping back to the original file. Pure (no Node imports), so
 * browsers read compressed models through it: `@ecf8/safetensors/layout` (layout.ts) exports it.
 */
import { deriveSizes, ErrorCode } from '@ecf8/core';
import { ModelErrorCode, modelFail } from './errors.js';
import { FP8_DTYPE, MAX_HEADER_SIZE, parseHeaderBytes, type SafetensorsHeader, type TensorInfo } from './format.js';

/** `__metadata__` keys of a compressed file (model-file spec §3). */
export const META = {
  format: 'ecf8.format',
  version: 'ecf8.version',
  originalHeader: 'ecf8.original_header',
  originalSize: 'ecf8.original_size',
  originalSha256: 'ecf8.original_sha256',
  tensors: 'ecf8.tensors',
} as const;
export const CONTAINER_FORMAT = 'ecf8-safetensors';
export const CONTAINER_VERSION = '1';
/** Suffix of the stored name of a compressed tensor (`.1`, `.2`, ... appended if that name is taken). */
export const STREAM_SUFFIX = '.ecf8';

/**
 * Largest tensor (and stream) held in memory: 4 GiB, Node 20's typed-array limit (`buffer.constants.MAX_LENGTH`), a
 * fixed bound so that every engine and version gives the same answer. A larger one is ECF8_LIMIT_EXCEEDED (spec
 * §11.1: beyond the implementation's addressable memory), reported before allocating.
 */
export const MAX_TENSOR_BYTES = 2 ** 32;

/** Fails with ECF8_LIMIT_EXCEEDED when `n` bytes cannot be held in one buffer. */
export function checkTensorBytes(n: number, what: string): void {
  if (n > MAX_TENSOR_BYTES) modelFail(ErrorCode.LIMIT_EXCEEDED, `${what} needs ${n} bytes in memory, over this implementation's limit of ${MAX_TENSOR_BYTES} bytes per tensor`);
}

/** Largest possible stream for n elements: codes are at most 15 bits in a complete code over 16 symbols (spec §5.1). */
export function maxStreamSize(n: number, threadsPerBlock: number): number {
  return Number(deriveSizes(BigInt(n), BigInt(n) * 15n, threadsPerBlock).streamSize);
}

export function metaFail(message: string): never {
  return modelFail(ModelErrorCode.BAD_MODEL_METADATA, message);
}

/** Per-tensor entry of `ecf8.tensors`. */
export interface StreamMapEntry {
  stored: string;
  dtype: string;
  shape: number[];
}

/** True when a parsed header belongs to a compressed model file. */
export function isCompressedHeader(header: SafetensorsHeader): boolean {
  return header.metadata !== null && Object.hasOwn(header.metadata, META.format);
}

/** Chooses stored names for compressed tensors: NAME.ecf8, or NAME.ecf8.1, ... when taken. */
export function streamNames(names: Iterable<string>, fp8Names: readonly string[]): Map<string, string> {
  const taken = new Set(names);
  const out = new Map<string, string>();
  for (const name of fp8Names) {
    let stored = name + STREAM_SUFFIX;
    for (let i = 1; taken.has(stored); i++) stored = `${name}${STREAM_SUFFIX}.${i}`;
    taken.add(stored);
    out.set(name, stored);
  }
  return out;
}

/** How a compressed file maps back to the original (model-file spec §4). */
export interface CompressedLayout {
  /** The original file's header, parsed (tensors in original data order). */
  original: SafetensorsHeader;
  originalSize: number;
  sha256: string;
  /** Original name -> stored stream tensor, for compressed tensors. */
  streams: Map<string, TensorInfo>;
  /** Original name -> stored tensor, for copied tensors. */
  copies: Map<string, TensorInfo>;
}

export function decodeBase64Strict(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) metaFail(`${what} is not valid base64`);
  // atob/btoa (in browsers and Node) work on "binary strings", one char per byte; encoding back proves canonical form.
  const binary = atob(s);
  if (btoa(binary) !== s) metaFail(`${what} is not canonical base64`);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Validates the `ecf8.*` metadata of a compressed file against its tensors and returns the mapping. */
export function readCompressedLayout(header: SafetensorsHeader): CompressedLayout {
  const m = header.metadata;
  if (!m || !Object.hasOwn(m, META.format)) metaFail('not an ECF8-compressed model file (no ecf8.format in __metadata__)');
  if (m[META.format] !== CONTAINER_FORMAT) metaFail(`unknown ecf8.format ${JSON.stringify(m[META.format])}`);
  if (m[META.version] !== CONTAINER_VERSION) metaFail(`unsupported ecf8.version ${JSON.stringify(m[META.version])} (this reader knows ${CONTAINER_VERSION})`);
  for (const k of [META.originalHeader, META.originalSize, META.originalSha256, META.tensors]) {
    if (typeof m[k] !== 'string') metaFail(`missing ${k}`);
  }
  const headerBytes = decodeBase64Strict(m[META.originalHeader], META.originalHeader);
  if (!/^(0|[1-9]\d{0,15})$/.test(m[META.originalSize])) metaFail(`${META.originalSize} is not a decimal size`);
  const originalSize = Number(m[META.originalSize]);
  if (!Number.isSafeInteger(originalSize)) metaFail(`${META.originalSize} is out of range`);
  if (!/^[0-9a-f]{64}$/.test(m[META.originalSha256])) metaFail(`${META.originalSha256} is not 64 lowercase hex digits`);
  if (headerBytes.length > MAX_HEADER_SIZE || 8 + headerBytes.length > originalSize) metaFail(`stored original header (${headerBytes.length} bytes) does not fit the original size ${originalSize}`);
  let original: SafetensorsHeader;
  try {
    original = parseHeaderBytes(headerBytes, originalSize - 8 - headerBytes.length, originalSize);
  } catch (e) {
    const msg = (e as Error).message.replace(/^ECF8_[A-Z_]+: /, '');
    return metaFail(`stored original header is invalid: ${msg}`);
  }
  let map: unknown;
  try {
    map = JSON.parse(m[META.tensors]);
  } catch (e) {
    return metaFail(`${META.tensors} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) metaFail(`${META.tensors} is not a JSON object`);
  const streams = new Map<string, TensorInfo>();
  const copies = new Map<string, TensorInfo>();
  const used = new Set<string>();
  for (const [name, entry] of Object.entries(map as Record<string, unknown>)) {
    const orig = original.byName.get(name);
    if (!orig) metaFail(`${META.tensors} names ${JSON.stringify(name)}, which is not in the original header`);
    const e = entry as Partial<StreamMapEntry> | null;
    if (!e || typeof e.stored !== 'string' || e.dtype !== orig.dtype || !Array.isArray(e.shape) || !sameShape(e.shape, orig.shape)) {
      metaFail(`${META.tensors} entry of ${JSON.stringify(name)} disagrees with the original header`);
    }
    if (orig.dtype !== FP8_DTYPE) metaFail(`${JSON.stringify(name)} is ${orig.dtype}; only ${FP8_DTYPE} tensors are stored as streams`);
    const s = header.byName.get(e.stored);
    if (!s) metaFail(`stream tensor ${JSON.stringify(e.stored)} of ${JSON.stringify(name)} is missing`);
    if (s.dtype !== 'U8' || s.shape.length !== 1) metaFail(`stream tensor ${JSON.stringify(e.stored)} must be a 1-D U8 tensor`);
    if (used.has(s.name)) metaFail(`stream tensor ${JSON.stringify(e.stored)} is used twice`);
    used.add(s.name);
    streams.set(name, s);
  }
  for (const orig of original.tensors) {
    if (streams.has(orig.name)) continue;
    const s = header.byName.get(orig.name);
    if (!s) metaFail(`tensor ${JSON.stringify(orig.name)} of the original is missing`);
    if (used.has(s.name)) metaFail(`tensor ${JSON.stringify(orig.name)} is also used as a stream`);
    if (s.dtype !== orig.dtype || !sameShape(s.shape, orig.shape)) metaFail(`tensor ${JSON.stringify(orig.name)} differs from the original's dtype or shape`);
    used.add(s.name);
    copies.set(orig.name, s);
  }
  for (const t of header.tensors) if (!used.has(t.name)) metaFail(`unexpected tensor ${JSON.stringify(t.name)} in the compressed file`);
  return { original, originalSize, sha256: m[META.originalSha256], streams, copies };
}
