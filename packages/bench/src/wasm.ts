/**
 * `npm run bench:wasm -w @ecf8/bench`: @ecf8/wasm (cpu-wasm) against `zstd -1` (native, `zstd -b`) and @ecf8/fast on
 * every corpus data set, in one process, for issue 12's targets. On a machine shared with other jobs a median says
 * more about the other jobs than about the codec, so every ECF8 figure here is the best of many interleaved runs —
 * the same statistic `zstd -b` prints (its fastest iteration). First calls run in fresh processes
 * (first-call.ts), cpu-wasm and cpu-fast alternately.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode as refEncode } from '@ecf8/core';
import { decodeFastInto, encodeFast } from '@ecf8/fast';
import { decodeWasmInto, encodeWasm, usesSimd } from '@ecf8/wasm';
import { CACHE, datasetFp8, loadManifest } from '../../../scripts/corpus/corpus.js';
import { machine } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const FRESH = Number(process.env.FRESH ?? 5);

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function zstdDecode(file: string): number | null {
  const r = spawnSync('zstd', ['-b1', '-i3', '-T1', file], { encoding: 'utf8' });
  const all = [...`${r.stdout}\n${r.stderr}`.matchAll(/->\s*\d+\s*\([^)]*\),\s*[\d.]+\s*MB\/s\s*,\s*([\d.]+)\s*MB\/s/g)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

function firstCall(codec: string, file: string): number {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'first-call.ts'), codec, file], { encoding: 'utf8', cwd: join(HERE, '..') });
  const m = /"mbps":\s*([\d.e+]+)/.exec(r.stdout ?? '');
  if (!m) throw new Error(`first call of ${codec} failed: ${r.stderr}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);

const rows: string[] = [];
for (const ds of loadManifest()) {
  process.stderr.write(`[bench:wasm] ${ds.name} ...\n`);
  const fp8 = datasetFp8(ds);
  const n = fp8.length;
  const stream = refEncode(fp8);
  const out = new Uint8Array(n);
  if (!same(encodeWasm(fp8), stream) || !same(encodeFast(fp8), stream)) throw new Error(`${ds.name}: encoder differs from the reference`);
  decodeWasmInto(stream, out);
  if (!same(out, fp8)) throw new Error(`${ds.name}: wasm decode mismatch`);
  const best = { wasm: 0, wasmNoCrc: 0, fast: 0, wasmEnc: 0, fastEnc: 0 };
  const mbps = (f: () => unknown) => {
    const t = performance.now();
    f();
    return n / 1e6 / ((performance.now() - t) / 1000);
  };
  for (let r = 0; r < ROUNDS; r++) {
    best.wasm = Math.max(best.wasm, mbps(() => decodeWasmInto(stream, out)));
    best.wasmNoCrc = Math.max(best.wasmNoCrc, mbps(() => decodeWasmInto(stream, out, 0, { verifyChecksums: false })));
    best.fast = Math.max(best.fast, mbps(() => decodeFastInto(stream, out)));
    if (r % 2 === 0) {
      best.wasmEnc = Math.max(best.wasmEnc, mbps(() => encodeWasm(fp8)));
      best.fastEnc = Math.max(best.fastEnc, mbps(() => encodeFast(fp8)));
    }
  }
  const tmp = join(CACHE, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const rawFile = join(tmp, `${ds.name}.fp8`);
  const streamFile = join(tmp, `${ds.name}.ecf8`);
  writeFileSync(rawFile, fp8);
  writeFileSync(streamFile, stream);
  const zstd = zstdDecode(rawFile);
  const first = { wasm: [] as number[], fast: [] as number[] };
  for (let r = 0; r < FRESH; r++) {
    first.wasm.push(firstCall('cpu-wasm', streamFile));
    first.fast.push(firstCall('cpu-fast', streamFile));
  }
  const z = zstd ?? NaN;
  rows.push(
    `| ${ds.name} | ${(n / 1e6).toFixed(1)} | ${f0(best.wasm)} | ${f0(best.wasmNoCrc)} | ${f0(best.fast)} | ${zstd === null ? '–' : f0(z)} | ` +
      `${f2(best.wasm / z)}× | ${f2(best.wasmNoCrc / z)}× | ${f2(best.wasm / best.fast)}× | ` +
      `${f0(median(first.wasm))} / ${f0(median(first.fast))} = ${f2(median(first.wasm) / median(first.fast))}× | ${f0(best.wasmEnc)} | ${f0(best.fastEnc)} |`,
  );
  console.log(rows[rows.length - 1]);
}
console.log(
  [
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, cpu-wasm ${usesSimd() ? 'SIMD' : 'baseline'} build; best of ${ROUNDS} interleaved runs (encode: ${Math.ceil(ROUNDS / 2)}), zstd: fastest of \`zstd -b1 -i3 -T1\`; first calls: median of ${FRESH} fresh processes each.`,
    '',
    '| data set | MB | cpu-wasm decode MB/s | no CRC check | cpu-fast | zstd -1 (C) | wasm ÷ zstd | no CRC ÷ zstd | wasm ÷ fast | first call MB/s: wasm / fast | cpu-wasm encode MB/s | cpu-fast encode |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    ...rows,
  ].join('\n'),
);
