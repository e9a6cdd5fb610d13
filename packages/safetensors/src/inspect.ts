/**
 * `inspect` for model files: per F8_E4M3 tensor, the exponent histogram and entropy, the Huffman mean code length,
 * the ECF8 size (actual for compressed files, exact prediction for plain ones) against the Shannon bound (4 + H)/8
 * per element; totals; and the FP4.67 reference of the paper's Theorem 2.1 (exponent entropy at most
 * alpha / (1 - 2^-alpha) = 2.67 bits for alpha = 2, plus one sign and one mantissa bit).
 */
import { analyze, DEFAULT_THREADS_PER_BLOCK, entropyBits, inspect as inspectStream } from '@ecf8/core';
import { join } from 'node:path';
import { addContext, ModelErrorCode, modelFail } from './errors.js';
import { FP8_DTYPE } from './format.js';
import { isDirectory, openSafetensors, readBytes } from './io.js';
import { isCompressedHeader, readCompressedLayout } from './model.js';
import { listSafetensors } from './model-dir.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';

/** Theorem 2.1 at alpha = 2: 1.6 <= H(E) <= 2.67 bits; FP4.67 = 2.67 + 1 sign bit + 1 mantissa bit. */
export const THEOREM_2_1 = {
  alpha: 2,
  lowerBits: 2 / (1 + 2 ** -2),
  upperBits: 2 / (1 - 2 ** -2),
  /** Bits per element of the "FP4.67" limit. */
  fp467Bits: 2 / (1 - 2 ** -2) + 2,
} as const;

export interface TensorStats {
  file: string;
  name: string;
  shape: number[];
  elements: number;
  histogram: number[];
  entropy: number;
  meanCodeLength: number;
  /** ECF8 stream bytes: actual (compressed input) or exactly predicted (plain input). */
  streamBytes: number;
  shannonBoundBytes: number;
  /** Bytes at FP4.67 (4.67 bits per element). */
  fp467Bytes: number;
  compressed: boolean;
}

export interface InspectReport {
  input: string;
  files: { path: string; compressed: boolean; bytes: number; originalBytes: number }[];
  tensors: TensorStats[];
  /** Tensors that are not F8_E4M3, by dtype. */
  others: Record<string, { tensors: number; bytes: number }>;
  totals: {
    fp8Tensors: number;
    elements: number;
    fp8Bytes: number;
    streamBytes: number;
    shannonBoundBytes: number;
    fp467Bytes: number;
    /** Entropy of the pooled histogram of all FP8 tensors. */
    pooledEntropy: number;
    /** Element-weighted mean of per-tensor entropies. */
    meanEntropy: number;
    meanCodeLength: number;
    histogram: number[];
    otherBytes: number;
    /** Whole files: original and on-disk sizes. */
    originalFileBytes: number;
    fileBytes: number;
  };
  bounds: typeof THEOREM_2_1;
}

export interface InspectOptions {
  threadsPerBlock?: number;
  onProgress?: ProgressCallback;
}

