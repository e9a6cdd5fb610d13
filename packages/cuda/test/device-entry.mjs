// Runs @ecf8/cuda (the Node binding) on a machine with a GPU but without the repository's node_modules: bundle this
// file with esbuild next to build/ecf8_cuda.node (see docs/cuda.md). Checks every vector through the binding, decodes
// into caller-owned device memory at unaligned offsets, round-trips random tensors for several T, checks resident
// streams (upload once, decodes enqueued on two CUDA streams, error codes, use after free), and times decode.
// ECF8_EMULATED=1 runs the same checks on the addon's emulated device layer (no GPU; timings skipped).
import { CudaBackend } from '../src/index.ts';
import { encode, decode as referenceDecode } from '@ecf8/core';
import { readFileSync } from 'node:fs';

const emulated = process.env.ECF8_EMULATED === '1';
const backend = emulated ? new CudaBackend('cuda-emulated', { emulated: true }) : new CudaBackend();
const allocDeviceBuffer = (n) => backend.allocDeviceBuffer(n);
const freeDeviceBuffer = (b) => backend.freeDeviceBuffer(b);
const readDeviceBuffer = (b, o, l) => backend.readDeviceBuffer(b, o, l);
const writeDeviceBuffer = (b, d, o) => backend.writeDeviceBuffer(b, d, o);
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
// Resident streams: uploaded once, decoded twice at unaligned offsets on two CUDA streams (a workspace each).
const streams = [backend.createStream(), backend.createStream()];
const codeOf = async (f) => {
  try {
    await f();
    return 'ECF8_OK';
  } catch (e) {
    return e.code ?? String(e);
  }
};
for (const v of m.valid) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  const want = new Uint8Array(readFileSync(`${dir}/${v.decoded}`));
  const n = want.length;
  const r = await backend.upload(s);
  const buf = allocDeviceBuffer(2 * n + 16);
  const ws = streams.map(() => allocDeviceBuffer(r.workspaceBytes));
  const at = [3, n + 11];
  const pending = at.map((offset, i) => r.enqueue(buf, offset, { workspace: ws[i], stream: streams[i] }));
  const counts = await Promise.all(pending.map((p) => p.wait()));
  const back = n > 0 ? readDeviceBuffer(buf) : new Uint8Array(0);
  if (counts.every((c) => c === n) && at.every((o) => n === 0 || same(back.subarray(o, o + n), want)) && r.deviceBytes >= s.length) passed++;
  else (failed++, console.log('MISMATCH resident', v.name));
  r.free();
  if ((await codeOf(() => r.decode(buf, 0))) === 'ECF8_INVALID_ARGUMENT') passed++;
  else (failed++, console.log('USE AFTER FREE accepted', v.name));
  [buf, ...ws].forEach(freeDeviceBuffer);
}
for (const v of [...m.invalid, ...m.headerOnly]) {
  const s = new Uint8Array(readFileSync(`${dir}/${v.stream}`));
  let got = await codeOf(() => backend.upload(s));
  if (got === 'ECF8_OK') {
    // Phases A and B passed at upload: the phase-C code comes from the device.
    const r = await backend.upload(s);
    const buf = allocDeviceBuffer(Math.max(1, r.elementCount));
    got = await codeOf(() => r.decode(buf, 0));
    r.free();
    freeDeviceBuffer(buf);
  }
  if (got === v.error) passed++;
  else (failed++, console.log('CODE resident', v.name, got, v.error));
}
streams.forEach((st) => backend.destroyStream(st));
console.log(`binding on ${emulated ? 'the emulated device layer' : 'GPU'}: ${passed} passed, ${failed} failed`);
if (emulated) process.exit(failed ? 1 : 0);
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
  // Resident: uploaded once, then only the kernel, the content CRC and the result word per decode.
  const resident = await backend.upload(s);
  const ws = allocDeviceBuffer(resident.workspaceBytes);
  await resident.decode(buf, 0, { workspace: ws });
  const t2 = performance.now();
  for (let r = 0; r < k; r++) await resident.decode(buf, 0, { workspace: ws });
  const res = (performance.now() - t2) / k;
  if (!same(readDeviceBuffer(buf, 0, n), a)) console.log('LARGE MISMATCH resident', mb);
  resident.free();
  freeDeviceBuffer(ws);
  freeDeviceBuffer(buf);
  console.log(`${mb} MB: decodeInto device memory ${(n / 1e6 / (into / 1e3)).toFixed(0)} MB/s (host validation + upload + kernel + CRC), resident decode ${(n / 1e6 / (res / 1e3)).toFixed(0)} MB/s (kernel + CRC + result word), decode() to host ${(n / 1e6 / (dec / 1e3)).toFixed(0)} MB/s`);
}
void referenceDecode;
process.exit(failed ? 1 : 0);
