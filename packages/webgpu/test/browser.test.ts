/**
 * @ecf8/webgpu in a real browser: Playwright (playwright-core) drives Debian's headless Chromium (WebGPU on
 * SwiftShader) against a page served from 127.0.0.1 that imports the built package. The page decodes vectors and
 * returns the sha256 of each result; they must equal the sha256 of the vectors' decoded files. SwiftShader is slow
 * with barrier-heavy kernels, so the inputs stay at or below 64K elements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadVectors } from '@ecf8/conformance';
import { CHROMIUM, CHROMIUM_ARGS, ensureBuilt, startServer } from './browser-harness.js';

const MAX_BROWSER_ELEMENTS = 65_536;
const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !existsSync(CHROMIUM);

(optional ? describe.skip : describe)('WebGPU in headless Chromium', () => {
  const vectors = loadVectors();
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt();
    const s = await startServer();
    server = s.server;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await page.goto(s.url);
    await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  it('has an adapter and registers the backend', async () => {
    const r = await page.evaluate(async () => {
      const { core, webgpu } = (window as any).ecf8;
      const a = await webgpu.webgpuBackend.isAvailable();
      const chosen = await core.resolveBackend();
      return { a, chosen: chosen.name, info: a.available ? await webgpu.webgpuBackend.adapterInfo() : '' };
    });
    console.log(`browser adapter: ${r.info}`);
    expect(r.a).toEqual({ available: true });
    expect(r.chosen).toBe('webgpu');
  });

  it('decodes vectors in the page to the right sha256', async () => {
    const chosen = vectors.valid.filter((v) => v.elements <= MAX_BROWSER_ELEMENTS);
    expect(chosen.length).toBeGreaterThan(30);
    const names = chosen.map((v) => `valid/${v.name}.ecf8`);
    const got: Record<string, string> = await page.evaluate(async (files) => {
      const { webgpu } = (window as any).ecf8;
      const out: Record<string, string> = {};
      for (const f of files) {
        const stream = new Uint8Array(await (await fetch(`/vectors/${f}`)).arrayBuffer());
        const bytes: Uint8Array<ArrayBuffer> = await webgpu.webgpuBackend.decode(stream);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        out[f] = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      }
      return out;
    }, names);
    for (const v of chosen) {
      const want = createHash('sha256').update(v.decoded).digest('hex');
      expect(got[`valid/${v.name}.ecf8`], v.name).toBe(want);
    }
  });

  it('decodes into a GPUBuffer at an offset and reports invalid streams with their codes', async () => {
    const invalid = vectors.invalid.filter((v) => v.stream.length < 200_000).map((v) => ({ file: `invalid/${v.name}.ecf8`, error: v.error }));
    const r = await page.evaluate(async (invalid) => {
      const { webgpu } = (window as any).ecf8;
      const b = webgpu.webgpuBackend;
      const device: GPUDevice = await b.device();
      const stream = new Uint8Array(await (await fetch('/vectors/valid/real-weights-slice.ecf8')).arrayBuffer());
      const work = device.createBuffer({ size: 1 << 17, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const n = await b.decodeInto(stream, work, 5, { verifyContent: true });
      const rb = device.createBuffer({ size: 1 << 17, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(work, 0, rb, 0, 1 << 17);
      device.queue.submit([enc.finish()]);
      await rb.mapAsync(GPUMapMode.READ);
      const bytes = new Uint8Array(rb.getMappedRange()).slice(5, 5 + n);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const codes: Record<string, string> = {};
      for (const v of invalid) {
        const s = new Uint8Array(await (await fetch(`/vectors/${v.file}`)).arrayBuffer());
        try {
          await b.decode(s);
          codes[v.file] = 'decoded';
        } catch (e) {
          codes[v.file] = (e as { code?: string }).code ?? String(e);
        }
      }
      return { n, sha: Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join(''), codes };
    }, invalid);
    const v = vectors.valid.find((x) => x.name === 'real-weights-slice')!;
    expect(r.n).toBe(v.elements);
    expect(r.sha).toBe(createHash('sha256').update(v.decoded).digest('hex'));
    for (const x of invalid) expect(r.codes[x.file], x.file).toBe(x.error);
  });
});
