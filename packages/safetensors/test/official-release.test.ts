/**
 * import-official / export-official on releases laid out as the authors publish them (issue #13, points 1, 6, 12,
 * 13, 15-19): sharded checkpoints with an index, DiffSynth directories, cache files, side files, exact names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSafetensors, exportOfficial, importOfficial, ModelErrorCode, parseSafetensors, compilePattern } from '../src/index.js';
import { SAMPLE, tensor } from './fixtures.js';
import { encodeBlock, layerTensorName, moduleTensors, patternDictFor, writeCacheFiles, writeDiffSynthRelease, writeShardedRelease, type BlockSpec, type Tensor } from './official-builder.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ecf8-official-release-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
const freshDir = () => {
  const d = join(root, `case-${dirCount++}`);
  mkdirSync(d);
  return d;
};
const save = (path: string, bytes: Uint8Array | string) => writeFileSync(path, bytes);
const write = (ts: Tensor[], meta: Record<string, string> | null) => buildSafetensors(ts, meta);

function tensorsOf(path: string) {
  const file = new Uint8Array(readFileSync(path));
  const h = parseSafetensors(file);
  return new Map(h.tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: file.subarray(h.dataOffset + t.begin, h.dataOffset + t.end) }]));
}

/** Blocks of three layers with real FP8 weights (the bundled sample). */
function llmBlocks(count: number, prefix = 'model.layers'): BlockSpec[] {
  const layers: [string, number[]][] = [
    ['mlp.down_proj', [32, 48]],
    ['self_attn.k_proj', [16, 32]],
    ['self_attn.q_proj', [32, 32]],
  ];
  let at = 0;
  return Array.from({ length: count }, (_, b) => ({
    name: `${prefix}.${b}`,
    layers: layers.map(([name, shape]) => {
      const n = shape[0] * shape[1];
      const data = SAMPLE.slice(at, at + n);
      at += n + 777;
      return { name, shape, data };
    }),
  }));
}
const LLM_RULES = { 'model\\.layers\\.\\d+': ['mlp.down_proj', 'self_attn.k_proj', 'self_attn.q_proj'] };
const shapesOf = (blocks: BlockSpec[]) => JSON.stringify(Object.fromEntries(blocks.flatMap((b) => b.layers.map((l) => [layerTensorName(b.name, l.name), l.shape]))));

function expectRestored(path: string, blocks: BlockSpec[], shaped = true) {
  const got = tensorsOf(path);
  for (const b of blocks) {
    for (const l of b.layers) {
      const t = got.get(layerTensorName(b.name, l.name));
      expect(t, layerTensorName(b.name, l.name)).toBeDefined();
      expect(t!.dtype).toBe('F8_E4M3');
      expect(t!.data).toEqual(l.data);
      if (shaped) expect(t!.shape).toEqual(l.shape);
    }
  }
  return got;
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  return { code: 'no error', message: '' };
};

