/**
 * Compressed model files (spec/ecf8-safetensors-v1.md): every F8_E4M3 tensor of a safetensors file becomes an ECF8 stream stored
 * as a U8 tensor; every other tensor is copied; the original header bytes, size and SHA-256 are kept in
 * `__metadata__`, so decompression restores the original file byte for byte. Files are streamed: one tensor (and
 * its stream) in memory at a time.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  analyze,
  DEFAULT_THREADS_PER_BLOCK,
  maxEncodedSize,
  ErrorCode,
  isValidThreadsPerBlock,
  fail,
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
  serializeHeader,
  type HeaderEntry,
  type SafetensorsHeader,
  type TensorInfo,
} from './format.js';
import { copyRange, openSafetensors, readExactly } from './io.js';
import {
  checkTensorBytes,
  CONTAINER_FORMAT,
  CONTAINER_VERSION,
  isCompressedHeader,
  maxStreamSize,
  META,
  metaFail,
  readCompressedLayout,
  streamNames,
  type CompressedLayout,
  type StreamMapEntry,
} from './container.js';
import { writeOutput, type OutputSink } from './output.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';

// The container's names and checks, re-exported for the modules that import them from here.
export {
  checkTensorBytes,
  CONTAINER_FORMAT,
  CONTAINER_VERSION,
  isCompressedHeader,
  MAX_TENSOR_BYTES,
  maxStreamSize,
  META,
  readCompressedLayout,
  STREAM_SUFFIX,
  streamNames,
  type CompressedLayout,
  type StreamMapEntry,
} from './container.js';

/** Encodes FP8 bytes into a stream (default: @ecf8/wasm's encoder, else @ecf8/fast's: both write the reference encoder's bytes). */
export type StreamEncoder = (fp8: Uint8Array, threadsPerBlock: number) => Uint8Array | Promise<Uint8Array>;
/** Decodes a stream into `out` (exactly its element count), resolving to the count (default: @ecf8/wasm, else @ecf8/fast). */
export type StreamDecoder = (stream: Uint8Array, out: Uint8Array) => number | Promise<number>;

export interface CompressOptions {
  /** Replace an existing output (default: refuse with ECF8_OUTPUT_EXISTS). */
  force?: boolean;
  /** T of every stream (spec §4.1); default 512. */
  threadsPerBlock?: number;
  encoder?: StreamEncoder;
  onProgress?: ProgressCallback;
  /** Shared tracker (directories report one progress over all shards). */
  tracker?: ProgressTracker;
}

export interface RestoreOptions {
  /** Replace an existing output (default: refuse with ECF8_OUTPUT_EXISTS). */
  force?: boolean;
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

