/**
 * `npm run bench:browser -w @ecf8/bench [-- --write]`: @ecf8/fast inside Debian's headless Chromium, on the
 * corpus's synthetic 16 MiB tensors (run `npm run corpus -w @ecf8/bench` first). Two pages: one cross-origin
 * isolated (SharedArrayBuffer: transport 'shared', the page's inputs already in shared memory) and one ordinary page
 * (transport 'copy'). Each prints single-thread and 2-worker encode/decode MB/s, measured side by side in the same
 * page after checking every result byte for byte (medians of RUNS runs, default 7). --write puts the table in
 * docs/benchmarks.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CACHE } from '../../../scripts/corpus/corpus.js';
import { CHROMIUM, CHROMIUM_ARGS, ISOLATION_HEADERS, ROOT, ensureBuilt, packageMounts, packagesPage, startStaticServer } from '../../../scripts/browser-harness.js';
import { machine, replaceSection } from './report.js';

const WRITE = process.argv.includes('--write');
const RUNS = Number(process.env.RUNS ?? 7);
const FILES = ['alpha-stable-1.8-16M.safetensors', 'alpha-stable-1.5-16M.safetensors'];

const PAGE = packagesPage('ecf8 browser bench', ['core', 'fast']);

interface PageResult {
  file: string;
  n: number;
  userAgent: string;
  cores: number;
  transport: string;
  rows: { name: string; enc: number; dec: number }[];
}

/** Runs in the page: loads one corpus file, checks every path, then times them (medians of `runs`). */
async function inPage({ file, runs }: { file: string; runs: number }): Promise<PageResult> {
  const { fast } = (window as any).ecf8;
  const buf = new Uint8Array(await (await fetch(`/corpus/${file}`)).arrayBuffer());
  const headerLength = Number(new DataView(buf.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLength)));
  const name = Object.keys(header).find((k) => k !== '__metadata__')!;
  const [a, b] = header[name].data_offsets;
  const fp8 = buf.slice(8 + headerLength + a, 8 + headerLength + b);
  const n = fp8.length;
  const shared = typeof SharedArrayBuffer === 'function';
  const transport = shared ? 'shared' : 'copy';
  const inShared = (x: Uint8Array) => {
    if (!shared) return x;
    const y = new Uint8Array(new SharedArrayBuffer(x.length));
    y.set(x);
    return y;
  };
  const stream: Uint8Array = fast.encodeFast(fp8);
  const fp8In = inShared(fp8);
  const streamIn = inShared(stream);
  const out = inShared(new Uint8Array(n));
  const pool = new fast.WorkerPool(2);
  await pool.ready();
  const par = { pool, transport };
  const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && x.every((v, i) => v === y[i]);
  if (!same(await fast.encodeParallel(fp8In, par), stream)) throw new Error('parallel encode differs');
  out.fill(0);
  fast.decodeFastInto(stream, out);
  if (!same(out, fp8)) throw new Error('decode mismatch');
  out.fill(0);
  await fast.decodeParallelInto(streamIn, out, 0, par);
  if (!same(out, fp8)) throw new Error('parallel decode mismatch');
  const mbps = async (f: () => unknown) => {
    await f();
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await f();
      ts.push(performance.now() - t);
    }
    ts.sort((x, y) => x - y);
    return n / 1e3 / ts[runs >> 1];
  };
  const rows = [
    { name: 'cpu-fast (1 thread)', enc: await mbps(() => fast.encodeFast(fp8)), dec: await mbps(() => fast.decodeFastInto(stream, out)) },
    {
      name: `cpu-workers, ${transport} (2 workers${shared ? '' : ', the page takes one share'})`,
      enc: await mbps(() => fast.encodeParallel(fp8In, par)),
      dec: await mbps(() => fast.decodeParallelInto(streamIn, out, 0, par)),
    },
  ];
  if (!shared) {
    // The workers alone: the page's thread only copies (useCallingThread: false).
    const alone = { ...par, useCallingThread: false };
    out.fill(0);
    await fast.decodeParallelInto(stream, out, 0, alone);
    if (!same(out, fp8) || !same(await fast.encodeParallel(fp8, alone), stream)) throw new Error('workers-only copy transport mismatch');
    rows.push({
      name: 'cpu-workers, copy (2 workers, the page only copies)',
      enc: await mbps(() => fast.encodeParallel(fp8, alone)),
      dec: await mbps(() => fast.decodeParallelInto(stream, out, 0, alone)),
    });
  }
  await pool.terminate();
  return { file, n, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, transport, rows };
}

async function main(): Promise<void> {
  ensureBuilt('core', 'fast');
  const { server, url } = await startStaticServer({
    mounts: {
      ...packageMounts(['core', 'fast']),
      '/corpus/': join(CACHE, 'safetensors'),
    },
    pages: { '/plain.html': { html: PAGE }, '/isolated.html': { html: PAGE, headers: ISOLATION_HEADERS } },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const results: PageResult[] = [];
  try {
    for (const path of ['isolated.html', 'plain.html']) {
      for (const file of FILES) {
        // A fresh page per measurement: nothing of one run's JIT or heap state carries into the next.
        const page = await browser.newPage();
        await page.goto(url + path);
        await page.waitForFunction(() => (window as unknown as { ecf8Ready?: boolean }).ecf8Ready === true);
        const r = await page.evaluate(inPage, { file, runs: RUNS });
        await page.close();
        results.push(r);
        for (const row of r.rows) console.log(`${path} ${file}: ${row.name}: encode ${row.enc.toFixed(0)} MB/s, decode ${row.dec.toFixed(0)} MB/s`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  const ua = results[0].userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? results[0].userAgent;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} in headless ${ua} (navigator.hardwareConcurrency ${results[0].cores}) on ${machine()}; medians of ${RUNS} runs, every result checked byte for byte first. Decode includes full verification.`,
    '',
    '| page | data set | path | encode MB/s | decode MB/s | decode ÷ 1 thread |',
    '|---|---|---|---:|---:|---:|',
  ];
  for (const r of results) {
    const one = r.rows[0].dec;
    const page = r.transport === 'shared' ? 'cross-origin isolated' : 'ordinary (no SharedArrayBuffer)';
    for (const row of r.rows) {
      lines.push(`| ${page} | ${r.file.replace('.safetensors', '')} | ${row.name} | ${row.enc.toFixed(0)} | ${row.dec.toFixed(0)} | ${(row.dec / one).toFixed(2)}× |`);
    }
  }
  const table = lines.join('\n');
  console.log('\n' + table);
  if (WRITE) {
    const docPath = resolve(ROOT, 'docs', 'benchmarks.md');
    const doc = replaceSection(readFileSync(docPath, 'utf8'), 'browser', table, 'Browser (Chromium)', 'npm run bench:browser -w @ecf8/bench -- --write');
    writeFileSync(docPath, doc);
    console.log('[bench:browser] wrote docs/benchmarks.md (browser section)');
  }
}

await main();
