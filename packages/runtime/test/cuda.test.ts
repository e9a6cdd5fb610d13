/**
 * The manager through @ecf8/cuda: with the addon's block emulator (the CUDA kernel's code on the CPU; host
 * placement) wherever the addon built, and on the GPU (cuda placement: workspace in device memory, views as device
 * pointers) when a CUDA device is present — skipped here otherwise, with the addon's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cudaBackend, CudaEmulatorBackend, readDeviceBuffer, type CudaDeviceBuffer } from '@ecf8/cuda';
import { openModel } from '../src/index.js';
import { makeFixture, type Fixture } from './fixtures.js';

const emulator = new CudaEmulatorBackend();
const emulated = await emulator.isAvailable();
const device = await cudaBackend.isAvailable();
const reason = (a: { available: boolean; reason?: string }) => (a.available ? '' : ` — skipped: ${a.reason}`);

describe('@ecf8/runtime through @ecf8/cuda', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await makeFixture();
  });
  afterAll(() => fx?.cleanup());

  it.skipIf(!emulated.available)(`the block emulator decodes every tensor to the original bytes${reason(emulated)}`, async () => {
    const model = await openModel(fx.compressed, { backend: emulator, slots: 2 });
    expect(model.placement).toBe('host');
    for (const name of fx.fp8Names) expect(Buffer.from((await model.get(name)).bytes!).equals(Buffer.from(fx.plainTensor(name))), name).toBe(true);
    await model.close();
  });

  it.skipIf(!device.available)(`a CUDA device: workspace in device memory, views as device pointers${reason(device)}`, async () => {
    const model = await openModel<CudaDeviceBuffer>(fx.compressedPath, { backend: cudaBackend, slots: 2 });
    expect(model.placement).toBe('cuda');
    for (const name of fx.fp8Names) {
      const v = await model.get(name);
      expect(v.devicePointer).toBe(v.target.devicePointer + BigInt(v.offset));
      expect(Buffer.from(readDeviceBuffer(v.target, v.offset, v.byteLength)).equals(Buffer.from(fx.plainTensor(name))), name).toBe(true);
    }
    const [a, b] = fx.fp8Names;
    const va = await model.get(a);
    await model.prefetch(b);
    expect(Buffer.from(readDeviceBuffer(va.target, va.offset, va.byteLength)).equals(Buffer.from(fx.plainTensor(a)))).toBe(true);
    await model.close();
  });
});
