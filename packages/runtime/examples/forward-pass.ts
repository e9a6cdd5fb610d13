// A tiny forward pass through the bundled sample model, layer by layer: each F8_E4M3 weight is decoded just
// before use into the shared workspace (two slots: the next layer decodes while this one computes), dequantized
// with its scale and multiplied by the activation vector. The same pass over the uncompressed file must give the
// same output, bit for bit. Run from the repository root: npx tsx packages/runtime/examples/forward-pass.ts
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e4m3ToNumber } from '@ecf8/core';
import { cpuFastBackend } from '@ecf8/fast';
import { formatMemoryReport, openModel } from '@ecf8/runtime';
import { compressFile, parseSafetensors } from '@ecf8/safetensors';

const SAMPLE = 'packages/cli/samples/model.safetensors';
const E4M3 = Float64Array.from({ length: 256 }, (_, byte) => e4m3ToNumber(byte));

interface Layer {
  name: string;
  shape: readonly number[];
}

/** x <- tanh(scale * W x) for each layer; `weight(i)` gives layer i's FP8 bytes, `scale(i)` its F32 scale. */
async function forward(layers: Layer[], weight: (i: number) => Promise<Uint8Array>, scale: (i: number) => number): Promise<Float32Array> {
  let x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i));
  for (let i = 0; i < layers.length; i++) {
    const [rows, cols] = layers[i].shape;
    const w = await weight(i);
    const s = scale(i);
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += E4M3[w[r * cols + c]] * x[c % x.length];
      y[r] = Math.tanh(s * acc);
    }
    x = y;
  }
  return x;
}

const f32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);

const dir = await mkdtemp(join(tmpdir(), 'ecf8-forward-'));
try {
  const compressed = join(dir, 'model.ecf8.safetensors');
  await compressFile(SAMPLE, compressed);

  // With the manager: streams resident, one workspace of 2 slots of the largest tensor.
  const model = await openModel(compressed, { backend: cpuFastBackend, slots: 2 });
  const layers = model.tensors.filter((t) => t.compressed && t.shape.length === 2);
  let next: Promise<void> | undefined;
  const viaManager = await forward(
    layers,
    async (i) => {
      await next;
      const view = await model.get(layers[i].name);
      next = i + 1 < layers.length ? model.prefetch(layers[i + 1].name) : undefined;
      return view.bytes!;
    },
    (i) => f32(model.bytes(`${layers[i].name}_scale`)),
  );
  console.log(formatMemoryReport(model.memory(), model.placement));
  await model.close();

  // The same pass over the uncompressed file.
  const file = new Uint8Array(await readFile(SAMPLE));
  const header = parseSafetensors(file);
  const tensor = (name: string) => {
    const t = header.byName.get(name)!;
    return file.subarray(header.dataOffset + t.begin, header.dataOffset + t.end);
  };
  const plain = await forward(layers, async (i) => tensor(layers[i].name), (i) => f32(tensor(`${layers[i].name}_scale`)));

  const same = Buffer.from(viaManager.buffer).equals(Buffer.from(plain.buffer));
  console.log(`${layers.length} layers, output[0..3] = ${Array.from(viaManager.subarray(0, 4), (v) => v.toFixed(6)).join(', ')}`);
  console.log(`manager and uncompressed file: ${same ? 'bit-identical' : 'DIFFERENT'}`);
  if (!same) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
