import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalCodes, decode, encode } from '@ecf8/core';
import {
  buildSafetensors,
  decodeOfficial,
  decompressFile,
  emulateOfficialKernel,
  exportOfficial,
  importOfficial,
  ModelErrorCode,
  officialBuffersFromStream,
  parseSafetensors,
  type OfficialBuffers,
} from '../src/index.js';
import { bytes, realisticModel, SAMPLE, tensor } from './fixtures.js';
import { buildOfficial, i64Bytes } from './official-builder.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-official-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

function tensorsOf(file: Uint8Array) {
  const h = parseSafetensors(file);
  return new Map(h.tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: file.subarray(h.dataOffset + t.begin, h.dataOffset + t.end) }]));
}

describe('official layout: decoding buffers built to the layout', () => {
  it('uses a non-canonical Huffman code with an end symbol and subtables', () => {
    const built = buildOfficial(SAMPLE.subarray(0, 65536), 512);
    const lengths = new Uint8Array(16);
    for (const [x, c] of built.code.codes) lengths[x] = c.len;
    const canon = canonicalCodes(lengths);
    expect([...built.code.codes].some(([x, c]) => canon[x] !== c.code)).toBe(true);
    expect(built.luts.length / 256).toBeGreaterThan(2);
  });

  it('decodes bit-exactly for many sizes and thread counts (byte-aligned and unaligned ends, many blocks)', () => {
    for (const T of [1, 4, 512]) {
      for (const n of [2, 4, 10, 64, 1000, 4096, 20000, 65536]) {
        const fp8 = SAMPLE.subarray(1000, 1000 + n);
        const built = buildOfficial(fp8, T);
        expect(decodeOfficial(built, T), `n=${n} T=${T}`).toEqual(fp8);
      }
    }
    const random = bytes(30000, 9);
    expect(decodeOfficial(buildOfficial(random, 8), 8)).toEqual(random);
  });

  it('rejects inconsistent buffers with ECF8_BAD_OFFICIAL_LAYOUT', () => {
    const built = buildOfficial(SAMPLE.subarray(0, 20000), 4);
    const mutate = (f: (b: OfficialBuffers) => void) => {
      const b: OfficialBuffers = { ...built, luts: built.luts.slice(), encoded: built.encoded.slice(), gaps: built.gaps.slice(), outputPositions: built.outputPositions.slice(), packedOther4bits: built.packedOther4bits.slice() };
      f(b);
      return codeOf(() => decodeOfficial(b, 4));
    };
    expect(mutate((b) => (b.gaps[3] ^= 0x10))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(mutate((b) => (b.outputPositions[8] ^= 1))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(mutate((b) => (b.encoded = b.encoded.subarray(0, b.encoded.length - 40)))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(mutate((b) => (b.luts = b.luts.subarray(0, 100)))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(mutate((b) => b.luts.fill(0, b.luts.length - 256))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(mutate((b) => (b.outputPositions = b.outputPositions.subarray(0, 5)))).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
  });

  it('the emulated official decoder reproduces both their buffers and ours', () => {
    for (const T of [4, 512]) {
      const fp8 = SAMPLE.subarray(0, 40000);
      expect(Uint8Array.from(emulateOfficialKernel(buildOfficial(fp8, T), T))).toEqual(fp8);
      const ours = officialBuffersFromStream(encode(fp8, { threadsPerBlock: T }));
      expect(Uint8Array.from(emulateOfficialKernel(ours, T))).toEqual(fp8);
      expect(decodeOfficial(ours, T)).toEqual(fp8);
    }
  });
});

describe('import-official / export-official files', () => {
  it('imports a block of three layers named by a pattern dict, shaped by a shapes file, bit-exact', async () => {
    const layers = [
      ['mlp.down_proj', [64, 96]],
      ['self_attn.k_proj', [32, 64]],
      ['self_attn.q_proj', [64, 64]],
    ] as const;
    const weights = new Map<string, Uint8Array>();
    const file: { name: string; dtype: string; shape: number[]; data: Uint8Array }[] = [tensor('model.embed_tokens.weight', 'BF16', [16, 8], 4)];
    const T = 16;
    for (const blk of [0, 1]) {
      const parts = layers.map(([, s], i) => SAMPLE.slice(blk * 50000 + i * 10000, blk * 50000 + i * 10000 + s[0] * s[1]));
      layers.forEach(([l], i) => weights.set(`model.layers.${blk}.${l}.weight`, parts[i]));
      const flat = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let at = 0;
      const splits: number[] = [];
      for (const p of parts) {
        flat.set(p, at);
        at += p.length;
        splits.push(at);
      }
      splits.pop();
      const b = buildOfficial(flat, T, splits);
      const m = `model.layers.${blk}`;
      file.push(
        { name: `${m}.luts`, dtype: 'U8', shape: [b.luts.length / 256, 256], data: b.luts },
        { name: `${m}.encoded`, dtype: 'U8', shape: [b.encoded.length], data: b.encoded },
        { name: `${m}.packed_other_4bits`, dtype: 'U8', shape: [b.packedOther4bits.length], data: b.packedOther4bits },
        { name: `${m}.output_positions`, dtype: 'U8', shape: [b.outputPositions.length], data: b.outputPositions },
        { name: `${m}.gaps`, dtype: 'U8', shape: [b.gaps.length], data: b.gaps },
        { name: `${m}.split_positions`, dtype: 'I64', shape: [splits.length], data: i64Bytes(splits) },
        tensor(`${m}.input_layernorm.weight`, 'BF16', [32], 8 + blk),
      );
    }
    const sub = mkdtempSync(join(dir, 'model-'));
    writeFileSync(join(sub, 'model.safetensors'), buildSafetensors(file, { format: 'pt' }));
    writeFileSync(join(sub, 'config.json'), JSON.stringify({ dfloat_config: { version: '0.2.0', threads_per_block: T, bytes_per_thread: 8 } }));
    writeFileSync(join(sub, 'pattern_dict.json'), JSON.stringify({ fp8: { 'model\\.layers\\.\\d+': layers.map(([l]) => l) }, bf16: {} }));
    writeFileSync(join(sub, 'shapes.json'), JSON.stringify(Object.fromEntries([...weights.keys()].map((k) => [k, layers.find(([l]) => k.includes(l))![1]]))));
    const r = await importOfficial(join(sub, 'model.safetensors'), join(sub, 'ours.safetensors'), { shapes: join(sub, 'shapes.json') });
    expect(r.modules).toBe(2);
    expect(r.warnings).toEqual([]);
    await decompressFile(join(sub, 'ours.safetensors'), join(sub, 'plain.safetensors'));
    const got = tensorsOf(new Uint8Array(readFileSync(join(sub, 'plain.safetensors'))));
    for (const [name, w] of weights) {
      expect(got.get(name)!.dtype).toBe('F8_E4M3');
      expect(got.get(name)!.data, name).toEqual(w);
      expect(got.get(name)!.shape).toEqual([...layers.find(([l]) => name.includes(l))![1]]);
    }
    expect(got.get('model.layers.1.input_layernorm.weight')!.dtype).toBe('BF16');
    expect([...got.keys()].some((k) => k.endsWith('.gaps'))).toBe(false);
    // Without the pattern dict a multi-layer block cannot be named.
    rmSync(join(sub, 'pattern_dict.json'));
    await expect(importOfficial(join(sub, 'model.safetensors'), join(sub, 'x.safetensors'))).rejects.toThrow(/pattern dict/);
  });

  it('exports our streams without re-encoding and imports them back bit-exact', async () => {
    const { file, tensors } = realisticModel(2);
    writeFileSync(join(dir, 'm.safetensors'), file);
    const { compressFile } = await import('../src/index.js');
    await compressFile(join(dir, 'm.safetensors'), join(dir, 'm.ecf8.safetensors'));
    const r = await exportOfficial(join(dir, 'm.ecf8.safetensors'), join(dir, 'm.official.safetensors'));
    expect(r.modules.length).toBe(6);
    const exported = tensorsOf(new Uint8Array(readFileSync(join(dir, 'm.official.safetensors'))));
    // The exported buffers are slices of our streams.
    const q = tensors.find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')!;
    const stream = encode(q.data);
    const ours = officialBuffersFromStream(stream);
    expect(exported.get('model.layers.0.self_attn.q_proj.encoded')!.data).toEqual(ours.encoded);
    expect(exported.get('model.layers.0.self_attn.q_proj.gaps')!.data).toEqual(ours.gaps);
    expect(decode(stream)).toEqual(q.data);
    await importOfficial(join(dir, 'm.official.safetensors'), join(dir, 'm.back.safetensors'), { plain: true });
    const back = tensorsOf(new Uint8Array(readFileSync(join(dir, 'm.back.safetensors'))));
    for (const t of tensors) {
      expect(back.get(t.name)!.data, t.name).toEqual(t.data);
      expect(back.get(t.name)!.shape).toEqual(t.shape);
      expect(back.get(t.name)!.dtype).toBe(t.dtype);
    }
    // Plain FP8 inputs are encoded on the fly; odd element counts cannot be exported.
    await exportOfficial(join(dir, 'm.safetensors'), join(dir, 'm2.official.safetensors'), { threadsPerBlock: 64, force: true });
    writeFileSync(join(dir, 'odd.safetensors'), buildSafetensors([tensor('w', 'F8_E4M3', [3], 1, SAMPLE)]));
    await expect(exportOfficial(join(dir, 'odd.safetensors'), join(dir, 'odd.out'), { force: true })).rejects.toThrow(/even count/);
  });
});
