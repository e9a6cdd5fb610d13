// The WebGPU benchmark for a machine with a GPU and no Node: bundled by gpu-bench.sh (with the package's build and
// its bench core) and run there by the carried Node and Dawn (npm `webgpu`). First checks every vector on each kernel
// path, then prints one table: decode kernel vs copy kernel per size and path, with and without the GPU CRC.
//   ./node bench.mjs [--sizes=8,32,64,128,256,512] [--iterations=10] [--rounds=3] [--T=512]
import { readFileSync } from 'node:fs';
import { WebGpuBackend } from '../dist/index.js';
import { encode } from '@ecf8/core';
import { runCompare, weightLikeFp8 } from './bench-core.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true]; }));
const sizes = String(args.sizes ?? '8,32,64,128,256,512').split(',').map(Number);
const iterations = Number(args.iterations ?? 10);
const rounds = Number(args.rounds ?? 3);
const T = Number(args.T ?? 512);
const vectorsDir = String(args.vectors ?? 'vectors');
const MB = 1 << 20;

// The kernel paths, each on its own device: the adapter's limits with subgroups (if offered), the same without the
// feature (workgroup-memory scan), and WebGPU's default compute limits (the compatibility budget: direct path).
const COMPAT = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };
const variants = [
  { label: 'adapter limits, subgroups', options: {} },
  { label: 'adapter limits, no subgroups', options: { subgroups: false } },
  { label: 'default compute limits', options: { subgroups: false, limits: COMPAT } },
];

const t0 = performance.now();
const backends = [];
for (const v of variants) {
  const backend = new WebGpuBackend({ ...v.options, name: `webgpu (${v.label})` });
  const a = await backend.isAvailable();
  if (!a.available) throw new Error(`no WebGPU device: ${a.reason}`);
  const device = await backend.device();
  const k = backend.kernelFor(device, T);
  const desc = `${k.path} path, ${k.subgroups ? 'subgroup' : 'workgroup-memory'} scan, ${k.workgroupSize} invocations x ${k.threadsPerInvocation}`;
  if (v.options.subgroups !== false && !k.subgroups) console.log(`(${v.label}: the adapter has no subgroups feature)`);
  backends.push({ ...v, backend, device, desc });
}
console.log(`adapter: ${await backends[0].backend.adapterInfo()}`);
for (const b of backends) console.log(`  ${b.label}: ${b.desc}; maxComputeWorkgroupStorageSize ${b.device.limits.maxComputeWorkgroupStorageSize}, maxBufferSize ${b.device.limits.maxBufferSize}, maxStorageBufferBindingSize ${b.device.limits.maxStorageBufferBindingSize}`);

// Correctness on this GPU first: every valid vector byte-identical (decode verifies the content CRC on the GPU too),
// every invalid vector's exact code, on each path.
const manifest = JSON.parse(readFileSync(`${vectorsDir}/manifest.json`, 'utf8'));
for (const b of backends) {
  let ok = 0;
  const bad = [];
  for (const v of manifest.valid) {
    const got = await b.backend.decode(new Uint8Array(readFileSync(`${vectorsDir}/${v.stream}`)));
    const want = new Uint8Array(readFileSync(`${vectorsDir}/${v.decoded}`));
    if (got.length === want.length && got.every((x, i) => x === want[i])) ok++;
    else bad.push(`MISMATCH ${v.name}`);
  }
  for (const v of manifest.invalid) {
    try {
      await b.backend.decode(new Uint8Array(readFileSync(`${vectorsDir}/${v.stream}`)));
      bad.push(`ACCEPTED ${v.name}`);
    } catch (e) {
      if (e.code === v.error) ok++;
      else bad.push(`CODE ${v.name}: ${e.code} instead of ${v.error}`);
    }
  }
  console.log(`vectors on ${b.label}: ${ok} passed, ${bad.length} failed${bad.length ? `\n  ${bad.join('\n  ')}` : ''}`);
}

const data = weightLikeFp8(Math.max(...sizes) * MB);
const rows = [];
for (const size of sizes) {
  const n = Math.round(size * MB);
  const stream = encode(data.subarray(0, n), { threadsPerBlock: T });
  for (const b of backends) {
    const r = await runCompare(b.device, [
      { label: 'decode', backend: b.backend },
      { label: 'decode + GPU CRC', backend: b.backend, crc: true },
    ], { n, iterations, rounds, T, stream, log: () => {} });
    const [dec, crc, copy] = r.rows;
    rows.push({ size, path: b.label, dec: dec.MBps / 1e3, crc: crc.MBps / 1e3, copy: copy.MBps / 1e3, ratio: r.ratio });
    console.log(`  ${size} MB, ${b.label}: decode ${(dec.MBps / 1e3).toFixed(1)} GB/s, + CRC ${(crc.MBps / 1e3).toFixed(1)} GB/s, copy ${(copy.MBps / 1e3).toFixed(1)} GB/s`);
  }
}

console.log(`\nT = ${T}, weight-like FP8 (compression ratio ${rows[0]?.ratio.toFixed(3)}), ${iterations} back-to-back dispatches x ${rounds} rounds (median), GB/s of FP8 output:\n`);
console.log('| FP8 output | kernel path | decode kernel | decode + GPU CRC | copy kernel | decode / copy | (decode + CRC) / copy |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.size} MB | ${r.path} | ${r.dec.toFixed(1)} GB/s | ${r.crc.toFixed(1)} GB/s | ${r.copy.toFixed(1)} GB/s | ${((100 * r.dec) / r.copy).toFixed(1)}% | ${((100 * r.crc) / r.copy).toFixed(1)}% |`);
}
console.log(`\ntotal ${((performance.now() - t0) / 1e3).toFixed(0)} s`);
for (const b of backends) await b.backend.dispose();
process.exit(0);
