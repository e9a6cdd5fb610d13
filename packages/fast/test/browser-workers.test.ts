/**
 * @ecf8/fast's parallel paths in a real browser: Playwright drives Debian's headless Chromium against pages served
 * from 127.0.0.1 that import the built packages. Web Workers start from a Blob URL holding the kernel's own source.
 * Two pages: one cross-origin isolated (COOP/COEP headers: SharedArrayBuffer exists, transport 'shared') and one
 * ordinary page (no SharedArrayBuffer: transport 'copy' when asked for, else the calling thread). On both, every
 * valid vector decodes to its sha256 and
 * every invalid one fails with its code, and a 2M-element tensor encodes to the reference bytes and decodes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadVectors } from '@ecf8/conformance';
import { CHROMIUM, CHROMIUM_ARGS, ISOLATION_HEADERS, ROOT, ensureBuilt, packageMounts, packagesPage, startStaticServer } from '../../../scripts/browser-harness.js';

const PAGE = packagesPage('ecf8 worker test page', ['core', 'fast']);

const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !existsSync(CHROMIUM);

(optional ? describe.skip : describe)('@ecf8/fast Web Workers in headless Chromium', () => {
  const vectors = loadVectors();
  let server: Server;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    ensureBuilt('core', 'fast');
    const s = await startStaticServer({
      mounts: {
        ...packageMounts(['core', 'fast']),
        '/vectors/': join(ROOT, 'test-vectors'),
      },
      pages: {
        '/plain.html': { html: PAGE },
        '/isolated.html': { html: PAGE, headers: ISOLATION_HEADERS },
        // Isolated, scripts may load, workers may not: cpu-workers must say so and resolution fall back to cpu-fast.
        '/no-workers.html': {
          html: PAGE,
          headers: { ...ISOLATION_HEADERS, 'content-security-policy': "script-src 'self' 'unsafe-inline'; worker-src 'none'" },
        },
      },
    });
    server = s.server;
    base = s.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(base + path);
    await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
    return page;
  }

  for (const { path, isolated, transport } of [
    { path: 'isolated.html', isolated: true, transport: 'shared' },
    { path: 'plain.html', isolated: false, transport: 'copy' },
  ]) {
    describe(`${path} (${isolated ? 'cross-origin isolated' : 'not isolated'}: transport '${transport}')`, () => {
      let page: Page;
      beforeAll(async () => {
        page = await open(path);
      });
      afterAll(() => page?.close());

      it('has the expected isolation, and workers are available', async () => {
        const r = await page.evaluate(() => ({
          isolated: globalThis.crossOriginIsolated,
          sab: typeof SharedArrayBuffer,
          available: (window as any).ecf8.fast.workersAvailable(),
        }));
        expect(r).toEqual({ isolated, sab: isolated ? 'function' : 'undefined', available: { available: true } });
      });

      it(`resolves ${isolated ? 'cpu-workers' : "cpu-fast (cpu-workers only with transport 'copy')"}, which decodes through the registry`, async () => {
        const r = await page.evaluate(async () => {
          const { core, fast } = (window as any).ecf8;
          const plain = typeof SharedArrayBuffer !== 'function';
          if (plain) {
            const a = await fast.cpuWorkersBackend.isAvailable();
            if (a.available || !/cross-origin isolated/.test(a.reason)) throw new Error(`cpu-workers on a plain page: ${JSON.stringify(a)}`);
            if ((await core.resolveBackend()).name !== 'cpu-fast') throw new Error('cpu-fast expected by default');
            fast.cpuWorkersBackend.options = { transport: 'copy' };
          }
          const backend = await core.resolveBackend();
          const stream = new Uint8Array(await (await fetch('/vectors/valid/real-weights-slice.ecf8')).arrayBuffer());
          const out: Uint8Array = await backend.decode(stream, { minParallelElements: 0 });
          const digest = await crypto.subtle.digest('SHA-256', out.slice());
          return { name: backend.name, sha: Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, '0')).join('') };
        });
        const v = vectors.valid.find((x) => x.name === 'real-weights-slice')!;
        expect(r).toEqual({ name: 'cpu-workers', sha: createHash('sha256').update(v.decoded).digest('hex') });
      });

      it('decodes every valid vector to its sha256 and reports every invalid one with its code, on 2 workers', async () => {
        const valid = vectors.valid.map((v) => `valid/${v.name}.ecf8`);
        const bad = [
          ...vectors.invalid.map((v) => ({ file: `invalid/${v.name}.ecf8`, error: v.error })),
          ...vectors.headerOnly.map((v) => ({ file: `header-only/${v.name}.ecf8`, error: v.error })),
        ];
        const invalid = bad.map((v) => v.file);
        const r = await page.evaluate(
          async ({ valid, invalid }) => {
            const { fast } = (window as any).ecf8;
            const pool = new fast.WorkerPool(2);
            const opts = { pool, minParallelElements: 0, transport: typeof SharedArrayBuffer === 'function' ? 'shared' : 'copy' };
            const load = async (f: string) => new Uint8Array(await (await fetch(`/vectors/${f}`)).arrayBuffer());
            const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
            const sha: Record<string, string> = {};
            const codes: Record<string, string> = {};
            let shared = 0;
            for (const f of valid) {
              const out: Uint8Array = await fast.decodeParallel(await load(f), opts);
              if (out.buffer instanceof ArrayBuffer === false) shared++;
              sha[f] = hex(await crypto.subtle.digest('SHA-256', out.slice()));
            }
            for (const f of invalid) {
              codes[f] = await fast.decodeParallel(await load(f), opts).then(
                () => 'decoded',
                (e: { code?: string }) => e.code ?? String(e),
              );
            }
            await pool.terminate();
            return { sha, codes, shared };
          },
          { valid, invalid },
        );
        for (const v of vectors.valid) expect(r.sha[`valid/${v.name}.ecf8`], v.name).toBe(createHash('sha256').update(v.decoded).digest('hex'));
        for (const v of bad) expect(r.codes[v.file], v.file).toBe(v.error);
        // Results of the shared transport live in a SharedArrayBuffer; those of 'copy' in ordinary memory.
        expect(r.shared).toBe(transport === 'shared' ? vectors.valid.length : 0);
      });

      it('encodes a 2M-element tensor to the reference stream and decodes it back, on 2 workers', async () => {
        const r = await page.evaluate(async () => {
          const { core, fast } = (window as any).ecf8;
          const n = 2_000_003;
          const a = new Uint8Array(n);
          let s = 5;
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            const e = 4 + Math.min(11, Math.floor(-Math.log2((s >>> 8) / 2 ** 24 + 1e-9) / 1.3));
            a[i] = ((s >>> 3) & 0x80) | (e << 3) | (s & 7);
          }
          const pool = new fast.WorkerPool(2);
          const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && x.every((v, i) => v === y[i]);
          const results: Record<string, boolean> = {};
          for (const T of [512, 16]) {
            const ref: Uint8Array = core.encode(a, { threadsPerBlock: T });
            const transport = typeof SharedArrayBuffer === 'function' ? 'shared' : 'copy';
            results[`encode T=${T}`] = same(await fast.encodeParallel(a, { threadsPerBlock: T, pool, transport }), ref);
            const out = new Uint8Array(n + 2).fill(9);
            await fast.decodeParallelInto(ref, out, 1, { pool, transport });
            results[`decode T=${T}`] = out[0] === 9 && out[n + 1] === 9 && same(out.subarray(1, n + 1), a);
          }
          await pool.terminate();
          return results;
        });
        expect(r).toEqual({ 'encode T=512': true, 'decode T=512': true, 'encode T=16': true, 'decode T=16': true });
      });
    });
  }

  it('a page whose Content-Security-Policy forbids workers: cpu-workers is unavailable with a reason, cpu-fast is chosen', async () => {
    const page = await open('no-workers.html');
    try {
      const r = await page.evaluate(async () => {
        const { core, fast } = (window as any).ecf8;
        const a = await fast.cpuWorkersBackend.isAvailable();
        const chosen = await core.resolveBackend();
        return { available: a.available, reason: a.reason ?? '', chosen: chosen.name };
      });
      expect(r.available).toBe(false);
      expect(r.reason).toMatch(/did not start.*Content-Security-Policy/);
      console.log(`cpu-workers with worker-src 'none': ${r.reason}`);
      expect(r.chosen).toBe('cpu-fast');
    } finally {
      await page.close();
    }
  });
});
