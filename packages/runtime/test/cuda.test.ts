/**
 * The manager through @ecf8/cuda:
 * - host placement with the addon's block emulator (CudaEmulatorBackend: Uint8Array targets);
 * - the cuda placement (streams uploaded once as resident handles, workspace in device memory, a CUDA stream and an
 *   ecf8 decode workspace per slot, views as device pointers) on the addon's emulated device layer
 *   (`emulatedCudaBackend`: device pointers into checked host memory, decodes by the block emulator), and the same
 *   tests on a CUDA device when there is one — skipped here otherwise, with the addon's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cudaBackend, CudaEmulatorBackend, emulatedCudaBackend, type CudaBackend, type CudaDeviceBuffer, type ResidentStream } from '@ecf8/cuda';
import { parseSafetensors, readCompressedLayout } from '@ecf8/safetensors';
import { formatMemoryReport, openModel } from '../src/index.js';
import { collected, makeFixture, type Fixture } from './fixtures.js';

const emulator = new CudaEmulatorBackend();
const emulated = await emulator.isAvailable();
const reason = (a: { available: boolean; reason?: string }) => (a.available ? '' : ` — skipped: ${a.reason}`);

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(() => fx?.cleanup());

describe('@ecf8/runtime through @ecf8/cuda', () => {
  it.skipIf(!emulated.available)(`the block emulator decodes every tensor to the original bytes (host placement)${reason(emulated)}`, async () => {
    const model = await openModel(fx.compressed, { backend: emulator, slots: 2 });
    expect(model.placement).toBe('host');
    for (const name of fx.fp8Names) expect(Buffer.from((await model.get(name)).bytes!).equals(Buffer.from(fx.plainTensor(name))), name).toBe(true);
    await model.close();
  });
});

/** The backend with its uploads recorded, to check that every resident handle is freed. */
function recording(backend: CudaBackend): { backend: CudaBackend; uploads: ResidentStream[] } {
  const uploads: ResidentStream[] = [];
  const spy = Object.create(backend) as CudaBackend;
  spy.upload = async (stream, options) => {
    const r = await backend.upload(stream, options);
    uploads.push(r);
    return r;
  };
  return { backend: spy, uploads };
}

/** The compressed sample with two nibbles of one stream flipped: phases A and B pass, the content CRC does not. */
function corrupted(name: string): Uint8Array {
  const bytes = fx.compressed.slice();
  const header = parseSafetensors(bytes);
  const stream = readCompressedLayout(header).streams.get(name)!;
  bytes[header.dataOffset + stream.begin + stream.byteLength - 50] ^= 0x11;
  return bytes;
}

