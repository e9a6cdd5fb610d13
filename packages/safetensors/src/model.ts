/**
 * Compressed model files (spec Appendix A): every F8_E4M3 tensor of a safetensors file becomes an ECF8 stream stored
 * as a U8 tensor; every other tensor is copied; the original header bytes, size and SHA-256 are kept in
 * `__metadata__`, so decompression restores the original file byte for byte. Files are streamed: one tensor (and
 * its stream) in memory at a time.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  DEFAULT_THREADS_PER_BLOCK,
  deriveSizes,
  maxEncodedSize,
  ErrorCode,
  isValidThreadsPerBlock,
  readHeader as readStreamHeader,
} from '@ecf8/core';
// The fast pure-TypeScript codec: byte-identical streams and bytes to @ecf8/core's reference codec, 2.5-6x faster.
import { decodeFastInto, encodeFastInto } from '@ecf8/fast';
import type * as Wasm from '@ecf8/wasm';

/**
 * The fastest CPU codec available: @ecf8/wasm where WebAssembly runs (same stream bytes, same decoded bytes and
 * error codes as @ecf8/fast and the reference), else @ecf8/fast. Loaded once, on first use.
 */
let wasmCodec: Promise<typeof Wasm | null> | undefined;
const fastestCodec = () =>
  (wasmCodec ??= import('@ecf8/wasm').then(async (m) => (await m.cpuWasmBackend.isAvailable()).available ? m : null, () => null));
import { addContext, ModelErrorCode, modelFail } from './errors.js';
import {
  elementAlignment,
  FP8_DTYPE,
  lengthPrefix,
  MAX_HEADER_SIZE,
  parseHeaderBytes,
  serializeHeader,
  type HeaderEntry,
  type SafetensorsHeader,
  type TensorInfo,
} from './format.js';
import { copyRange, openSafetensors, readExactly, writeAll, writeFileAtomically } from './io.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';

/** `__metadata__` keys of a compressed file (spec A.3). */
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

/** Encodes FP8 bytes into a stream (default: @ecf8/wasm's encoder, else @ecf8/fast's: both write the reference encoder's bytes). */
export type StreamEncoder = (fp8: Uint8Array, threadsPerBlock: number) => Uint8Array | Promise<Uint8Array>;
/** Decodes a stream into `out` (exactly its element count), resolving to the count (default: @ecf8/wasm, else @ecf8/fast). */
export type StreamDecoder = (stream: Uint8Array, out: Uint8Array) => number | Promise<number>;

export interface CompressOptions {
  /** T of every stream (spec §4.1); default 512. */
  threadsPerBlock?: number;
  encoder?: StreamEncoder;
  onProgress?: ProgressCallback;
  /** Shared tracker (directories report one progress over all shards). */
  tracker?: ProgressTracker;
}

export interface RestoreOptions {
  decoder?: StreamDecoder;
  onProgress?: ProgressCallback;
  tracker?: ProgressTracker;
}

export interface TensorResult {
  name: string;
  dtype: string;
  shape: number[];
  elements: number;
  /** Bytes in the original file. */
  bytes: number;
  /** Bytes stored in the compressed file (the stream for F8_E4M3, the same bytes otherwise). */
  storedBytes: number;
  compressed: boolean;
  /** Stored tensor name (differs from `name` for streams). */
  storedName: string;
}

export interface FileResult {
  input: string;
  output: string | null;
  /** Size of the original (uncompressed) file. */
  originalBytes: number;
  /** Size of the compressed file. */
  compressedBytes: number;
  tensors: TensorResult[];
  fp8Tensors: number;
  fp8Bytes: number;
  streamBytes: number;
  otherBytes: number;
  sha256: string;
  seconds: number;
}

const toBase64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** A view of `n` bytes of a buffer reused across tensors (grown when a larger tensor comes), to bound memory. */
function workspace(w: { buf: Uint8Array }, n: number): Uint8Array {
  if (w.buf.length < n) w.buf = new Uint8Array(0); // drop the old buffer before allocating the larger one
  if (w.buf.length < n) w.buf = new Uint8Array(n);
  return w.buf.subarray(0, n);
}

/** Largest possible stream for n elements: codes are at most 15 bits in a complete code over 16 symbols (spec §5.1). */
export function maxStreamSize(n: number, threadsPerBlock: number): number {
  return Number(deriveSizes(BigInt(n), BigInt(n) * 15n, threadsPerBlock).streamSize);
}