/** Inspects a safetensors file (plain or compressed) or a model directory. Reads one tensor at a time. */
export async function inspectModel(input: string, options: InspectOptions = {}): Promise<InspectReport> {
  const T = options.threadsPerBlock ?? DEFAULT_THREADS_PER_BLOCK;
  const paths = (await isDirectory(input)) ? (await listSafetensors(input)).map((f) => join(input, f)) : [input];
  const report: InspectReport = {
    input,
    files: [],
    tensors: [],
    others: {},
    totals: {
      fp8Tensors: 0,
      elements: 0,
      fp8Bytes: 0,
      streamBytes: 0,
      shannonBoundBytes: 0,
      fp467Bytes: 0,
      pooledEntropy: 0,
      meanEntropy: 0,
      meanCodeLength: 0,
      histogram: new Array(16).fill(0),
      otherBytes: 0,
      originalFileBytes: 0,
      fileBytes: 0,
    },
    bounds: THEOREM_2_1,
  };
  const tracker = new ProgressTracker('inspect', 0, 0, options.onProgress);
  for (const path of paths) {
    const { fh, size, header } = await openSafetensors(path).catch((e) => {
      throw addContext(e, path);
    });
    try {
      const layout = isCompressedHeader(header) ? readCompressedLayout(header) : null;
      const original = layout ? layout.original : header;
      report.files.push({ path, compressed: layout !== null, bytes: size, originalBytes: layout ? layout.originalSize : size });
      tracker.file = path;
      tracker.tensorsTotal += original.tensors.length;
      tracker.bytesTotal += original.dataLength;
      for (const t of original.tensors) {
        if (t.dtype !== FP8_DTYPE) {
          const o = (report.others[t.dtype] ??= { tensors: 0, bytes: 0 });
          o.tensors++;
          o.bytes += t.byteLength;
          tracker.bytesDone += t.byteLength;
          tracker.tensorDone();
          continue;
        }
        tracker.tensor = t.name;
        tracker.emit();
        let stats: TensorStats;
        const s = layout?.streams.get(t.name);
        if (s) {
          const stream = await readBytes(fh, header.dataOffset + s.begin, s.byteLength);
          let info;
          try {
            info = inspectStream(stream);
            // Model-file spec §4 step 3: the stream's element count must be the tensor's (the metadata cannot claim more).
            if (info.layout.elementCount !== t.elementCount) {
              modelFail(ModelErrorCode.BAD_MODEL_METADATA, `stream holds ${info.layout.elementCount} elements but the tensor has ${t.elementCount}`);
            }
          } catch (e) {
            throw addContext(e, `tensor ${JSON.stringify(t.name)}`);
          }
          stats = { file: path, name: t.name, shape: t.shape, elements: t.elementCount, histogram: info.histogram, entropy: info.entropy, meanCodeLength: info.meanCodeLength, streamBytes: stream.length, shannonBoundBytes: info.shannonBoundBytes, fp467Bytes: (t.elementCount * THEOREM_2_1.fp467Bits) / 8, compressed: true };
        } else {
          const fp8 = await readBytes(fh, header.dataOffset + t.begin, t.byteLength);
          const a = analyze(fp8, T);
          stats = { file: path, name: t.name, shape: t.shape, elements: t.elementCount, histogram: a.histogram, entropy: a.entropy, meanCodeLength: a.meanCodeLength, streamBytes: a.predictedStreamBytes, shannonBoundBytes: a.shannonBoundBytes, fp467Bytes: (t.elementCount * THEOREM_2_1.fp467Bits) / 8, compressed: false };
        }
        report.tensors.push(stats);
        tracker.bytesDone += t.byteLength;
        tracker.tensorDone();
      }
    } catch (e) {
      throw addContext(e, path);
    } finally {
      await fh.close();
    }
  }
  const tot = report.totals;
  let weightedEntropy = 0;
  let weightedLength = 0;
  for (const t of report.tensors) {
    tot.fp8Tensors++;
    tot.elements += t.elements;
    tot.fp8Bytes += t.elements;
    tot.streamBytes += t.streamBytes;
    tot.shannonBoundBytes += t.shannonBoundBytes;
    tot.fp467Bytes += t.fp467Bytes;
    weightedEntropy += t.entropy * t.elements;
    weightedLength += t.meanCodeLength * t.elements;
    t.histogram.forEach((c, x) => (tot.histogram[x] += c));
  }
  tot.pooledEntropy = entropyBits(tot.histogram);
  tot.meanEntropy = tot.elements ? weightedEntropy / tot.elements : 0;
  tot.meanCodeLength = tot.elements ? weightedLength / tot.elements : 0;
  tot.otherBytes = Object.values(report.others).reduce((a, o) => a + o.bytes, 0);
  tot.originalFileBytes = report.files.reduce((a, f) => a + f.originalBytes, 0);
  tot.fileBytes = report.files.reduce((a, f) => a + f.bytes, 0);
  return report;
}

