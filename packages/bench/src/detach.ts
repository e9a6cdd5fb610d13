/**
 * `npm run bench:detach -w @ecf8/bench`: how much one detached ArrayBuffer anywhere in the process slows the
 * single-thread decoder (V8's array-buffer-detaching protector; see packages/fast/src/workers.ts). Prints the
 * decode speed of the same stream before and after detaching a 16-byte buffer, medians of 9, side by side in one
 * process (the effect cannot be undone, so "after" must come second).
 */
import { quantizeE4M3 } from '@ecf8/core';
import { decodeFastInto, encodeFast } from '@ecf8/fast';
import { alphaStable } from '../../../scripts/corpus/corpus.js';

const n = 16 << 20;
const fp8 = quantizeE4M3(alphaStable(n, 1.8, 2)).data;
const stream = encodeFast(fp8);
const out = new Uint8Array(n);

function mbps(runs = 9): number {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    decodeFastInto(stream, out);
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return n / 1e3 / ts[runs >> 1];
}

mbps(3); // warm up the JIT
const before = mbps();
const b = new ArrayBuffer(16);
structuredClone(b, { transfer: [b] });
if (b.byteLength !== 0) throw new Error('the buffer was not detached');
mbps(3);
const after = mbps();
for (let i = 0; i < n; i++) if (out[i] !== fp8[i]) throw new Error(`decode mismatch at ${i}`);
console.log(`decode 16 MiB alpha-stable-1.8, one thread, verified: ${before.toFixed(0)} MB/s before any detach, ${after.toFixed(0)} MB/s after one (${((after / before - 1) * 100).toFixed(1)}%)`);
