/**
 * The manager on CPU backends: every way of opening a model, get/prefetch and slot reuse, memory accounting, the
 * errors (with their codes), and validation at open as `ecf8 verify` does it.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, referenceBackend, type Ecf8Backend } from '@ecf8/core';
import { cpuFastBackend, cpuWorkersBackend } from '@ecf8/fast';
import { buildSafetensors, compressModel, parseSafetensors, readCompressedLayout } from '@ecf8/safetensors';
import { formatMemoryReport, openModel, planMemory, type CompressedModel } from '../src/index.js';
import { makeFixture, type Fixture } from './fixtures.js';

const PROTOTYPE_INDEX = resolve(__dirname, '../../safetensors/test/abuse/prototype-index');

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(() => fx?.cleanup());

async function expectAllTensors(model: CompressedModel<Uint8Array>) {
  for (const t of model.tensors) {
    if (t.compressed) expect(Buffer.from((await model.get(t.name)).bytes!).equals(Buffer.from(fx.plainTensor(t.name))), t.name).toBe(true);
    else expect(Buffer.from(model.bytes(t.name)).equals(Buffer.from(fx.plainTensor(t.name))), t.name).toBe(true);
  }
}

describe('openModel on the CPU', () => {
  it('decodes every FP8 tensor to the original bytes and keeps the other tensors as they are', async () => {
    const model = await openModel(fx.compressedPath, { backend: cpuFastBackend });
    expect(model.placement).toBe('host');
    expect(model.tensors.map((t) => t.name)).toEqual(parseSafetensors(fx.plain).tensors.map((t) => t.name));
    expect(model.tensors.filter((t) => t.compressed).map((t) => t.name)).toEqual(fx.fp8Names);
    await expectAllTensors(model);
    await model.close();
  });

  const sources: [string, () => unknown][] = [
    ['an ArrayBuffer', () => fx.compressed.slice().buffer],
    ['a Uint8Array view at an offset', () => {
      const b = new Uint8Array(fx.compressed.length + 3);
      b.set(fx.compressed, 3);
      return b.subarray(3);
    }],
    ['a fetch Response', () => new Response(fx.compressed.slice())],
    ['a Blob', () => new Blob([fx.compressed.slice()])],
  ];
  for (const [what, make] of sources) {
    it(`opens ${what}`, async () => {
      const model = await openModel(make() as ArrayBuffer, { backend: referenceBackend });
      await expectAllTensors(model);
      await model.close();
    });
  }

  it('opens a sharded checkpoint directory (and an array of shards) as one model', async () => {
    const plainDir = join(fx.dir, 'plain');
    await mkdir(plainDir);
    const h = parseSafetensors(fx.plain);
    const half = Math.ceil(h.tensors.length / 2);
    const shard = (ts: typeof h.tensors) => buildSafetensors(ts.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: fx.plainTensor(t.name) })));
    await writeFile(join(plainDir, 'model-00001-of-00002.safetensors'), shard(h.tensors.slice(0, half)));
    await writeFile(join(plainDir, 'model-00002-of-00002.safetensors'), shard(h.tensors.slice(half)));
    await compressModel(plainDir, join(fx.dir, 'sharded'));
    const model = await openModel(join(fx.dir, 'sharded'), { backend: cpuFastBackend });
    expect(new Set(model.tensors.map((t) => t.file))).toEqual(new Set(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']));
    await expectAllTensors(model);
    expect(model.memory().files).toBe(2);
    await model.close();
    // The same two shards given as bytes, and a tensor present twice.
    const a = await readFile(join(fx.dir, 'sharded', 'model-00001-of-00002.safetensors'));
    const b = await readFile(join(fx.dir, 'sharded', 'model-00002-of-00002.safetensors'));
    const both = await openModel([a, b], { backend: cpuFastBackend, verify: 'metadata' });
    await expectAllTensors(both);
    await both.close();
    await expect(openModel([a, a], { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_BAD_SAFETENSORS', message: expect.stringMatching(/is also in/) });
  });

  it('checks a directory against its index as `ecf8 verify DIR` does: missing, renamed or swapped shards are ECF8_MISSING_SHARD', async () => {
    // The prototype-key fixture of @ecf8/safetensors: tensors named __proto__, constructor, toString, hasOwnProperty.
    const compressed = join(fx.dir, 'prototype-index.ecf8');
    await compressModel(PROTOTYPE_INDEX, compressed);
    const model = await openModel(compressed, { backend: cpuFastBackend });
    expect(model.tensors.map((t) => t.name).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    await model.close();
    const variant = async (name: string, change: (dir: string) => Promise<void>) => {
      const dir = join(fx.dir, name);
      await cp(compressed, dir, { recursive: true });
      await change(dir);
      return dir;
    };
    const [one, two] = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const broken = [
      await variant('missing', (d) => unlink(join(d, two))),
      await variant('renamed', (d) => rename(join(d, two), join(d, 'model-00003-of-00002.safetensors'))),
      await variant('swapped', async (d) => {
        await rename(join(d, one), join(d, 'tmp'));
        await rename(join(d, two), join(d, one));
        await rename(join(d, 'tmp'), join(d, two));
      }),
    ];
    for (const dir of broken) {
      await expect(openModel(dir, { backend: cpuFastBackend, verify: 'metadata' }), dir).rejects.toMatchObject({ code: 'ECF8_MISSING_SHARD' });
    }
    // An altered ecf8 entry in the index is refused too.
    const tampered = await variant('tampered', async (d) => {
      const path = join(d, 'model.safetensors.index.json');
      const index = JSON.parse(await readFile(path, 'utf8'));
      index.ecf8.original_sha256 = '0'.repeat(64);
      await writeFile(path, JSON.stringify(index));
    });
    await expect(openModel(tampered, { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_MODEL_CHECKSUM_MISMATCH' });
  });

  it('works with an asynchronous backend (worker threads)', async () => {
    const model = await openModel(fx.compressed, { backend: cpuWorkersBackend, slots: 2 });
    await expectAllTensors(model);
    await model.close();
  });
});

describe('workspace slots', () => {
  it('one slot: each get reuses it; the workspace is the largest tensor', async () => {
    const model = await openModel(fx.compressed, { backend: cpuFastBackend });
    const sizes = model.tensors.filter((t) => t.compressed).map((t) => t.byteLength);
    expect(model.slotBytes).toBe(Math.max(...sizes));
    expect(model.workspace.length).toBe(Math.max(...sizes));
    const [a, b] = fx.fp8Names;
    const va = await model.get(a);
    const vb = await model.get(b);
    expect(va.slot).toBe(0);
    expect(vb.slot).toBe(0);
    expect(vb.bytes!.buffer).toBe(model.workspace.buffer);
    await model.close();
  });

  it('two slots: prefetch decodes the next tensor into the other slot, leaving the current view intact', async () => {
    const model = await openModel(fx.compressed, { backend: cpuFastBackend, slots: 2 });
    expect(model.workspace.length).toBe(2 * model.slotBytes);
    const [a, b, c] = fx.fp8Names;
    const va = await model.get(a);
    const before = va.bytes!.slice();
    await model.prefetch(b);
    expect(Buffer.from(va.bytes!).equals(Buffer.from(before))).toBe(true);
    const vb = await model.get(b);
    expect(vb.slot).not.toBe(va.slot);
    expect(Buffer.from(vb.bytes!).equals(Buffer.from(fx.plainTensor(b)))).toBe(true);
    // The next tensor goes where `a` was (the least recently used slot that is not the current one).
    const vc = await model.get(c);
    expect(vc.slot).toBe(va.slot);
    expect(Buffer.from(vc.bytes!).equals(Buffer.from(fx.plainTensor(c)))).toBe(true);
    // A tensor already in a slot is returned without decoding again.
    let decodes = 0;
    const counting: Ecf8Backend<Uint8Array> = { ...cpuFastBackend, name: 'counting', decodeInto: async (...args) => (decodes++, cpuFastBackend.decodeInto(...args)) };
    const m2 = await openModel(fx.compressed, { backend: counting, slots: 2, verify: 'metadata' });
    await m2.get(a);
    await m2.prefetch(b);
    await m2.get(b);
    await m2.get(a);
    expect(decodes).toBe(2);
    await m2.close();
    await model.close();
  });

  it('a caller-chosen workspace: a tensor that does not fit is ECF8_OUTPUT_TOO_SMALL, the others decode', async () => {
    const small = 64 * 1024;
    const model = await openModel(fx.compressed, { backend: cpuFastBackend, workspaceBytes: small });
    expect(model.workspace.length).toBe(small);
    for (const t of model.tensors.filter((x) => x.compressed)) {
      if (t.byteLength <= small) expect(Buffer.from((await model.get(t.name)).bytes!).equals(Buffer.from(fx.plainTensor(t.name)))).toBe(true);
      else await expect(model.get(t.name)).rejects.toMatchObject({ code: 'ECF8_OUTPUT_TOO_SMALL' });
    }
    await model.close();
  });
});

describe('memory accounting', () => {
  it('counts streams, other tensors and workspace against the plain FP8 model', async () => {
    const model = await openModel(fx.compressedPath, { backend: cpuFastBackend, slots: 2 });
    const r = model.memory();
    const h = parseSafetensors(fx.plain);
    const fp8 = h.tensors.filter((t) => t.dtype === 'F8_E4M3');
    const layout = readCompressedLayout(parseSafetensors(fx.compressed));
    expect(r.fp8Tensors).toBe(fp8.length);
    expect(r.plainFp8Bytes).toBe(fp8.reduce((a, t) => a + t.byteLength, 0));
    expect(r.compressedBytes).toBe([...layout.streams.values()].reduce((a, s) => a + s.byteLength, 0));
    expect(r.otherBytes).toBe(h.dataLength - r.plainFp8Bytes);
    expect(r.workspaceBytes).toBe(2 * Math.max(...fp8.map((t) => t.byteLength)));
    expect(r.residentBytes).toBe(r.compressedBytes + r.otherBytes + r.workspaceBytes);
    expect(r.plainBytes).toBe(h.dataLength);
    const { resident, ...planned } = r;
    expect(planned).toEqual(planMemory([layout], { slots: 2 }));
    // Measured: on the CPU the streams are the resident bytes themselves, in host memory.
    expect(resident).toEqual({ placement: 'host', streamHostBytes: r.compressedBytes, streamDeviceBytes: 0, decodeScratchBytes: 0 });
    const text = formatMemoryReport(r, 'host');
    expect(text).toMatch(/12 F8_E4M3; resident on host/);
    expect(text).toMatch(/2 slots x 131072 B/);
    expect(text).not.toMatch(/measured on/); // the host figures are the accounting's own
    await model.close();
  });
});

describe('errors', () => {
  it('reports bad arguments with codes', async () => {
    const model = await openModel(fx.compressed, { backend: cpuFastBackend });
    await expect(model.get('nope')).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(model.get('model.norm.weight')).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT', message: expect.stringMatching(/bytes\(\)/) });
    expect(() => model.bytes(fx.fp8Names[0])).toThrow(/get\(\)/);
    await expect(model.get(fx.fp8Names[0], { encoder: {} })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(model.get(fx.fp8Names[0], { stream: 1n })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT', message: expect.stringMatching(/no CUDA streams/) });
    await model.close();
    await expect(model.get(fx.fp8Names[0])).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT', message: expect.stringMatching(/closed/) });
    await expect(openModel(fx.compressed, { backend: cpuFastBackend, slots: 0 })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(openModel(fx.compressed, { backend: undefined as never })).rejects.toMatchObject({ code: 'ECF8_INVALID_ARGUMENT' });
    await expect(openModel(join(fx.dir, 'missing.safetensors'), { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_IO_ERROR' });
  });

  it('refuses an uncompressed file and a truncated one', async () => {
    await expect(openModel(fx.plain, { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_BAD_MODEL_METADATA' });
    await expect(openModel(fx.compressed.subarray(0, 1000), { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_BAD_SAFETENSORS' });
  });

  it('validates as ecf8 verify does: a corrupted stream or copied tensor fails at open with its code', async () => {
    const h = parseSafetensors(fx.compressed);
    const layout = readCompressedLayout(h);
    const stream = layout.streams.get(fx.fp8Names[1])!;
    // The last byte of a stream is a sign/mantissa nibble pair: only the content checksum covers it (spec §10).
    const badStream = fx.compressed.slice();
    badStream[h.dataOffset + stream.end - 1] ^= 0x10;
    await expect(openModel(badStream, { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH', message: expect.stringContaining(fx.fp8Names[1]) });
    // verify: 'metadata' opens it; the decode reports it when the tensor is asked for.
    const lazy = await openModel(badStream, { backend: cpuFastBackend, verify: 'metadata' });
    await expect(lazy.get(fx.fp8Names[1])).rejects.toMatchObject({ code: 'ECF8_CONTENT_CHECKSUM_MISMATCH' });
    expect(Buffer.from((await lazy.get(fx.fp8Names[0])).bytes!).equals(Buffer.from(fx.plainTensor(fx.fp8Names[0])))).toBe(true);
    await lazy.close();
    // A stream's metadata checksum is checked in both modes (spec §11.2 phase B): flip a bit of its positions.
    const badMeta = fx.compressed.slice();
    badMeta[h.dataOffset + stream.begin + HEADER_SIZE + 2] ^= 1;
    for (const verify of ['metadata', 'full'] as const) {
      await expect(openModel(badMeta, { backend: cpuFastBackend, verify })).rejects.toMatchObject({ code: 'ECF8_METADATA_CHECKSUM_MISMATCH' });
    }
    // A copied tensor altered: only the original file's SHA-256 notices.
    const copy = layout.copies.get('model.norm.weight')!;
    const badCopy = fx.compressed.slice();
    badCopy[h.dataOffset + copy.begin] ^= 1;
    await expect(openModel(badCopy, { backend: cpuFastBackend })).rejects.toMatchObject({ code: 'ECF8_MODEL_CHECKSUM_MISMATCH' });
  });
});

describe('the example', () => {
  it('runs the forward pass bit-identically with the manager and the uncompressed file', () => {
    const root = resolve(__dirname, '../../..');
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'packages/runtime/examples/forward-pass.ts'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/12 layers/);
    expect(out).toMatch(/manager and uncompressed file: bit-identical/);
    expect(out).toMatch(/resident on host/);
  });
});
