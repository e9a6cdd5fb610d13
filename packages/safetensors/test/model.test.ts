import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@ecf8/core';
import {
  buildSafetensors,
  compressFile,
  compressModel,
  decompressFile,
  decompressModel,
  inspectModel,
  ModelErrorCode,
  parseSafetensors,
  readCompressedLayout,
  renderInspectSvg,
  verifyFile,
  verifyModel,
  type Progress,
} from '../src/index.js';
import { bytes, realisticModel, SAMPLE, tensor } from './fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let k = 0;
async function roundTrip(file: Uint8Array, T?: number) {
  const n = k++;
  const a = join(dir, `rt${n}.safetensors`);
  const c = join(dir, `rt${n}.ecf8.safetensors`);
  const d = join(dir, `rt${n}.out.safetensors`);
  writeFileSync(a, file);
  const r = await compressFile(a, c, { threadsPerBlock: T });
  const compressed = new Uint8Array(readFileSync(c));
  parseSafetensors(compressed); // the output is itself valid safetensors
  await verifyFile(c);
  await decompressFile(c, d);
  const restored = new Uint8Array(readFileSync(d));
  expect(sha(restored)).toBe(sha(file));
  expect(r.sha256).toBe(sha(file));
  return { r, compressed, c, a };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('compress / decompress: byte-exact round trips', () => {
  it('a realistic FP8 checkpoint (real FP8 weights, F32 scales, BF16 norms): streams aligned, smaller', async () => {
    const { file } = realisticModel(2);
    const { r, compressed } = await roundTrip(file);
    expect(r.fp8Tensors).toBe(6);
    expect(r.streamBytes / r.fp8Bytes).toBeLessThan(0.9);
    const h = parseSafetensors(compressed);
    expect((8 + h.headerSize) % 8).toBe(0);
    for (const t of h.tensors) if (t.name.endsWith('.ecf8')) expect(t.begin % 8).toBe(0);
    expect(h.metadata!.format).toBe('pt');
    const layout = readCompressedLayout(h);
    expect(layout.streams.size).toBe(6);
    expect(layout.copies.size).toBe(r.tensors.length - 6);
  });

  it('every dtype mixed, empty and odd-shaped tensors, metadata present and absent', async () => {
    const ts = [
      tensor('a.f8', 'F8_E4M3', [3, 5, 7], 1, SAMPLE),
      tensor('b.bf16', 'BF16', [3, 3], 2),
      tensor('c.empty8', 'F8_E4M3', [0, 4], 3),
      tensor('d.f32', 'F32', [1], 4),
      tensor('e.one8', 'F8_E4M3', [1], 5, new Uint8Array([0x7f])),
      tensor('f.bool', 'BOOL', [5], 6),
      tensor('g.f4', 'F4', [6], 7),
      tensor('h.i64', 'I64', [2], 8),
      tensor('i.nan', 'F8_E4M3', [1, 256], 9, Uint8Array.from({ length: 256 }, (_, i) => i)),
      tensor('j.e5m2', 'F8_E5M2', [9], 10),
      tensor('k.emptyf32', 'F32', [0], 11),
      tensor('l.scalar8', 'F8_E4M3', [], 12),
    ];
    await roundTrip(buildSafetensors(ts, { format: 'pt', note: 'x' }));
    await roundTrip(buildSafetensors(ts, null), 64);
    await roundTrip(buildSafetensors([...ts].reverse(), {}), 1);
  });

  it('files with no FP8 tensor, no tensor at all, and hand-written headers (spaces, key order, unicode names)', async () => {
    await roundTrip(buildSafetensors([tensor('w', 'BF16', [8, 8])], null));
    await roundTrip(buildSafetensors([], null));
    await roundTrip(buildSafetensors([], { only: 'metadata' }));
    const header = '{ "z\u00e9\u4e2d.weight" : {"shape":[4,4],"dtype":"F8_E4M3","data_offsets":[2,18]},\n  "__metadata__":{"k":"v"},"0":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}     ';
    const h = new TextEncoder().encode(header);
    const file = new Uint8Array(8 + h.length + 18);
    new DataView(file.buffer).setBigUint64(0, BigInt(h.length), true);
    file.set(h, 8);
    file.set(bytes(18, 3), 8 + h.length);
    const { r } = await roundTrip(file);
    expect(r.tensors.map((t) => t.name)).toEqual(['0', 'z\u00e9\u4e2d.weight']);
  });

  it('a stream name that is already taken gets a numeric suffix', async () => {
    const ts = [tensor('w', 'F8_E4M3', [64], 1, SAMPLE), tensor('w.ecf8', 'U8', [3], 2)];
    const { compressed } = await roundTrip(buildSafetensors(ts, null));
    expect([...parseSafetensors(compressed).byName.keys()]).toContain('w.ecf8.1');
  });

  it('refuses to compress an already compressed file and reports progress', async () => {
    const { file } = realisticModel(1);
    writeFileSync(join(dir, 'p.safetensors'), file);
    const seen: Progress[] = [];
    await compressFile(join(dir, 'p.safetensors'), join(dir, 'p.ecf8.safetensors'), { onProgress: (p) => seen.push({ ...p }) });
    const last = seen[seen.length - 1];
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(await codeOf(compressFile(join(dir, 'p.ecf8.safetensors'), join(dir, 'pp.safetensors')))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('corrupted and hostile inputs', () => {
  let good: Uint8Array;
  beforeAll(async () => {
    const { compressed } = await roundTrip(realisticModel(1).file);
    good = compressed;
  });

  async function expectFailure(file: Uint8Array, code: string) {
    const p = join(dir, `bad-${k++}.safetensors`);
    writeFileSync(p, file);
    const out = join(dir, `bad-out-${k++}.safetensors`);
    const before = new Set(readdirSync(dir));
    expect(await codeOf(verifyFile(p))).toBe(code);
    expect(await codeOf(decompressFile(p, out))).toBe(code);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => !before.has(f) && f !== p.split('/').pop())).toEqual([]);
  }

  it('a flipped bit inside a stream fails with the stream error code and leaves no output', async () => {
    const h = parseSafetensors(good);
    const s = h.tensors.find((t) => t.name.endsWith('.ecf8'))!;
    const at = (off: number) => h.dataOffset + s.begin + off;
    const flip = (off: number, mask = 1) => {
      const f = good.slice();
      f[at(off)] ^= mask;
      return f;
    };
    await expectFailure(flip(0), ErrorCode.BAD_MAGIC);
    await expectFailure(flip(85), ErrorCode.METADATA_CHECKSUM_MISMATCH);
    await expectFailure(flip(s.byteLength - 1000), ErrorCode.CONTENT_CHECKSUM_MISMATCH);
  });

  it('an altered copied tensor fails the SHA-256 check', async () => {
    const h = parseSafetensors(good);
    const c = h.tensors.find((t) => t.dtype === 'BF16')!;
    const f = good.slice();
    f[h.dataOffset + c.begin] ^= 0x10;
    await expectFailure(f, ModelErrorCode.MODEL_CHECKSUM_MISMATCH);
  });

  it('tampered ecf8 metadata fails with ECF8_BAD_MODEL_METADATA', async () => {
    const h = parseSafetensors(good);
    const text = new TextDecoder().decode(h.headerBytes);
    const edit = (from: string, to: string) => {
      let t = text.replace(from, to);
      expect(t).not.toBe(text);
      while (t.length > text.length && t.endsWith(' ')) t = t.slice(0, -1);
      const hb = new TextEncoder().encode(t.padEnd(text.length, ' '));
      expect(hb.length).toBe(text.length);
      const f = good.slice();
      f.set(hb, 8);
      return f;
    };
    await expectFailure(edit('"ecf8.version":"1"', '"ecf8.version":"9"')!, ModelErrorCode.BAD_MODEL_METADATA);
    await expectFailure(edit('.ecf8":{"dtype"', '.ecf9":{"dtype"')!, ModelErrorCode.BAD_MODEL_METADATA);
    await expectFailure(edit('"ecf8.original_size":"', '"ecf8.original_size":"9')!, ModelErrorCode.BAD_MODEL_METADATA);
    await expectFailure(edit('"ecf8.original_header":"eyJ', '"ecf8.original_header":"eyX')!, ModelErrorCode.BAD_MODEL_METADATA);
  });

  it('a truncated or plain file is rejected by decompress and verify', async () => {
    await expectFailure(good.subarray(0, good.length - 7), ModelErrorCode.BAD_SAFETENSORS);
    await expectFailure(realisticModel(1).file, ModelErrorCode.BAD_MODEL_METADATA);
    expect(await codeOf(compressFile(join(dir, 'missing.safetensors'), join(dir, 'x')))).toBe(ErrorCode.IO_ERROR);
  });

  it('a failing compression leaves an existing output untouched', async () => {
    const out = join(dir, 'precious.safetensors');
    writeFileSync(out, 'precious');
    writeFileSync(join(dir, 'hostile.safetensors'), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
    expect(await codeOf(compressFile(join(dir, 'hostile.safetensors'), out))).toBe(ModelErrorCode.BAD_SAFETENSORS);
    expect(readFileSync(out, 'utf8')).toBe('precious');
  });
});

describe('sharded checkpoints (directories)', () => {
  it('compresses shard by shard, rewrites the index, restores every file byte for byte', async () => {
    const src = join(dir, 'model');
    mkdirSync(join(src, 'sub'), { recursive: true });
    const a = realisticModel(1).tensors;
    const b = realisticModel(2).tensors.filter((t) => t.name.includes('layers.1'));
    writeFileSync(join(src, 'model-00001-of-00002.safetensors'), buildSafetensors(a, { format: 'pt' }));
    writeFileSync(join(src, 'model-00002-of-00002.safetensors'), buildSafetensors(b, { format: 'pt' }));
    const weightMap: Record<string, string> = {};
    for (const t of a) weightMap[t.name] = 'model-00001-of-00002.safetensors';
    for (const t of b) weightMap[t.name] = 'model-00002-of-00002.safetensors';
    const total = [...a, ...b].reduce((s, t) => s + t.data.length, 0);
    writeFileSync(join(src, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
    writeFileSync(join(src, 'config.json'), '{"architectures": ["Qwen3ForCausalLM"]}\n');
    writeFileSync(join(src, 'sub', 'extra.safetensors'), buildSafetensors([tensor('x', 'F8_E4M3', [100], 1, SAMPLE)], null));
    const out = join(dir, 'model.ecf8');
    const r = await compressModel(src, out);
    expect(r.files.length).toBe(3);
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(index.weight_map['model.layers.0.mlp.down_proj.weight.ecf8']).toBe('model-00001-of-00002.safetensors');
    expect(index.weight_map['model.layers.0.mlp.down_proj.weight']).toBeUndefined();
    expect(index.metadata.total_size).toBeLessThan(total);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toContain('Qwen3');
    await verifyModel(out);
    const back = join(dir, 'model.back');
    await decompressModel(out, back);
    for (const f of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'config.json', join('sub', 'extra.safetensors')]) {
      expect(sha(readFileSync(join(back, f))), f).toBe(sha(readFileSync(join(src, f))));
    }
    // An existing non-empty output directory is refused unless forced.
    expect(await codeOf(decompressModel(out, back))).toBe(ModelErrorCode.OUTPUT_EXISTS);
    await decompressModel(out, back, { force: true });
    expect(readdirSync(dir).filter((f) => f.includes('.tmpdir') || f.includes('.old'))).toEqual([]);
  });
});

describe('inspect and plot', () => {
  it('reports per-tensor entropy, code length and sizes equal for plain and compressed files', async () => {
    const { file } = realisticModel(2);
    writeFileSync(join(dir, 'i.safetensors'), file);
    await compressFile(join(dir, 'i.safetensors'), join(dir, 'i.ecf8.safetensors'));
    const plain = await inspectModel(join(dir, 'i.safetensors'));
    const comp = await inspectModel(join(dir, 'i.ecf8.safetensors'));
    expect(plain.tensors.length).toBe(6);
    for (let i = 0; i < 6; i++) {
      expect(comp.tensors[i].streamBytes).toBe(plain.tensors[i].streamBytes);
      expect(comp.tensors[i].entropy).toBeCloseTo(plain.tensors[i].entropy, 12);
      expect(plain.tensors[i].meanCodeLength).toBeGreaterThanOrEqual(plain.tensors[i].entropy);
      expect(plain.tensors[i].streamBytes).toBeGreaterThan(plain.tensors[i].shannonBoundBytes);
    }
    expect(plain.totals.fp8Bytes).toBe(2 * (128 * 256 + 64 * 256 + 256 * 384));
    expect(plain.others.BF16.tensors).toBe(3);
    const svg = renderInspectSvg(comp);
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain('FP4.67');
    expect(svg).toContain('block index');
    expect((svg.match(/<circle/g) ?? []).length).toBe(6);
    expect(svg.split('<svg').length).toBe(2);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

/** Real-weight corpus (`npm run corpus` writes it; `npm test` runs that first): $ECF8_CORPUS_DIR, $ECF8_CACHE or ~/.cache/ecf8-corpus. */
const corpusDir = process.env.ECF8_CORPUS_DIR ?? process.env.ECF8_CACHE ?? join(homedir(), '.cache', 'ecf8-corpus');
const corpusFiles = existsSync(corpusDir)
  ? readdirSync(corpusDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.safetensors'))
      .map((f) => join(corpusDir, f))
  : [];
describe('real-weight corpus', () => {
  // Without the corpus (vitest run alone, no network) the real-weight cases show as one visible skip with the reason.
  if (corpusFiles.length === 0) it.skip(`real-weight round trips (skipped: no *.safetensors in ${corpusDir}; run npm run corpus)`, () => {});
  for (const f of corpusFiles) {
    it(`round-trips ${f} byte for byte`, async () => {
      const out = join(dir, `corpus-${k++}.safetensors`);
      const back = join(dir, `corpus-${k++}.safetensors`);
      const r = await compressFile(f, out);
      await decompressFile(out, back);
      expect(sha(readFileSync(back))).toBe(sha(readFileSync(f)));
      expect(r.sha256).toBe(sha(readFileSync(f)));
      rmSync(out);
      rmSync(back);
    }, 600_000);
  }
});
