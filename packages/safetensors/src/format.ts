/**
 * The safetensors container: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data section.
 * The JSON maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data section)
 * plus an optional `__metadata__` object of string values. Parsing applies the rules of the reference
 * implementation: a size cap on N, valid UTF-8 JSON starting with `{`, known dtypes, sizes that match the shapes,
 * and tensors that cover the data section exactly (no overlap, no gap, nothing after the last tensor).
 */
import { ModelErrorCode, modelFail } from './errors.js';

/** Largest header the reference implementation accepts (100 MB). */
export const MAX_HEADER_SIZE = 100_000_000;

/** Bits per element of every safetensors dtype. */
export const DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
});

/** The dtype ECF8 compresses. */
export const FP8_DTYPE = 'F8_E4M3';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Offsets in the data section: bytes [begin, end). */
  begin: number;
  end: number;
  elementCount: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** N, the JSON length in bytes (including any trailing padding spaces). */
  headerSize: number;
  /** The N header bytes exactly as stored. */
  headerBytes: Uint8Array;
  /** `__metadata__` (null when absent or JSON null), an object without prototype: read it with own-key access only. */
  metadata: Record<string, string> | null;
  /** Tensors in data order (by begin offset). */
  tensors: TensorInfo[];
  byName: Map<string, TensorInfo>;
  /** Offset of the data section in the file: 8 + N. */
  dataOffset: number;
  /** Size of the data section in bytes. */
  dataLength: number;
  /** Size of the whole file. */
  fileSize: number;
}

function bad(message: string): never {
  return modelFail(ModelErrorCode.BAD_SAFETENSORS, message);
}

/**
 * Checks the 8-byte length prefix against the file size and returns N. `prefix` holds the file's first bytes (fewer
 * than 8 when the file is shorter).
 */
export function headerSizeOf(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) bad(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) bad(`header length ${n} exceeds the limit of ${MAX_HEADER_SIZE} bytes`);
  const size = Number(n);
  if (8 + size > fileSize) bad(`header length ${size} runs past the end of the ${fileSize}-byte file`);
  return size;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates header bytes for a file whose data section is `dataLength` bytes. */
export function parseHeaderBytes(headerBytes: Uint8Array, dataLength: number, fileSize = 8 + headerBytes.length + dataLength): SafetensorsHeader {
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    return bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) bad(`header must start with '{' (found ${JSON.stringify(text.slice(0, 8))})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) return bad('header JSON is not an object');
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  const byName = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!isPlainObject(value)) bad('__metadata__ must be an object of strings');
      // No prototype: keys such as `__proto__` or `constructor` are ordinary keys here (model-file spec §1 allows any string).
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') bad(`__metadata__ value of ${JSON.stringify(k)} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(value)) bad(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string') bad(`${where}: missing dtype`);
    const bits = Object.hasOwn(DTYPE_BITS, dtype as string) ? DTYPE_BITS[dtype as string] : bad(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(nonNegativeInteger)) bad(`${where}: shape must be an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(nonNegativeInteger)) {
      bad(`${where}: data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) bad(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    let count = 1n;
    for (const d of shape as number[]) count *= BigInt(d);
    const totalBits = count * BigInt(bits);
    if (totalBits % 8n !== 0n) bad(`${where}: ${count} elements of ${dtype} do not fill whole bytes`);
    const bytes = totalBits / 8n;
    if (bytes !== BigInt(end - begin)) bad(`${where}: shape [${shape}] of ${dtype} needs ${bytes} bytes but data_offsets span ${end - begin}`);
    const info: TensorInfo = { name, dtype: dtype as string, shape: shape as number[], begin, end, elementCount: Number(count), byteLength: end - begin };
    tensors.push(info);
    byName.set(name, info);
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin < cursor) bad(`tensor ${JSON.stringify(t.name)} at [${t.begin}, ${t.end}) overlaps the previous tensor (ends at ${cursor})`);
    if (t.begin > cursor) bad(`tensor ${JSON.stringify(t.name)} starts at ${t.begin}, leaving a gap after ${cursor} (data must be contiguous)`);
    cursor = t.end;
  }
  if (cursor !== dataLength) {
    bad(cursor < dataLength ? `data section is ${dataLength} bytes but tensors cover only ${cursor}` : `tensors need ${cursor} data bytes but the file has ${dataLength}`);
  }
  return { headerSize: headerBytes.length, headerBytes, metadata, tensors, byName, dataOffset: 8 + headerBytes.length, dataLength, fileSize };
}

/** Parses a whole safetensors file held in memory (tests and small files). */
export function parseSafetensors(file: Uint8Array): SafetensorsHeader {
  const n = headerSizeOf(file.subarray(0, 8), file.length);
  return parseHeaderBytes(file.subarray(8, 8 + n), file.length - 8 - n, file.length);
}

export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: readonly number[];
  begin: number;
  end: number;
}

/**
 * Serialises a header: `__metadata__` first (when given), then the entries in the given order, compact JSON. The
 * result is padded with spaces so that 8 + N is a multiple of `align` (the data section then starts aligned), and
 * further to at least `minLength` bytes.
 */
export function serializeHeader(entries: readonly HeaderEntry[], metadata: Record<string, string> | null, align = 8, minLength = 0): Uint8Array {
  const parts: string[] = [];
  if (metadata) {
    parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:{"dtype":${JSON.stringify(e.dtype)},"shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  let length = Math.max(json.length, minLength);
  length += (align - ((8 + length) % align)) % align;
  const out = new Uint8Array(length).fill(0x20);
  out.set(json);
  return out;
}

/** The 8-byte little-endian length prefix for a header of `n` bytes. */
export function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/** Builds a complete safetensors file in memory (tests, small fixtures). Tensors are laid out in the given order. */
export function buildSafetensors(
  tensors: readonly { name: string; dtype: string; shape: readonly number[]; data: Uint8Array }[],
  metadata: Record<string, string> | null = null,
): Uint8Array {
  let offset = 0;
  const entries = tensors.map((t) => {
    const e = { name: t.name, dtype: t.dtype, shape: t.shape, begin: offset, end: offset + t.data.length };
    offset += t.data.length;
    return e;
  });
  const header = serializeHeader(entries, metadata);
  const out = new Uint8Array(8 + header.length + offset);
  out.set(lengthPrefix(header.length));
  out.set(header, 8);
  let at = 8 + header.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** Element size class used to order copied tensors so each starts aligned to its element size. */
export function elementAlignment(dtype: string): number {
  const bits = DTYPE_BITS[dtype] ?? 8;
  return bits >= 8 ? bits / 8 : 1;
}