describe('sharded releases (save_pretrained with model.safetensors.index.json)', () => {
  // Points 6 and 15: every module restored bit-exact, including modules whose buffers sit in two shards.
  it('imports a sharded release whole, bit-exact, modules straddling shards included (directory or index)', async () => {
    const d = freshDir();
    const blocks = llmBlocks(3);
    const others = [tensor('model.embed_tokens.weight', 'BF16', [16, 8], 4), tensor('model.layers.0.input_layernorm.weight', 'BF16', [32], 5), tensor('lm_head.weight', 'BF16', [16, 8], 6)];
    // Alternate shards tensor by tensor: every module's buffers are split between the two shards.
    writeShardedRelease(d, write, save, blocks, others, 16, 2, (_name, i) => i % 2);
    save(join(d, 'pattern_dict.json'), patternDictFor(LLM_RULES));
    save(join(d, 'shapes.json'), shapesOf(blocks));
    const shard1 = tensorsOf(join(d, 'model-00001-of-00002.safetensors'));
    const shard2 = tensorsOf(join(d, 'model-00002-of-00002.safetensors'));
    expect(shard1.has('model.layers.1.encoded') !== shard2.has('model.layers.1.encoded')).toBe(true);
    expect(shard1.has('model.layers.1.luts') !== shard1.has('model.layers.1.encoded')).toBe(true);

    const r = await importOfficial(d, join(root, 'sharded.plain.safetensors'), { plain: true, shapes: join(d, 'shapes.json') });
    expect(r.modules).toBe(3);
    expect(r.threadsPerBlock).toBe(16); // from config.json's dfloat_config
    expect(r.files).toHaveLength(2);
    const got = expectRestored(join(root, 'sharded.plain.safetensors'), blocks);
    for (const o of others) expect(got.get(o.name)!.data).toEqual(o.data);
    expect([...got.keys()].filter((k) => /\.(luts|encoded|gaps|output_positions|packed_other_4bits|split_positions)$/.test(k))).toEqual([]);
    expect(got.size).toBe(others.length + 9);

    // The index file itself works too, and the default (compressed) output restores the same.
    const r2 = await importOfficial(join(d, 'model.safetensors.index.json'), join(root, 'sharded.ecf8.safetensors'), { shapes: join(d, 'shapes.json') });
    expect(r2.modules).toBe(3);
    expect(r2.compressed).not.toBeNull();
  });

  // Point 6: one shard alone no longer turns the other halves into raw U8 tensors.
  it('rejects a stray buffer (a shard imported alone) with ECF8_BAD_OFFICIAL_LAYOUT instead of copying it', async () => {
    const d = freshDir();
    writeShardedRelease(d, write, save, llmBlocks(2), [], 16, 2, (_name, i) => i % 2);
    save(join(d, 'pattern_dict.json'), patternDictFor(LLM_RULES));
    const e = await codeOf(importOfficial(join(d, 'model-00001-of-00002.safetensors'), join(d, 'out.safetensors'), { plain: true }));
    expect(e.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(e.message).toMatch(/model\.layers\.\d\.(luts|encoded|gaps|output_positions|packed_other_4bits|split_positions)/);
    expect(existsSync(join(d, 'out.safetensors'))).toBe(false);
    // A module with no encoded buffer at all (its other buffers alone, or a cache file without it) likewise.
    const { built, splits } = encodeBlock(llmBlocks(1)[0], 16);
    for (const prefix of ['model.layers.0', '']) {
      const buffers = moduleTensors(prefix, built, splits).filter((t) => !t.name.endsWith('encoded'));
      save(join(d, 'partial.safetensors'), write(buffers, { dfloat_config: '{"threads_per_block": 16}' }));
      const p = await codeOf(importOfficial(join(d, 'partial.safetensors'), join(d, 'out.safetensors'), { plain: true }));
      expect(p.code, prefix).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
      expect(p.message).toMatch(/has no encoded buffer/);
    }
  });

  it('rejects an index that disagrees with its shards, or names a path outside its directory', async () => {
    const d = freshDir();
    writeShardedRelease(d, write, save, llmBlocks(1), [], 16, 2, (_name, i) => i % 2);
    const index = JSON.parse(readFileSync(join(d, 'model.safetensors.index.json'), 'utf8'));
    index.weight_map['model.layers.0.encoded'] = index.weight_map['model.layers.0.encoded'].includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    save(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    expect((await codeOf(importOfficial(d, join(d, 'o.safetensors')))).code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    index.weight_map['model.layers.0.encoded'] = '../../etc/passwd';
    save(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    const e = await codeOf(importOfficial(d, join(d, 'o.safetensors')));
    expect(e.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(e.message).toMatch(/not a file name in its directory/);
  });
});

describe('DiffSynth releases and cache files', () => {
  const ditLayers = ['attn.a_to_out', 'attn.a_to_qkv', 'ff_a.0'];
  function ditBlocks(count: number): BlockSpec[] {
    return llmBlocks(count, 'dit.blocks').map((b) => ({ ...b, layers: b.layers.map((l, i) => ({ ...l, name: ditLayers[i] })) }));
  }
  const ditRules = { 'dit\\.blocks\\.\\d+': ditLayers };

  // Points 15 and 16: a directory of per-block files, threads per block from dfloat_config.json, pattern_dict.json
  // beside the files read by default.
  it('imports a DiffSynth directory with T from dfloat_config.json and layer names from pattern_dict.json', async () => {
    const d = freshDir();
    const blocks = ditBlocks(2);
    writeDiffSynthRelease(d, write, save, blocks, (b) => [tensor(`${b}.attn.a_to_qkv.bias`, 'BF16', [32], 9)], 32);
    save(join(d, 'pattern_dict.json'), patternDictFor(ditRules));
    const r = await importOfficial(d, join(root, 'diffsynth.safetensors'), { plain: true });
    expect(r.threadsPerBlock).toBe(32);
    expect(r.modules).toBe(2);
    const got = expectRestored(join(root, 'diffsynth.safetensors'), blocks, false);
    expect(got.get('dit.blocks.1.attn.a_to_qkv.bias')!.dtype).toBe('BF16');
    // The flag still overrides (and a wrong T is caught by the position checks).
    const wrong = await codeOf(importOfficial(d, join(d, 'x.safetensors'), { plain: true, officialThreadsPerBlock: 8 }));
    expect(wrong.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
  });

  // Point 16: without any config the error says what is missing instead of a position-count mismatch.
  it('names the missing threads_per_block when the release has no config', async () => {
    const d = freshDir();
    writeDiffSynthRelease(d, write, save, ditBlocks(1), () => [], 32);
    rmSync(join(d, 'dfloat_config.json'));
    save(join(d, 'pattern_dict.json'), patternDictFor(ditRules));
    const e = await codeOf(importOfficial(d, join(d, 'x.safetensors'), { plain: true }));
    expect(e.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(e.message).toMatch(/threads per block unknown/);
    expect(e.message).toMatch(/--official-threads-per-block/);
    expect(e.message).not.toMatch(/output_positions/);
    const ok = await importOfficial(d, join(d, 'x.safetensors'), { plain: true, officialThreadsPerBlock: 32 });
    expect(ok.modules).toBe(1);
  });

  // Point 17: cache/<block>.safetensors (bare buffer names, flat_weights) imports, and flat_weights is checked.
  it("imports the authors' cache files, settings from the release directory above, checked against flat_weights", async () => {
    const d = freshDir();
    const blocks = ditBlocks(2);
    mkdirSync(join(d, 'cache'));
    writeCacheFiles(join(d, 'cache'), write, save, blocks, 16);
    save(join(d, 'dfloat_config.json'), JSON.stringify({ version: '0.2.0', threads_per_block: 16, bytes_per_thread: 8 }));
    save(join(d, 'pattern_dict.json'), patternDictFor(ditRules));
    const all = await importOfficial(join(d, 'cache'), join(root, 'cache-all.safetensors'), { plain: true });
    expect(all.modules).toBe(2);
    const got = expectRestored(join(root, 'cache-all.safetensors'), blocks, false);
    expect([...got.keys()].some((k) => k.endsWith('flat_weights'))).toBe(false);
    const one = await importOfficial(join(d, 'cache', 'dit.blocks.1.safetensors'), join(root, 'cache-one.safetensors'), { plain: true });
    expect(one.tensors.map((t) => t.name)).toEqual(ditLayers.map((l) => `dit.blocks.1.${l}.weight`));
    // A cache whose flat_weights disagree with its buffers is rejected.
    const { built, splits, flat } = encodeBlock(blocks[0], 16);
    const wrongFlat = flat.slice();
    wrongFlat[5] ^= 1;
    save(join(d, 'cache', 'dit.blocks.0.safetensors'), write([{ name: 'flat_weights', dtype: 'F8_E4M3', shape: [flat.length], data: wrongFlat }, ...moduleTensors('', built, splits)], null));
    const e = await codeOf(importOfficial(join(d, 'cache', 'dit.blocks.0.safetensors'), join(d, 'x.safetensors'), { plain: true }));
    expect(e.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(e.message).toMatch(/flat_weights/);
  });
});

describe('export-official side files and names', () => {
  function ourModel(names: string[]): { path: string; tensors: Tensor[] } {
    const d = freshDir();
    const tensors: Tensor[] = names.map((name, i) => ({ name, dtype: 'F8_E4M3', shape: [16, 32], data: SAMPLE.slice(i * 600, i * 600 + 512) }));
    tensors.push(tensor('norm', 'BF16', [8], 3));
    const path = join(d, 'ours.safetensors');
    save(path, buildSafetensors(tensors, { format: 'pt', constructor: 'kept', toString: 'kept too' }));
    return { path, tensors };
  }

  // Point 18: config.json (dfloat_config) and pattern_dict.json written next to the output, as their loader reads.
  it('writes config.json with dfloat_config and pattern_dict.json beside the output, never replacing one without force', async () => {
    const { path } = ourModel(['model.layers.0.mlp.down_proj.weight', 'model.layers.0.self_attn.q_proj.weight']);
    const out = join(freshDir(), 'theirs.safetensors');
    const r = await exportOfficial(path, out, { threadsPerBlock: 64 });
    const dir = join(out, '..');
    expect(r.sideFiles.sort()).toEqual([join(dir, 'config.json'), join(dir, 'pattern_dict.json')]);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.dfloat_config).toEqual({ version: '0.2.0', threads_per_block: 64, bytes_per_thread: 8 });
    const dict = JSON.parse(readFileSync(join(dir, 'pattern_dict.json'), 'utf8'));
    // Their loader fullmatches each module path against the fp8 patterns; every module must be found, with [''].
    for (const m of ['model.layers.0.mlp.down_proj', 'model.layers.0.self_attn.q_proj']) {
      const hit = Object.entries(dict.fp8 as Record<string, string[]>).find(([p]) => compilePattern(p).fullmatch(m));
      expect(hit?.[1], m).toEqual(['']);
    }
    // The side files alone carry T and the names: strip our metadata and import with them.
    const t = tensorsOf(out);
    save(out, buildSafetensors([...t].map(([name, v]) => ({ name, dtype: v.dtype, shape: v.shape, data: v.data })), null));
    const back = await importOfficial(out, join(dir, 'back.safetensors'), { plain: true });
    expect(back.threadsPerBlock).toBe(64);
    expect(back.modules).toBe(2);
    // Existing side files are refused (nothing written), or replaced with force.
    save(join(dir, 'config.json'), '{"model_type": "mine"}');
    const e = await codeOf(exportOfficial(path, join(dir, 'again.safetensors')));
    expect(e.message).toMatch(/^ECF8_OUTPUT_EXISTS: .*config\.json exists; pass --force/);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('{"model_type": "mine"}');
    expect(existsSync(join(dir, 'again.safetensors'))).toBe(false);
    await exportOfficial(path, join(dir, 'again.safetensors'), { force: true });
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).dfloat_config.threads_per_block).toBe(512);
    // The DiffSynth layout's dfloat_config.json instead.
    const ds = join(freshDir(), 'theirs.safetensors');
    await exportOfficial(path, ds, { diffsynth: true });
    expect(JSON.parse(readFileSync(join(ds, '..', 'dfloat_config.json'), 'utf8'))).toEqual({ version: '0.2.0', threads_per_block: 512, bytes_per_thread: 8 });
    expect(readdirSync(join(ds, '..')).sort()).toEqual(['dfloat_config.json', 'pattern_dict.json', 'theirs.safetensors']);
  });

  it("merges dfloat_config into the input's own config.json", async () => {
    const { path } = ourModel(['w.weight']);
    save(join(path, '..', 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 32 }));
    const out = join(freshDir(), 'theirs.safetensors');
    await exportOfficial(path, out);
    expect(JSON.parse(readFileSync(join(out, '..', 'config.json'), 'utf8'))).toEqual({ model_type: 'llama', hidden_size: 32, dfloat_config: { version: '0.2.0', threads_per_block: 512, bytes_per_thread: 8 } });
  });

  // Points 19 and 1: names come back unchanged, prototype-key names included (tensors and metadata keys).
  it('round-trips names unchanged: emb stays emb, and __proto__, constructor, toString are ordinary names', async () => {
    const names = ['emb', 'model.layers.0.mlp.down_proj.weight', '__proto__', 'constructor', 'toString', 'hasOwnProperty.weight'];
    const { path, tensors } = ourModel(names);
    const out = join(freshDir(), 'theirs.safetensors');
    const r = await exportOfficial(path, out);
    expect(r.modules.map((m) => m.tensor)).toEqual(names);
    const back = join(out, '..', 'back.safetensors');
    const imp = await importOfficial(out, back, { plain: true });
    expect(imp.warnings).toEqual([]);
    const got = tensorsOf(back);
    expect([...got.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      expect(got.get(t.name)!.data, t.name).toEqual(t.data);
      expect(got.get(t.name)!.shape).toEqual(t.shape);
    }
    expect(parseSafetensors(new Uint8Array(readFileSync(back))).metadata).toEqual({ format: 'pt', constructor: 'kept', toString: 'kept too' });
    // Compressed output too (our container, with the prototype-key names).
    const c = await importOfficial(out, join(out, '..', 'back.ecf8.safetensors'));
    expect(c.tensors.map((t) => t.name).sort()).toEqual(names.slice().sort());
  });

  it('reads a weight_map and a pattern dict whose keys are prototype names', async () => {
    const d = freshDir();
    const block: BlockSpec = { name: '__proto__', layers: [{ name: 'constructor', shape: [8, 8], data: SAMPLE.slice(0, 64) }, { name: 'toString', shape: [4, 8], data: SAMPLE.slice(64, 96) }] };
    writeShardedRelease(d, write, save, [block], [tensor('hasOwnProperty', 'BF16', [4], 2)], 16, 2, (_n, i) => i % 2);
    save(join(d, 'pattern_dict.json'), JSON.stringify({ fp8: { __proto__: ['constructor', 'toString'] }, bf16: {} }));
    // JSON.stringify drops a literal __proto__ key, so write it as text.
    save(join(d, 'pattern_dict.json'), '{"fp8": {"__proto__": ["constructor", "toString"]}, "bf16": {}}');
    const r = await importOfficial(d, join(d, 'out.safetensors'), { plain: true });
    expect(r.tensors.map((t) => t.name)).toEqual(['__proto__.constructor.weight', '__proto__.toString.weight']);
    expectRestored(join(d, 'out.safetensors'), [block], false);
  });
});

describe('bad side data gives one clear line with a stable code', () => {
  function singleFile(meta: Record<string, string> | null): string {
    const d = freshDir();
    const block: BlockSpec = { name: 'blk', layers: [{ name: '', shape: [8, 8], data: SAMPLE.slice(0, 64) }] };
    const { built, splits } = encodeBlock(block, 16);
    const path = join(d, 'm.safetensors');
    save(path, buildSafetensors(moduleTensors('blk', built, splits), { dfloat_config: '{"threads_per_block": 16, "bytes_per_thread": 8}', ...meta }));
    return path;
  }

  // Point 12.
  it('bad JSON in pattern_dict.json or ecf8.shapes, and ecf8.shapes = "null", name the file and keep a code', async () => {
    const path = singleFile(null);
    save(join(path, '..', 'pattern_dict.json'), '{"fp8": {"blk": [""]}');
    let e = await codeOf(importOfficial(path, join(path, '..', 'o.safetensors')));
    expect(e.code).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
    expect(e.message).toContain(join(path, '..', 'pattern_dict.json'));
    expect(e.message).toMatch(/not valid JSON/);
    rmSync(join(path, '..', 'pattern_dict.json'));
    for (const dict of ['{"fp8": ', 'null', '{"fp8": {"blk": "x"}}']) {
      const p = singleFile({ pattern_dict: dict });
      e = await codeOf(importOfficial(p, join(p, '..', 'o.safetensors')));
      expect(e.code, dict).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
      expect(e.message, dict).toContain(`${p}: metadata pattern_dict`);
    }
    for (const shapes of ['{"blk.weight": [8, 8]', 'null', '[]', '"x"', '{"blk.weight": null}']) {
      const p = singleFile({ 'ecf8.shapes': shapes });
      e = await codeOf(importOfficial(p, join(p, '..', 'o.safetensors')));
      expect(e.code, shapes).toBe(ModelErrorCode.BAD_MODEL_METADATA);
      expect(e.message, shapes).toContain(p);
      expect(e.message, shapes).toMatch(/ecf8\.shapes/);
      expect(e.message).not.toMatch(/TypeError|Cannot convert|undefined or null/);
    }
  });

  // Point 13.
  it('--plain rejects shapes with negative, hex or fractional dims; errors never name the temporary file', async () => {
    for (const dims of ['[-8, -8]', '["0x40"]', '[0.5, 128]', '["64"]', '[64, 1e400]']) {
      const p = singleFile({ 'ecf8.shapes': `{"blk.weight": ${dims}}` });
      for (const plain of [true, false]) {
        const e = await codeOf(importOfficial(p, join(p, '..', 'o.safetensors'), { plain }));
        expect(e.code, dims).toBe(ModelErrorCode.BAD_MODEL_METADATA);
        expect(e.message).toMatch(/non-negative integer|list of dimensions|too many/);
        expect(e.message).not.toMatch(/\.plain|\.tmp/);
        expect(existsSync(join(p, '..', 'o.safetensors'))).toBe(false);
      }
      expect(readdirSync(join(p, '..'))).toEqual(['m.safetensors']);
    }
    const ok = singleFile({ 'ecf8.shapes': '{"blk.weight": [4, 16]}' });
    const r = await importOfficial(ok, join(ok, '..', 'o.safetensors'), { plain: true });
    expect(r.tensors[0].shape).toEqual([4, 16]);
  });
});
