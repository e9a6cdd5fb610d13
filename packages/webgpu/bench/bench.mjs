#!/usr/bin/env node
/**
 * npm run bench -w @ecf8/webgpu [-- --browser] [--n=16777216] [--iterations=10] [--T=512]
 * Node: Dawn (the `webgpu` package) on whatever adapter it finds (Mesa llvmpipe on CI machines).
 * --browser: the same benchmark inside Debian's headless Chromium (SwiftShader), page served from 127.0.0.1.
 */
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true]; }));
const browser = !!args.browser;
const n = Number(args.n ?? (browser ? 1 << 20 : 1 << 24));
const iterations = Number(args.iterations ?? (browser ? 3 : 10));
const T = Number(args.T ?? 512);

const { tsImport } = await import('tsx/esm/api');
const h = await tsImport('../test/browser-harness.ts', import.meta.url);
h.ensureBuilt();

if (!browser) {
  const { WebGpuBackend } = await import('@ecf8/webgpu');
  const { runBench } = await import('./bench-core.js');
  const backend = new WebGpuBackend({ maxWorkgroupSize: args.wg ? Number(args.wg) : undefined });
  await runBench(backend, { n, iterations, T });
  await backend.dispose();
} else {
  const { chromium } = await import('playwright-core');
  const { server, url } = await h.startServer();
  const b = await chromium.launch({ executablePath: h.CHROMIUM, args: h.CHROMIUM_ARGS });
  try {
    const page = await b.newPage();
    page.on('console', (m) => console.log(m.text()));
    await page.goto(url);
    await page.waitForFunction(() => window.ecf8Ready === true);
    await page.evaluate(async (o) => {
      const { runBench } = await import('/bench/bench-core.js');
      await runBench(window.ecf8.webgpu.webgpuBackend, o);
    }, { n, iterations, T });
  } finally {
    await b.close();
    server.close();
  }
}
