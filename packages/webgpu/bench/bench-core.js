/**
 * The decode benchmark, runnable in Node (bench.mjs) and in a browser page (bench.mjs --browser): ECF8 decode
 * throughput of the WebGPU kernel vs a plain copy kernel that writes the same number of output bytes, on the same
 * device. Both are timed as K back-to-back dispatches in one submission, waiting for onSubmittedWorkDone (no
 * timestamp queries: compatibility-mode adapters often lack them). Also times the one-shot decode() path
 * (validation + upload + decode + read-back + CRC) for reference.
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

  const src = device.createBuffer({ size: out.size, usage: STORAGE | COPY_DST });
  const dst = device.createBuffer({ size: out.size, usage: STORAGE });
  const module = device.createShaderModule({ code: COPY_WGSL });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const groups = Math.ceil(out.size / 16 / 256);
  const gx = Math.min(groups, 65535);
  const gy = Math.ceil(groups / gx);
  const copy = (enc) => {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(gx, gy);
    pass.end();
  };
  await timeSubmits(device, copy, 1);
  const copyMs = await timeSubmits(device, copy, iterations);

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
  src.destroy();
  dst.destroy();
  return res;
}
