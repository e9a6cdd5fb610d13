/**
 * Builds cuda/ with CMake (the kernels too, with nvcc, when it is installed) into cuda/build and runs the standalone
 * test program: the CUDA kernel's own per-thread code, stepped by the host block emulator, against every shared test
 * vector, plus round trips and mutated streams cross-checked with an independent sequential decoder. On a machine
 * with a GPU the same program also decodes everything on the device. Skips, saying why, when cmake or a C++ compiler
 * is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cudaDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(cudaDir, 'build');
const vectorsDir = join(cudaDir, '..', 'test-vectors');

function runs(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

const haveCmake = runs('cmake');
const haveCxx = runs('c++') || runs('g++') || runs('clang++');
const haveNvcc = runs('nvcc');
const skipReason = !haveCmake ? 'cmake not found on PATH' : !haveCxx ? 'no C++ compiler (c++, g++, clang++) on PATH' : '';
if (skipReason) console.warn(`[cuda] SKIPPED: ${skipReason}`);

function run(cmd: string, args: string[], timeoutMs: number) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return { status: r.status, output, error: r.error };
}

describe.skipIf(skipReason !== '')('cuda/: kernel logic through the block emulator', () => {
  it(`configures and builds${haveNvcc ? ' (nvcc: kernels for sm_80, sm_90 and PTX)' : ' (no nvcc: host code only)'}`, () => {
    const configure = run(
      'cmake',
      ['-S', cudaDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DECF8_CUDA=${haveNvcc ? 'ON' : 'OFF'}`],
      300_000,
    );
    expect(configure.status, configure.output).toBe(0);
    const build = run('cmake', ['--build', buildDir, '-j', String(Math.max(1, cpus().length))], 900_000);
    expect(build.status, build.output.slice(-8000)).toBe(0);
    expect(existsSync(join(buildDir, 'ecf8_test'))).toBe(true);
  }, 1_200_000);

  it('decodes every shared test vector exactly and reports every invalid vector with its error code', () => {
    const test = run(join(buildDir, 'ecf8_test'), [vectorsDir, '--gpu=auto'], 600_000);
    console.log(test.output.split('\n').filter((l) => l.startsWith('ecf8_test') || l.startsWith('vectors')).join('\n'));
    expect(test.status, test.output.slice(-8000)).toBe(0);
    const m = /vectors: (\d+) valid, (\d+) invalid/.exec(test.output);
    expect(m, 'the test program must report the vectors it ran').not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(test.output).toMatch(/checks, 0 failed/);
  }, 600_000);
});
