/**
 * The manager on WebGPU in Node (Dawn; Mesa's llvmpipe on CI): streams uploaded once, decodes recorded into the
 * caller's command encoder before a WGSL matvec, outputs bit-identical with the uncompressed file's. Like
 * packages/webgpu/test/node.test.ts, a machine without an adapter fails unless ECF8_WEBGPU_OPTIONAL=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webgpuBackend } from '@ecf8/webgpu';
import * as layout from '@ecf8/safetensors/layout';
import * as runtime from '../src/index.js';
import { collected, makeFixture, type Fixture } from './fixtures.js';
import { gpuForward } from './gpu-forward.js';

const availability = await webgpuBackend.isAvailable();
const optional = process.env.ECF8_WEBGPU_OPTIONAL === '1' && !availability.available;
const d = optional ? describe.skip : describe;

const MAP_READ = 1;
const COPY_DST = 8;

d(`@ecf8/runtime on WebGPU (Node)${optional ? ` — skipped: ${(availability as { reason: string }).reason}` : ''}`, () => {
  let fx: Fixture;
  let device: GPUDevice;
  beforeAll(async () => {
    fx = await makeFixture();
    device = await webgpuBackend.device();
  });
  afterAll(() => fx?.cleanup());

  async function readBack(buffer: GPUBuffer, offset: number, length: number): Promise<Uint8Array> {
    const size = Math.ceil(length / 4) * 4;
    const rb = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, offset, rb, 0, size);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(MAP_READ);
    const out = new Uint8Array(rb.getMappedRange().slice(0, length));
    rb.destroy();
    return out;
  }

  for (const slots of [1, 2]) {
    it(`runs the forward pass with decodes recorded into the caller's encoder, bit-identical with the plain file (slots: ${slots})`, async () => {
      const r = await gpuForward({ runtime, webgpu: { webgpuBackend }, layout }, fx.compressed, fx.plain, slots);
      expect(r.placement).toBe('webgpu');
      expect(r.layers).toBe(12);
      expect(r.manager.length).toBe(512); // rows of the last layer, layers.1.mlp.down_proj [512, 128]
      expect(r.manager).toEqual(r.plain);
      expect(new Set(r.manager).size).toBeGreaterThan(100); // a real output, not a constant
      expect(r.memory.slots).toBe(slots);
    });
  }

  it('memory(): the streams live in GPU buffers only, none kept on the host', async () => {
    let file: Uint8Array | undefined = fx.compressed.slice();
    const held = new WeakRef(file.buffer);
    const model = await runtime.openModel<GPUBuffer>(file, { backend: webgpuBackend, slots: 2, verify: 'metadata' });
    file = undefined;
    expect(await collected(held)).toBe(true); // the model keeps no view of the bytes it was opened from
    const r = model.memory();
    expect(r.resident).toMatchObject({ placement: 'webgpu', streamHostBytes: 0, decodeScratchBytes: 0 });
    expect(r.resident!.streamDeviceBytes).toBeGreaterThanOrEqual(r.compressedBytes);
    expect(r.resident!.streamDeviceBytes).toBeLessThan(r.compressedBytes + r.fp8Tensors * 64 * 1024);
    expect(runtime.formatMemoryReport(r, model.placement)).toMatch(/measured on webgpu: streams hold [0-9.]+ MiB of device memory and 0\.0 KiB of host memory/);
    await model.close();
  });

  it('get() without an encoder submits and checks the decode; a recorded decode happens only when submitted', async () => {
    const model = await runtime.openModel<GPUBuffer>(fx.compressedPath, { backend: webgpuBackend, slots: 2, verify: 'metadata' });
    expect(model.placement).toBe('webgpu');
    const [a, b, c] = fx.fp8Names;
    const va = await model.get(a);
    expect(va.offset % 256).toBe(0);
    expect(Buffer.from(await readBack(va.target, va.offset, va.byteLength)).equals(Buffer.from(fx.plainTensor(a)))).toBe(true);
    await model.prefetch(b);
    const vb = await model.get(b);
    expect(vb.slot).not.toBe(va.slot);
    expect(vb.offset % 256).toBe(0);
    expect(Buffer.from(await readBack(vb.target, vb.offset, vb.byteLength)).equals(Buffer.from(fx.plainTensor(b)))).toBe(true);
    // Recorded into an encoder that is never submitted: the slot (where `a` was) still holds `a`.
    const dropped = device.createCommandEncoder();
    const vc = await model.get(c, { encoder: dropped });
    expect(vc.slot).toBe(va.slot);
    expect(Buffer.from(await readBack(vc.target, vc.offset, va.byteLength)).equals(Buffer.from(fx.plainTensor(a)))).toBe(true);
    const enc = device.createCommandEncoder();
    const other = model.tensors.find((t) => t.compressed && t.name !== b && t.name !== c)!.name;
    // Asking for `c` again returns its slot as recorded; the caller's submit makes it real.
    const again = await model.get(c, { encoder: enc });
    expect(again.slot).toBe(vc.slot);
    const vo = await model.get(other, { encoder: enc });
    expect(vo.slot).not.toBe(vc.slot);
    device.queue.submit([enc.finish()]);
    expect(Buffer.from(await readBack(vo.target, vo.offset, vo.byteLength)).equals(Buffer.from(fx.plainTensor(other)))).toBe(true);
    await model.close();
  });
});
