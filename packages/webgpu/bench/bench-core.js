/**
 * The decode benchmark, runnable in Node (bench.mjs), in a browser page (bench.mjs --browser) and bundled on a GPU
 * machine (gpu-bench.mjs): ECF8 decode throughput of the WebGPU kernel vs a plain copy kernel that writes the same
 * number of output bytes, on the same device. Both are timed as K back-to-back dispatches in one submission, waiting
 * for onSubmittedWorkDone (no timestamp queries: compatibility-mode adapters often lack them). runBench also times
 * the one-shot decode() path; runCompare times several kernels (e.g. today's and the previous one) side by side.
 */
import { encode, crc32c } from '@ecf8/core';

const COPY_WGSL = `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = id.x + id.y * nw.x * 256u;
  if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}`;

/** Weight-like FP8 E4M3 bytes: roughly Gaussian values, so exponents concentrate as in trained weights. */
export function weightLikeFp8(n, seed = 1) {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  let i = 0;
  while (i < n) {
    // Box-Muller: two normal values, standard deviation 0.02 (typical of linear-layer weights).
    const r = Math.sqrt(-2 * Math.log(rnd())) * 0.02;
    const t = 2 * Math.PI * rnd();
    for (const v of [r * Math.cos(t), r * Math.sin(t)]) {
      if (i >= n) break;
      const a = Math.abs(v);
      let byte;
      if (a < 2 ** -6) byte = Math.min(7, Math.round(a / 2 ** -9)); // zero and subnormals
      else {
        const e = Math.min(Math.floor(Math.log2(a)), 8);
        byte = ((e + 7) << 3) | Math.min(7, Math.round((a / 2 ** e - 1) * 8));
      }
      out[i++] = (v < 0 ? 0x80 : 0) | byte;
    }
  }
  return out;
}

/** A copy kernel writing `bytes` bytes (a multiple of 16) with vec4<u32> loads and stores, bound in pieces that fit
 *  the device's binding limit. Returns `record(encoder)` and `destroy()`. */
