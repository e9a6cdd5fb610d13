/**
 * Benchmark of @ecf8/runtime on the corpus models (scripts/corpus, cached in ~/.cache/ecf8-corpus; run
 * `npm run corpus` first). Prints figures, asserts nothing:
 *
 * 1. Memory: each model is compressed, opened from its file with the cpu-fast backend, and stepped through tensor by
 *    tensor (get each FP8 tensor once). Host ArrayBuffer bytes (process.memoryUsage().arrayBuffers, after a forced
 *    GC) are sampled after opening and after every get, in a process of its own (bench/memory-step.ts, three times,
 *    median); the peak is printed next to the accounting (compressed + other tensors + workspace) and the plain FP8
 *    size.
 * 2. Speed: per-tensor `get` against the backend's own decode of the same stream, over every FP8 tensor of the
 *    model, RUNS runs (default 15) interleaved tensor by tensor; printed: the median of the runs' totals and the sum
 *    of each tensor's best time (the steadier figure on a shared machine). On the CPU `get` vs
 *    `cpuFastBackend.decodeInto(stream, buffer)`; on WebGPU (llvmpipe in Node) `get` (submit + error check) vs
 *    `UploadedStream.decodeInto` of the same uploaded stream, and vs `webgpuBackend.decodeInto(stream, buffer)`
 *    (validate + upload + decode each time).
 *
 * Run: npm run bench -w @ecf8/runtime   (RUNS=n to change the run count; WEBGPU=0 to skip it)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuFastBackend } from '@ecf8/fast';
import { buildSafetensors, compressFile, parseSafetensors, readCompressedLayout } from '@ecf8/safetensors';
import { readFileSync, writeFileSync } from 'node:fs';
import type { UploadedStream, WebGpuBackend } from '@ecf8/webgpu';
import { CACHE, loadManifest } from '../../../scripts/corpus/corpus.js';
import { machine } from '../../bench/src/report.js';
import { ensureBuilt } from '../../../scripts/browser-harness.js';
import { openModel, type MemoryReport } from '../src/index.js';

const RUNS = Number(process.env.RUNS ?? 15);
// @ecf8/webgpu's sources import the shader with `?raw` (a vite/tsup convention tsx lacks): use its build.
ensureBuilt('core', 'webgpu');
const { webgpuBackend } = (await import('../../webgpu/dist/index.js' as string)) as { webgpuBackend: WebGpuBackend };
const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = (b: number) => (b / 2 ** 20).toFixed(2);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const datasets = loadManifest().filter((d) => existsSync(join(CACHE, d.file)));
if (datasets.length === 0) throw new Error(`no corpus in ${CACHE}: run npm run corpus`);
const dir = await mkdtemp(join(tmpdir(), 'ecf8-runtime-bench-'));
console.log(`# @ecf8/runtime benchmark\n\n${machine()}\n`);

interface Row {
  name: string;
  tensors: number;
  plain: number;
  compressed: number;
  workspace: number;
  accounted: number;
  peak: number;
}
const memRows: Row[] = [];
const speedRows: string[] = [];
try {
  // Besides the corpus files: the alpha-stable-1.8 16M tensor cut into 16 tensors of 1M elements, so that per-tensor
  // gets are measured where the decode itself, not the per-call cost, dominates.
  const inputs = datasets.map((d) => ({ name: d.name, input: join(CACHE, d.file) }));
  const alpha = datasets.find((d) => d.name === 'alpha-stable-1.8-16M');
  if (alpha) {
    const bytes = new Uint8Array(readFileSync(join(CACHE, alpha.file)));
    const h = parseSafetensors(bytes);
    const t = h.tensors[0];
    const data = bytes.subarray(h.dataOffset + t.begin, h.dataOffset + t.end);
    const parts = Array.from({ length: 16 }, (_, i) => ({ name: `layer.${i}.weight`, dtype: 'F8_E4M3', shape: [1024, 1024], data: data.subarray(i << 20, (i + 1) << 20) }));
    const path = join(dir, 'alpha-16x1M.plain.safetensors');
    writeFileSync(path, buildSafetensors(parts));
    inputs.push({ name: 'alpha-stable-1.8, 16 x 1M', input: path });
  }
  for (const d of inputs) {
    const input = d.input;
    const file = join(dir, `${d.name.replace(/[^\w.-]+/g, '_')}.safetensors`);
    await compressFile(input, file);
    const streams = (() => {
      const bytes = new Uint8Array(readFileSync(file));
      const h = parseSafetensors(bytes);
      const layout = readCompressedLayout(h);
      return layout.original.tensors.filter((t) => layout.streams.has(t.name)).map((t) => {
        const s = layout.streams.get(t.name)!;
        return { name: t.name, bytes: t.byteLength, stream: bytes.slice(h.dataOffset + s.begin, h.dataOffset + s.end) };
      });
    })();

    // 1. Memory while stepping through the model, in a process of its own (nothing else allocated there).
    // Three processes, the median peak: a forced GC still leaves some runs with a few MiB of garbage counted.
    const runs = [0, 1, 2].map(
      () =>
        JSON.parse(
          execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'memory-step.ts'), file], { encoding: 'utf8', env: { ...process.env, TSX_TSCONFIG_PATH: join(HERE, '../../../tsconfig.json') } }),
        ) as { afterOpen: number; peak: number; report: MemoryReport },
    );
    const m = { ...runs[0], peak: median(runs.map((x) => x.peak)) };
    const r = m.report;
    memRows.push({ name: d.name, tensors: r.fp8Tensors, plain: r.plainBytes, compressed: r.compressedBytes, workspace: r.workspaceBytes, accounted: r.residentBytes, peak: m.peak });
    const model = await openModel<Uint8Array>(file, { backend: cpuFastBackend, verify: 'metadata' });
    if (streams.length < 2) {
      // A slot already holding the tensor is returned without decoding: one tensor cannot show per-tensor gets.
      await model.close();
      continue;
    }
    // 2. CPU: get vs the backend's decodeInto of the same streams.
    const out = new Uint8Array(Math.max(...streams.map((s) => s.bytes)));
    const getTimes: number[] = [];
    const plainTimes: number[] = [];
    // Interleaved tensor by tensor (which goes first alternates), so that drifts of a shared machine fall on both.
    const time = async (f: () => Promise<unknown>) => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    const best = { plain: streams.map(() => Infinity), get: streams.map(() => Infinity) };
    for (let run = -1; run < RUNS; run++) {
      let plain = 0;
      let get = 0;
      for (const [i, s] of streams.entries()) {
        // One slot and a different tensor each time: every get decodes.
        let p: number;
        let g: number;
        if ((i + run) % 2 === 0) (p = await time(() => cpuFastBackend.decodeInto(s.stream, out, 0))), (g = await time(() => model.get(s.name)));
        else (g = await time(() => model.get(s.name))), (p = await time(() => cpuFastBackend.decodeInto(s.stream, out, 0)));
        if (run < 0) continue; // warm-up
        plain += p;
        get += g;
        best.plain[i] = Math.min(best.plain[i], p);
        best.get[i] = Math.min(best.get[i], g);
      }
      if (run < 0) continue;
      plainTimes.push(plain);
      getTimes.push(get);
    }
    await model.close();
    const total = streams.reduce((a, s) => a + s.bytes, 0);
    const mbps = (ms: number) => (total / 1e6 / (ms / 1e3)).toFixed(0);
    const cpu = { get: median(getTimes), plain: median(plainTimes), bestGet: sum(best.get), bestPlain: sum(best.plain) };
    speedRows.push(
      `| ${d.name} | cpu-fast | ${streams.length} | ${cpu.plain.toFixed(2)} ms (${mbps(cpu.plain)} MB/s) | ${cpu.get.toFixed(2)} ms | ${(cpu.get / cpu.plain).toFixed(3)} | ${cpu.bestPlain.toFixed(2)} ms | ${cpu.bestGet.toFixed(2)} ms | ${(cpu.bestGet / cpu.bestPlain).toFixed(3)} | |`,
    );
    console.error(`${d.name}: memory and cpu done`);

    // 3. WebGPU.
    if (process.env.WEBGPU !== '0' && (await webgpuBackend.isAvailable()).available) {
      const device = await webgpuBackend.device();
      const gpuModel = await openModel<GPUBuffer>(file, { backend: webgpuBackend, verify: 'metadata' });
      const uploaded: UploadedStream[] = [];
      for (const s of streams) uploaded.push(await webgpuBackend.upload(s.stream));
      const target = device.createBuffer({ size: Math.ceil(out.length / 4) * 4, usage: 128 | 4 | 8 });
      const times = { get: [] as number[], resident: [] as number[], plain: [] as number[] };
      const gbest = { get: streams.map(() => Infinity), resident: streams.map(() => Infinity), plain: streams.map(() => Infinity) };
      for (let run = -1; run < RUNS; run++) {
        const sum = { get: 0, resident: 0, plain: 0 };
        for (const [i, s] of streams.entries()) {
          const steps: [keyof typeof sum, () => Promise<unknown>][] = [
            ['resident', () => uploaded[i].decodeInto(target, 0)],
            ['get', () => gpuModel.get(s.name)],
            ['plain', () => webgpuBackend.decodeInto(s.stream, target, 0)],
          ];
          for (let k = 0; k < 3; k++) {
            const [what, f] = steps[(k + i + run + 3) % 3];
            const t = await time(f);
            sum[what] += t;
            if (run >= 0) gbest[what][i] = Math.min(gbest[what][i], t);
          }
        }
        if (run < 0) continue;
        times.get.push(sum.get);
        times.resident.push(sum.resident);
        times.plain.push(sum.plain);
      }
      const g = { get: median(times.get), resident: median(times.resident), plain: median(times.plain) };
      const gb = { get: sum(gbest.get), resident: sum(gbest.resident), plain: sum(gbest.plain) };
      speedRows.push(
        `| ${d.name} | webgpu | ${streams.length} | ${g.resident.toFixed(2)} ms (${mbps(g.resident)} MB/s) | ${g.get.toFixed(2)} ms | ${(g.get / g.resident).toFixed(3)} | ${gb.resident.toFixed(2)} ms | ${gb.get.toFixed(2)} ms | ${(gb.get / gb.resident).toFixed(3)} | ${gb.plain.toFixed(2)} ms: ${(gb.get / gb.plain).toFixed(3)} |`,
      );
      for (const u of uploaded) u.destroy();
      target.destroy();
      await gpuModel.close();
      console.error(`${d.name}: webgpu done`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log('Memory while stepping through each model once (host ArrayBuffer bytes above a fresh process\'s baseline, median of 3 processes; cpu-fast, one workspace slot):\n');
console.log('| model | FP8 tensors | plain FP8 model MiB | compressed streams MiB | workspace MiB | accounted MiB (streams + other + workspace) | measured peak MiB | peak / plain |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of memRows) {
  console.log(`| ${r.name} | ${r.tensors} | ${MiB(r.plain)} | ${MiB(r.compressed)} | ${MiB(r.workspace)} | ${MiB(r.accounted)} | ${MiB(r.peak)} (${r.peak >= r.accounted ? '+' : '-'}${(Math.abs(r.peak - r.accounted) / 1024).toFixed(0)} KiB) | ${(r.peak / r.plain).toFixed(3)} |`);
}
console.log(`\nPer-tensor decode, every FP8 tensor of the model in turn (models with one tensor left out), ${RUNS} runs interleaved tensor by tensor: the median of the runs' totals, and the sum over tensors of each tensor's best time. "decode" is the backend's own decode of the same stream (cpu-fast: decodeInto a buffer; webgpu: UploadedStream.decodeInto of the same uploaded stream); the last column compares with webgpuBackend.decodeInto(stream), which validates and uploads each time:\n`);
console.log('| model | backend | tensors | decode, median | `get`, median | ratio | decode, best | `get`, best | ratio | best decode with upload: ratio |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of speedRows) console.log(row);
console.log(`\n(webgpu adapter: ${await webgpuBackend.adapterInfo()})`);
await webgpuBackend.dispose();
