import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run-cli.js';
import { compressFile, parseSafetensors, readCompressedLayout } from '@ecf8/safetensors';
import { readFileSync } from 'node:fs';

const SAMPLE = new URL('../samples/model.safetensors', import.meta.url).pathname;
let dir: string;
let compressed: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-plan-'));
  mkdirSync(join(dir, 'model'));
  compressed = join(dir, 'model', 'model.safetensors');
  await compressFile(SAMPLE, compressed);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ecf8 plan', () => {
  it('prints resident compressed bytes, workspace and the plain FP8 size', async () => {
    const r = await run('plan', compressed, '--slots', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 file, 30 tensors, 12 F8_E4M3/);
    expect(r.stdout).toMatch(/FP8 tensors, plain +1\.00 MiB/);
    expect(r.stdout).toMatch(/decode workspace .* 2 slots x 131072 B \(largest tensor model\.layers\.0\.self_attn\.q_proj\.weight/);
    expect(r.stdout).toMatch(/resident total/);
  });

  it('--json gives the same figures as the file (and a directory gives the same as its one file)', async () => {
    const layout = readCompressedLayout(parseSafetensors(new Uint8Array(readFileSync(compressed))));
    const streams = [...layout.streams.values()].reduce((a, s) => a + s.byteLength, 0);
    for (const target of [compressed, join(dir, 'model')]) {
      const r = await run('plan', target, '--json', '--workspace-bytes', '65536');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ command: 'plan', files: 1, fp8Tensors: 12, compressedBytes: streams, slots: 1, slotBytes: 65536, workspaceBytes: 65536, plainFp8Bytes: 1048576 });
      expect(j.residentBytes).toBe(j.compressedBytes + j.otherBytes + j.workspaceBytes);
    }
  });

  it('refuses an uncompressed file and bad flags with codes', async () => {
    const plain = await run('plan', SAMPLE);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/ECF8_BAD_MODEL_METADATA: .*not an ECF8-compressed model file/);
    const bad = await run('plan', compressed, '--slots', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ECF8_INVALID_ARGUMENT: slots must be/);
    const missing = await run('plan', join(dir, 'nope.safetensors'));
    expect(missing.stderr).toMatch(/ECF8_IO_ERROR/);
  });
});
