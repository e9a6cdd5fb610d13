/**
 * @ecf8/webgpu in Node through Dawn (the npm package `webgpu`). On CI the adapter is Mesa's llvmpipe through
 * OpenGL ES (compatibility mode, no `subgroups`: the workgroup-memory scan). Two devices: one with the adapter's
 * limits (the staged kernel path) and one with WebGPU's default compute limits (16 KB of workgroup storage, 256
 * invocations: the direct path for T >= 256, the compatibility budget). Nothing here is skipped: a machine without
 * an adapter fails the suite, with the reason (set ECF8_WEBGPU_OPTIONAL=1 to turn that into visible skips on a
 * developer machine without Mesa).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, encode, getBackend, resolveBackend } from '@ecf8/core';
import { firstDifference, loadVectors } from '@ecf8/conformance';
import { describeBackendSuite } from '@ecf8/conformance/backend-suite';
import { WebGpuBackend, webgpuBackend, openDevice } from '../src/index.js';

const STORAGE = 128;
const COPY_SRC = 4;
const COPY_DST = 8;
const MAP_READ = 1;

const availability = await webgpuBackend.isAvailable();
const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !availability.available;
const skipReason = optional ? (availability as { reason: string }).reason : undefined;

describe('WebGPU adapter', () => {
  it('is available (Dawn over Mesa on CI)', async () => {
    if (optional) return;
    expect(availability).toEqual({ available: true });
    // eslint-disable-next-line no-console
    console.log(`adapter: ${await webgpuBackend.adapterInfo()}`);
  });

  it('registers itself in the core registry above the CPU backends', async () => {
    expect(getBackend('webgpu')).toBe(webgpuBackend);
    if (!optional) expect(await resolveBackend()).toBe(webgpuBackend);
  });

  it('reports a reason instead of throwing when there is no adapter', async () => {
    const none = new WebGpuBackend({ gpu: { requestAdapter: async () => null } as unknown as GPU });
    const a = await none.isAvailable();
    expect(a.available).toBe(false);
    expect((a as { reason: string }).reason).toMatch(/no adapter/);
    await expect(none.decode(encode(new Uint8Array(10)))).rejects.toMatchObject({ code: 'ECF8_BACKEND_UNAVAILABLE' });
  });
});

/** WebGPU's default compute limits: the compatibility-mode workgroup budget (the kernel's direct path). */
const COMPAT_LIMITS = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };
const compatBackend = new WebGpuBackend({ name: 'webgpu-compat-limits', limits: COMPAT_LIMITS });

// The shared backend suite on both kernel paths: every vector byte-identical, every invalid vector's exact code,
// fast-check round trips and corrupted streams compared with the reference.
describeBackendSuite(webgpuBackend, { skipReason, maxPropertyElements: 200_000, propertyRuns: 25, outputTarget: gpuBufferTarget(webgpuBackend) });
describeBackendSuite(compatBackend, { skipReason, maxPropertyElements: 200_000, propertyRuns: 15, outputTarget: gpuBufferTarget(compatBackend) });

