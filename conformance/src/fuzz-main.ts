/**
 * `npm run fuzz -- --iterations N [--seed S] [--out DIR] [--decoders a,b]`: mutation fuzzing across every decoder
 * available here (or only the named ones; the reference always runs).
 * Writes failing inputs to DIR (default .cache/fuzz-failures) so they can become invalid test vectors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listBackends } from '@ecf8/core';
import { coreTargets, fuzz, type FuzzTarget } from './fuzz.js';
import { loadVectors } from './vectors.js';

async function optionalTargets(): Promise<FuzzTarget[]> {
  const targets: FuzzTarget[] = [...coreTargets];
  for (const pkg of ['@ecf8/fast', '@ecf8/wasm', '@ecf8/cuda']) {
    try {
      await import(/* @vite-ignore */ pkg);
    } catch (e) {
      console.error(`fuzz: ${pkg} not loaded: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  try {
    // @ecf8/webgpu's sources import the kernel as `decode.wgsl?raw`, which only a bundler resolves; use its build.
    const built = new URL('../../packages/webgpu/dist/index.js', import.meta.url).href;
    const webgpu = (await import(/* @vite-ignore */ built)) as {
      mirrorDecode: (s: Uint8Array, o?: object) => Uint8Array;
      DEFAULT_LIMITS: object;
      WebGpuBackend: new () => { validate(s: Uint8Array): void };
    };
    // The CPU mirror of the WGSL kernel (the GPU algorithm's exact per-thread logic) as a full decoder, and the
    // backend's host-side validation (phases A and B) without a device.
    // Both kernel paths: staged (the default limits of the mirror) for even-length mutants, direct (WebGPU's default
    // compute limits) with a subgroup scan for odd-length ones.
    targets.push({ name: 'webgpu-mirror', run: (s) => webgpu.mirrorDecode(s, s.length & 1 ? { limits: webgpu.DEFAULT_LIMITS, subgroupSize: 4 } : {}) });
    const validator = new webgpu.WebGpuBackend();
    targets.push({ name: 'webgpu:validate', run: (s) => validator.validate(s), validateOnly: true });
  } catch (e) {
    console.error(`fuzz: webgpu build not loaded (run npm run build): ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    // The CUDA kernel's own per-thread code, run by the block emulator through the addon: fuzzed as a full decoder.
    const cuda = (await import(/* @vite-ignore */ '@ecf8/cuda')) as { CudaEmulatorBackend?: new () => { isAvailable(): Promise<{ available: boolean; reason?: string }>; decode(s: Uint8Array): Promise<Uint8Array> } };
    if (cuda.CudaEmulatorBackend) {
      const emulator = new cuda.CudaEmulatorBackend();
      const a = await emulator.isAvailable();
      if (a.available) targets.push({ name: 'cuda-emulator', run: (s) => emulator.decode(s) });
      else console.error(`fuzz: cuda-emulator unavailable: ${a.reason}`);
    }
  } catch {
    /* reported above */
  }
  for (const { name, backend } of listBackends()) {
    if (name === 'reference' || name === 'reference-gpu-order') continue;
    const availability = await backend.isAvailable();
    const validate = (backend as { validate?: (s: Uint8Array) => void }).validate;
    if (validate && !targets.some((t) => t.name === `${name}:validate`)) targets.push({ name: `${name}:validate`, run: (s) => validate.call(backend, s), validateOnly: true });
    // Worker pools only pay off for large tensors; the fuzzer's inputs are small, so cpu-workers would only repeat cpu-fast.
    if (availability.available && name !== 'cpu-workers' && !name.startsWith('webgpu') && !name.startsWith('cuda')) targets.push({ name, run: (s) => backend.decode(s) });
    else if (!availability.available) console.error(`fuzz: backend ${name} unavailable: ${availability.reason}`);
  }
  return targets;
}

async function main() {
  const args = process.argv.slice(2);
  const get = (flag: string, dflt: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const iterations = get('--iterations', 100_000);
  const seed = get('--seed', 1);
  const outIdx = args.indexOf('--out');
  const outDir = outIdx >= 0 ? args[outIdx + 1] : '.cache/fuzz-failures';
  const vectors = loadVectors();
  const corpus = vectors.valid.filter((v) => v.stream.length <= 64 * 1024).map((v) => ({ name: v.name, stream: v.stream, decoded: v.decoded }));
  // --decoders a,b: fuzz only these decoders (the reference always runs, as the judge).
  const decodersIdx = args.indexOf('--decoders');
  const only = decodersIdx >= 0 ? new Set(args[decodersIdx + 1].split(',')) : undefined;
  const targets = (await optionalTargets()).filter((t) => !only || only.has(t.name));
  console.log(`fuzz: ${iterations} mutations, seed ${seed}, ${corpus.length} base streams, decoders: reference, ${targets.map((t) => t.name).join(', ')}`);
  const stats = await fuzz({
    iterations,
    seed,
    corpus,
    targets,
    progressEvery: Math.max(1, Math.floor(iterations / 20)),
    onProgress: (done, s) => console.log(`  ${done} mutations, ${s.decodes} decodes, ${s.failures.length} failures, ${(s.elapsedMs / 1000).toFixed(1)} s`),
  });
  console.log(JSON.stringify({ iterations: stats.iterations, decodes: stats.decodes, accepted: stats.accepted, failures: stats.failures.length, maxDecodeMs: Number(stats.maxDecodeMs.toFixed(1)), seconds: Number((stats.elapsedMs / 1000).toFixed(1)), byMutator: stats.byMutator, byCode: stats.byCode }, null, 2));
  if (stats.failures.length) {
    mkdirSync(outDir, { recursive: true });
    for (const f of stats.failures) {
      const file = join(outDir, `iter${f.iteration}-${f.target}-${f.mutator}.ecf8`);
      writeFileSync(file, f.stream);
      console.log(`FAIL ${f.target} ${f.mutator} on ${f.base} (iteration ${f.iteration}): ${f.problem} -> ${file}`);
    }
  }
  console.log(`${stats.iterations - new Set(stats.failures.map((f) => f.iteration)).size} passed, ${new Set(stats.failures.map((f) => f.iteration)).size} failed`);
  process.exitCode = stats.failures.length ? 1 : 0;
}

await main();
