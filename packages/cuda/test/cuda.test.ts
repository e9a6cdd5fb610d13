/**
 * @ecf8/cuda. The native addon is built on install (scripts/build-native.mjs); this file rebuilds it first when it
 * is missing or older than its sources, so the tests do not depend on npm having run install scripts.
 *
 * - The shared backend suite on the 'cuda' backend: visible skips with the reason when there is no GPU (CI, and the
 *   lent GPU machines have no Node, so this part has not run on a GPU).
 * - validate() (phases A and B through the C API, no GPU) against the reference on every invalid vector.
 * - The shared backend suite on 'cuda-emulator': the CUDA kernel's per-thread code run by the C++ block emulator
 *   through the same addon, which checks the binding's marshalling end to end without a GPU.
 * - Resident streams (upload once, decode many times, enqueue on a CUDA stream, free) and the shared suite with device
 *   pointers on 'cuda-emulated' (the addon's emulated device layer) here, and on 'cuda' where there is a GPU.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encode, getBackend, parseStream, validateMetadata, Ecf8Error, ErrorCode } from '@ecf8/core';
import { loadVectors } from '@ecf8/conformance';
import { describeBackendSuite } from '@ecf8/conformance/backend-suite';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(pkgDir, 'build', 'ecf8_cuda.node');

function newestSource(): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else newest = Math.max(newest, s.mtimeMs);
    }
  };
  for (const d of [join(pkgDir, 'binding'), join(pkgDir, '..', '..', 'cuda', 'src'), join(pkgDir, '..', '..', 'cuda', 'include')]) walk(d);
  return Math.max(newest, statSync(join(pkgDir, 'CMakeLists.txt')).mtimeMs, statSync(join(pkgDir, '..', '..', 'cuda', 'CMakeLists.txt')).mtimeMs);
}

// Build (or rebuild) before importing the package, which loads the addon.
if (!existsSync(addonPath) || statSync(addonPath).mtimeMs < newestSource()) {
  const r = spawnSync(process.execPath, [join(pkgDir, 'scripts', 'build-native.mjs')], { encoding: 'utf8', timeout: 600_000 });
  console.log(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim());
}

const { CudaBackend, CudaEmulatorBackend, cudaBackend, emulatedCudaBackend, loadNative, readBuildStatus, validateStream, CUDA_BACKEND_PRIORITY, allocDeviceBuffer, freeDeviceBuffer, readDeviceBuffer, writeDeviceBuffer } =
  await import('../src/index.js');
const { describeResidentStreams } = await import('./resident.js');
type NativeBinding = import('../src/index.js').NativeBinding;

const loaded = loadNative();
const addonReason = loaded.native ? undefined : loaded.reason;
const availability = await cudaBackend.isAvailable();
const gpuSkip = availability.available ? undefined : availability.reason;
const emulated = await emulatedCudaBackend.isAvailable();
const emulatedSkip = emulated.available ? undefined : emulated.reason;
if (gpuSkip) console.warn(`[cuda] GPU tests SKIPPED: ${gpuSkip}`);
if (addonReason) console.warn(`[cuda] addon tests SKIPPED: ${addonReason}`);

const PHASE_C: string[] = [ErrorCode.GAP_MISMATCH, ErrorCode.POSITION_MISMATCH, ErrorCode.CONTENT_CHECKSUM_MISMATCH];

/** The reference's result of phases A and B: undefined when they pass, else the error code. */
function referencePhaseAB(stream: Uint8Array): string | undefined {
  try {
    validateMetadata(parseStream(stream));
    return undefined;
  } catch (e) {
    return (e as { code: string }).code;
  }
}

