/**
 * Packaging test (CI runs it: .ci/run, `npm run test:packaging`): every published package is packed with `npm pack`,
 * only those tarballs (plus their third-party dependencies from the npm registry) are installed in a new project
 * outside the repository, and the project then uses them as a user would:
 *   1. `npx ecf8 demo` and `npx ecf8 --help` (the CLI's bin, linked from the tarball);
 *   2. a Node script round-tripping with @ecf8/core and @ecf8/fast (single thread and worker threads), and
 *      `require()` answering with a one-line message;
 *   3. the types: a TypeScript file importing every package type-checks against the installed declarations;
 *   4. the conformance runner from its tarball (its bundled vectors) against the installed CLI;
 *   5. @ecf8/cuda's install-time build found its bundled CUDA sources (it builds host-only without nvcc);
 *   6. an esbuild browser bundle of @ecf8/fast and @ecf8/webgpu decodes a stream in headless Chromium (CPU, worker
 *      threads and WebGPU), byte for byte.
 * Packages are found by reading the workspaces, so a new non-private package is packed and installed too.
 *
 *   npx tsx scripts/packaging-test.ts [--keep]      (--keep leaves the temporary directory for inspection)
 */
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, ISOLATION_HEADERS, ROOT, startStaticServer } from './browser-harness.js';

interface WorkspacePackage {
  name: string;
  dir: string;
  private: boolean;
  bin: Record<string, string>;
}

/** The workspace packages, from the root package.json's `workspaces` globs (`dir/*` or `dir`). */
export function workspacePackages(): WorkspacePackage[] {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = root.workspaces.flatMap((w) =>
    w.endsWith('/*') ? readdirSync(join(ROOT, w.slice(0, -2))).sort().map((d) => `${w.slice(0, -2)}/${d}`) : [w],
  );
  return dirs
    .filter((d) => existsSync(join(ROOT, d, 'package.json')))
    .map((dir) => {
      const p = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
      return { name: p.name, dir, private: p.private === true, bin: typeof p.bin === 'string' ? { [p.name]: p.bin } : (p.bin ?? {}) };
    });
}

const log = (m: string) => process.stdout.write(`packaging-test: ${m}\n`);

/** Runs a command and returns its stdout and stderr together (`stdoutOnly`: stdout alone, e.g. JSON). */
function run(cmd: string, args: string[], options: SpawnSyncOptions & { expectFail?: boolean; stdoutOnly?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, ...options });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (options.expectFail ? r.status === 0 : r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} ${options.expectFail ? 'succeeded but should have failed' : `failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`}:\n${out}`);
  }
  return options.stdoutOnly ? String(r.stdout ?? '') : out;
}

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
  log(`ok: ${what}`);
}

async function browserDecode(consumer: string): Promise<void> {
  const www = join(consumer, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(
    join(consumer, 'browser-entry.js'),
    `import { encode } from '@ecf8/core';
import { decodeFast, decodeParallel } from '@ecf8/fast';
import { webgpuBackend } from '@ecf8/webgpu';

