#!/usr/bin/env node
/**
 * npm run bench -w @ecf8/webgpu [-- --browser] [--n=16777216] [--iterations=10] [--T=512]
 * Node: Dawn (the `webgpu` package) on whatever adapter it finds (Mesa llvmpipe on CI machines).
 * --browser: the same benchmark inside Debian's headless Chromium (SwiftShader), page served from 127.0.0.1.
 * --compare: the regression guard — today's kernel (both paths: the adapter's limits, and WebGPU's default compute
 *   limits), with and without the GPU content CRC, against the previous kernel (bench/legacy.mjs, built from git) and
 *   the copy kernel, on one device, in alternating rounds (--rounds=5).
 */
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true]; }));
const browser = !!args.browser;
const compare = !!args.compare;
const n = Number(args.n ?? (browser ? 1 << 20 : 1 << 24));
const iterations = Number(args.iterations ?? (compare ? (browser ? 2 : 3) : browser ? 3 : 10));
const rounds = Number(args.rounds ?? 5);
const T = Number(args.T ?? 512);

const { tsImport } = await import('tsx/esm/api');
const h = await tsImport('../test/browser-harness.ts', import.meta.url);
h.ensureBuilt();
const { buildLegacy } = await import('./legacy.mjs');
if (compare) await buildLegacy();

/** Page/Node-side: the compared kernels on one device (the second device has WebGPU's default compute limits). */
async function compareIn(webgpu, legacy, o) {
  const { runCompare } = await import(o.core);
  const main = new webgpu.WebGpuBackend({ name: 'bench-new' });
  const device = await main.device();
  const old = new legacy.WebGpuBackend({ device, name: 'bench-legacy' });
  const info = await main.adapterInfo();
  const path = main.kernelFor(device, o.T);
  o.log?.(`adapter: ${info}; today's kernel here: ${path.path} path, ${path.subgroups ? 'subgroup' : 'workgroup-memory'} scan, ${path.workgroupSize} invocations x ${path.threadsPerInvocation}`);
  const compat = new webgpu.WebGpuBackend({ name: 'bench-compat', limits: { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 } });
  const res = [];
  res.push(await runCompare(device, [
    { label: `previous kernel (${o.legacyCommit.slice(0, 7)})`, backend: old },
    { label: `new kernel, ${path.path} path`, backend: main },
    { label: `new kernel, ${path.path} path + GPU CRC`, backend: main, crc: true },
  ], { n: o.n, iterations: o.iterations, rounds: o.rounds, T: o.T, log: o.log }));
  const cdev = await compat.device();
  const cpath = compat.kernelFor(cdev, o.T);
  const oldC = new legacy.WebGpuBackend({ device: cdev, name: 'bench-legacy-compat' });
  res.push(await runCompare(cdev, [
    { label: `previous kernel, default limits`, backend: oldC },
    { label: `new kernel, ${cpath.path} path (default limits)`, backend: compat },
    { label: `new kernel, ${cpath.path} path + GPU CRC`, backend: compat, crc: true },
  ], { n: o.n, iterations: o.iterations, rounds: o.rounds, T: o.T, log: o.log }));
  await compat.dispose();
  await main.dispose();
  return res;
}

if (!browser) {
  if (compare) {
    const webgpu = await import('@ecf8/webgpu');
    const { LEGACY_BUNDLE, LEGACY_COMMIT } = await import('./legacy.mjs');
    const legacy = await import(LEGACY_BUNDLE);
    await compareIn(webgpu, legacy, { n, iterations, rounds, T, core: './bench-core.js', legacyCommit: LEGACY_COMMIT, log: console.log });
  } else {
    const { WebGpuBackend } = await import('@ecf8/webgpu');
    const { runBench } = await import('./bench-core.js');
    const backend = new WebGpuBackend({ maxWorkgroupSize: args.wg ? Number(args.wg) : undefined });
    await runBench(backend, { n, iterations, T });
    await backend.dispose();
  }
} else {
  const { chromium } = await import('playwright-core');
  const { LEGACY_COMMIT } = await import('./legacy.mjs');
  const { server, url } = await h.startServer();
  const b = await chromium.launch({ executablePath: h.CHROMIUM, args: h.CHROMIUM_ARGS });
  try {
    const page = await b.newPage();
    page.on('console', (m) => console.log(m.text()));
    await page.goto(url);
    await page.waitForFunction(() => window.ecf8Ready === true);
    if (compare) {
      await page.evaluate(
        async ({ o, src }) => {
          const compareIn = new Function(`return (${src})`)();
          const legacy = await import('/bench/.cache/legacy/index.js');
          await compareIn(window.ecf8.webgpu, legacy, { ...o, log: console.log });
        },
        { o: { n, iterations, rounds, T, core: '/bench/bench-core.js', legacyCommit: LEGACY_COMMIT }, src: compareIn.toString() },
      );
    } else {
      await page.evaluate(async (o) => {
        const { runBench } = await import('/bench/bench-core.js');
        await runBench(window.ecf8.webgpu.webgpuBackend, o);
      }, { n, iterations, T });
    }
  } finally {
    await b.close();
    server.close();
  }
}
