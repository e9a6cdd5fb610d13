// Runs @ecf8/cuda (the Node binding) on a machine with a GPU but without the repository's node_modules: bundle this
// file with esbuild next to build/ecf8_cuda.node (see docs/cuda.md). Checks every vector through the binding, decodes
// into caller-owned device memory at unaligned offsets, round-trips random tensors for several T, and times decode.
import { CudaBackend, allocDeviceBuffer, freeDeviceBuffer, readDeviceBuffer, writeDeviceBuffer } from '../src/index.ts';
import { encode, decode as referenceDecode } from '@ecf8/core';
import { readFileSync } from 'node:fs';

const backend = new CudaBackend();
console.log('availability', JSON.stringify(await backend.isAvailable()));
const dir = process.argv[2] ?? 'vectors';
const m = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
let passed = 0;
let failed = 0;
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
for (const v of m.valid) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  const want = new Uint8Array(readFileSync(`${dir}/${v.decoded}`));
  if (same(await backend.decode(s), want)) passed++;
  else (failed++, console.log('MISMATCH decode', v.name));
  // decodeInto caller-owned device memory at an unaligned offset; guard bytes around it must survive.
  const off = 5;
  const buf = allocDeviceBuffer(want.length + 16);
  writeDeviceBuffer(buf, new Uint8Array(want.length + 16).fill(0xa5));
  await backend.decodeInto(s, buf, off);
  const back = readDeviceBuffer(buf);
  freeDeviceBuffer(buf);
  const ok = same(back.subarray(off, off + want.length), want) && back.subarray(0, off).every((b) => b === 0xa5) && back.subarray(off + want.length).every((b) => b === 0xa5);
  if (ok) passed++;
  else (failed++, console.log('MISMATCH decodeInto', v.name));
}
for (const v of [...m.invalid, ...m.headerOnly]) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  try {
    await backend.decode(s);
    failed++;
    console.log('ACCEPTED', v.name);
  } catch (e) {
    if (e.code === v.error) passed++;
    else (failed++, console.log('CODE', v.name, e.code, v.error));
  }
}
let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
for (const T of [1, 32, 128, 512, 1024]) {
  for (const n of [0, 1, 999, 65537, 1 << 20]) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = ((rnd() < 0.5 ? 0x80 : 0) | ((5 + Math.floor(rnd() * rnd() * 9)) << 3) | Math.floor(rnd() * 8)) & 0xff;
    if (same(await backend.decode(encode(a, { threadsPerBlock: T })), a)) passed++;
    else (failed++, console.log('ROUNDTRIP', T, n));
  }
}
console.log(`binding on GPU: ${passed} passed, ${failed} failed`);
// Timing through the binding: decode into device memory (upload + kernel + sync), and decode() to host bytes.
for (const mb of [64, 256]) {
  const n = mb << 20;
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i & 1 ? 0x80 : 0) | ((5 + ((i * 2654435761) >>> 29)) << 3) | (i & 7)) & 0xff;
  const s = encode(a);
  const buf = allocDeviceBuffer(n);
  await backend.decodeInto(s, buf, 0);
  const t0 = performance.now();
  const k = 5;
  for (let r = 0; r < k; r++) await backend.decodeInto(s, buf, 0);
  const into = (performance.now() - t0) / k;
  const t1 = performance.now();
  const host = await backend.decode(s);
  const dec = performance.now() - t1;
  if (!same(host, a)) console.log('LARGE MISMATCH', mb);
  freeDeviceBuffer(buf);
  console.log(`${mb} MB: decodeInto device memory ${(n / 1e6 / (into / 1e3)).toFixed(0)} MB/s (host validation + upload + kernel + CRC), decode() to host ${(n / 1e6 / (dec / 1e3)).toFixed(0)} MB/s`);
}
void referenceDecode;
process.exit(failed ? 1 : 0);