function metaFail(message: string): never {
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

/** Compresses one safetensors file (see the module comment). Writes `output` atomically. */
export async function compressFile(input: string, output: string, options: CompressOptions = {}): Promise<FileResult> {
  const t0 = performance.now();
  const T = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
  if (!isValidThreadsPerBlock(T)) modelFail(ErrorCode.INVALID_ARGUMENT, `threads per block ${T} is not a power of two in 1..1024`);
  // Default: the fast encoder writing into one workspace reused for every tensor (sized for the largest), so
  // memory stays near two tensors' worth instead of one new stream buffer per tensor waiting for the collector. The
  // returned view is written out before the next tensor is encoded.
  const work = { buf: new Uint8Array(0) };
  const encoder: StreamEncoder =
    options.encoder ??
    (async (fp8, t) => {
      const need = maxEncodedSize(fp8.length, t);
      if (work.buf.length < need) {
        work.buf = new Uint8Array(0); // drop the old workspace before allocating the larger one
        work.buf = new Uint8Array(need);
      }
      const encodeInto = (await fastestCodec())?.encodeWasmInto ?? encodeFastInto;
      return work.buf.subarray(0, encodeInto(fp8, work.buf, 0, { threadsPerBlock: t }));
    });
  const { fh, size, header } = await openSafetensors(input).catch((e) => {
    throw addContext(e, input);
  });
  try {
    if (isCompressedHeader(header)) modelFail(ErrorCode.INVALID_ARGUMENT, `${input} is already ECF8-compressed (decompress it first)`);
    const fp8 = header.tensors.filter((t) => t.dtype === FP8_DTYPE);
    const others = header.tensors.filter((t) => t.dtype !== FP8_DTYPE);
    // Copied tensors go after the streams, largest element size first, so each starts aligned to its element size.
    const copyOrder = others.map((t, i) => ({ t, i })).sort((a, b) => elementAlignment(b.t.dtype) - elementAlignment(a.t.dtype) || a.i - b.i).map((x) => x.t);
    const stored = streamNames(header.byName.keys(), fp8.map((t) => t.name));

    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(header.metadata ?? {})) if (!k.startsWith('ecf8.')) meta[k] = v;
    const map: Record<string, StreamMapEntry> = {};
    for (const t of fp8) map[t.name] = { stored: stored.get(t.name)!, dtype: t.dtype, shape: t.shape };
    meta[META.format] = CONTAINER_FORMAT;
    meta[META.version] = CONTAINER_VERSION;
    meta[META.originalHeader] = toBase64(header.headerBytes);
    meta[META.originalSize] = String(size);
    meta[META.originalSha256] = '0'.repeat(64);
    meta[META.tensors] = JSON.stringify(map);

    // Reserve header room for the largest possible offsets; the real header is padded with spaces to this length.
    let maxData = 0;
    for (const t of fp8) maxData += maxStreamSize(t.elementCount, T);
    for (const t of others) maxData += t.byteLength;
    const placeholder: HeaderEntry[] = [
      ...fp8.map((t) => ({ name: stored.get(t.name)!, dtype: 'U8', shape: [maxData], begin: maxData, end: maxData })),
      ...copyOrder.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: maxData, end: maxData })),
    ];
    const reserved = serializeHeader(placeholder, meta).length;
    if (reserved > MAX_HEADER_SIZE) modelFail(ErrorCode.LIMIT_EXCEEDED, `compressed header would be ${reserved} bytes, over the safetensors limit`);
    const dataStart = 8 + reserved;

    const tracker = options.tracker ?? new ProgressTracker('compress', header.tensors.length, header.dataLength, options.onProgress);
    tracker.file = input;
    const results = new Map<string, TensorResult>();
    return await writeFileAtomically(output, async (out) => {
      const hash = createHash('sha256');
      hash.update(lengthPrefix(header.headerSize));
      hash.update(header.headerBytes);
      const scratch = { buf: new Uint8Array(0) };
      const tensorBuf = { buf: new Uint8Array(0) };
      const entries: HeaderEntry[] = [];
      let cursor = 0;
      // Pass 1, in the original data order (so the hash covers the original file): encode FP8 tensors.
      for (const t of header.tensors) {
        if (t.dtype !== FP8_DTYPE) {
          await copyRange(fh, header.dataOffset + t.begin, t.byteLength, null, 0, hash, scratch);
          continue;
        }
        tracker.tensor = t.name;
        tracker.emit();
        const fp8Bytes = workspace(tensorBuf, t.byteLength);
        await readExactly(fh, fp8Bytes, 0, t.byteLength, header.dataOffset + t.begin);
        hash.update(fp8Bytes);
        const stream = await encoder(fp8Bytes, T);
        await writeAll(out, stream, dataStart + cursor);
        const name = stored.get(t.name)!;
        entries.push({ name, dtype: 'U8', shape: [stream.length], begin: cursor, end: cursor + stream.length });
        cursor += stream.length;
        results.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: stream.length, compressed: true, storedName: name });
        tracker.bytesDone += t.byteLength;
        tracker.tensorDone();
      }
      // Pass 2: copy the other tensors after the streams.
      for (const t of copyOrder) {
        tracker.tensor = t.name;
        await copyRange(fh, header.dataOffset + t.begin, t.byteLength, out, dataStart + cursor, null, scratch, (n) => tracker.bytes(n));
        entries.push({ name: t.name, dtype: t.dtype, shape: t.shape, begin: cursor, end: cursor + t.byteLength });
        cursor += t.byteLength;
        results.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: t.byteLength, compressed: false, storedName: t.name });
        tracker.tensorDone();
      }
      const sha256 = hash.digest('hex');
      meta[META.originalSha256] = sha256;
      const headerBytes = serializeHeader(entries, meta, 8, reserved);
      if (headerBytes.length !== reserved) throw new Error(`internal: header grew past its reservation (${headerBytes.length} > ${reserved})`);
      await writeAll(out, lengthPrefix(reserved), 0);
      await writeAll(out, headerBytes, 8);
      const tensors = header.tensors.map((t) => results.get(t.name)!);
      const fp8Bytes = fp8.reduce((a, t) => a + t.byteLength, 0);
      const streamBytes = tensors.filter((t) => t.compressed).reduce((a, t) => a + t.storedBytes, 0);
      return {
        input,
        output,
        originalBytes: size,
        compressedBytes: dataStart + cursor,
        tensors,
        fp8Tensors: fp8.length,
        fp8Bytes,
        streamBytes,
        otherBytes: header.dataLength - fp8Bytes,
        sha256,
        seconds: (performance.now() - t0) / 1e3,
      } satisfies FileResult;
    });
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}