export function makeCopy(device, bytes) {
  const STORAGE = 128, COPY_DST = 8;
  const src = device.createBuffer({ size: bytes, usage: STORAGE | COPY_DST });
  const dst = device.createBuffer({ size: bytes, usage: STORAGE });
  const module = device.createShaderModule({ code: COPY_WGSL });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const piece = Math.max(1 << 16, Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, 1 << 30) / 4096) * 4096);
  const parts = [];
  for (let at = 0; at < bytes; at += piece) {
    const size = Math.min(piece, bytes - at);
    const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src, offset: at, size } }, { binding: 1, resource: { buffer: dst, offset: at, size } }] });
    const groups = Math.ceil(size / 16 / 256);
    const gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
    parts.push({ group, gx, gy: Math.ceil(groups / gx) });
  }
  return {
    record(enc) {
      for (const p of parts) {
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, p.group);
        pass.dispatchWorkgroups(p.gx, p.gy);
        pass.end();
      }
    },
    destroy() {
      src.destroy();
      dst.destroy();
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Times kernels side by side on one device: `entries` = [{ label, backend, crc? }] (backends sharing the device; crc:
 * record the GPU content CRC with the decode). Each is checked once (decodeInto with the content CRC), then timed in
 * `rounds` alternating rounds of `iterations` back-to-back decodes; the copy kernel too. Input: `stream` (encoded,
 * n elements), else `data` or weight-like bytes, encoded here. Returns rows with the median ms per decode and MB/s
 * of FP8 output.
 */
export async function runCompare(device, entries, { n = 1 << 24, iterations = 5, rounds = 5, T = 512, data, stream: encoded, log = console.log } = {}) {
  const STORAGE = 128, COPY_SRC = 4, COPY_DST = 8;
  const stream = encoded ?? encode(data ?? weightLikeFp8(n), { threadsPerBlock: T });
  const size = Math.ceil(n / 16) * 16;
  const out = device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
  const ups = [];
  for (const e of entries) {
    const up = await e.backend.upload(stream);
    await up.decodeInto(out, 0, { verifyContent: true });
    ups.push(up);
  }
  const copy = makeCopy(device, size);
  const kernels = [
    ...entries.map((e, i) => ({ label: e.label, record: (enc) => ups[i].encode(enc, out, 0, e.crc ? { verifyContent: true } : undefined) })),
    { label: 'copy kernel (same output size)', record: copy.record },
  ];
  for (const k of kernels) await timeSubmits(device, k.record, 1); // warm-up
  const times = kernels.map(() => []);
  for (let r = 0; r < rounds; r++) for (const [i, k] of kernels.entries()) times[i].push(await timeSubmits(device, k.record, iterations));
  const mbs = (ms) => n / 1e6 / (ms / 1e3);
  const rows = kernels.map((k, i) => ({ label: k.label, ms: median(times[i]), MBps: mbs(median(times[i])), allMs: times[i] }));
  log(`${n} FP8 elements, T=${T}, ratio ${(n / stream.length).toFixed(3)}, ${iterations} decodes x ${rounds} alternating rounds (median)`);
  for (const r of rows) log(`  ${r.label.padEnd(44)} ${r.ms.toFixed(2).padStart(9)} ms  ${r.MBps.toFixed(0).padStart(8)} MB/s  (${(r.ms / rows[0].ms).toFixed(2)}x the first's time)`);
  ups.forEach((u) => u.destroy());
  copy.destroy();
  out.destroy();
  return { elements: n, threadsPerBlock: T, ratio: n / stream.length, rows };
}

async function timeSubmits(device, record, iterations) {
  const enc = device.createCommandEncoder();
  for (let k = 0; k < iterations; k++) record(enc);
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / iterations;
}

/** Runs the benchmark with `backend` (a WebGpuBackend); returns a result object and logs lines through `log`. */
export async function runBench(backend, { n = 1 << 24, iterations = 10, T = 512, log = console.log } = {}) {
  const device = await backend.device();
  const info = await backend.adapterInfo();
  const fp8 = weightLikeFp8(n);
  const stream = encode(fp8, { threadsPerBlock: T });
  const STORAGE = 128, COPY_SRC = 4, COPY_DST = 8;
  const out = device.createBuffer({ size: Math.ceil(n / 16) * 16, usage: STORAGE | COPY_SRC | COPY_DST });
  const up = await backend.upload(stream);
  // Correctness first (and warm-up).
  await up.decodeInto(out, 0, { verifyContent: true });
  const decodeMs = await timeSubmits(device, (enc) => up.encode(enc, out, 0), 1);
  const decodeMsK = await timeSubmits(device, (enc) => up.encode(enc, out, 0), iterations);

  const copier = makeCopy(device, out.size);
  await timeSubmits(device, copier.record, 1);
  const copyMs = await timeSubmits(device, copier.record, iterations);

  const t0 = performance.now();
  const bytes = await backend.decode(stream);
  const oneShotMs = performance.now() - t0;
  if (crc32c(bytes) !== crc32c(fp8)) throw new Error('decode() returned wrong bytes');

  const mbs = (ms) => n / 1e6 / (ms / 1e3);
  const res = {
    adapter: info,
    elements: n,
    threadsPerBlock: T,
    ratio: n / stream.length,
    dispatches: up.dispatchCount,
    decodeKernelMs: decodeMsK,
    decodeKernelMBps: mbs(decodeMsK),
    copyKernelMs: copyMs,
    copyKernelMBps: mbs(copyMs),
    decodeVsCopy: copyMs / decodeMsK,
    oneShotDecodeMs: oneShotMs,
    oneShotDecodeMBps: mbs(oneShotMs),
    firstDecodeMs: decodeMs,
  };
  log(`adapter: ${info}`);
  log(`stream: ${n} FP8 elements, T=${T}, ${stream.length} bytes compressed (ratio ${res.ratio.toFixed(3)}), ${res.dispatches} dispatch(es)`);
  log(`decode kernel:  ${decodeMsK.toFixed(2)} ms/decode  ${res.decodeKernelMBps.toFixed(0)} MB/s of FP8 output`);
  log(`copy kernel:    ${copyMs.toFixed(2)} ms/copy    ${res.copyKernelMBps.toFixed(0)} MB/s (same output size)`);
  log(`decode / copy throughput: ${(100 * res.decodeVsCopy).toFixed(1)}%`);
  log(`one-shot decode() incl. validation, upload, read-back, CRC: ${oneShotMs.toFixed(1)} ms  ${res.oneShotDecodeMBps.toFixed(0)} MB/s`);
  up.destroy();
  out.destroy();
  copier.destroy();
  return res;
}