for (const backend of [emulatedCudaBackend, cudaBackend]) {
  const availability = await backend.isAvailable();
  describe.skipIf(!availability.available)(`the cuda placement on ${backend.name}${reason(availability)}`, () => {
    const read = (v: { target: CudaDeviceBuffer; offset: number; byteLength: number }) => Buffer.from(backend.readDeviceBuffer(v.target, v.offset, v.byteLength));

    it('keeps every stream resident on the device and decodes each get into a slot, bit-exact, as device pointer + offset', async () => {
      const { backend: spy, uploads } = recording(backend);
      const model = await openModel<CudaDeviceBuffer>(fx.compressedPath, { backend: spy, slots: 2 });
      expect(model.placement).toBe('cuda');
      expect(uploads.length).toBe(fx.fp8Names.length); // uploaded once each, at open
      for (const name of fx.fp8Names) {
        const v = await model.get(name);
        expect(v.devicePointer).toBe(v.target.devicePointer + BigInt(v.offset));
        expect(v.offset % 256).toBe(0);
        expect(read(v).equals(Buffer.from(fx.plainTensor(name))), name).toBe(true);
      }
      expect(uploads.length).toBe(fx.fp8Names.length); // and never again
      await model.close();
      expect(uploads.every((u) => u.freed)).toBe(true);
      await expect(model.get(fx.fp8Names[0])).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    });

    it('prefetches into the other slot on its own CUDA stream while the current view stays intact', async () => {
      const model = await openModel<CudaDeviceBuffer>(fx.compressed, { backend, slots: 2, verify: 'metadata' });
      const [a, b, c] = fx.fp8Names;
      const va = await model.get(a);
      const pending = model.prefetch(b);
      expect(read(va).equals(Buffer.from(fx.plainTensor(a)))).toBe(true);
      await pending;
      const vb = await model.get(b);
      expect(vb.slot).not.toBe(va.slot);
      expect(read(vb).equals(Buffer.from(fx.plainTensor(b)))).toBe(true);
      expect(read(va).equals(Buffer.from(fx.plainTensor(a)))).toBe(true);
      const vc = await model.get(c); // replaces a, the least recently used
      expect(vc.slot).toBe(va.slot);
      expect(read(vc).equals(Buffer.from(fx.plainTensor(c)))).toBe(true);
      await model.close();
    });

    it('accounts the device memory: streams uploaded, nothing kept on the host, one decode workspace per slot', async () => {
      let file: Uint8Array | undefined = fx.compressed.slice();
      const held = new WeakRef(file.buffer);
      const model = await openModel<CudaDeviceBuffer>(file, { backend, slots: 2 });
      file = undefined;
      expect(await collected(held)).toBe(true); // the model keeps no view of the bytes it was opened from
      const r = model.memory();
      expect(r.resident).toEqual({
        placement: 'cuda',
        streamHostBytes: 0,
        streamDeviceBytes: expect.any(Number),
        decodeScratchBytes: 2 * backend.workspaceSize(r.slotBytes),
      });
      expect(r.resident!.streamDeviceBytes).toBeGreaterThanOrEqual(r.compressedBytes);
      // Emulated: exactly the streams; on a GPU, each stream padded to 16 bytes, its §6 tables (at most 2,304 B), its
      // multi-symbol table (16 KiB) and the CRC tables (4 KiB): ecf8_device_stream_bytes.
      if (backend.emulated) expect(r.resident!.streamDeviceBytes).toBe(r.compressedBytes);
      else expect(r.resident!.streamDeviceBytes).toBeLessThanOrEqual(r.compressedBytes + r.fp8Tensors * (15 + 2304 + 16384 + 4096));
      expect(formatMemoryReport(r, model.placement)).toMatch(/measured on cuda: streams hold .* of device memory and 0\.0 KiB of host memory; decode scratch/);
      await model.close();
    });

    it('reports a corrupted stream with its code and tensor: at the get with verify "metadata", at open with "full" (freeing what it uploaded)', async () => {
      const [a, b] = fx.fp8Names;
      const bad = corrupted(b);
      const model = await openModel<CudaDeviceBuffer>(bad, { backend, verify: 'metadata' });
      await expect(model.get(b)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH', message: expect.stringContaining(b) });
      expect(read(await model.get(a)).equals(Buffer.from(fx.plainTensor(a)))).toBe(true); // the model still works
      await model.close();
      const { backend: spy, uploads } = recording(backend);
      await expect(openModel(bad, { backend: spy })).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH', message: expect.stringContaining(b) });
      expect(uploads.length).toBeGreaterThan(0);
      expect(uploads.every((u) => u.freed)).toBe(true);
    });

    it('get(name, { stream }) enqueues on the caller\'s CUDA stream without waiting; a failed decode is reported by the next get', async () => {
      const [a, b, c] = fx.fp8Names;
      const model = await openModel<CudaDeviceBuffer>(corrupted(c), { backend, slots: 2, verify: 'metadata' });
      const stream = backend.createStream();
      const va = await model.get(a, { stream });
      const vb = await model.get(b, { stream });
      expect(vb.slot).not.toBe(va.slot);
      expect(read(await model.get(a))).toEqual(Buffer.from(fx.plainTensor(a))); // waits for the stream's decode, then reads
      expect(read(await model.get(b))).toEqual(Buffer.from(fx.plainTensor(b)));
      await model.get(c, { stream }); // corrupted: enqueued fine, fails on the device
      await expect(model.get(c)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH', message: expect.stringContaining(c) });
      await expect(model.get(c)).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' }); // decoded again, not reused
      await expect(model.get(a, { stream: 1 as never })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
      await expect(model.get(a, { encoder: {} })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
      await model.close();
      backend.destroyStream(stream);
    });

    it('close() right after get(name, { stream }) waits for that decode to be collected before freeing the workspaces', async () => {
      // Every enqueued decode takes 20 ms to finish (as on a GPU); the events say what happened in which order.
      const events: string[] = [];
      const spy = Object.create(backend) as CudaBackend;
      spy.upload = async (stream, options) => {
        const r = await backend.upload(stream, options);
        const slow = Object.create(r) as ResidentStream;
        slow.enqueue = (target, offset, opts) => {
          const pending = r.enqueue(target, offset, opts);
          return { wait: async () => (await new Promise((done) => setTimeout(done, 20)), events.push('collected'), pending.wait()) } as never;
        };
        return slow;
      };
      spy.freeDeviceBuffer = (buffer) => {
        events.push('free');
        backend.freeDeviceBuffer(buffer);
      };
      const model = await openModel<CudaDeviceBuffer>(fx.compressed, { backend: spy, slots: 2, verify: 'metadata' });
      const stream = backend.createStream();
      const view = model.get(fx.fp8Names[0], { stream });
      await model.close();
      await view;
      expect(events.filter((e) => e === 'free').length).toBe(3); // the two slots' decode workspaces and the workspace
      expect(events.indexOf('collected')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('collected')).toBeLessThan(events.indexOf('free'));
      backend.destroyStream(stream);
    });

    it('a tensor larger than the caller-chosen slot is ECF8_OUTPUT_TOO_SMALL; smaller ones decode', async () => {
      const sizes = fx.fp8Names.map((n) => fx.plainTensor(n).length);
      const small = Math.min(...sizes);
      const model = await openModel<CudaDeviceBuffer>(fx.compressed, { backend, workspaceBytes: small, verify: 'metadata' });
      const big = fx.fp8Names[sizes.indexOf(Math.max(...sizes))];
      const fits = fx.fp8Names[sizes.indexOf(small)];
      await expect(model.get(big)).rejects.toMatchObject({ code: 'ECF8_OUTPUT_TOO_SMALL' });
      expect(read(await model.get(fits)).equals(Buffer.from(fx.plainTensor(fits)))).toBe(true);
      await model.close();
    });
  });
}
