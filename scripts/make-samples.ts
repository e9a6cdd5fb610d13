/**
 * Makes the bundled FP8 samples from real trained weights (run once by a maintainer; the outputs are committed so
 * nothing is downloaded at run time):
 *   packages/cli/samples/default.fp8          the `ecf8 demo` input
 *   test-vectors/sources/real-weights-slice.fp8  the source of the `real-weights-slice` test vector
 *
 * Source: npm package @upscalerjs/esrgan-thick@1.0.0 (MIT), TF.js model `models/x4` (float32 convolution kernels).
 * Each kernel is quantized to FP8 E4M3FN with its own scale amax / 448 (round to nearest even, saturating), the
 * way FP8-dynamic checkpoints are made. Usage: `npx tsx scripts/make-samples.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeE4M3 } from '../packages/core/src/index.js';

const PACKAGE = '@upscalerjs/esrgan-thick@1.0.0';
const MODEL = 'package/models/x4';
const DEFAULT_ELEMENTS = 1 << 20;
const SLICE_ELEMENTS = 1 << 16;

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

const dir = mkdtempSync(join(tmpdir(), 'ecf8-sample-'));
execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: dir });
execFileSync('sh', ['-c', 'tar xzf *.tgz'], { cwd: dir });
const model = JSON.parse(readFileSync(join(dir, MODEL, 'model.json'), 'utf8'));
const group = model.weightsManifest[0];
const shards = (group.paths as string[]).map((p) => readFileSync(join(dir, MODEL, p)));
const all = Buffer.concat(shards);
const weights: WeightSpec[] = group.weights;

const kernels: Uint8Array[] = [];
let offset = 0;
let total = 0;
for (const w of weights) {
  if (w.dtype !== 'float32') throw new Error(`${w.name}: unexpected dtype ${w.dtype}`);
  const n = w.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(all.buffer.slice(all.byteOffset + offset, all.byteOffset + offset + 4 * n));
  offset += 4 * n;
  if (!w.name.endsWith('/kernel') || total >= DEFAULT_ELEMENTS) continue;
  kernels.push(quantizeE4M3(values).data);
  total += n;
}
const joined = new Uint8Array(total);
let at = 0;
for (const k of kernels) {
  joined.set(k, at);
  at += k.length;
}
const sample = joined.subarray(0, DEFAULT_ELEMENTS);
writeFileSync('packages/cli/samples/default.fp8', sample);
mkdirSync('test-vectors/sources', { recursive: true });
writeFileSync('test-vectors/sources/real-weights-slice.fp8', joined.subarray(0, SLICE_ELEMENTS));
console.log(`wrote ${sample.length} + ${SLICE_ELEMENTS} FP8 bytes from ${kernels.length} kernels of ${PACKAGE}`);
