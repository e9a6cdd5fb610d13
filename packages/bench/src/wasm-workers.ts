/**
 * `npm run bench:wasm-workers -w @ecf8/bench`: the WebAssembly decoder on 2 workers (cpu-wasm-workers) side by side
 * with one thread of it (cpu-wasm), and @ecf8/fast's JavaScript workers with one thread of cpu-fast, in one process,
 * interleaved round by round (issue 12: "2 workers ≥ 1.8x in Node"). Every result is checked byte for byte first.
 * The workers read the stream from and write into SharedArrayBuffers (the no-copy path); one thread of cpu-wasm
 * runs on an ordinary stream, and once more on the shared one (V8 copies shared memory into the module's with
 * relaxed atomic loads, slower than an ordinary copy). Best of ROUNDS (default 15) and median.
 * DATASETS=a,b limits the sets (default: the three synthetic 16-32 MB sets and the largest real model).
 */
import { Worker } from 'node:worker_threads';
import { encode as refEncode } from '@ecf8/core';
import { decodeFastInto, decodeParallelInto, WorkerPool } from '@ecf8/fast';
import { decodeWasmInto, usesSimd, wasmWorkerProvider } from '@ecf8/wasm';
import { datasetFp8, loadManifest } from '../../../scripts/corpus/corpus.js';
import { machine } from './report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SETS = (process.env.DATASETS ?? 'alpha-stable-1.8-16M,alpha-stable-1.5-16M,gaussian-32M,esrgan-thick-x4').split(',');

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);

const wasmPool = new WorkerPool(WORKERS, wasmWorkerProvider);
const jsPool = new WorkerPool(WORKERS);
await Promise.all([wasmPool.ready(), jsPool.ready()]);

/**
 * How much of a second core this process gets now: two threads of a pure integer loop against one, best of 5
 * (2.00 on an idle 2-core machine). Printed with each set, since a shared machine's free cores change by the second.
 */
const LOOP = `require('node:worker_threads').parentPort.on('message', () => { let x = 0; for (let i = 0; i < 5e7; i++) x = (x + i * 7) | 0; require('node:worker_threads').parentPort.postMessage(x); });`;
const loopers = [new Worker(LOOP, { eval: true }), new Worker(LOOP, { eval: true })];
const loop = (w: Worker) => new Promise((resolve) => (w.once('message', resolve), w.postMessage(0)));
async function secondCore(): Promise<number> {
  let best = 0;
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    await loop(loopers[0]);
    const one = performance.now() - t;
    t = performance.now();
    await Promise.all(loopers.map(loop));
    best = Math.max(best, (2 * one) / (performance.now() - t));
  }
  return best;
}

const rows: string[] = [];
for (const ds of loadManifest().filter((d) => SETS.includes(d.name))) {
  process.stderr.write(`[bench:wasm-workers] ${ds.name} ...\n`);
  const fp8 = datasetFp8(ds);
  const n = fp8.length;
  // The stream in shared memory, as an application that wants the no-copy path holds it.
  const plain = refEncode(fp8);
  const stream = new Uint8Array(new SharedArrayBuffer(plain.length));
  stream.set(plain);
  const out = new Uint8Array(n);
  const sharedOut = new Uint8Array(new SharedArrayBuffer(n));
  const codecs: Record<string, () => unknown> = {
    'cpu-wasm': () => decodeWasmInto(plain, out),
    'cpu-wasm, shared stream': () => decodeWasmInto(stream, out),
    'cpu-wasm-workers': () => decodeParallelInto(stream, sharedOut, 0, { pool: wasmPool }),
    'cpu-fast': () => decodeFastInto(stream, out),
    'cpu-workers': () => decodeParallelInto(stream, sharedOut, 0, { pool: jsPool }),
  };
  const times: Record<string, number[]> = {};
  for (const [name, run] of Object.entries(codecs)) {
    out.fill(0);
    sharedOut.fill(0);
    await run();
    if (!same(name.endsWith('workers') ? sharedOut : out, fp8)) throw new Error(`${ds.name}: ${name} decodes different bytes`);
    times[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(codecs)) {
      const t = performance.now();
      await run();
      times[name].push(n / 1e6 / ((performance.now() - t) / 1000));
    }
  }
  const cores = await secondCore();
  const best = (name: string) => Math.max(...times[name]);
  const med = (name: string) => median(times[name]);
  rows.push(
    `| ${ds.name} | ${(n / 1e6).toFixed(1)} | ${f0(best('cpu-wasm'))} / ${f0(med('cpu-wasm'))} | ${f0(best('cpu-wasm, shared stream'))} | ${f0(best('cpu-wasm-workers'))} / ${f0(med('cpu-wasm-workers'))} | ` +
      `**${f2(best('cpu-wasm-workers') / best('cpu-wasm'))}×** / ${f2(med('cpu-wasm-workers') / med('cpu-wasm'))}× | ` +
      `${f0(best('cpu-fast'))} / ${f0(best('cpu-workers'))} = ${f2(best('cpu-workers') / best('cpu-fast'))}× | ${f2(best('cpu-wasm-workers') / best('cpu-workers'))}× | ${f2(cores)}× |`,
  );
}
await Promise.all([wasmPool.terminate(), jsPool.terminate(), ...loopers.map((w) => w.terminate())]);

console.log(`Measured ${new Date().toISOString().slice(0, 16)} UTC on ${machine()}; ${WORKERS} workers, SIMD build: ${usesSimd()}; decode with full verification, best / median of ${ROUNDS} interleaved rounds (MB/s of FP8 output).\n`);
console.log(`| data set | MB | cpu-wasm 1 thread | … shared stream, best | cpu-wasm-workers (${WORKERS}) | speed-up best / median | cpu-fast / cpu-workers (${WORKERS}), best | wasm workers ÷ JS workers | 2 loop threads ÷ 1, after the set |`);
console.log('|---|---:|---:|---:|---:|---:|---|---:|---:|');
for (const r of rows) console.log(r);