/** How a compressed file maps back to the original (spec A.4). */
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

function decodeBase64Strict(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) metaFail(`${what} is not valid base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) metaFail(`${what} is not canonical base64`);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
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

/**
 * Rebuilds the original file from a compressed one, writing it to `out` (or only checking it when null): the
 * original header, then every tensor in the original data order, decoding streams. Checks size and SHA-256.
 */
async function restore(
  fh: FileHandle,
  header: SafetensorsHeader,
  layout: CompressedLayout,
  out: FileHandle | null,
  decoder: StreamDecoder,
  tracker: ProgressTracker,
): Promise<TensorResult[]> {
  const { original } = layout;
  const hash = createHash('sha256');
  const prefix = lengthPrefix(original.headerSize);
  hash.update(prefix);
  hash.update(original.headerBytes);
  if (out) {
    await writeAll(out, prefix, 0);
    await writeAll(out, original.headerBytes, 8);
  }
  let pos = 8 + original.headerSize;
  const scratch = { buf: new Uint8Array(0) };
  const tensorBuf = { buf: new Uint8Array(0) };
  const streamBuf = { buf: new Uint8Array(0) }; // reused for every stream, like tensorBuf for every decoded tensor
  const results: TensorResult[] = [];
  for (const t of original.tensors) {
    tracker.tensor = t.name;
    const s = layout.streams.get(t.name);
    if (s) {
      const stream = workspace(streamBuf, s.byteLength);
      await readExactly(fh, stream, 0, s.byteLength, header.dataOffset + s.begin);
      const fp8 = workspace(tensorBuf, t.byteLength);
      try {
        const h = readStreamHeader(stream);
        if (h.elementCount !== BigInt(t.elementCount)) {
          metaFail(`stream holds ${h.elementCount} elements but the tensor has ${t.elementCount}`);
        }
        const n = await decoder(stream, fp8);
        if (n !== t.elementCount) metaFail(`decoder returned ${n} elements, expected ${t.elementCount}`);
      } catch (e) {
        throw addContext(e, `tensor ${JSON.stringify(t.name)} (stream ${JSON.stringify(s.name)})`);
      }
      hash.update(fp8);
      if (out) await writeAll(out, fp8, pos);
      results.push({ name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: s.byteLength, compressed: true, storedName: s.name });
      tracker.bytesDone += t.byteLength;
    } else {
      const c = layout.copies.get(t.name)!;
      await copyRange(fh, header.dataOffset + c.begin, c.byteLength, out, pos, hash, scratch, (n) => {
        tracker.bytesDone += n;
      });
      results.push({ name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: c.byteLength, compressed: false, storedName: c.name });
    }
    pos += t.byteLength;
    tracker.tensorDone();
  }
  if (pos !== layout.originalSize) modelFail(ModelErrorCode.MODEL_CHECKSUM_MISMATCH, `restored ${pos} bytes, expected ${layout.originalSize}`);
  const sha = hash.digest('hex');
  if (sha !== layout.sha256) {
    modelFail(ModelErrorCode.MODEL_CHECKSUM_MISMATCH, `restored file has SHA-256 ${sha}, expected ${layout.sha256} (a copied tensor or the header was altered)`);
  }
  return results;
}

const defaultDecoder: StreamDecoder = async (stream, out) => ((await fastestCodec())?.decodeWasmInto ?? decodeFastInto)(stream, out, 0);

function summary(input: string, output: string | null, size: number, layout: CompressedLayout, tensors: TensorResult[], t0: number): FileResult {
  const fp8 = tensors.filter((t) => t.compressed);
  const fp8Bytes = fp8.reduce((a, t) => a + t.bytes, 0);
  return {
    input,
    output,
    originalBytes: layout.originalSize,
    compressedBytes: size,
    tensors,
    fp8Tensors: fp8.length,
    fp8Bytes,
    streamBytes: fp8.reduce((a, t) => a + t.storedBytes, 0),
    otherBytes: layout.original.dataLength - fp8Bytes,
    sha256: layout.sha256,
    seconds: (performance.now() - t0) / 1e3,
  };
}

/** Restores the original file from a compressed one, byte for byte. Writes `output` atomically. */
export async function decompressFile(input: string, output: string, options: RestoreOptions = {}): Promise<FileResult> {
  const t0 = performance.now();
  const { fh, size, header } = await openSafetensors(input).catch((e) => {
    throw addContext(e, input);
  });
  try {
    const layout = readCompressedLayout(header);
    const tracker = options.tracker ?? new ProgressTracker('decompress', layout.original.tensors.length, layout.original.dataLength, options.onProgress);
    tracker.file = input;
    const tensors = await writeFileAtomically(output, (out) => restore(fh, header, layout, out, options.decoder ?? defaultDecoder, tracker));
    return summary(input, output, size, layout, tensors, t0);
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}

/** Checks a compressed file completely (every stream's structure and checksums, the restored SHA-256); writes nothing. */
export async function verifyFile(input: string, options: RestoreOptions = {}): Promise<FileResult> {
  const t0 = performance.now();
  const { fh, size, header } = await openSafetensors(input).catch((e) => {
    throw addContext(e, input);
  });
  try {
    const layout = readCompressedLayout(header);
    const tracker = options.tracker ?? new ProgressTracker('verify', layout.original.tensors.length, layout.original.dataLength, options.onProgress);
    tracker.file = input;
    const tensors = await restore(fh, header, layout, null, options.decoder ?? defaultDecoder, tracker);
    return summary(input, null, size, layout, tensors, t0);
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}

/** Reads the header of a safetensors file and, for a compressed one, its layout. */
export async function readModelHeader(path: string): Promise<{ size: number; header: SafetensorsHeader; layout: CompressedLayout | null }> {
  const { fh, size, header } = await openSafetensors(path).catch((e) => {
    throw addContext(e, path);
  });
  try {
    return { size, header, layout: isCompressedHeader(header) ? readCompressedLayout(header) : null };
  } catch (e) {
    throw addContext(e, path);
  } finally {
    await fh.close();
  }
}

