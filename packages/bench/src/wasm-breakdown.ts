/**
 * `npm run bench:wasm-breakdown -w @ecf8/bench`: where @ecf8/wasm's decode time goes, in ns per FP8 byte, per data
 * set (issue 12: "where a target is missed, measure where the time goes"). It compiles a copy of
 * packages/wasm/assembly (run `npm run build -w @ecf8/wasm` first: the copy needs assembly/generated/) with one
 * change: an exported stage mask that makes decodeChunk stop after a stage, and times phase C through the package's
 * own range decoder (range.ts) with each mask. Stages are then differences of best-of-ROUNDS times:
 * host (JavaScript: copies into and out of the module's memory, positions), byte reversal + log reset + gap bytes,
 * the eight-lane exponent loop, the crossing check, the nibble merge, and the content CRC-32C (verified minus not).
 * The variant module is for measurement only: its outputs are wrong when a stage is skipped. Also prints the speed
 * of the module's CRC-32C alone (crcOfOut over 192 KiB).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { encode as refEncode, parseStream } from '@ecf8/core';
import { geometryOf } from '@ecf8/fast';
import { createRangeDecoder } from '../../wasm/src/range.js';
import { datasetFp8, loadManifest } from '../../../scripts/corpus/corpus.js';
import { machine } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ASSEMBLY = join(HERE, '..', '..', 'wasm', 'assembly');
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const SETS = process.env.DATASETS?.split(',');

/** Replaces `anchor` (which must occur exactly once) in `text`. */
function patch(text: string, anchor: string, replacement: string, file: string): string {
  if (text.split(anchor).length !== 2) throw new Error(`wasm-breakdown: ${file} no longer has this line once: ${anchor}`);
  return text.replace(anchor, replacement);
}

async function buildStagedModule(): Promise<WebAssembly.Exports> {
  const dir = mkdtempSync(join(tmpdir(), 'ecf8-breakdown-'));
  try {
    cpSync(ASSEMBLY, dir, { recursive: true });
    const decodePath = join(dir, 'decode.ts');
    let decode = readFileSync(decodePath, 'utf8');
    decode = patch(decode, 'export function decodeChunk(', 'export let stopAfter: i32 = 0;\nexport function setStopAfter(v: i32): void { stopAfter = v; }\nexport function decodeChunk(', 'decode.ts');
    decode = patch(decode, '  let flags = 0;\n  let next = 0;', '  if (stopAfter == 1) return 0;\n  let flags = 0;\n  let next = 0;', 'decode.ts');
    decode = patch(decode, '  flags |= checkCrossings(windows);', '  if (stopAfter == 2) return flags;\n  flags |= checkCrossings(windows);', 'decode.ts');
    decode = patch(decode, '  crcState = mergeNibbles(', '  if (stopAfter == 3) return flags;\n  crcState = mergeNibbles(', 'decode.ts');
    writeFileSync(decodePath, decode);
    const indexPath = join(dir, 'index.ts');
    writeFileSync(indexPath, patch(readFileSync(indexPath, 'utf8'), "export { decodeChunk,", "export { setStopAfter } from './decode';\nexport { decodeChunk,", 'index.ts'));
    const outFile = join(dir, 'staged.wasm');
    const { error, stderr } = await asc.main([indexPath, '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--outFile', outFile], {});
    if (error) throw new Error(`wasm-breakdown: asc failed: ${stderr.toString()}`);
    return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(outFile)), {}).exports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const x: any = await buildStagedModule();
const mem = new Uint8Array(x.memory.buffer);
let chunkMs = 0;
const timed = { ...x, decodeChunk: (...a: number[]) => { const t = performance.now(); const r = x.decodeChunk(...a); chunkMs += performance.now() - t; return r; } };
const decodeRange = createRangeDecoder(timed);

// The module's CRC alone, on data that stays in cache.
const crcBytes = 192 * 1024;
mem.fill(0x5a, x.OUT.value, x.OUT.value + crcBytes);
let crcBest = Infinity;
for (let r = 0; r < 200; r++) {
  const t = performance.now();
  x.crcOfOut(-1, crcBytes);
  crcBest = Math.min(crcBest, performance.now() - t);
}

const f3 = (v: number) => v.toFixed(3);
const rows: string[] = [];
for (const ds of loadManifest().filter((d) => !SETS || SETS.includes(d.name))) {
  process.stderr.write(`[bench:wasm-breakdown] ${ds.name} ...\n`);
  const fp8 = datasetFp8(ds);
  const n = fp8.length;
  const stream = refEncode(fp8);
  const { layout, header } = parseStream(stream);
  const g = geometryOf(layout);
  const out = new Uint8Array(n);
  // [stop after stage, verify]: 0 = whole chunk.
  const runs: [number, boolean][] = [[0, true], [0, false], [3, false], [2, false], [1, false]];
  const best = runs.map(() => ({ total: Infinity, chunk: Infinity }));
  for (let r = 0; r < ROUNDS; r++) {
    runs.forEach(([stop, verify], i) => {
      x.setStopAfter(stop);
      mem.set(header.codeLengths, x.CODE_LENGTHS.value);
      x.buildDecodeTables();
      chunkMs = 0;
      const t = performance.now();
      const res = decodeRange(stream, g, out, 0, 0, layout.nBlocks, verify, 8192);
      const total = performance.now() - t;
      if (stop === 0 && (res[0] || res[1] || (verify && res[2] !== header.contentCrc32c))) throw new Error(`${ds.name}: the staged module decodes wrongly`);
      best[i] = { total: Math.min(best[i].total, total), chunk: Math.min(best[i].chunk, chunkMs) };
    });
  }
  const ns = (ms: number) => (ms * 1e6) / n;
  const [verified, plain, noMerge, noCheck, prologue] = best;
  const cells = [
    ns(plain.total - plain.chunk), // host
    ns(prologue.chunk), // reversal, log reset, gap bytes
    ns(noCheck.chunk - prologue.chunk), // lanes (and the lanes' slow codes)
    ns(noMerge.chunk - noCheck.chunk), // crossing check
    ns(plain.chunk - noMerge.chunk), // merge
    ns(verified.chunk - plain.chunk), // content CRC
  ];
  rows.push(
    `| ${ds.name} | ${(n / 1e6).toFixed(1)} | ${cells.map(f3).join(' | ')} | ${f3(ns(verified.total))} (${(n / 1e3 / verified.total).toFixed(0)} MB/s) | ${f3(ns(plain.total))} (${(n / 1e3 / plain.total).toFixed(0)} MB/s) |`,
  );
  console.log(rows[rows.length - 1]);
}
x.setStopAfter(0);
console.log(
  [
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, SIMD build; best of ${ROUNDS} interleaved runs per stage, ns per FP8 byte. The module's CRC-32C alone: ${(crcBytes / 1e3 / crcBest).toFixed(0)} MB/s (${f3((crcBest * 1e6) / crcBytes)} ns/B).`,
    '',
    '| data set | MB | host copies | reversal + log + gaps | exponent lanes | crossing check | nibble merge | content CRC | total verified | total, no CRC |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n'),
);
