/**
 * The pattern_dict matcher (issue #13, point 8): patterns from the input file are never run as regular expressions;
 * the safe matcher answers like Python's re.fullmatch on the subset the authors use, finishes on catastrophic
 * patterns, rejects anything outside the subset with a code, and `import-official` stays interruptible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSafetensors, compilePattern, importOfficial, ModelErrorCode } from '../src/index.js';
import { SAMPLE } from './fixtures.js';
import { encodeBlock, moduleTensors, type BlockSpec, type Tensor } from './official-builder.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ecf8-official-pattern-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  return { code: 'no error', message: '' };
};

// The authors' own patterns (their const.py) and the forms our export writes.
const AUTHORS = [
  String.raw`model\.layers\.\d+`,
  String.raw`model\.layers\.[0-2]`,
  String.raw`model\.layers\.(?![0-2](?:[^0-9]|$))\d+\.self_attn`,
  String.raw`model\.layers\.(?![0-2](?:[^0-9]|$))\d+\.mlp\.shared_experts`,
  String.raw`model\.layers\.(?![0-2](?:[^0-9]|$))\d+\.mlp\.experts\.\d+`,
  String.raw`text_encoder_2\.encoder\.block\.\d+`,
  String.raw`text_encoder\.model\.language_model\.layers\.\d+`,
  String.raw`model\.embed_tokens`,
  String.raw`lm_head`,
  String.raw`model\.layers\.0\.mlp\.down_proj`,
  String.raw`a\-b\ c\#d\~e\&f`,
];
const NAMES = [
  'model.layers.0',
  'model.layers.2',
  'model.layers.3',
  'model.layers.12',
  'model.layers.0.self_attn',
  'model.layers.2.self_attn',
  'model.layers.3.self_attn',
  'model.layers.20.self_attn',
  'model.layers.29.mlp.experts.7',
  'model.layers.1.mlp.experts.7',
  'model.layers.3.mlp.shared_experts',
  'model.layers.3x.self_attn',
  'model.layersX3',
  'text_encoder_2.encoder.block.23',
  'text_encoder.model.language_model.layers.4',
  'model.embed_tokens',
  'model_embed_tokens',
  'lm_head',
  'lm_head.x',
  'model.layers.0.mlp.down_proj',
  'a-b c#d~e&f',
  '',
];

describe('safe pattern matcher', () => {
  it("answers like a regular expression's full match on the authors' patterns", () => {
    let checked = 0;
    for (const p of AUTHORS) {
      const safe = compilePattern(p);
      const oracle = new RegExp(`^(?:${p})$`); // test-chosen, safe patterns only
      for (const n of NAMES) {
        expect(safe.fullmatch(n), `${p} vs ${n}`).toBe(oracle.test(n));
        checked++;
      }
    }
    expect(checked).toBe(AUTHORS.length * NAMES.length);
    // Quantifiers, classes, alternation and anchors beyond their patterns.
    const extra: [string, string, boolean][] = [
      ['a{2,3}b', 'aaab', true],
      ['a{2,3}b', 'aaaab', false],
      ['a{2}', 'aa', true],
      ['(?:ab|a)*c', 'ababac', true],
      ['[^\\d.]+x', 'abx', true],
      ['[^\\d.]+x', 'a.x', false],
      ['[\\w-]+', 'a_b-9', true],
      ['^a$', 'a', true],
      ['x?', '', true],
      ['a.c', 'a\nc', false],
      ['(?=ab)a\\w', 'ab', true],
      ['(?!ab)a\\w', 'ab', false],
      ['a{,2}', 'a{,2}', true], // not a quantifier in Python: literal braces
    ];
    for (const [p, n, want] of extra) expect(compilePattern(p).fullmatch(n), `${p} vs ${JSON.stringify(n)}`).toBe(want);
  });

  it('finishes on catastrophic patterns: (a+)+ against a 40-character name', () => {
    const name = 'a'.repeat(40) + '!';
    expect(compilePattern('(a+)+').fullmatch(name)).toBe(false);
    expect(compilePattern('(a+)+').fullmatch('a'.repeat(40))).toBe(true);
    expect(compilePattern('(a|a)*(a*)*b').fullmatch('a'.repeat(5000))).toBe(false);
    expect(compilePattern('(?:(?:a*)*)*$').fullmatch('a'.repeat(5000) + 'b')).toBe(false);
  });

  it('rejects constructs outside the subset with ECF8_BAD_OFFICIAL_LAYOUT, naming them', () => {
    const cases: [string, RegExp][] = [
      ['(a)\\1', /escape "\\1"/],
      ['(?P<x>a)', /group syntax "\(\?P"/],
      ['(?<=a)b', /group syntax "\(\?<"/],
      ['(?i)a', /group syntax "\(\?i"/],
      ['\\bfoo', /escape "\\b"/],
      ['a**', /repeated quantifier/],
      ['(?!a*)b', /lookahead of unbounded width/],
      ['[a', /missing "]"/],
      ['(a', /missing "\)"/],
      ['a)', /unbalanced/],
      ['*a', /nothing to repeat/],
      ['(?:a{1000}){1000}', /states/],
      ['x'.repeat(5000), /longer than/],
    ];
    for (const [p, why] of cases) {
      const e = codeOf(() => compilePattern(p));
      expect(e.code, p).toBe(ModelErrorCode.BAD_OFFICIAL_LAYOUT);
      expect(e.message, p).toMatch(why);
    }
  });
});

describe('import-official with hostile pattern dicts', () => {
  const hostileName = 'a'.repeat(40) + '!';

  function release(dir: string, blocks: number, dict: string): BlockSpec[] {
    mkdirSync(dir, { recursive: true });
    const specs: BlockSpec[] = [];
    const tensors: Tensor[] = [];
    for (let b = 0; b < blocks; b++) {
      const spec: BlockSpec = { name: b === 0 ? hostileName : `blk.${b}`, layers: [{ name: '', shape: [16, 16], data: SAMPLE.slice(b * 256, b * 256 + 256) }] };
      const { built, splits } = encodeBlock(spec, 16);
      tensors.push(...moduleTensors(spec.name, built, splits));
      specs.push(spec);
    }
    writeFileSync(join(dir, 'model.safetensors'), buildSafetensors(tensors, { dfloat_config: '{"threads_per_block": 16, "bytes_per_thread": 8}' }));
    writeFileSync(join(dir, 'pattern_dict.json'), dict);
    return specs;
  }

  it('completes with the pattern (a+)+ against a 40-character module name', async () => {
    const dir = join(root, 'catastrophic');
    release(dir, 2, JSON.stringify({ fp8: { '(a+)+': [''], 'blk\\.\\d+': [''] }, bf16: {} }));
    const r = await importOfficial(join(dir, 'model.safetensors'), join(dir, 'out.safetensors'), { plain: true });
    expect(r.tensors.map((t) => t.name).sort()).toEqual([`${hostileName}.weight`, 'blk.1.weight']);
  });

  it('a pattern outside the subset is a clear error, not a hang', async () => {
    const dir = join(root, 'unsupported');
    release(dir, 1, JSON.stringify({ fp8: { '(a)\\1+': [''] }, bf16: {} }));
    await expect(importOfficial(join(dir, 'model.safetensors'), join(dir, 'out.safetensors'), { plain: true })).rejects.toThrow(/ECF8_BAD_OFFICIAL_LAYOUT: .*pattern_dict\.json.*escape "\\1"/);
    expect(existsSync(join(dir, 'out.safetensors'))).toBe(false);
  });

  it('SIGINT during import-official exits (by the signal, status 130, or done) and leaves no temporary file', async () => {
    const dir = join(root, 'sigint');
    release(dir, 300, JSON.stringify({ fp8: { '(a+)+': [''] }, bf16: {} }));
    const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'packages/cli/src/cli.ts'), 'import-official', join(dir, 'model.safetensors'), join(dir, 'out.safetensors'), '--progress'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    // The CLI re-raises the signal after its cleanup, so the process ends by SIGINT (reported here as 130).
    const exited = new Promise<number | null>((done) => child.on('exit', (code, signal) => done(code ?? (signal === 'SIGINT' ? 130 : signal ? 128 : null))));
    // Interrupt once the import is under way (its first progress line).
    await new Promise<void>((started) => {
      child.stderr.on('data', (d) => {
        stderr += String(d);
        if (/import/.test(stderr)) started();
      });
      child.on('exit', () => started());
    });
    child.kill('SIGINT');
    const code = await exited;
    expect([0, 130], stderr).toContain(code);
    if (code === 130) {
      expect(stderr).toMatch(/interrupted \(SIGINT\)/);
      expect(existsSync(join(dir, 'out.safetensors'))).toBe(false);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
