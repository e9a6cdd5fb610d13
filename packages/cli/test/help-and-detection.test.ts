import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run } from './run-cli.js';
import { COMMAND_HELP } from '../src/help.js';
import { fileKind } from '../src/commands.js';
import { progressWidth } from '../src/model-commands.js';
import { buildSafetensors, compressModel, inspectModel, renderInspectSvg } from '@ecf8/safetensors';
import { loadVectors } from '../../../conformance/src/vectors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-help-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vectors = loadVectors();
const sample = new Uint8Array(readFileSync(new URL('../samples/default.fp8', import.meta.url)));

describe('ecf8 <command> --help', () => {
  const commands = ['encode', 'decode', 'inspect', 'backends', 'demo', 'compress', 'decompress', 'verify', 'import-official', 'export-official', 'plan'];
  it('has a help text for every command', () => {
    expect(Object.keys(COMMAND_HELP).sort()).toEqual(commands.slice().sort());
  });
  for (const command of commands) {
    it(`${command} --help prints its own usage, options and one example`, async () => {
      for (const argv of [[command, '--help'], [command, '-h'], ['help', command]]) {
        const r = await run(...argv);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: ecf8 ${command}\\b`));
        expect(r.stdout).toMatch(/\noptions:\n|common options:/);
        expect(r.stdout).toMatch(new RegExp(`\\nexample:\\n  ecf8 ${command}\\b`));
        expect(r.stdout).not.toMatch(/^commands:/m); // not the global usage
      }
    });
  }
  it('the global usage is unchanged, and help for an unknown command fails with status 2', async () => {
    expect((await run('--help')).stdout).toMatch(/^usage: ecf8 <command>/);
    const r = await run('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ecf8: unknown command 'frobnicate'/);
  });
});

describe('raw ECF8 streams vs safetensors files', () => {
  const v = vectors.valid.find((x) => x.name === 'real-weights-slice')!;
  let model: string;
  let compressed: string;
  beforeAll(async () => {
    model = join(dir, 'm.safetensors');
    writeFileSync(model, buildSafetensors([{ name: 'w', dtype: 'F8_E4M3', shape: [65536], data: sample.slice(0, 65536) }], { format: 'pt' }));
    compressed = join(dir, 'm.ecf8.safetensors');
    await compressModel(model, compressed, {});
  });

  it('fileKind tells them apart by their first bytes, not their names', () => {
    writeFileSync(join(dir, 'stream.safetensors'), v.stream);
    writeFileSync(join(dir, 'model.ecf8'), readFileSync(compressed));
    writeFileSync(join(dir, 'raw.fp8'), v.decoded);
    expect(fileKind(join(dir, 'stream.safetensors'))).toBe('ecf8-stream');
    expect(fileKind(join(dir, 'model.ecf8'))).toBe('safetensors');
    expect(fileKind(join(dir, 'raw.fp8'))).toBe('other');
    expect(fileKind(dir)).toBe('directory');
    expect(fileKind(join(dir, 'nothing-here'))).toBe('missing');
  });

  it('verify on a raw stream verifies the stream and says so', async () => {
    writeFileSync(join(dir, 'v.ecf8'), v.stream);
    const r = await run('verify', join(dir, 'v.ecf8'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/v\.ecf8: raw ECF8 stream: OK — 65536 elements/);
    const j = JSON.parse((await run('verify', join(dir, 'v.ecf8'), '--json')).stdout);
    expect(j).toMatchObject({ kind: 'ecf8-stream', valid: true, elements: 65536 });
  });

  it('verify on a corrupted raw stream reports the stream error, not ECF8_BAD_SAFETENSORS', async () => {
    const bad = vectors.invalid.find((x) => x.error === 'ECF8_CONTENT_CHECKSUM_MISMATCH')!;
    writeFileSync(join(dir, 'bad.ecf8'), bad.stream);
    const r = await run('verify', join(dir, 'bad.ecf8'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_CONTENT_CHECKSUM_MISMATCH: [^\n]+\n$/);
  });

  it('verify on a compressed safetensors file still verifies the model file', async () => {
    const r = await run('verify', compressed);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK — 1 ECF8 streams valid/);
  });

  it('inspect says which kind it got', async () => {
    writeFileSync(join(dir, 'named-wrong.safetensors'), v.stream);
    expect((await run('inspect', join(dir, 'named-wrong.safetensors'))).stdout).toMatch(/named-wrong\.safetensors: raw ECF8 stream, version 1/);
    expect((await run('inspect', compressed)).stdout).toMatch(/m\.ecf8\.safetensors: ECF8-compressed safetensors/);
    expect((await run('inspect', model)).stdout).toMatch(/m\.safetensors: safetensors/);
  });

  it('decode on a safetensors file points to decompress instead of failing on the magic', async () => {
    const r = await run('decode', compressed, join(dir, 'x.fp8'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_INVALID_ARGUMENT: .*m\.ecf8\.safetensors is a safetensors file, not a raw ECF8 stream; use `ecf8 decompress/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('progress width', () => {
  it('falls back to 80 columns when the terminal reports 0 or none, and never goes under 40', () => {
    expect(progressWidth(0)).toBe(80);
    expect(progressWidth(undefined)).toBe(80);
    expect(progressWidth(132)).toBe(132);
    expect(progressWidth(20)).toBe(40);
  });
});

describe('inspect --plot SVG', () => {
  it('keeps legend labels inside the picture and histogram titles inside their panels', async () => {
    const kinds = ['self_attn.q_proj', 'self_attn.k_proj', 'mlp.experts.gate_up_proj', 'mlp.experts.down_proj', 'mlp.shared_expert.gate_proj'];
    const tensors = [];
    for (let l = 0; l < 3; l++)
      for (const [k, kind] of kinds.entries())
        tensors.push({ name: `model.language_model.layers.${l}.${kind}.weight`, dtype: 'F8_E4M3', shape: [4096], data: sample.slice((l * 5 + k) * 4096, (l * 5 + k + 1) * 4096) });
    const path = join(dir, 'long-names.safetensors');
    writeFileSync(path, buildSafetensors(tensors, { format: 'pt' }));
    const svg = renderInspectSvg(await inspectModel(path, {}));
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    // Visible text of a <text> element (its <title> tooltip removed), at 0.6 em per character (11 px fonts).
    const texts = (cls: string) =>
      [...svg.matchAll(new RegExp(`<text x="([\\d.]+)" y="([\\d.]+)" class="${cls}"><title>[^<]*</title>([^<]*)</text>`, 'g'))].map((m) => ({
        x: Number(m[1]),
        y: Number(m[2]),
        chars: m[3].replace(/&[a-z]+;/g, '_').length,
      }));
    const legend = texts('legend');
    expect(legend.length).toBe(kinds.length);
    for (const t of legend) expect(t.x + t.chars * 0.6 * 11).toBeLessThanOrEqual(width);
    const titles = texts('ptitle');
    expect(titles.length).toBe(kinds.length + 1);
    for (const a of titles)
      for (const b of titles) if (a !== b && a.y === b.y && b.x > a.x) expect(a.x + a.chars * 0.6 * 11).toBeLessThan(b.x);
  });
});

describe('the committed bin', () => {
  it('says in one line how to build when dist/ is missing', () => {
    const fake = join(dir, 'pkg', 'bin');
    mkdirSync(fake, { recursive: true });
    copyFileSync(new URL('../bin/ecf8.js', import.meta.url), join(fake, 'ecf8.js'));
    writeFileSync(join(dir, 'pkg', 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [join(fake, 'ecf8.js'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_IO_ERROR: @ecf8\/cli is not built \(no dist\/cli\.js\); run `npm run build`[^\n]*\n$/);
  });
});