/** decodeInto targets for the API-level vectors: GPU buffers (their sizes are multiples of 4), read back by mapping. */
function gpuBufferTarget(backend: WebGpuBackend) {
  return {
    async create(byteLength: number, fill: number): Promise<GPUBuffer> {
      const device = await backend.device();
      const buffer = device.createBuffer({ size: byteLength, usage: STORAGE | COPY_SRC | COPY_DST });
      if (byteLength > 0) device.queue.writeBuffer(buffer, 0, new Uint8Array(byteLength).fill(fill));
      return buffer;
    },
    async read(buffer: GPUBuffer): Promise<Uint8Array> {
      if (buffer.size === 0) return new Uint8Array(0);
      const device = await backend.device();
      const readback = device.createBuffer({ size: buffer.size, usage: MAP_READ | COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, readback, 0, buffer.size);
      device.queue.submit([enc.finish()]);
      await readback.mapAsync(MAP_READ);
      const bytes = new Uint8Array(readback.getMappedRange()).slice();
      readback.unmap();
      readback.destroy();
      return bytes;
    },
    destroy: (buffer: GPUBuffer) => buffer.destroy(),
  };
}

const d = optional ? describe.skip : describe;

d('WebGPU specifics', () => {
  const vectors = loadVectors();
  let device: GPUDevice;
  // A second backend on the same device that splits every stream into dispatches of 8 blocks of at most 3 workgroups
  // (each decodes several blocks) and caps workgroups at 64 invocations (so T = 512 runs 8 ECF8 threads per
  // invocation).
  let split: WebGpuBackend;

  beforeAll(async () => {
    device = await webgpuBackend.device();
    split = new WebGpuBackend({ device, name: 'webgpu-split', maxBlocksPerDispatch: 8, maxWorkgroupSize: 64, maxWorkgroupsPerDispatch: 3 });
  });

  afterAll(async () => {
    await split.dispose();
    await compatBackend.dispose();
  });

  async function readBuffer(buffer: GPUBuffer, from = 0, size = buffer.size - from): Promise<Uint8Array> {
    const rb = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, from, rb, 0, size);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(MAP_READ);
    const out = new Uint8Array(rb.getMappedRange()).slice();
    rb.unmap();
    rb.destroy();
    return out;
  }

  it('chooses the kernel path from the device limits', async () => {
    const compatDevice = await compatBackend.device();
    expect(webgpuBackend.kernelFor(device, 512)).toMatchObject({ path: device.limits.maxComputeWorkgroupStorageSize >= 31000 ? 'staged' : 'direct', subgroups: device.features.has('subgroups') });
    expect(compatBackend.kernelFor(compatDevice, 512)).toMatchObject({ path: 'direct', workgroupSize: 256, threadsPerInvocation: 2 });
    expect(compatBackend.kernelFor(compatDevice, 64)).toMatchObject({ path: 'staged' });
    const up = await compatBackend.upload(vectors.valid.find((x) => x.threadsPerBlock === 512 && x.elements > 0)!.stream);
    expect(up.kernel?.path).toBe('direct');
    up.destroy();
  });

  it('computes the content CRC-32C on the GPU equal to the CPU CRC on every vector, on both paths', async () => {
    for (const backend of [webgpuBackend, compatBackend]) {
      const dev = await backend.device();
      for (const v of vectors.valid.filter((x) => x.elements > 0)) {
        const work = dev.createBuffer({ size: Math.ceil((v.elements + 7) / 4) * 4, usage: STORAGE | COPY_SRC });
        backend.lastContentCrc = undefined;
        expect(await backend.decodeInto(v.stream, work, 3), v.name).toBe(v.elements);
        expect(backend.lastContentCrc, v.name).toBe(crc32c(v.decoded));
        expect(await backend.crc32c(work, 3, v.elements), v.name).toBe(crc32c(v.decoded));
        work.destroy();
      }
    }
  });

  it('crc32c of any GPU buffer range equals the CPU CRC (fast-check)', async () => {
    const data = new Uint8Array(3 << 20);
    let s = 7;
    for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
    const buf = device.createBuffer({ size: data.length, usage: STORAGE | COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    await fc.assert(
      fc.asyncProperty(fc.nat(data.length), fc.nat(data.length), async (a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        expect(await webgpuBackend.crc32c(buf, from, to - from)).toBe(crc32c(data.subarray(from, to)));
      }),
      { numRuns: 25, seed: 23 },
    );
    expect(await webgpuBackend.crc32c(buf)).toBe(crc32c(data));
    buf.destroy();
  });

  it('decodes every valid vector with split dispatches and multi-thread invocations', async () => {
    for (const v of vectors.valid) {
      const out = await split.decode(v.stream);
      expect(firstDifference(out, v.decoded), v.name).toBe(-1);
    }
  });

  it('decodeToBuffer returns a GPUBuffer holding the bytes', async () => {
    const v = vectors.valid.find((x) => x.name === 'gaussian-262144')!;
    const buf = await webgpuBackend.decodeToBuffer(v.stream);
    expect(buf.size).toBe(Math.ceil(v.elements / 4) * 4);
    const bytes = await readBuffer(buf);
    buf.destroy();
    expect(firstDifference(bytes.subarray(0, v.elements), v.decoded)).toBe(-1);
  });

  it('decodeInto fills a preallocated workspace at unaligned offsets and touches nothing else (fast-check)', async () => {
    const work = device.createBuffer({ size: 1 << 20, usage: STORAGE | COPY_SRC | COPY_DST });
    const sample = vectors.valid.filter((v) => v.elements > 0 && v.elements < 200_000);
    await fc.assert(
      fc.asyncProperty(fc.nat(sample.length - 1), fc.nat(4000), fc.boolean(), async (k, offset, useSplit) => {
        const v = sample[k];
        device.queue.writeBuffer(work, 0, new Uint8Array(work.size).fill(0xa5));
        const backend = useSplit ? split : webgpuBackend;
        expect(await backend.decodeInto(v.stream, work, offset, { verifyContent: true })).toBe(v.elements);
        const bytes = await readBuffer(work);
        expect(firstDifference(bytes.subarray(offset, offset + v.elements), v.decoded)).toBe(-1);
        expect(bytes.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
        expect(bytes.subarray(offset + v.elements).every((b) => b === 0xa5)).toBe(true);
      }),
      { numRuns: 30, seed: 21 },
    );
    // Several tensors into one workspace, back to back, without waiting in between.
    const parts = sample.slice(0, 6);
    let at = 3;
    const offsets: number[] = [];
    await Promise.all(
      parts.map((v) => {
        offsets.push(at);
        const p = webgpuBackend.decodeInto(v.stream, work, at);
        at += v.elements;
        return p;
      }),
    );
    const bytes = await readBuffer(work);
    parts.forEach((v, i) => expect(firstDifference(bytes.subarray(offsets[i], offsets[i] + v.elements), v.decoded), v.name).toBe(-1));
    work.destroy();
  });

  it('round-trips skewed data up to ~1M elements across T and dispatch splits (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 8, 64, 256, 512, 1024),
        fc.boolean(),
        async (n, seed, T, useSplit) => {
          let s = seed;
          const a = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            const e = Math.min(15, Math.max(0, 7 + Math.round(Math.log2((s >>> 8) / 2 ** 24 + 1e-9) / 2)));
            a[i] = ((s >>> 7) & 0x80) | (e << 3) | (s & 7);
          }
          const out = await (useSplit ? split : webgpuBackend).decode(encode(a, { threadsPerBlock: T }));
          expect(firstDifference(out, a)).toBe(-1);
        },
      ),
      { numRuns: 12, seed: 22 },
    );
  });

  it('rejects invalid vectors on the host before any GPU work', async () => {
    const counts = { createBuffer: 0, submit: 0, writeBuffer: 0 };
    const spy = new Proxy(device, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop === 'createBuffer') return (...args: unknown[]) => (counts.createBuffer++, (v as Function).apply(target, args));
        if (prop === 'queue') {
          const q = v as GPUQueue;
          return new Proxy(q, {
            get(qt, qp) {
              const f = Reflect.get(qt, qp, qt);
              if (qp === 'submit') return (...args: unknown[]) => (counts.submit++, (f as Function).apply(qt, args));
              if (qp === 'writeBuffer') return (...args: unknown[]) => (counts.writeBuffer++, (f as Function).apply(qt, args));
              return typeof f === 'function' ? f.bind(qt) : f;
            },
          });
        }
        return typeof v === 'function' ? (v as Function).bind(target) : v;
      },
    }) as GPUDevice;
    const spied = new WebGpuBackend({ device: spy, name: 'webgpu-spied' });
    const hostChecked = vectors.invalid.filter((v) => !['ECF8_GAP_MISMATCH', 'ECF8_POSITION_MISMATCH', 'ECF8_CONTENT_CHECKSUM_MISMATCH'].includes(v.error));
    expect(hostChecked.length).toBeGreaterThan(30);
    const work = device.createBuffer({ size: 1 << 16, usage: STORAGE | COPY_SRC });
    for (const v of [...hostChecked, ...vectors.headerOnly]) {
      await expect(spied.decode(v.stream), v.name).rejects.toMatchObject({ code: v.error });
      await expect(spied.decodeToBuffer(v.stream), v.name).rejects.toMatchObject({ code: v.error });
      await expect(spied.decodeInto(v.stream, work, 0), v.name).rejects.toMatchObject({ code: v.error });
    }
    expect(counts).toEqual({ createBuffer: 0, submit: 0, writeBuffer: 0 });
    // Phase-C errors come from the GPU's error word, with the reference's precedence.
    for (const v of vectors.invalid.filter((x) => x.error === 'ECF8_GAP_MISMATCH' || x.error === 'ECF8_POSITION_MISMATCH')) {
      await expect(spied.decodeInto(v.stream, work, 0), v.name).rejects.toMatchObject({ code: v.error });
    }
    expect(counts.submit).toBeGreaterThan(0);
    work.destroy();
  });

  it('verifies the content checksum on the GPU in decode, decodeInto and upload().decodeInto unless turned off', async () => {
    const v = vectors.invalid.find((x) => x.error === 'ECF8_CONTENT_CHECKSUM_MISMATCH')!;
    const work = device.createBuffer({ size: 1 << 18, usage: STORAGE });
    const up0 = await webgpuBackend.upload(v.stream);
    up0.destroy();
    await expect(webgpuBackend.decode(v.stream)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' });
    await expect(webgpuBackend.decodeInto(v.stream, work, 0)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' });
    await expect(webgpuBackend.decodeToBuffer(v.stream)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' });
    await expect(webgpuBackend.decodeInto(v.stream, work, 0, { verifyContent: false })).resolves.toBeGreaterThan(0);
    await expect(webgpuBackend.decodeInto(v.stream, work, 0, { verifyChecksums: false })).resolves.toBeGreaterThan(0);
    expect((await webgpuBackend.decode(v.stream, { verifyChecksums: false })).length).toBe(up0.elementCount);
    const up = await webgpuBackend.upload(v.stream);
    await expect(up.decodeInto(work, 5)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' });
    await expect(up.decodeInto(work, 5, { verifyChecksums: false })).resolves.toBe(up0.elementCount);
    up.destroy();
    work.destroy();
  });

  it('upload() keeps the compressed stream on the GPU and decodes it repeatedly', async () => {
    const v = vectors.valid.find((x) => x.name === 'gaussian-262144')!;
    const up = await split.upload(v.stream);
    expect(up.elementCount).toBe(v.elements);
    expect(up.dispatchCount).toBeGreaterThan(1);
    const work = device.createBuffer({ size: 2 * v.elements + 8, usage: STORAGE | COPY_SRC });
    for (const at of [0, 7, v.elements + 8]) expect(await up.decodeInto(work, at, { verifyContent: true })).toBe(v.elements);
    // Recorded into the caller's own command buffer.
    const enc = device.createCommandEncoder();
    up.encode(enc, work, 1);
    device.queue.submit([enc.finish()]);
    const bytes = await readBuffer(work);
    expect(firstDifference(bytes.subarray(1, 1 + v.elements), v.decoded)).toBe(-1);
    expect(firstDifference(bytes.subarray(v.elements + 8, 2 * v.elements + 8), v.decoded)).toBe(-1);
    up.destroy();
    await expect(up.decodeInto(work, 0)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    // Phase-C errors of an uploaded stream surface on every decode.
    const bad = await webgpuBackend.upload(vectors.invalid.find((x) => x.error === 'ECF8_GAP_MISMATCH')!.stream);
    await expect(bad.decodeInto(work, 0)).rejects.toMatchObject({ code: 'ECF8_GAP_MISMATCH' });
    await expect(bad.decodeInto(work, 0)).rejects.toMatchObject({ code: 'ECF8_GAP_MISMATCH' });
    bad.destroy();
    work.destroy();
  });

  it('upload() keeps no host copy of the stream: its bytes can be collected once the caller drops them', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const v = vectors.valid.find((x) => x.name === 'gaussian-262144')!;
    let source: Uint8Array | undefined = v.stream.slice(); // an ArrayBuffer of its own
    const held = new WeakRef(source.buffer);
    const up = await split.upload(source);
    source = undefined;
    for (let i = 0; i < 5 && held.deref(); i++) {
      await new Promise((r) => setTimeout(r, 10)); // WeakRefs clear only after the current job
      gc();
    }
    expect(held.deref()).toBeUndefined();
    // GPU memory: the input buffers (the stream's sections in the kernel's layout) and the result words.
    expect(up.deviceBytes).toBeGreaterThanOrEqual(v.stream.length);
    expect(up.deviceBytes).toBeLessThan(v.stream.length + 64 * 1024);
    const work = device.createBuffer({ size: v.elements, usage: STORAGE | COPY_SRC });
    expect(await up.decodeInto(work, 0, { verifyContent: true })).toBe(v.elements);
    expect(firstDifference(await readBuffer(work), v.decoded)).toBe(-1);
    up.destroy();
    work.destroy();
  });

  it('rejects bad targets', async () => {
    const v = vectors.valid.find((x) => x.elements === 1001)!;
    const small = device.createBuffer({ size: 1000, usage: STORAGE });
    const noStorage = device.createBuffer({ size: 2048, usage: COPY_DST });
    await expect(webgpuBackend.decodeInto(v.stream, small, 0)).rejects.toMatchObject({ code: 'ECF8_OUTPUT_TOO_SMALL' });
    await expect(webgpuBackend.decodeInto(v.stream, noStorage, 0)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(webgpuBackend.decodeInto(v.stream, small, -1)).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    small.destroy();
    noStorage.destroy();
  });

  it('opens its own device through openDevice', async () => {
    const { device: other, adapterInfo } = await openDevice();
    expect(adapterInfo.length).toBeGreaterThan(0);
    const b = new WebGpuBackend({ device: other, name: 'webgpu-other' });
    const v = vectors.valid.find((x) => x.name === 'real-weights-slice')!;
    expect(firstDifference(await b.decode(v.stream), v.decoded)).toBe(-1);
    await b.dispose();
    other.destroy();
  });
});

afterAll(async () => {
  await webgpuBackend.dispose();
});