    // Objects without prototype: a tensor or metadata key such as `__proto__` is an ordinary key (model-file spec §3).
    const meta: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(header.metadata ?? {})) if (!k.startsWith('ecf8.')) meta[k] = v;
    const map: Record<string, StreamMapEntry> = Object.create(null);
    for (const t of fp8) map[t.name] = { stored: stored.get(t.name)!, dtype: t.dtype, shape: t.shape };
    meta[META.format] = CONTAINER_FORMAT;
    meta[META.version] = CONTAINER_VERSION;
    meta[META.originalHeader] = toBase64(header.headerBytes);
    meta[META.originalSize] = String(size);
    meta[META.originalSha256] = '0'.repeat(64);
    meta[META.tensors] = JSON.stringify(map);

    // Reserve header room for the largest possible offsets; the real header is padded with spaces to this length.
    let maxData = 0;
    for (const t of fp8) {
      checkTensorBytes(t.byteLength, `tensor ${JSON.stringify(t.name)}`);
      checkTensorBytes(maxEncodedSize(t.elementCount, T), `the stream of tensor ${JSON.stringify(t.name)}`);
      maxData += maxStreamSize(t.elementCount, T);
    }
    for (const t of others) maxData += t.byteLength;
    const placeholder: HeaderEntry[] = [
      ...fp8.map((t) => ({ name: stored.get(t.name)!, dtype: 'U8', shape: [maxData], begin: maxData, end: maxData })),
      ...copyOrder.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: maxData, end: maxData })),
    ];
    const reserved = serializeHeader(placeholder, meta).length;
    if (reserved > MAX_HEADER_SIZE) modelFail(ErrorCode.LIMIT_EXCEEDED, `compressed header would be ${reserved} bytes, over the safetensors limit`);
    const dataStart = 8 + reserved;
    /** Header entries for streams of the given lengths (original order), then the copied tensors. */
    const entriesFor = (streamLength: (t: TensorInfo) => number): HeaderEntry[] => {
      const entries: HeaderEntry[] = [];
      let at = 0;
      for (const t of fp8) {
        const n = streamLength(t);
        entries.push({ name: stored.get(t.name)!, dtype: 'U8', shape: [n], begin: at, end: at + n });
        at += n;
      }
      for (const t of copyOrder) {
        entries.push({ name: t.name, dtype: t.dtype, shape: t.shape, begin: at, end: at + t.byteLength });
        at += t.byteLength;
      }
      return entries;
    };
    const writeHeader = async (sink: OutputSink, entries: HeaderEntry[]) => {
      const headerBytes = serializeHeader(entries, meta, 8, reserved);
      if (headerBytes.length !== reserved) throw new Error(`internal: header grew past its reservation (${headerBytes.length} > ${reserved})`);
      await sink.write(lengthPrefix(reserved), 0);
      await sink.write(headerBytes, 8);
    };

    const tracker = options.tracker ?? new ProgressTracker('compress', header.tensors.length, header.dataLength, options.onProgress);
    tracker.file = input;
    const results = new Map<string, TensorResult>();
    const writeCompressed = async (out: OutputSink): Promise<FileResult> => {
      const scratch = { buf: new Uint8Array(0) };
      const tensorBuf = { buf: new Uint8Array(0) };
      const hashOriginal = (h: ReturnType<typeof createHash>) => {
        h.update(lengthPrefix(header.headerSize));
        h.update(header.headerBytes);
        return h;
      };
      // An output written in order (standard output, a pipe) needs the header first: one more read of the input
      // hashes it and predicts every stream's size exactly from its histogram (the encoder's code lengths).
      let predicted: Map<string, number> | null = null;
      let predictedSha: string | null = null;
      if (out.sequential) {
        predicted = new Map();
        const hash = hashOriginal(createHash('sha256'));
        for (const t of header.tensors) {
          if (t.dtype !== FP8_DTYPE) {
            await copyRange(fh, header.dataOffset + t.begin, t.byteLength, null, 0, hash, scratch);
            continue;
          }
          const fp8Bytes = workspace(tensorBuf, t.byteLength);
          await readExactly(fh, fp8Bytes, 0, t.byteLength, header.dataOffset + t.begin);
          hash.update(fp8Bytes);
          predicted.set(t.name, analyze(fp8Bytes, T).predictedStreamBytes);
        }
        predictedSha = hash.digest('hex');
        meta[META.originalSha256] = predictedSha;
        const sizes = predicted;
        await writeHeader(out, entriesFor((t) => sizes.get(t.name)!));
      }
      const hash = hashOriginal(createHash('sha256'));
      const streamLengths = new Map<string, number>();
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
        if (predicted && predicted.get(t.name) !== stream.length) {
          throw new Error(`internal: stream of ${JSON.stringify(t.name)} is ${stream.length} bytes, predicted ${predicted.get(t.name)}`);
        }
        await out.write(stream, dataStart + cursor);
        streamLengths.set(t.name, stream.length);
        cursor += stream.length;
        results.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: stream.length, compressed: true, storedName: stored.get(t.name)! });
        tracker.bytesDone += t.byteLength;
        tracker.tensorDone();
      }
      // Pass 2: copy the other tensors after the streams.
      for (const t of copyOrder) {
        tracker.tensor = t.name;
        await copyRange(fh, header.dataOffset + t.begin, t.byteLength, out, dataStart + cursor, null, scratch, (n) => tracker.bytes(n));
        cursor += t.byteLength;
        results.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, elements: t.elementCount, bytes: t.byteLength, storedBytes: t.byteLength, compressed: false, storedName: t.name });
        tracker.tensorDone();
      }
      const sha256 = hash.digest('hex');
      if (predictedSha !== null && predictedSha !== sha256) modelFail(ErrorCode.IO_ERROR, `${input} changed while it was being read (its SHA-256 differs between two reads)`);
      meta[META.originalSha256] = sha256;
      if (!out.sequential) await writeHeader(out, entriesFor((t) => streamLengths.get(t.name)!));
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
    };
    return await writeOutput(output, writeCompressed, { sequential: true, inputs: [input], force: options.force });
  } catch (e) {
    throw addContext(e, input);
  } finally {
    await fh.close();
  }
}

/**
 * Rebuilds the original file from a compressed one, writing it to `out` (or only checking it when null): the
 * original header, then every tensor in the original data order, decoding streams. Checks size and SHA-256.
 */
async function restore(
  fh: FileHandle,
  header: SafetensorsHeader,
  layout: CompressedLayout,
  out: OutputSink | null,
  decoder: StreamDecoder,
  tracker: ProgressTracker,
): Promise<TensorResult[]> {
  const { original } = layout;
  const hash = createHash('sha256');
  const prefix = lengthPrefix(original.headerSize);
  hash.update(prefix);
  hash.update(original.headerBytes);
  if (out) {
    await out.write(prefix, 0);
    await out.write(original.headerBytes, 8);
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
      // The stream's bytes are in this file (its size bounds them); the tensor's size is only claimed by metadata,
      // so nothing is allocated for it until the stream's own header agrees with it (model-file spec §4 step 3).
      checkTensorBytes(s.byteLength, `stream ${JSON.stringify(s.name)}`);
      const stream = workspace(streamBuf, s.byteLength);
      await readExactly(fh, stream, 0, s.byteLength, header.dataOffset + s.begin);
      try {
        const h = readStreamHeader(stream);
        if (h.elementCount !== BigInt(t.elementCount)) {
          metaFail(`stream holds ${h.elementCount} elements but the tensor has ${t.elementCount}`);
        }
        if (h.nibblesSize > BigInt(stream.length)) fail(ErrorCode.TRUNCATED, `stream is ${stream.length} bytes, too short for its ${h.nibblesSize}-byte nibble section`);
        checkTensorBytes(t.byteLength, `tensor ${JSON.stringify(t.name)}`);
        const fp8 = workspace(tensorBuf, t.byteLength);
        const n = await decoder(stream, fp8);
        if (n !== t.elementCount) metaFail(`decoder returned ${n} elements, expected ${t.elementCount}`);
      } catch (e) {
        throw addContext(e, `tensor ${JSON.stringify(t.name)} (stream ${JSON.stringify(s.name)})`);
      }
      const fp8 = tensorBuf.buf.subarray(0, t.byteLength);
      hash.update(fp8);
      if (out) await out.write(fp8, pos);
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
    // restore() writes in order from byte 0, so standard output and pipes can take it.
    const tensors = await writeOutput(output, (out) => restore(fh, header, layout, out, options.decoder ?? defaultDecoder, tracker), { sequential: true, inputs: [input], force: options.force });
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