const fp8 = new Uint8Array(65536).map((_, i) => (Math.imul(i, 2654435761) >>> 25) ^ (i & 0x87));
const same = (a) => a.length === fp8.length && a.every((b, i) => b === fp8[i]);
async function main() {
  const stream = encode(fp8);
  const r = { isolated: globalThis.crossOriginIsolated === true, fast: same(decodeFast(stream)) };
  r.workers = same(await decodeParallel(stream, { minParallelElements: 0 }));
  const a = await webgpuBackend.isAvailable();
  r.webgpu = a.available ? same(await webgpuBackend.decode(stream)) : 'unavailable: ' + a.reason;
  return r;
}
main().then((r) => (window.result = r), (e) => (window.result = { error: String(e && e.stack || e) }));
`,
  );
  run(join(ROOT, 'node_modules', '.bin', 'esbuild'), ['browser-entry.js', '--bundle', '--platform=browser', '--format=esm', '--outfile=www/bundle.js', '--log-level=warning'], { cwd: consumer });
  const bundle = readFileSync(join(www, 'bundle.js'), 'utf8');
  // (The worker program's own `g.require('node:worker_threads')` runs only inside Node workers: not an import.)
  check(!/(?:from|import)\s*["']node:|(?<![\w.])require\(["']node:/.test(bundle), 'the browser bundle has no static Node built-in import');
  const { server, url } = await startStaticServer({
    mounts: { '/app/': www },
    pages: { '/': { html: '<!doctype html><meta charset="utf-8"><script type="module" src="/app/bundle.js"></script>', headers: ISOLATION_HEADERS } },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 300_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    log(`browser: ${JSON.stringify(result)}`);
    check(result.error === undefined, 'the browser bundle ran without an exception');
    check(result.isolated === true && result.fast === true && result.workers === true, 'the bundle decodes in Chromium with @ecf8/fast (one thread and Web Workers), byte for byte');
    check(result.webgpu === true, 'the bundle decodes in Chromium with @ecf8/webgpu, byte for byte');
  } finally {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  }
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const packages = workspacePackages().filter((p) => !p.private);
  log(`packages: ${packages.map((p) => p.name).join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'ecf8-packaging-'));
  try {
    const packs = join(work, 'packs');
    mkdirSync(packs);
    // npm pack runs each package's prepack/postpack (conformance's vectors, cuda's sources are copied in).
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packs, ...packages.flatMap((p) => ['-w', p.name])], { cwd: ROOT, stdoutOnly: true })) as {
      name: string;
      filename: string;
      files: { path: string }[];
    }[];
    const tarballs = new Map(packed.map((p) => [p.name, join(packs, p.filename.replace(/^@/, '').replace(/\//g, '-'))]));
    for (const p of packed) {
      const paths = new Set(p.files.map((f) => f.path));
      check(paths.has('LICENSE') && paths.has('README.md') && paths.has('package.json'), `${p.name}: tarball has LICENSE, README.md and package.json`);
      check([...paths].some((f) => f.startsWith('dist/') && f.endsWith('.d.ts')), `${p.name}: tarball has built ESM with type declarations (dist/*.d.ts)`);
      check(existsSync(tarballs.get(p.name)!), `${p.name}: ${tarballs.get(p.name)} written`);
    }
    check(packed.find((p) => p.name === '@ecf8/conformance')?.files.some((f) => f.path === 'test-vectors/manifest.json'), '@ecf8/conformance: tarball bundles the test vectors');
    check(packed.find((p) => p.name === '@ecf8/cuda')?.files.some((f) => f.path === 'cuda-src/CMakeLists.txt'), '@ecf8/cuda: tarball bundles the CUDA sources and CMake files');

    // A consumer project outside the repository that depends on the tarballs only (overrides pin the packages'
    // own ^0.1.0 dependencies on each other to the same tarballs, so nothing @ecf8 comes from a registry).
    const consumer = join(work, 'consumer');
    mkdirSync(consumer);
    const deps = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify(
        {
          name: 'ecf8-packaging-consumer',
          private: true,
          type: 'module',
          dependencies: deps,
          overrides: Object.fromEntries([...tarballs.keys()].map((name) => [name, `$${name}`])),
          allowScripts: { '@ecf8/cuda': true },
        },
        null,
        2,
      ),
    );
    log(`npm install in ${consumer} ...`);
    run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: consumer, env: { ...process.env, ECF8_CUDA_BUILD_JOBS: '2' } });
    const installed = JSON.parse(run('npm', ['ls', '--all', '--json'], { cwd: consumer, stdoutOnly: true })) as { dependencies: Record<string, { resolved?: string }> };
    for (const name of tarballs.keys()) check(installed.dependencies[name]?.resolved?.startsWith('file:'), `${name}: installed from its tarball`);
    const bad = run('npm', ['ls', '--all', '--parseable'], { cwd: consumer, stdoutOnly: true })
      .split('\n')
      .filter((l) => /node_modules\/@ecf8\//.test(l) && !/^.*consumer\/node_modules\/@ecf8\/[^/]+$/.test(l));
    check(bad.length === 0, 'no nested (registry) copy of an @ecf8 package');

    // 1. The CLI.
    const help = run('npx', ['--no-install', 'ecf8', '--help'], { cwd: consumer });
    check(/^usage: ecf8 <command>/.test(help), '`npx ecf8 --help` runs the installed bin');
    const demo = run('npx', ['--no-install', 'ecf8', 'demo'], { cwd: consumer });
    check(/sha256 identical to the original checkpoint/.test(demo), '`npx ecf8 demo` compresses, verifies and restores the bundled checkpoint');

    // 2. Node round trip with @ecf8/core and @ecf8/fast; require() gets one line.
    writeFileSync(
      join(consumer, 'round-trip.mjs'),
      `import { encode, decode, quantizeE4M3 } from '@ecf8/core';
import { encodeFast, decodeFast, decodeParallel, terminateDefaultPool } from '@ecf8/fast';
const { data } = quantizeE4M3(Float32Array.from({ length: 1 << 21 }, (_, i) => Math.sin(i * 0.7) / (1 + (i % 89))));
const stream = encode(data);
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const ok = same(encodeFast(data), stream) && same(decode(stream), data) && same(decodeFast(stream), data) && same(await decodeParallel(stream, { minParallelElements: 0 }), data);
await terminateDefaultPool();
console.log(JSON.stringify({ ok, elements: data.length, streamBytes: stream.length }));
`,
    );
    const rt = JSON.parse(run(process.execPath, ['round-trip.mjs'], { cwd: consumer, stdoutOnly: true }).trim().split('\n').pop()!);
    check(rt.ok === true, `a Node script round-trips ${rt.elements} elements with @ecf8/core and @ecf8/fast (stream ${rt.streamBytes} bytes)`);
    for (const name of tarballs.keys()) {
      const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(name)})`], { cwd: consumer, encoding: 'utf8' });
      check(r.status !== 0 && r.stderr.includes(`${name} is an ES module: load it with import`), `${name}: require() fails with the one-line ES-module message`);
    }

    // 3. Types from the installed declarations (package exports, Node16 resolution).
    writeFileSync(
      join(consumer, 'types.ts'),
      packages.map((p, i) => `import * as p${i} from '${p.name}';\nexport const k${i}: string[] = Object.keys(p${i});`).join('\n') +
        `\nimport { encode } from '@ecf8/core';\nimport { decodeFast } from '@ecf8/fast';\nexport const n: number = decodeFast(encode(new Uint8Array(4))).length;\n`,
    );
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'types.ts'], { cwd: consumer });
    check(true, 'a TypeScript file importing every package type-checks against the installed declarations');

    // 4. The conformance runner from its tarball (bundled vectors) against the installed CLI.
    const cli = join(consumer, 'node_modules', '@ecf8', 'cli', 'bin', 'ecf8.js');
    // The API-level limit vectors run through --max-output-bytes; those that need a caller's buffer (decodeInto) have
    // no command-line form and are reported as skipped.
    const conf = run('npx', ['--no-install', 'ecf8-conformance', '--decoder', `node ${cli} decode {in} {out}`, '--decoder-limit', `node ${cli} decode {in} {out} --max-output-bytes {max_output_bytes}`, '--quiet'], { cwd: consumer });
    check(/^\d+ passed, 0 failed(, \d+ skipped \(see SKIP lines\))?$/m.test(conf), `ecf8-conformance (from its tarball) passes the installed CLI's decoder: ${conf.trim().split('\n').pop()}`);
    const enc = run('npx', ['--no-install', 'ecf8-conformance', '--encoder', `node ${cli} encode {in} {out} -t {threads}`, '--filter', 'odd|two|real', '--quiet'], { cwd: consumer });
    check(/^[1-9]\d* passed, 0 failed$/m.test(enc), `ecf8-conformance passes the installed CLI's encoder (canonical level): ${enc.trim().split('\n').pop()}`);

    // 5. @ecf8/cuda built from its bundled sources at install time (host-only without nvcc).
    const status = JSON.parse(readFileSync(join(consumer, 'node_modules', '@ecf8', 'cuda', 'build', 'status.json'), 'utf8'));
    log(`@ecf8/cuda build status: ${JSON.stringify(status)}`);
    check(!/sources not found/.test(status.reason), '@ecf8/cuda: its install script found the bundled CUDA sources');
    const cmake = spawnSync('cmake', ['--version']).status === 0;
    if (cmake) check(status.ok === true, '@ecf8/cuda: the native addon built from the tarball (cmake present)');
    const avail = run(process.execPath, ['--input-type=module', '-e', "import { cudaBackend } from '@ecf8/cuda'; console.log(JSON.stringify(await cudaBackend.isAvailable()))"], { cwd: consumer, stdoutOnly: true });
    check(/"available":(true|false)/.test(avail), `@ecf8/cuda imports and reports its availability: ${avail.trim()}`);
    if (status.ok) {
      // The resident-stream path of the addon built from the tarball, on its emulated device layer (no GPU needed).
      const script = [
        "import { encode } from '@ecf8/core'; import { emulatedCudaBackend as b } from '@ecf8/cuda';",
        'const d = Uint8Array.from({ length: 5000 }, (_, i) => 0x38 + (i % 7)); const r = await b.upload(encode(d));',
        'const t = b.allocDeviceBuffer(d.length + 3); await r.decode(t, 3); const back = b.readDeviceBuffer(t, 3, d.length);',
        "r.free(); b.freeDeviceBuffer(t); console.log(back.every((x, i) => x === d[i]) ? 'resident-ok' : 'resident-DIFFERENT');",
      ].join(' ');
      const resident = run(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, stdoutOnly: true });
      check(resident.trim() === 'resident-ok', `@ecf8/cuda: a resident stream decodes on the emulated device layer of the installed addon: ${resident.trim()}`);
    }

    // 6. Browser bundle.
    await browserDecode(consumer);
    log('all checks passed');
  } finally {
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`packaging-test: FAILED: ${(e as Error).message}\n`);
  process.exit(1);
});
