import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run-cli.js';
import { formatProgress } from '../src/model-commands.js';
import { buildSafetensors, parseSafetensors } from '@ecf8/safetensors';

const sample = new Uint8Array(readFileSync(new URL('../samples/default.fp8', import.meta.url)));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-model-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** FP8 weights (real, from the bundled sample), F32 scales, BF16 norms. */
function model(): Uint8Array {
  const ts = [];
  for (let l = 0; l < 3; l++) {
    ts.push({ name: `model.layers.${l}.mlp.down_proj.weight`, dtype: 'F8_E4M3', shape: [256, 512], data: sample.slice(l * 131072, (l + 1) * 131072) });
    ts.push({ name: `model.layers.${l}.mlp.down_proj.weight_scale`, dtype: 'F32', shape: [], data: new Uint8Array([0, 0, 128, 63]) });
    ts.push({ name: `model.layers.${l}.post_attention_layernorm.weight`, dtype: 'BF16', shape: [512], data: sample.slice(0, 1024) });
  }
  return buildSafetensors(ts, { format: 'pt' });
}

describe('ecf8 compress / decompress / verify / inspect on model files', () => {
  it('compresses a safetensors file, verifies it, and restores it byte for byte', async () => {
    const a = join(dir, 'm.safetensors');
    writeFileSync(a, model());
    const c = await run('compress', a, join(dir, 'm.ecf8.safetensors'));
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/3 of 9 tensors compressed \(F8_E4M3\)/);
    expect(c.stderr).toBe(''); // not a TTY: no progress bar
    const v = await run('verify', join(dir, 'm.ecf8.safetensors'), '--json');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, fp8Tensors: 3, tensors: 9 });
    const d = await run('decompress', join(dir, 'm.ecf8.safetensors'), join(dir, 'm.out.safetensors'), '--json');
    expect(d.code).toBe(0);
    const s = JSON.parse(d.stdout);
    expect(s.perFile[0].sha256).toBe(sha(a));
    expect(sha(join(dir, 'm.out.safetensors'))).toBe(sha(a));
    const q = await run('compress', a, join(dir, 'q.safetensors'), '--quiet');
    expect(q).toEqual({ code: 0, stdout: '', stderr: '' });
    const b = await run('decompress', join(dir, 'm.ecf8.safetensors'), join(dir, 'm.ref.safetensors'), '--backend', 'reference');
    expect(b.code).toBe(0);
  });

  it('shows a progress bar on stderr when asked (tensors, bytes, MB/s, ETA)', async () => {
    const r = await run('compress', join(dir, 'm.safetensors'), join(dir, 'p.safetensors'), '--progress', '-t', '64');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/compress \[#+\] 9\/9 tensors .*MB\/s ETA/);
    expect(formatProgress({ operation: 'compress', file: 'f', tensor: 'w', tensorsDone: 1, tensorsTotal: 4, bytesDone: 5e8, bytesTotal: 1e9 }, 10)).toBe(
      'compress [##########----------] 1/4 tensors 500.0 MB/1.00 GB 50.0 MB/s ETA 10s w',
    );
  });

  it('fails a corrupted file with the stream error code, exit 1, and no output', async () => {
    const good = new Uint8Array(readFileSync(join(dir, 'm.ecf8.safetensors')));
    const h = parseSafetensors(good);
    const s = h.tensors.find((t) => t.name.endsWith('.ecf8'))!;
    const bad = good.slice();
    bad[h.dataOffset + s.begin + s.byteLength - 300] ^= 0x40;
    writeFileSync(join(dir, 'bad.safetensors'), bad);
    const before = readdirSync(dir).length;
    for (const argv of [['verify', join(dir, 'bad.safetensors')], ['decompress', join(dir, 'bad.safetensors'), join(dir, 'bad.out')]]) {
      const r = await run(...argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^ecf8: ECF8_(CONTENT_CHECKSUM_MISMATCH|GAP_MISMATCH|POSITION_MISMATCH|NONZERO_PADDING): .*down_proj/);
    }
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
    writeFileSync(join(dir, 'hostile.safetensors'), new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127, 0x7b]));
    const r = await run('compress', join(dir, 'hostile.safetensors'), join(dir, 'h.out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_BAD_SAFETENSORS: .*exceeds the limit/);
    expect((await run('compress', 'only-one')).stderr).toMatch(/ECF8_INVALID_ARGUMENT: expected IN OUT/);
  });

  it('inspects plain and compressed files with a table, JSON and an SVG plot', async () => {
    const svg = join(dir, 'plot.svg');
    const r = await run('inspect', join(dir, 'm.safetensors'), '--plot', svg);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/model\.layers\.2\.mlp\.down_proj\.weight\s+131072\s+\d\.\d{3}\s+\d\.\d{3}/);
    expect(r.stdout).toMatch(/FP4\.67 reference/);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg[^]*Theorem 2\.1[^]*<\/svg>/);
    const j = await run('inspect', join(dir, 'm.ecf8.safetensors'), '--json');
    const report = JSON.parse(j.stdout);
    expect(report.tensors).toHaveLength(3);
    expect(report.files[0].compressed).toBe(true);
    expect(report.totals.streamBytes).toBeLessThan(report.totals.fp8Bytes);
    // ECF8 streams and raw FP8 still go to the built-in inspect.
    writeFileSync(join(dir, 'raw.fp8'), sample.subarray(0, 4096));
    expect((await run('inspect', join(dir, 'raw.fp8'))).stdout).toMatch(/raw FP8 E4M3, 4096 elements/);
  });

  it('exports to the official layout and imports it back', async () => {
    const e = await run('export-official', join(dir, 'm.ecf8.safetensors'), join(dir, 'm.official.safetensors'));
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/3 tensors as official-layout modules \(threads_per_block 512/);
    const i = await run('import-official', join(dir, 'm.official.safetensors'), join(dir, 'm.imported.safetensors'), '--json');
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({ modules: 3, copied: 6 });
    await run('decompress', join(dir, 'm.imported.safetensors'), join(dir, 'm.imported.plain.safetensors'));
    const back = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'm.imported.plain.safetensors'))));
    const orig = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'm.safetensors'))));
    const bytesOf = (file: string, h: typeof back, name: string) => {
      const t = h.byName.get(name)!;
      return readFileSync(file).subarray(h.dataOffset + t.begin, h.dataOffset + t.end);
    };
    for (const t of orig.tensors) {
      expect(bytesOf(join(dir, 'm.imported.plain.safetensors'), back, t.name).equals(bytesOf(join(dir, 'm.safetensors'), orig, t.name)), t.name).toBe(true);
    }
  });

  it('lists the model commands in the usage text', async () => {
    const r = await run('--help');
    expect(r.stdout).toMatch(/compress IN\.safetensors OUT\.safetensors/);
    expect(r.stdout).toMatch(/import-official/);
  });
});
