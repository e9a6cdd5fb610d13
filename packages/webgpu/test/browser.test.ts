/**
 * @ecf8/webgpu in a real browser: Playwright (playwright-core) drives Debian's headless Chromium (WebGPU on
 * SwiftShader, which has the `subgroups` feature: the kernel's subgroup scan) against a page served from 127.0.0.1
 * that imports the built package. The shared backend suite (every vector, every invalid code, property tests) runs
 * against two backends living in the page — the adapter's limits and WebGPU's default compute limits (both the direct
 * path on SwiftShader, src/kernel.ts stagedPathSlowOn; the staged path runs in test/node.test.ts on llvmpipe and in
 * the mirror) — through a proxy that sends each stream to the page and the bytes or error code back (`decodeInto`
 * targets are GPUBuffers in the page, named by id).
 * The page also decodes vectors itself and returns their sha256, decodes into a GPUBuffer at an offset, and reports
 * invalid streams' codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ErrorCode, fail, type Availability, type DecodeOptions, type Ecf8Backend } from '@ecf8/core';
import { loadVectors } from '@ecf8/conformance';
import { describeBackendSuite } from '@ecf8/conformance/backend-suite';
import { CHROMIUM, CHROMIUM_ARGS, ensureBuilt, startServer } from './browser-harness.js';

const MAX_BROWSER_ELEMENTS = 65_536;
const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !existsSync(CHROMIUM);

/** One browser and page for the whole file, opened on first use. */
let session: Promise<{ server: Server; browser: Browser; page: Page }> | undefined;
function browserPage(): Promise<Page> {
  session ??= (async () => {
    ensureBuilt();
    const s = await startServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(s.url);
    await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
    // Two backends in the page: the adapter's limits, and WebGPU's default compute limits.
    await page.evaluate(() => {
      const w = window as any;
      const { WebGpuBackend } = w.ecf8.webgpu;
      w.suiteBackends = {
        'webgpu-chromium': w.ecf8.webgpu.webgpuBackend,
        'webgpu-chromium-default-limits': new WebGpuBackend({ name: 'webgpu-chromium-default-limits', limits: { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 } }),
      };
    });
    return { server: s.server, browser, page };
  })();
  return session.then((x) => x.page);
}

/** A backend in Node that decodes with a backend living in the page (streams and bytes travel as base64). */
class PageBackend implements Ecf8Backend<number> {
  constructor(readonly name: string) {}

  async isAvailable(): Promise<Availability> {
    const page = await browserPage();
    return page.evaluate((name) => (window as any).suiteBackends[name].isAvailable(), this.name);
  }

  /** The kernel shape the page's backend uses for T threads per block. */
  async kernel(T: number): Promise<{ path: string; subgroups: boolean }> {
    const page = await browserPage();
    return page.evaluate(async ({ name, T }) => {
      const b = (window as any).suiteBackends[name];
      return b.kernelFor(await b.device(), T);
    }, { name: this.name, T });
  }

