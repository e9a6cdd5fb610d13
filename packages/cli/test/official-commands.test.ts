/** `ecf8 import-official` / `ecf8 export-official` options (issue #13, points 15, 16, 18: the CLI wiring). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run-cli.js';
import { buildSafetensors, parseSafetensors } from '@ecf8/safetensors';

const sample = new Uint8Array(readFileSync(new URL('../samples/default.fp8', import.meta.url)));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-official-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ecf8 export-official / import-official options', () => {
  it('--diffsynth writes dfloat_config.json, --force replaces side files, a release directory imports', async () => {
    const input = join(dir, 'ours.safetensors');
    const weights = [
      { name: 'blocks.0.proj', dtype: 'F8_E4M3', shape: [32, 64], data: sample.slice(0, 2048) },
      { name: 'blocks.1.proj.weight', dtype: 'F8_E4M3', shape: [32, 64], data: sample.slice(4096, 6144) },
    ];
    writeFileSync(input, buildSafetensors(weights, { format: 'pt' }));
    const release = mkdtempSync(join(dir, 'release-'));
    const e = await run('export-official', input, join(release, 'theirs.safetensors'), '--diffsynth', '-t', '64');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/wrote .*dfloat_config\.json, .*pattern_dict\.json/);
    expect(JSON.parse(readFileSync(join(release, 'dfloat_config.json'), 'utf8')).threads_per_block).toBe(64);
    expect(existsSync(join(release, 'config.json'))).toBe(false);

    const again = await run('export-official', input, join(release, 'theirs2.safetensors'), '--diffsynth');
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/^ecf8: ECF8_OUTPUT_EXISTS: .*dfloat_config\.json exists; pass --force/);
    expect(existsSync(join(release, 'theirs2.safetensors'))).toBe(false);
    expect((await run('export-official', input, join(release, 'theirs.safetensors'), '--diffsynth', '-t', '64', '--force')).code).toBe(0);

    // The directory is the release: T from dfloat_config.json, names unchanged, written as plain FP8.
    const out = join(dir, 'back.safetensors');
    const i = await run('import-official', release, out, '--plain');
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/2 official modules \(threads_per_block 64\) -> 2 F8_E4M3 tensors \(bit-exact\)/);
    const file = new Uint8Array(readFileSync(out));
    const h = parseSafetensors(file);
    for (const w of weights) {
      const t = h.byName.get(w.name)!;
      expect(t.shape).toEqual(w.shape);
      expect(file.subarray(h.dataOffset + t.begin, h.dataOffset + t.end)).toEqual(w.data);
    }
  });

  it('import-official without a known threads_per_block says which flag to pass', async () => {
    const input = join(dir, 'one.safetensors');
    writeFileSync(input, buildSafetensors([{ name: 'w', dtype: 'F8_E4M3', shape: [16, 16], data: sample.slice(0, 256) }], null));
    const release = mkdtempSync(join(dir, 'bare-'));
    expect((await run('export-official', input, join(release, 'theirs.safetensors'))).code).toBe(0);
    // Keep only the buffers: no metadata, no side files.
    const exported = new Uint8Array(readFileSync(join(release, 'theirs.safetensors')));
    const h = parseSafetensors(exported);
    rmSync(release, { recursive: true });
    const bare = mkdtempSync(join(dir, 'bare-'));
    writeFileSync(join(bare, 'theirs.safetensors'), buildSafetensors(h.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: exported.subarray(h.dataOffset + t.begin, h.dataOffset + t.end) })), null));
    const r = await run('import-official', join(bare, 'theirs.safetensors'), join(dir, 'x.safetensors'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_BAD_OFFICIAL_LAYOUT: .*threads per block unknown.*--official-threads-per-block T/);
    const ok = await run('import-official', join(bare, 'theirs.safetensors'), join(dir, 'x.safetensors'), '--official-threads-per-block', '512');
    expect(ok.code, ok.stderr).toBe(0);
  });
});
