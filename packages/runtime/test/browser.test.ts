/**
 * @ecf8/runtime in headless Chromium (WebGPU on SwiftShader), from the built packages: a model fetched over HTTP
 * opened from its Response, and the WebGPU forward pass of gpu-forward.ts run in the page (decodes recorded into
 * the page's command encoder before a WGSL matvec), bit-identical with the uncompressed file.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, ensureBuilt, packageMounts, startStaticServer } from '../../../scripts/browser-harness.js';
import { makeFixture, SAMPLE, type Fixture } from './fixtures.js';
import { gpuForward } from './gpu-forward.js';

const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !existsSync(CHROMIUM);

const IMPORTS = {
  '@ecf8/core': '/core/index.js',
  '@ecf8/webgpu': '/webgpu/index.js',
  '@ecf8/runtime': '/runtime/index.js',
  '@ecf8/safetensors/layout': '/safetensors/layout.js',
};
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ecf8 runtime test page</title>
<script>window.__name = (f) => f;</script>
<script type="importmap">${JSON.stringify({ imports: IMPORTS })}</script>
<script type="module">
  import * as core from '@ecf8/core';
  import * as webgpu from '@ecf8/webgpu';
  import * as runtime from '@ecf8/runtime';
  import * as layout from '@ecf8/safetensors/layout';
  window.ecf8 = { core, webgpu, runtime, layout };
  window.ecf8Ready = true;
</script></head><body>ecf8 runtime</body></html>`;

(optional ? describe.skip : describe)('@ecf8/runtime in headless Chromium', () => {
  let fx: Fixture;
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt('core', 'safetensors', 'webgpu', 'runtime');
    fx = await makeFixture();
    const s = await startStaticServer({
      mounts: { ...packageMounts(['core', 'safetensors', 'webgpu', 'runtime']), '/model/': fx.dir, '/plain/': dirname(SAMPLE) },
      pages: { '/': { html: PAGE } },
    });
    server = s.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await page.goto(s.url);
    await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
    await fx?.cleanup();
  });

  it('opens a fetch Response and decodes every tensor to the original bytes (reference backend)', async () => {
    const r = await page.evaluate(async () => {
      const { core, runtime, layout } = (window as any).ecf8;
      const plain = new Uint8Array(await (await fetch('/plain/model.safetensors')).arrayBuffer());
      const header = layout.parseSafetensors(plain);
      const model = await runtime.openModel(await fetch('/model/model.safetensors'), { backend: core.referenceBackend, slots: 2 });
      let same = 0;
      for (const t of model.tensors) {
        const info = header.byName.get(t.name);
        const want: Uint8Array = plain.subarray(header.dataOffset + info.begin, header.dataOffset + info.end);
        const got: Uint8Array = t.compressed ? (await model.get(t.name)).bytes : model.bytes(t.name);
        if (got.length === want.length && got.every((v, i) => v === want[i])) same++;
      }
      const out = { same, tensors: model.tensors.length, placement: model.placement, report: runtime.formatMemoryReport(model.memory(), model.placement) };
      await model.close();
      return out;
    });
    expect(r.tensors).toBe(30);
    expect(r.same).toBe(30);
    expect(r.placement).toBe('host');
    expect(r.report).toMatch(/12 F8_E4M3; resident on host/);
  });

  it('runs the WebGPU forward pass with decodes recorded into the page\'s encoder, bit-identical with the plain file', async () => {
    const r = await page.evaluate(
      async ([source, slots]) => {
        const run = (0, eval)(`(${source})`);
        const get = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
        return run((window as any).ecf8, await get('/model/model.safetensors'), await get('/plain/model.safetensors'), slots);
      },
      [gpuForward.toString(), 2] as const,
    );
    expect(r.placement).toBe('webgpu');
    expect(r.layers).toBe(12);
    expect(r.manager.length).toBe(512);
    expect(r.manager).toEqual(r.plain);
    expect(new Set(r.manager).size).toBeGreaterThan(100);
  });
});