  async decode(stream: Uint8Array, options: DecodeOptions = {}): Promise<Uint8Array> {
    const page = await browserPage();
    const r = await page.evaluate(
      async ({ name, b64, options }) => {
        const bin = atob(b64);
        const s = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) s[i] = bin.charCodeAt(i);
        try {
          const out: Uint8Array = await (window as any).suiteBackends[name].decode(s, options);
          let str = '';
          for (let i = 0; i < out.length; i += 0x8000) str += String.fromCharCode(...out.subarray(i, i + 0x8000));
          return { b64: btoa(str) };
        } catch (e) {
          return { code: (e as { code?: string }).code ?? 'no code', message: String(e) };
        }
      },
      { name: this.name, b64: Buffer.from(stream).toString('base64'), options },
    );
    if ('b64' in r && r.b64 !== undefined) return new Uint8Array(Buffer.from(r.b64, 'base64'));
    if (r.code === 'no code') throw new Error(r.message);
    fail(r.code as ErrorCode, r.message ?? '');
  }

  /** `target` is the id of a GPUBuffer living in the page (made by `pageBufferTarget`). */
  async decodeInto(stream: Uint8Array, target: number, offset = 0, options: DecodeOptions = {}): Promise<number> {
    const page = await browserPage();
    const r = await page.evaluate(
      async ({ name, b64, target, offset, options }) => {
        const bin = atob(b64);
        const s = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) s[i] = bin.charCodeAt(i);
        try {
          const w = window as any;
          return { n: (await w.suiteBackends[name].decodeInto(s, w.suiteTargets.get(target), offset, options)) as number };
        } catch (e) {
          return { code: (e as { code?: string }).code ?? 'no code', message: String(e) };
        }
      },
      { name: this.name, b64: Buffer.from(stream).toString('base64'), target, offset, options },
    );
    if ('n' in r && r.n !== undefined) return r.n;
    if (r.code === 'no code') throw new Error(r.message);
    fail(r.code as ErrorCode, r.message ?? '');
  }

  /** decodeInto targets for the API-level vectors: GPUBuffers on this backend's device in the page, by id. */
  outputTarget() {
    const name = this.name;
    return {
      async create(byteLength: number, fill: number): Promise<number> {
        const page = await browserPage();
        return page.evaluate(
          async ({ name, byteLength, fill }) => {
            const w = window as any;
            const device: GPUDevice = await w.suiteBackends[name].device();
            const buffer = device.createBuffer({ size: byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
            if (byteLength > 0) device.queue.writeBuffer(buffer, 0, new Uint8Array(byteLength).fill(fill));
            w.suiteTargets ??= new Map();
            w.suiteTargetId = (w.suiteTargetId ?? 0) + 1;
            w.suiteTargets.set(w.suiteTargetId, buffer);
            return w.suiteTargetId as number;
          },
          { name, byteLength, fill },
        );
      },
      async read(target: number): Promise<Uint8Array> {
        const page = await browserPage();
        const b64 = await page.evaluate(
          async ({ name, target }) => {
            const w = window as any;
            const buffer: GPUBuffer = w.suiteTargets.get(target);
            if (buffer.size === 0) return '';
            const device: GPUDevice = await w.suiteBackends[name].device();
            const readback = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
            const enc = device.createCommandEncoder();
            enc.copyBufferToBuffer(buffer, 0, readback, 0, buffer.size);
            device.queue.submit([enc.finish()]);
            await readback.mapAsync(GPUMapMode.READ);
            const bytes = new Uint8Array(readback.getMappedRange()).slice();
            readback.unmap();
            readback.destroy();
            let str = '';
            for (let i = 0; i < bytes.length; i += 0x8000) str += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            return btoa(str);
          },
          { name, target },
        );
        return new Uint8Array(Buffer.from(b64, 'base64'));
      },
      async destroy(target: number): Promise<void> {
        const page = await browserPage();
        await page.evaluate((target) => {
          const w = window as any;
          w.suiteTargets.get(target)?.destroy();
          w.suiteTargets.delete(target);
        }, target);
      },
    };
  }

  async dispose(): Promise<void> {}
}

const adapterLimits = new PageBackend('webgpu-chromium');
const direct = new PageBackend('webgpu-chromium-default-limits');
if (!optional) {
  describeBackendSuite(adapterLimits, { maxPropertyElements: 40_000, propertyRuns: 10, outputTarget: adapterLimits.outputTarget() });
  describeBackendSuite(direct, { maxPropertyElements: 40_000, propertyRuns: 10, outputTarget: direct.outputTarget() });
}

afterAll(async () => {
  if (!session) return;
  const s = await session;
  await s.browser.close();
  await new Promise((ok) => s.server.close(ok));
});

(optional ? describe.skip : describe)('WebGPU in headless Chromium', () => {
  const vectors = loadVectors();
  let page: Page;

  beforeAll(async () => {
    page = await browserPage();
  });

  it('runs the subgroup scan, and on SwiftShader the direct path even where the staging buffer fits', async () => {
    // src/kernel.ts stagedPathSlowOn: SwiftShader's staged path measured slower than its direct path.
    expect(await adapterLimits.kernel(512)).toMatchObject({ path: 'direct', subgroups: true, workgroupSize: 256 });
    expect(await direct.kernel(512)).toMatchObject({ path: 'direct', subgroups: true });
    expect(await adapterLimits.kernel(64)).toMatchObject({ path: 'direct' });
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
