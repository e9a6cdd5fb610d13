/**
 * Writes the small hostile official-layout releases in this folder (issue #13, points 1, 6, 8, 12, 13, 16), one
 * directory per case with a `case.json` saying what `import-official` must do with it. Deterministic: the test
 * regenerates them in memory and checks the committed files are identical. Run: npx tsx <this file>.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSafetensors } from '../../../src/format.js';
import { encodeBlock, moduleTensors, patternDictFor, type Tensor } from '../../official-builder.js';

/** What import-official must do: fail with `code` and a message matching `message`, or restore `tensors`. */
export interface AbuseCase {
  input: string;
  code?: string;
  message?: string;
  tensors?: string[];
}

const T = 4;
const CONFIG = JSON.stringify({ threads_per_block: T, bytes_per_thread: 8 });

/** 64 FP8 values with a few distinct exponents (deterministic). */
function weights(seed: number): Uint8Array {
  const out = new Uint8Array(64);
  for (let i = 0; i < out.length; i++) out[i] = ((i * 37 + seed * 11) % 5 === 0 ? 0x30 : 0x38) | (((i + seed) * 13) & 0x87);
  return out;
}

function moduleFile(block: string, meta: Record<string, string> | null, extra: Tensor[] = []): Uint8Array {
  const { built, splits } = encodeBlock({ name: block, layers: [{ name: '', shape: [8, 8], data: weights(block.length) }] }, T);
  return buildSafetensors([...extra, ...moduleTensors(block, built, splits)], meta);
}

/** Every case: its files (relative path -> bytes or text) and its expectation. */
export function abuseCases(): Map<string, { files: Map<string, Uint8Array | string>; expect: AbuseCase }> {
  const cases = new Map<string, { files: Map<string, Uint8Array | string>; expect: AbuseCase }>();
  const add = (name: string, files: [string, Uint8Array | string][], expect: AbuseCase) => cases.set(name, { files: new Map(files), expect });
  const hostile = 'a'.repeat(40) + '!';

  add('catastrophic-pattern', [['model.safetensors', moduleFile(hostile, { dfloat_config: CONFIG })], ['pattern_dict.json', patternDictFor({ '(a+)+': [''] })]], {
    input: 'model.safetensors',
    tensors: [`${hostile}.weight`],
  });
  add('unsupported-pattern', [['model.safetensors', moduleFile('blk', { dfloat_config: CONFIG })], ['pattern_dict.json', patternDictFor({ '(b)\\1+': [''] })]], {
    input: 'model.safetensors',
    code: 'ECF8_BAD_OFFICIAL_LAYOUT',
    message: 'pattern_dict\\.json: pattern .*escape "\\\\1"',
  });
  add('pattern-dict-bad-json', [['model.safetensors', moduleFile('blk', { dfloat_config: CONFIG })], ['pattern_dict.json', '{"fp8": {"blk": [""]}']], {
    input: 'model.safetensors',
    code: 'ECF8_BAD_OFFICIAL_LAYOUT',
    message: 'pattern_dict\\.json is not valid JSON',
  });
  for (const [name, shapes] of [
    ['shapes-null', 'null'],
    ['shapes-negative', '{"blk.weight": [-8, -8]}'],
    ['shapes-hex', '{"blk.weight": ["0x40"]}'],
    ['shapes-fraction', '{"blk.weight": [0.5, 128]}'],
    ['shapes-bad-json', '{"blk.weight": [8, 8]'],
  ]) {
    add(name, [['model.safetensors', moduleFile('blk', { dfloat_config: CONFIG, 'ecf8.shapes': shapes })]], { input: 'model.safetensors', code: 'ECF8_BAD_MODEL_METADATA', message: 'metadata ecf8\\.shapes' });
  }
  add('no-threads-per-block', [['model.safetensors', moduleFile('blk', null)]], {
    input: 'model.safetensors',
    code: 'ECF8_BAD_OFFICIAL_LAYOUT',
    message: 'threads per block unknown.*--official-threads-per-block',
  });
  // A module whose buffers straddle two shards: one shard alone holds stray buffers; the index with a path outside.
  {
    const { built, splits } = encodeBlock({ name: 'blk', layers: [{ name: '', shape: [8, 8], data: weights(3) }] }, T);
    const buffers = moduleTensors('blk', built, splits);
    const shard1 = buildSafetensors(buffers.slice(0, 3), { format: 'pt' });
    const shard2 = buildSafetensors(buffers.slice(3), { format: 'pt' });
    const weightMap = (second: string) => JSON.stringify({ weight_map: Object.fromEntries(buffers.map((b, i) => [b.name, i < 3 ? 'model-00001-of-00002.safetensors' : second])) });
    const release: [string, Uint8Array | string][] = [
      ['model-00001-of-00002.safetensors', shard1],
      ['model-00002-of-00002.safetensors', shard2],
      ['config.json', JSON.stringify({ model_type: 'llama', dfloat_config: JSON.parse(CONFIG) })],
    ];
    add('stray-buffers', [...release, ['model.safetensors.index.json', weightMap('model-00002-of-00002.safetensors')]], {
      input: 'model-00002-of-00002.safetensors',
      code: 'ECF8_BAD_OFFICIAL_LAYOUT',
      message: 'has no encoded buffer',
    });
    add('straddling-module', [...release, ['model.safetensors.index.json', weightMap('model-00002-of-00002.safetensors')]], { input: '.', tensors: ['blk.weight'] });
    add('index-path-traversal', [...release, ['model.safetensors.index.json', weightMap('../model-00002-of-00002.safetensors')]], {
      input: 'model.safetensors.index.json',
      code: 'ECF8_BAD_OFFICIAL_LAYOUT',
      message: 'not a file name in its directory',
    });
  }
  add('prototype-names', [['model.safetensors', moduleFile('__proto__', { dfloat_config: CONFIG }, [{ name: 'constructor', dtype: 'BF16', shape: [2], data: new Uint8Array(4) }])], ['pattern_dict.json', '{"fp8": {"__proto__": ["toString"]}, "bf16": {}}']], {
    input: 'model.safetensors',
    tensors: ['__proto__.toString.weight'],
  });
  return cases;
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [name, c] of abuseCases()) {
    const d = join(here, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const [f, bytes] of c.files) writeFileSync(join(d, f), bytes);
    writeFileSync(join(d, 'case.json'), JSON.stringify(c.expect, null, 2) + '\n');
  }
}
