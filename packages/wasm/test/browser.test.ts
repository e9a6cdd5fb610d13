/**
 * @ecf8/wasm in a real browser: Playwright drives Debian's headless Chromium against a page served from 127.0.0.1
 * that imports the built packages (the module comes embedded in dist/index.js, so the page needs no .wasm path).
 * With the SIMD build (what Chromium validates) and with the baseline build forced: every valid vector decodes to
 * its sha256, every invalid one fails with its code, and every canonical vector's bytes encode to its stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadVectors } from '@ecf8/conformance';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, ensureBuilt, packageMounts, packagesPage, startStaticServer } from '../../../scripts/browser-harness.js';

const PACKAGES = ['core', 'fast', 'wasm'];
const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !existsSync(CHROMIUM);

(optional ? describe.skip : describe)('@ecf8/wasm in headless Chromium', () => {
  const vectors = loadVectors();
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  let server: Server;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    ensureBuilt(...PACKAGES);
    const s = await startStaticServer({
      mounts: { ...packageMounts(PACKAGES), '/vectors/': join(ROOT, 'test-vectors') },
      pages: { '/wasm.html': { html: packagesPage('ecf8 wasm test page', PACKAGES) } },
    });
    server = s.server;
    base = s.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => server?.close(ok));
  });

  for (const simd of [true, false]) {
    describe(simd ? 'SIMD build' : 'baseline build (forced)', () => {
      let page: Page;
      beforeAll(async () => {
        page = await browser.newPage();
        await page.goto(base + 'wasm.html');
        await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
      });
      afterAll(() => page?.close());

      it('decodes every vector to its sha256 or its error code, encodes canonical vectors to their streams, and resolves cpu-wasm', async () => {
        const r = await page.evaluate(
          async ({ simd, valid, invalid, canonical }) => {
            const { core, wasm } = (window as any).ecf8;
            if (!simd) wasm.setSimd(false);
            await wasm.initWasm();
            const load = async (f: string) => new Uint8Array(await (await fetch(`/vectors/${f}`)).arrayBuffer());
            const hex = async (b: Uint8Array) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b.slice())), (x) => x.toString(16).padStart(2, '0')).join('');
            const sha: Record<string, string> = {};
            const encoded: Record<string, string> = {};
            const codes: Record<string, string> = {};
            for (const v of valid) {
              const out: Uint8Array = wasm.decodeWasm(await load(`valid/${v.name}.ecf8`));
              sha[v.name] = await hex(out);
              if (canonical.includes(v.name)) encoded[v.name] = await hex(wasm.encodeWasm(out, { threadsPerBlock: v.T }));
            }
            for (const f of invalid) {
              try {
                wasm.decodeWasm(await load(f));
                codes[f] = 'decoded';
              } catch (e) {
                codes[f] = (e as { code?: string }).code ?? String(e);
              }
            }
            const backend = await core.resolveBackend();
            return { simd: wasm.usesSimd(), backend: backend.name, sha, encoded, codes };
          },
          {
            simd,
            valid: vectors.valid.map((v) => ({ name: v.name, T: v.threadsPerBlock })),
            invalid: [...vectors.invalid.map((v) => `invalid/${v.name}.ecf8`), ...vectors.headerOnly.map((v) => `header-only/${v.name}.ecf8`)],
            canonical: vectors.valid.filter((v) => v.canonical).map((v) => v.name),
          },
        );
        expect(r.simd).toBe(simd);
        // An ordinary page has no SharedArrayBuffer, so cpu-workers steps aside and cpu-wasm is the first choice.
        expect(r.backend).toBe('cpu-wasm');
        for (const v of vectors.valid) expect(r.sha[v.name], v.name).toBe(sha(v.decoded));
        for (const v of vectors.valid.filter((v) => v.canonical)) expect(r.encoded[v.name], v.name).toBe(sha(v.stream));
        for (const v of vectors.invalid) expect(r.codes[`invalid/${v.name}.ecf8`], v.name).toBe(v.error);
        for (const v of vectors.headerOnly) expect(r.codes[`header-only/${v.name}.ecf8`], v.name).toBe(v.error);
      });
    });
  }
});
