/** Issue #13 point 4 and issue #11 (outputs): the CLI never replaces without --force and never writes over an input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run-cli.js';

const MODEL = new URL('../samples/model.safetensors', import.meta.url);
const FP8 = new URL('../samples/default.fp8', import.meta.url);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-output-rule-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const temps = () => readdirSync(dir).filter((f) => /\.ecf8-\d+-[0-9a-f]{8}\.[a-z]+$/.test(f));

describe('#13 point 4 / #11: existing outputs and outputs that are inputs', () => {
  it('point 4: inspect --plot onto the model itself is refused (ECF8_OUTPUT_IS_INPUT) and the model is intact', async () => {
    const m = join(dir, 'm.safetensors');
    writeFileSync(m, readFileSync(MODEL));
    const before = sha(m);
    for (const argv of [['inspect', m, '--plot', m], ['inspect', m, '--plot', m, '--force']]) {
      const r = await run(...argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ecf8: ECF8_OUTPUT_IS_INPUT: /);
    }
    expect(sha(m)).toBe(before);
    const plot = join(dir, 'plot.svg');
    expect((await run('inspect', m, '--plot', plot)).code).toBe(0);
    expect((await run('inspect', m, '--plot', plot)).stderr).toMatch(/^ecf8: ECF8_OUTPUT_EXISTS: /);
    expect((await run('inspect', m, '--plot', plot, '-f')).code).toBe(0);
  });

  it('point 4: compress, decompress, encode, decode, export-official refuse an existing output without --force / -f', async () => {
    const m = join(dir, 'model.safetensors');
    writeFileSync(m, readFileSync(MODEL));
    const c = join(dir, 'model.ecf8.safetensors');
    expect((await run('compress', m, c)).code).toBe(0);
    const s = join(dir, 'x.ecf8');
    expect((await run('encode', FP8.pathname, s)).code).toBe(0);
    const cases: [string[], string][] = [
      [['compress', m, c], c],
      [['decompress', c, m], m],
      [['encode', FP8.pathname, s], s],
      [['decode', s, m], m],
      [['export-official', c, m], m],
    ];
    for (const [argv, out] of cases) {
      const before = sha(out);
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toMatch(/^ecf8: ECF8_OUTPUT_EXISTS: .*pass --force/);
      expect(sha(out), argv.join(' ')).toBe(before);
    }
    expect((await run('decompress', c, m, '--force')).code).toBe(0);
    expect((await run('encode', FP8.pathname, s, '-f')).code).toBe(0);
    expect(temps()).toEqual([]);
  });

  it('point 4: an output that is the input is refused even with --force', async () => {
    const m = join(dir, 'same.safetensors');
    writeFileSync(m, readFileSync(MODEL));
    const c = join(dir, 'same.ecf8.safetensors');
    const s = join(dir, 'same.ecf8');
    const o = join(dir, 'same.official.safetensors');
    expect((await run('compress', m, c)).code).toBe(0);
    expect((await run('encode', FP8.pathname, s)).code).toBe(0);
    expect((await run('export-official', c, o)).code).toBe(0);
    const files = [m, c, s, o];
    const before = files.map(sha);
    for (const argv of [['compress', m, m, '--force'], ['decompress', c, c, '-f'], ['encode', m, m, '-f'], ['decode', s, s, '-f'], ['export-official', c, c, '--force'], ['import-official', o, o, '--force']]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toMatch(/^ecf8: ECF8_OUTPUT_IS_INPUT: /);
    }
    expect(files.map(sha)).toEqual(before);
    // Directory inputs: no output inside them (a plot over a shard, a compressed copy inside the model).
    const model = join(dir, 'model-dir');
    expect((await run('compress', m, join(model, 'model.safetensors'))).code).toBe(1); // no such directory yet
    mkdirSync(model);
    writeFileSync(join(model, 'model.safetensors'), readFileSync(MODEL));
    const shard = sha(join(model, 'model.safetensors'));
    for (const argv of [['inspect', model, '--plot', join(model, 'model.safetensors'), '--force'], ['compress', model, join(model, 'out')], ['inspect', model, '--plot', join(model, 'plot.svg')]]) {
      const r = await run(...argv);
      expect(r.stderr, argv.join(' ')).toMatch(/^ecf8: ECF8_OUTPUT_IS_INPUT: .*inside the input directory/);
    }
    expect(sha(join(model, 'model.safetensors'))).toBe(shard);
    expect(readdirSync(model)).toEqual(['model.safetensors']);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    expect(temps()).toEqual([]);
  });
});