function validateCode(stream: Uint8Array): string | undefined {
  try {
    validateStream(stream);
    return undefined;
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe('@ecf8/cuda package', () => {
  it("registers 'cuda' in the core registry (priority 30)", () => {
    expect(getBackend('cuda')).toBe(cudaBackend);
    expect(CUDA_BACKEND_PRIORITY).toBe(30);
  });

  it('reports whether the native addon built, and never throws from isAvailable()', async () => {
    const status = readBuildStatus();
    console.log(`[cuda] build status: ${JSON.stringify(status)}; availability: ${JSON.stringify(availability)}`);
    const a = await new CudaBackend('cuda-probe').isAvailable();
    if (a.available) expect(a).toEqual({ available: true });
    else expect(a.reason.length).toBeGreaterThan(5);
  });

  it.skipIf(availability.available)('rejects decode and decodeInto with ECF8_BACKEND_UNAVAILABLE when there is no GPU', async () => {
    const s = encode(new Uint8Array([1, 2, 3, 0x44]));
    await expect(cudaBackend.decode(s)).rejects.toMatchObject({ code: 'ECF8_BACKEND_UNAVAILABLE' });
    await expect(cudaBackend.decodeInto(s, { devicePointer: 0n, byteLength: 4 })).rejects.toMatchObject({ code: 'ECF8_BACKEND_UNAVAILABLE' });
  });

  it('rejects a malformed decodeInto target before touching a device', async () => {
    const s = encode(new Uint8Array(8));
    await expect(cudaBackend.decodeInto(s, { devicePointer: 1, byteLength: 8 } as never)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(cudaBackend.decodeInto(s, { devicePointer: 1n, byteLength: 8 }, -1)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
  });
});

/**
 * Runs an ES module snippet in a child Node process that loads the TypeScript sources (tsx), so that a native abort is
 * seen as the child's exit signal instead of taking the test process down. `SRC` in the snippet is src/index.ts's URL.
 */
function inChild(snippet: string): { status: number | null; signal: NodeJS.Signals | null; output: string } {
  const root = join(pkgDir, '..', '..');
  const loader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const code = snippet.replaceAll('SRC', JSON.stringify(pathToFileURL(join(pkgDir, 'src', 'index.ts')).href));
  const r = spawnSync(process.execPath, ['--import', loader, '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, output: `${r.stdout}${r.stderr}`.trim() };
}

describe.skipIf(addonReason !== undefined)(`hostile use: an Ecf8Error with a stable code, never a crash${addonReason ? ` (skipped: ${addonReason})` : ''}`, () => {
  it('reading more bytes than one Uint8Array can hold is ECF8_LIMIT_EXCEEDED (napi would abort the process)', () => {
    // 4 GiB + 1 of emulated device memory: calloc'd, never touched, so it costs no real memory.
    const r = inChild(`
      import { emulatedCudaBackend as backend, loadNative } from SRC;
      const n = 2 ** 32 + 1;
      const buffer = backend.allocDeviceBuffer(n);
      const codeOf = (f) => { try { f(); return 'no error'; } catch (e) { return e.code ?? String(e); } };
      console.log(JSON.stringify({
        backend: codeOf(() => backend.readDeviceBuffer(buffer)),
        addon: loadNative().native.emulatedCopyToHost(buffer.devicePointer, n).status,
        small: backend.readDeviceBuffer(buffer, n - 3, 3).length,
      }));
      backend.freeDeviceBuffer(buffer);
    `);
    expect(r.signal, r.output).toBeNull();
    expect(r.status, r.output).toBe(0);
    expect(JSON.parse(r.output.split('\n').at(-1)!)).toEqual({ backend: 'ECF8_LIMIT_EXCEEDED', addon: 'ECF8_LIMIT_EXCEEDED', small: 3 });
  });

  it('a stream in a SharedArrayBuffer that another thread writes to is decoded as validated, or rejected: never out of bounds', () => {
    // A worker flips one byte of the output positions (section 1) over and over: with it flipped, block 0 claims
    // 65,536 more elements than a block holds, which phase B rejects (ECF8_BAD_OUTPUT_POSITIONS). Whatever the timing,
    // an upload or host decode that passed phase B must decode exactly the stream it validated: if the addon read the
    // shared bytes again after validating them, phase C would write past the output (the positions bound every write).
    const r = inChild(`
      import { Worker } from 'node:worker_threads';
      import { encode } from '@ecf8/core';
      import { emulatedCudaBackend as backend, CudaEmulatorBackend } from SRC;
      const data = Uint8Array.from({ length: 70_001 }, (_, i) => 0x30 + (Math.imul(i, 2654435761) >>> 28));
      const stream = encode(data);
      const shared = new Uint8Array(new SharedArrayBuffer(stream.length));
      shared.set(stream);
      const at = 88 + 8 + 2; // byte 2 of pos[1]: the header is 88 bytes, then pos[0], pos[1], ...
      const worker = new Worker('const { workerData: s } = require("node:worker_threads"); for (;;) s[' + at + '] ^= 1;', { eval: true, workerData: shared, execArgv: [] });
      await new Promise((r) => setTimeout(r, 50));
      const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
      const emulator = new CudaEmulatorBackend();
      const target = backend.allocDeviceBuffer(2 * data.length);
      const tally = { uploaded: 0, rejected: 0, wrong: [] };
      const rejected = (e) => (e.code === 'ECF8_BAD_OUTPUT_POSITIONS' ? tally.rejected++ : tally.wrong.push(e.code ?? String(e)));
      for (let i = 0; i < 200; i++) {
        try {
          const resident = await backend.upload(shared, { verifyChecksums: false });
          tally.uploaded++;
          backend.writeDeviceBuffer(target, new Uint8Array(target.byteLength).fill(0xa5));
          try {
            await resident.decode(target, 0);
            const back = backend.readDeviceBuffer(target);
            if (!same(back.subarray(0, data.length), data) || !back.subarray(data.length).every((b) => b === 0xa5)) tally.wrong.push('resident bytes');
          } catch (e) {
            tally.wrong.push('resident ' + (e.code ?? String(e)));
          } finally {
            resident.free();
          }
        } catch (e) {
          rejected(e);
        }
        try {
          if (!same(await emulator.decode(shared, { verifyChecksums: false }), data)) tally.wrong.push('host decode bytes');
        } catch (e) {
          rejected(e);
        }
      }
      await worker.terminate();
      backend.freeDeviceBuffer(target);
      console.log(JSON.stringify(tally));
    `);
    expect(r.signal, r.output).toBeNull();
    expect(r.status, r.output).toBe(0);
    const tally = JSON.parse(r.output.split('\n').at(-1)!) as { uploaded: number; rejected: number; wrong: string[] };
    console.log(`[cuda] stream in a SharedArrayBuffer being written: ${JSON.stringify(tally)}`);
    expect(tally.wrong).toEqual([]);
    expect(tally.uploaded + tally.rejected).toBeGreaterThanOrEqual(200);
  });

  it('destroying a CUDA stream twice, or one the backend did not create, is ECF8_INVALID_ARGUMENT (emulated layer)', () => {
    const stream = emulatedCudaBackend.createStream();
    emulatedCudaBackend.destroyStream(stream);
    expect(() => emulatedCudaBackend.destroyStream(stream)).toThrow(expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' }));
    expect(() => emulatedCudaBackend.destroyStream(12345n)).toThrow(expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' }));
  });

  it('the device-memory helpers and methods reject bad arguments with ECF8_INVALID_ARGUMENT', async () => {
    const target = emulatedCudaBackend.allocDeviceBuffer(8);
    try {
      for (const f of [
        () => emulatedCudaBackend.writeDeviceBuffer(target, null as never),
        () => emulatedCudaBackend.writeDeviceBuffer(target, [1, 2] as never),
        () => writeDeviceBuffer(target, null as never),
        () => freeDeviceBuffer(undefined as never),
        () => freeDeviceBuffer({ devicePointer: 1 } as never),
        () => readDeviceBuffer(undefined as never),
      ]) {
        expect(f, String(f)).toThrow(expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' }));
      }
    } finally {
      emulatedCudaBackend.freeDeviceBuffer(target);
    }
  });

  it.skipIf(availability.available)('without a usable GPU the module-level device-memory helpers throw ECF8_BACKEND_UNAVAILABLE', () => {
    const buffer = { devicePointer: 256n, byteLength: 4 };
    for (const f of [() => allocDeviceBuffer(16), () => readDeviceBuffer(buffer), () => writeDeviceBuffer(buffer, new Uint8Array(4))]) {
      let thrown: unknown;
      try {
        f();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, String(f)).toBeInstanceOf(Ecf8Error);
      expect(thrown, String(f)).toMatchObject({ code: 'ECF8_BACKEND_UNAVAILABLE' });
    }
  });
});

describe('the real device layer, over a stand-in for the addon (no GPU needed)', () => {
  it('frees only live memory it allocated and destroys only live streams it created: a second free or destroy never reaches CUDA', async () => {
    const { newRealDevice } = await import('../src/device-layer.js');
    const calls: string[] = [];
    let next = 0x10000n;
    const native = {
      deviceAlloc: () => (next += 0x100n),
      deviceFree: (a: bigint) => void calls.push(`cudaFree ${a}`),
      streamCreate: () => 0x7000n,
      streamDestroy: (s: bigint) => void calls.push(`cudaStreamDestroy ${s}`),
    } as unknown as NativeBinding;
    const device = newRealDevice(native);
    const a = device.alloc(16);
    device.free(a);
    const invalid = expect.objectContaining({ code: 'ECF8_INVALID_ARGUMENT' });
    expect(() => device.free(a)).toThrow(invalid); // freed twice: a later cudaMalloc may have been given this address
    expect(() => device.free(0xdead00n)).toThrow(invalid);
    const s = device.createStream();
    device.destroyStream(s);
    expect(() => device.destroyStream(s)).toThrow(invalid);
    expect(calls).toEqual([`cudaFree ${a}`, `cudaStreamDestroy ${s}`]);
  });
});

describe.skipIf(addonReason !== undefined)(`validate(): phases A and B through the C API${addonReason ? ` (skipped: ${addonReason})` : ''}`, () => {
  const vectors = loadVectors();

  describe('every invalid vector: the reference phase A/B code, or success when the error is a phase-C one', () => {
    for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
      it(`${v.name} -> ${v.error}`, () => {
        const ref = referencePhaseAB(v.stream);
        expect(ref).toBe(PHASE_C.includes(v.error) ? undefined : v.error);
        expect(validateCode(v.stream)).toBe(ref);
        if (ref === undefined) expect(() => cudaBackend.validate(v.stream)).not.toThrow();
      });
    }
  });

  it('accepts every valid vector', () => {
    for (const v of vectors.valid) expect(validateCode(v.stream), v.name).toBeUndefined();
  });

  it('agrees with the reference on mutated streams (bit flips and truncations)', () => {
    const base = vectors.valid.filter((v) => v.stream.length < 20_000).map((v) => v.stream);
    let seed = 12345;
    const rnd = (m: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % m;
    };
    for (let i = 0; i < 3000; i++) {
      const s = base[rnd(base.length)];
      const m = i % 5 === 0 ? s.slice(0, rnd(s.length + 1)) : s.slice();
      if (i % 5 !== 0) for (let k = 1 + rnd(3); k > 0; k--) m[rnd(m.length)] ^= 1 << rnd(8);
      expect(validateCode(m), `mutation ${i}`).toBe(referencePhaseAB(m));
    }
  });

  it('honours verifyChecksums: false (skips the metadata checksum) and maxOutputBytes', () => {
    const v = vectors.invalid.find((x) => x.error === 'ECF8_METADATA_CHECKSUM_MISMATCH');
    if (v) expect(() => validateStream(v.stream, { verifyChecksums: false })).not.toThrow();
    const big = vectors.valid.find((x) => x.elements > 100)!;
    expect(() => validateStream(big.stream, { maxOutputBytes: big.elements - 1 })).toThrow(/ECF8_LIMIT_EXCEEDED/);
  });
});

// The CUDA kernel's own per-thread code (C++ block emulator) through the addon: checks the binding without a GPU.
describeBackendSuite(new CudaEmulatorBackend(), { skipReason: addonReason, propertyRuns: 20 });

// The real thing. Skipped, with the reason in the test names, where there is no usable GPU.
// API-level vectors with an output buffer decode into device memory (at least one byte is allocated, so that an empty
// target still has a valid pointer; byteLength is the vector's size).
describeBackendSuite(cudaBackend, {
  skipReason: gpuSkip,
  outputTarget: {
    create: (byteLength: number, fill: number) => {
      const target = { devicePointer: allocDeviceBuffer(Math.max(1, byteLength)).devicePointer, byteLength };
      if (byteLength > 0) writeDeviceBuffer(target, new Uint8Array(byteLength).fill(fill));
      return target;
    },
    read: (target: { devicePointer: bigint; byteLength: number }) => (target.byteLength > 0 ? readDeviceBuffer(target) : new Uint8Array(0)),
    destroy: (target: { devicePointer: bigint; byteLength: number }) => freeDeviceBuffer(target),
  },
});

// Device pointers without a GPU: the addon's emulated device layer (checked host memory; the block emulator decodes).
describeBackendSuite(emulatedCudaBackend, {
  skipReason: emulatedSkip,
  propertyRuns: 20,
  outputTarget: {
    create: (byteLength: number, fill: number) => {
      const target = emulatedCudaBackend.allocDeviceBuffer(byteLength);
      if (byteLength > 0) emulatedCudaBackend.writeDeviceBuffer(target, new Uint8Array(byteLength).fill(fill));
      return target;
    },
    read: (target: { devicePointer: bigint; byteLength: number }) => (target.byteLength > 0 ? emulatedCudaBackend.readDeviceBuffer(target) : new Uint8Array(0)),
    destroy: (target: { devicePointer: bigint; byteLength: number }) => emulatedCudaBackend.freeDeviceBuffer(target),
  },
});

describeResidentStreams(emulatedCudaBackend, emulatedSkip);
describeResidentStreams(cudaBackend, gpuSkip);
