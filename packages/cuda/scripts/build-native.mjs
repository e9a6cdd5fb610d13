#!/usr/bin/env node
/**
 * Builds the native addon of @ecf8/cuda (build/ecf8_cuda.node) from source with CMake: the C API library of cuda/
 * (with the CUDA kernels when nvcc is found, else host code only) and the node-addon-api binding.
 *
 * Runs as the package's `install` script and never fails the install: whatever happens, it writes
 * build/status.json ({ ok, cuda, reason, seconds }) and exits 0, so the package still installs and
 * `isAvailable()` reports why it cannot decode on a GPU. Set ECF8_CUDA_BUILD_STRICT=1 to exit 1 on a failed build.
 *
 * Environment:
 *   ECF8_CUDA_BUILD=auto|cuda|host|skip   auto (default): kernels when nvcc is found; host: never nvcc; skip: no build
 *   CUDA_ARCHITECTURES                     CMake CUDA architectures (default: cuda/CMakeLists.txt's sm_80, sm_90 + PTX)
 *   ECF8_CUDA_BUILD_JOBS                   parallel compile jobs (default: number of CPUs)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(pkgDir, 'build');
const cmakeDir = join(outDir, 'cmake');
const addon = join(outDir, 'ecf8_cuda.node');
const started = Date.now();
const mode = (process.env.ECF8_CUDA_BUILD ?? 'auto').toLowerCase();
const log = (m) => console.log(`@ecf8/cuda: ${m}`);

function finish(status) {
  const full = { ...status, seconds: Math.round((Date.now() - started) / 100) / 10, node: process.version };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'status.json'), JSON.stringify(full, null, 2) + '\n');
  log(full.ok ? `built ${full.cuda ? 'with CUDA kernels' : 'host-only (no CUDA kernels)'} in ${full.seconds} s${full.reason ? ` (${full.reason})` : ''}` : `not built: ${full.reason}`);
  process.exit(!full.ok && process.env.ECF8_CUDA_BUILD_STRICT === '1' ? 1 : 0);
}

function runs(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

function findNvcc() {
  if (runs('nvcc')) return 'nvcc';
  for (const p of [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter(Boolean)) {
    const nvcc = join(p, 'bin', 'nvcc');
    if (existsSync(nvcc) && runs(nvcc)) return nvcc;
  }
  return null;
}

function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

function addonApiDir() {
  try {
    const require = createRequire(join(pkgDir, 'package.json'));
    const dir = require('node-addon-api').include_dir;
    return existsSync(join(dir, 'napi.h')) ? dir : null;
  } catch {
    return null;
  }
}

rmSync(addon, { force: true }); // a failed or skipped build must not leave an older addon behind
if (mode === 'skip') finish({ ok: false, cuda: false, reason: 'native build skipped (ECF8_CUDA_BUILD=skip)' });
// The CUDA/C++ sources: the package's own copy (cuda-src/, put there when it is packed), else the monorepo's cuda/.
const sourceCandidates = [join(pkgDir, 'cuda-src'), join(pkgDir, '..', '..', 'cuda')];
const sourceDir = sourceCandidates.find((d) => existsSync(join(d, 'CMakeLists.txt')));
if (!sourceDir) finish({ ok: false, cuda: false, reason: `CUDA sources not found (looked for CMakeLists.txt in ${sourceCandidates.join(' and ')})` });
if (!runs('cmake')) finish({ ok: false, cuda: false, reason: 'no cmake on PATH (needed to build the native addon)' });
if (!runs('c++') && !runs('g++') && !runs('clang++')) finish({ ok: false, cuda: false, reason: 'no C++ compiler on PATH' });
const nodeInc = nodeIncludeDir();
if (!nodeInc) finish({ ok: false, cuda: false, reason: "Node.js headers not found (node_api.h); set npm's nodedir" });
const napiInc = addonApiDir();
if (!napiInc) finish({ ok: false, cuda: false, reason: 'node-addon-api not installed' });

const nvcc = mode === 'host' ? null : findNvcc();
if (mode === 'cuda' && !nvcc) finish({ ok: false, cuda: false, reason: 'no CUDA compiler (nvcc) but ECF8_CUDA_BUILD=cuda' });
const jobs = String(Number(process.env.ECF8_CUDA_BUILD_JOBS) || Math.max(1, cpus().length));

function build(withCuda) {
  rmSync(cmakeDir, { recursive: true, force: true });
  const args = [
    '-S', pkgDir, '-B', cmakeDir, '-DCMAKE_BUILD_TYPE=Release',
    `-DNODE_INCLUDE_DIR=${nodeInc}`, `-DNODE_ADDON_API_DIR=${napiInc}`, `-DECF8_SOURCE_DIR=${sourceDir}`,
    `-DECF8_CUDA=${withCuda ? 'ON' : 'OFF'}`,
  ];
  if (withCuda) {
    args.push(`-DCMAKE_CUDA_COMPILER=${nvcc === 'nvcc' ? 'nvcc' : nvcc}`);
    if (process.env.CUDA_ARCHITECTURES) args.push(`-DCMAKE_CUDA_ARCHITECTURES=${process.env.CUDA_ARCHITECTURES}`);
  }
  const configure = spawnSync('cmake', args, { encoding: 'utf8' });
  if (configure.status !== 0) return `cmake configure failed: ${(configure.stderr || configure.stdout).trim().split('\n').slice(-5).join(' | ')}`;
  const b = spawnSync('cmake', ['--build', cmakeDir, '-j', jobs], { encoding: 'utf8' });
  if (b.status !== 0) return `build failed: ${(b.stderr + b.stdout).trim().split('\n').filter((l) => /error/i.test(l)).slice(0, 5).join(' | ') || 'see cmake output'}`;
  return existsSync(addon) ? null : 'build produced no ecf8_cuda.node';
}

if (nvcc) {
  log(`building with CUDA kernels (${nvcc}) ...`);
  const err = build(true);
  if (!err) finish({ ok: true, cuda: true, reason: '' });
  log(`CUDA build failed (${err}); building host-only`);
  const err2 = build(false);
  finish(err2 ? { ok: false, cuda: false, reason: err2 } : { ok: true, cuda: false, reason: `no CUDA kernels: the CUDA build failed: ${err}` });
} else {
  log('no CUDA compiler (nvcc): building host-only (validation and the block emulator; no GPU decoding)');
  const err = build(false);
  finish(err ? { ok: false, cuda: false, reason: err } : { ok: true, cuda: false, reason: 'no CUDA compiler (nvcc) when @ecf8/cuda was built' });
}
