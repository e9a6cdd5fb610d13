import { afterAll, describe, expect, it } from 'vitest';
import { decode as referenceDecode, listBackends } from '@ecf8/core';
import { decodeParallel, decodeParallelInto, WorkerPool } from '@ecf8/fast';
import { describeBackendSuite } from '../../../conformance/src/backend-suite.js';
import { firstDifference, loadVectors } from '../../../conformance/src/vectors.js';
import { cpuWasmWorkersBackend, decodeWasm, encodeWasm, usesSimd, wasmWorkerProvider } from '../src/index.js';

// Two WebAssembly workers, used even for tiny vectors.
const pool = new WorkerPool(2, wasmWorkerProvider);
const par = { pool, minParallelElements: 0 };
const pool3 = new WorkerPool(3, wasmWorkerProvider);
afterAll(() => Promise.all([pool.terminate(), pool3.terminate()]));

cpuWasmWorkersBackend.options = par;
describeBackendSuite(cpuWasmWorkersBackend, { propertyRuns: 20 });

const vectors = loadVectors();
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e) => (e as { code?: string }).code ?? `not an Ecf8Error: ${String(e)}`,
  );

/** A deterministic FP8 tensor of `n` elements with exponents concentrated like a model's weights. */
function weights(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const r = x >>> 8;
    const exponent = 7 - Math.min(7, Math.clz32(r & 0xff) - 24) + ((r >>> 8) & 1); // geometric around 6-7
    a[i] = ((r >>> 12) & 0x80) | (exponent << 3) | ((r >>> 16) & 7);
  }
  return a;
}

describe('cpu-wasm-workers', () => {
  it('is registered above cpu-workers and cpu-wasm (the automatic choice where SharedArrayBuffer exists)', () => {
    const priority = (n: string) => listBackends().find((b) => b.name === n)?.priority ?? -Infinity;
    expect(priority('cpu-wasm-workers')).toBeGreaterThan(priority('cpu-workers'));
    expect(priority('cpu-workers')).toBeGreaterThan(priority('cpu-wasm'));
  });

  it('with the default minParallelElements, small streams decode on the calling thread and large ones in the workers, both right', async () => {
    const saved = cpuWasmWorkersBackend.options;
    cpuWasmWorkersBackend.options = { pool };
    try {
      for (const n of [1000, (1 << 20) + 3]) {
        const fp8 = weights(n, n);
        const stream = encodeWasm(fp8);
        expect(firstDifference(await cpuWasmWorkersBackend.decode(stream), fp8), `decode n=${n}`).toBe(-1);
        const out = new Uint8Array(n + 2).fill(0xa5);
        expect(await cpuWasmWorkersBackend.decodeInto(stream, out, 1)).toBe(n);
        expect(firstDifference(out.subarray(1, n + 1), fp8), `decodeInto n=${n}`).toBe(-1);
        expect([out[0], out[n + 1]]).toEqual([0xa5, 0xa5]);
        const bad = stream.slice();
        bad[bad.length - 1] ^= 1;
        expect(await codeOf(cpuWasmWorkersBackend.decode(bad)), `corrupted n=${n}`).toBe(await codeOf(Promise.resolve().then(() => referenceDecode(bad))));
      }
    } finally {
      cpuWasmWorkersBackend.options = saved;
    }
  });

  it('each worker runs its own instance of the module (the build this thread uses)', async () => {
    expect(await pool.ready()).toBe(2);
    const builds = await Promise.all([0, 1].map((i) => pool.run<number>(i, { op: 'wasm-simd' })));
    expect(builds).toEqual([usesSimd() ? 1 : 0, usesSimd() ? 1 : 0]);
  });

  it('every valid vector decodes to its bytes on 2 and on 3 workers, into a new array and at an offset', async () => {
    for (const p of [pool, pool3]) {
      for (const v of vectors.valid) {
        const got = await decodeParallel(v.stream, { pool: p, minParallelElements: 0 });
        expect(firstDifference(got, v.decoded), v.name).toBe(-1);
        const work = new Uint8Array(v.elements + 5).fill(0xa5);
        expect(await decodeParallelInto(v.stream, work, 3, { pool: p, minParallelElements: 0 })).toBe(v.elements);
        expect(firstDifference(work.subarray(3, 3 + v.elements), v.decoded), v.name).toBe(-1);
        expect(work.subarray(0, 3).every((b) => b === 0xa5) && work.subarray(3 + v.elements).every((b) => b === 0xa5)).toBe(true);
      }
    }
  });

  it('invalid vectors: the reference code on 2 and on 3 workers', async () => {
    for (const p of [pool, pool3]) {
      for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
        expect(await codeOf(decodeParallel(v.stream, { pool: p, minParallelElements: 0 })), v.name).toBe(v.error);
      }
    }
  });

  it('a 3M-element tensor over 2 and 3 workers: its bytes, and corrupted copies give the single-thread code', async () => {
    const fp8 = weights(3_000_000, 12);
    for (const threadsPerBlock of [256, 1024]) {
      const stream = encodeWasm(fp8, { threadsPerBlock });
      for (const p of [pool, pool3]) {
        expect(firstDifference(await decodeParallel(stream, { pool: p }), fp8)).toBe(-1);
        const shared = new Uint8Array(new SharedArrayBuffer(fp8.length + 1));
        expect(await decodeParallelInto(stream, shared, 1, { pool: p })).toBe(fp8.length);
        expect(firstDifference(shared.subarray(1), fp8)).toBe(-1);
      }
      // Corruptions across the stream: late exponent bytes (gap chain / positions / content CRC) and nibbles (CRC).
      const view = new DataView(stream.buffer, stream.byteOffset);
      const nibblesAt = stream.length - Math.ceil(fp8.length / 2);
      for (const at of [stream.length - 1, nibblesAt - 40, Math.floor(nibblesAt * 0.75), nibblesAt + 1_000_000]) {
        const bad = stream.slice();
        bad[at] ^= 0x24;
        let want: string;
        try {
          decodeWasm(bad);
          want = 'ok';
        } catch (e) {
          want = (e as { code: string }).code;
        }
        expect(want).not.toBe('ok');
        expect(await codeOf(decodeParallel(bad, { pool: pool3 })), `byte ${at}`).toBe(want);
        expect(await codeOf(decodeParallel(bad, { pool: pool3, verifyChecksums: false })), `byte ${at}, no CRC`).toBe(
          await codeOf(Promise.resolve().then(() => decodeWasm(bad, { verifyChecksums: false }))),
        );
      }
      expect(view.byteLength).toBe(stream.length);
    }
  });

  it('agrees with the reference decoder on a mid-size tensor of another seed', async () => {
    const fp8 = weights(300_000, 7);
    const stream = encodeWasm(fp8, { threadsPerBlock: 512 });
    expect(firstDifference(await decodeParallel(stream, par), referenceDecode(stream))).toBe(-1);
  });
});
