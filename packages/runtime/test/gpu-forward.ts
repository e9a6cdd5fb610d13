/// <reference types="@webgpu/types" />
/**
 * The forward pass of examples/forward-pass.ts on WebGPU: for each 2-D F8_E4M3 layer, the decode is recorded into
 * the caller's command encoder (`model.get(name, { encoder })`), followed by a small WGSL matvec that dequantizes
 * with the layer's scale; one submit for the whole pass. The same loop runs over the uncompressed file's tensors
 * uploaded as they are. Self-contained (it uses only `lib` and globals) so that the browser test can run its source
 * in a page: `lib` is `{ runtime, webgpu, layout }` (the packages @ecf8/runtime, @ecf8/webgpu and
 * @ecf8/safetensors/layout).
 */
export async function gpuForward(lib: any, compressed: Uint8Array, plain: Uint8Array, slots: number) {
  const WGSL = `
struct Params { rows: u32, cols: u32, xlen: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
fn e4m3(b: u32) -> f32 {
  let s = select(1.0, -1.0, (b & 0x80u) != 0u);
  let e = (b >> 3u) & 15u;
  let m = f32(b & 7u);
  if (e == 15u && (b & 7u) == 7u) { return 0.0; }
  if (e == 0u) { return s * (m / 8.0) * exp2(-6.0); }
  return s * (1.0 + m / 8.0) * exp2(f32(e) - 7.0);
}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let r = id.x;
  if (r >= p.rows) { return; }
  var acc = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let i = r * p.cols + c;
    let b = (w[i >> 2u] >> ((i & 3u) * 8u)) & 255u;
    acc += e4m3(b) * x[c % p.xlen];
  }
  y[r] = tanh(p.scale * acc);
}`;
  const U = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 };
  const backend = lib.webgpu.webgpuBackend;
  const device: GPUDevice = await backend.device();
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: WGSL }), entryPoint: 'main' } });
  const model = await lib.runtime.openModel(compressed, { backend, slots });
  const layers: { name: string; shape: number[] }[] = model.tensors.filter((t: any) => t.compressed && t.shape.length === 2);
  const header = lib.layout.parseSafetensors(plain);
  const plainTensor = (name: string): Uint8Array => {
    const t = header.byName.get(name);
    return plain.subarray(header.dataOffset + t.begin, header.dataOffset + t.end);
  };
  const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  const buffers: GPUBuffer[] = [];
  const buffer = (size: number, usage: number, data?: ArrayBufferView) => {
    const b = device.createBuffer({ size: Math.ceil(size / 4) * 4, usage: usage | U.COPY_DST });
    if (data) device.queue.writeBuffer(b, 0, new Uint8Array(data.buffer, data.byteOffset, data.byteLength) as Uint8Array<ArrayBuffer>);
    buffers.push(b);
    return b;
  };

  type Weights = (i: number, encoder: GPUCommandEncoder) => Promise<{ buffer: GPUBuffer; offset: number; size: number }>;
  const run = async (weights: Weights, scale: (i: number) => number): Promise<number[]> => {
    const encoder = device.createCommandEncoder();
    let x = buffer(512 * 4, U.STORAGE, Float32Array.from({ length: 512 }, (_, i) => Math.sin(i)));
    let xlen = 512;
    for (let i = 0; i < layers.length; i++) {
      const [rows, cols] = layers[i].shape;
      const w = await weights(i, encoder);
      const params = new DataView(new ArrayBuffer(16));
      params.setUint32(0, rows, true);
      params.setUint32(4, cols, true);
      params.setUint32(8, xlen, true);
      params.setFloat32(12, scale(i), true);
      const y = buffer(rows * 4, U.STORAGE | U.COPY_SRC);
      const group = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: buffer(16, U.UNIFORM, params) } },
          { binding: 1, resource: { buffer: w.buffer, offset: w.offset, size: w.size } },
          { binding: 2, resource: { buffer: x } },
          { binding: 3, resource: { buffer: y } },
        ],
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(Math.ceil(rows / 64));
      pass.end();
      x = y;
      xlen = rows;
    }
    const readback = device.createBuffer({ size: xlen * 4, usage: U.MAP_READ | U.COPY_DST });
    encoder.copyBufferToBuffer(x, 0, readback, 0, xlen * 4);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(U.MAP_READ);
    const bits = Array.from(new Uint32Array(readback.getMappedRange().slice(0)));
    readback.destroy();
    return bits;
  };

  const viaManager = await run(
    async (i, encoder) => {
      const v = await model.get(layers[i].name, { encoder });
      return { buffer: v.target, offset: v.offset, size: Math.ceil(v.byteLength / 4) * 4 };
    },
    (i) => f32(model.bytes(`${layers[i].name}_scale`)),
  );
  const viaPlain = await run(
    async (i) => {
      const bytes = plainTensor(layers[i].name);
      return { buffer: buffer(bytes.length, U.STORAGE, bytes), offset: 0, size: Math.ceil(bytes.length / 4) * 4 };
    },
    (i) => f32(plainTensor(`${layers[i].name}_scale`)),
  );
  const result = { layers: layers.length, placement: model.placement as string, memory: model.memory(), manager: viaManager, plain: viaPlain };
  await model.close();
  for (const b of buffers) b.destroy();
  return result;
}
