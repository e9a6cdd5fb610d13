/**
 * Speed of the reference codec (clarity first, not speed) on a realistic 64 MB tensor: FP8 E4M3 quantized from
 * Gaussian weights with a per-tensor scale. Prints encode / decode MB/s (median of 3 runs). `npx tsx scripts/bench-reference.ts [MB]`
 */
import { decode, decodeInto, encode, analyze, quantizeE4M3 } from '../packages/core/src/index.js';

const mb = Number(process.argv[2] ?? 64);
const n = mb * 1024 * 1024;
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const floats = new Float32Array(n);
for (let i = 0; i < n; i += 2) {
  const r = Math.sqrt(-2 * Math.log(rand() + 1e-12));
  const t = 2 * Math.PI * rand();
  floats[i] = r * Math.cos(t) * 0.02;
  if (i + 1 < n) floats[i + 1] = r * Math.sin(t) * 0.02;
}
const fp8 = quantizeE4M3(floats).data;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (f: () => void) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
let stream: Uint8Array = new Uint8Array();
const enc = median([0, 1, 2].map(() => time(() => (stream = encode(fp8)))));
const dec = median([0, 1, 2].map(() => time(() => decode(stream))));
const work = new Uint8Array(n);
const into = median([0, 1, 2].map(() => time(() => decodeInto(stream, work, 0))));
const noCrc = median([0, 1, 2].map(() => time(() => decodeInto(stream, work, 0, { verifyChecksums: false }))));
const a = analyze(fp8);
const rate = (ms: number) => (n / 1e6 / (ms / 1e3)).toFixed(1);
console.log(`reference codec, ${mb} MB FP8 (Gaussian weights, per-tensor scale), node ${process.version}`);
console.log(`stream ${stream.length} bytes = ${((100 * stream.length) / n).toFixed(2)}% of FP8, ${((100 * stream.length) / a.shannonBoundBytes).toFixed(2)}% of the Shannon bound (H = ${a.entropy.toFixed(3)} bits)`);
console.log(`encode            ${rate(enc)} MB/s`);
console.log(`decode            ${rate(dec)} MB/s (allocating, CRCs verified)`);
console.log(`decodeInto        ${rate(into)} MB/s (preallocated workspace, CRCs verified)`);
console.log(`decodeInto no-CRC ${rate(noCrc)} MB/s`);
