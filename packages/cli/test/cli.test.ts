import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run } from './run-cli.js';
import { loadVectors } from '../../../conformance/src/vectors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vectors = loadVectors();

describe('ecf8 encode / decode', () => {
  it('round-trips a file byte for byte and reports sizes', async () => {
    const v = vectors.valid.find((v) => v.name === 'real-weights-slice')!;
    writeFileSync(join(dir, 'w.fp8'), v.decoded);
    const enc = await run('encode', join(dir, 'w.fp8'), join(dir, 'w.ecf8'));
    expect(enc.code).toBe(0);
    expect(enc.stdout).toMatch(/65536 bytes -> .*w\.ecf8: \d+ bytes/);
    expect(new Uint8Array(readFileSync(join(dir, 'w.ecf8')))).toEqual(v.stream);
    const dec = await run('decode', join(dir, 'w.ecf8'), join(dir, 'w.out'), '--json');
    expect(dec.code).toBe(0);
    expect(JSON.parse(dec.stdout)).toMatchObject({ backend: 'cpu-wasm', elements: 65536 });
    expect(new Uint8Array(readFileSync(join(dir, 'w.out')))).toEqual(v.decoded);
  });

  it('honours --threads-per-block and --backend', async () => {
    const v = vectors.valid.find((v) => v.name === 'gaussian-20k-t64')!;
    writeFileSync(join(dir, 'g.fp8'), v.decoded);
    expect((await run('encode', join(dir, 'g.fp8'), join(dir, 'g.ecf8'), '-t', '64', '--quiet')).code).toBe(0);
    expect(new Uint8Array(readFileSync(join(dir, 'g.ecf8')))).toEqual(v.stream);
    const dec = await run('decode', join(dir, 'g.ecf8'), join(dir, 'g.out'), '--backend', 'reference-gpu-order');
    expect(dec.code).toBe(0);
    expect(new Uint8Array(readFileSync(join(dir, 'g.out')))).toEqual(v.decoded);
  });

  for (const v of vectors.invalid.slice(0, 60)) {
    it(`rejects ${v.name} with exit 1, one line '${v.error}', and no output file`, async () => {
      const inPath = join(dir, `${v.name}.ecf8`);
      const outPath = join(dir, `${v.name}.out`);
      writeFileSync(inPath, v.stream);
      const before = new Set(readdirSync(dir));
      const r = await run('decode', inPath, outPath);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^ecf8: ${v.error}: [^\\n]+\\n$`));
      expect(existsSync(outPath)).toBe(false);
      expect(readdirSync(dir).filter((f) => !before.has(f))).toEqual([]); // no temp files left either
    });
  }

  it('leaves an existing output file untouched when decoding fails', async () => {
    const outPath = join(dir, 'keep.fp8');
    writeFileSync(outPath, 'precious');
    writeFileSync(join(dir, 'bad.ecf8'), vectors.invalid[0].stream);
    expect((await run('decode', join(dir, 'bad.ecf8'), outPath)).code).toBe(1);
    expect(readFileSync(outPath, 'utf8')).toBe('precious');
  });

  it('reports a missing input as ECF8_IO_ERROR and bad usage with exit 2', async () => {
    const r = await run('decode', join(dir, 'nope.ecf8'), join(dir, 'x'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_IO_ERROR: cannot read/);
    expect((await run('decode', 'only-one-arg')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('encode', 'a', 'b', '-t', 'x')).code).toBe(2);
  });

  it('rejects an unusable --threads-per-block with ECF8_INVALID_ARGUMENT', async () => {
    writeFileSync(join(dir, 'small.fp8'), new Uint8Array([1, 2, 3]));
    const r = await run('encode', join(dir, 'small.fp8'), join(dir, 'small.ecf8'), '--threads-per-block', '48');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_INVALID_ARGUMENT: /);
    expect(existsSync(join(dir, 'small.ecf8'))).toBe(false);
  });

  it('caps output with --max-output-bytes', async () => {
    const v = vectors.valid.find((v) => v.name === 'odd-1001')!;
    writeFileSync(join(dir, 'cap.ecf8'), v.stream);
    const r = await run('decode', join(dir, 'cap.ecf8'), join(dir, 'cap.out'), '--max-output-bytes', '1000');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_LIMIT_EXCEEDED: /);
  });

  it('reports an unknown backend with every reason', async () => {
    const v = vectors.valid[1];
    writeFileSync(join(dir, 'b.ecf8'), v.stream);
    const r = await run('decode', join(dir, 'b.ecf8'), join(dir, 'b.out'), '--backend', 'no-such-backend');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_BACKEND_UNAVAILABLE: .*no-such-backend: not registered/);
  });
});

describe('ecf8 inspect', () => {
  it('describes a stream (text and JSON)', async () => {
    const v = vectors.valid.find((v) => v.name === 'two-level-tables')!;
    writeFileSync(join(dir, 't.ecf8'), v.stream);
    const text = await run('inspect', join(dir, 't.ecf8'));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ECF8 stream, version 1/);
    expect(text.stdout).toMatch(/exponent entropy/);
    const json = JSON.parse((await run('inspect', join(dir, 't.ecf8'), '--json')).stdout);
    expect(json).toMatchObject({ kind: 'ecf8', elements: v.elements, threadsPerBlock: 512 });
    expect(json.decodeTables).toBe(v.tables.length / 256);
  });

  it('analyses raw FP8 bytes', async () => {
    const v = vectors.valid.find((v) => v.name === 'gaussian-262144')!;
    writeFileSync(join(dir, 'raw.fp8'), v.decoded);
    const json = JSON.parse((await run('inspect', join(dir, 'raw.fp8'), '--json')).stdout);
    expect(json.kind).toBe('fp8');
    expect(json.predictedStreamBytes).toBe(v.stream.length);
  });

  it('shows the header of a header-only stream, then its error', async () => {
    const v = vectors.headerOnly[0];
    writeFileSync(join(dir, 'h.ecf8'), v.stream);
    const r = await run('inspect', join(dir, 'h.ecf8'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/header only: 4294967297 elements/);
    expect(r.stderr).toMatch(/^ecf8: ECF8_TRUNCATED: /);
  });
});

describe('ecf8 demo and backends', () => {
  it('runs the demo on the bundled checkpoint: compress, verify, restore byte for byte', async () => {
    const r = await run('demo', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.byteEqual).toBe(true);
    expect(j.fp8Elements).toBe(1 << 20);
    expect(j.streamBytes / j.fp8Bytes).toBeLessThan(0.9);
    expect(j.streamsToBound).toBeGreaterThan(1);
    expect(j.streamsToBound).toBeLessThan(1.06);
  });

  it('runs the raw-stream demo on an FP8 file', async () => {
    const r = await run('demo', resolve(__dirname, '../samples/default.fp8'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.byteEqual).toBe(true);
    expect(j.elements).toBe(1 << 20);
    expect(j.ratio).toBeLessThan(0.9);
  });

  it('lists backends', async () => {
    const r = await run('backends', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backends.map((b: { name: string }) => b.name)).toContain('reference');
  });
});

describe('built executable', () => {
  // The committed bin (what npm links as `ecf8`), which runs dist/cli.js.
  const bin = resolve(__dirname, '../bin/ecf8.js');
  const built = existsSync(resolve(__dirname, '../dist/cli.js'));
  // `npm test` builds first; running vitest alone without a build skips this with the reason in its name.
  it.skipIf(!built && !process.env.CI)(`runs as a process${built ? '' : ' (skipped: packages/cli/dist not built; run npm run build)'}`, () => {
    const r = spawnSync(process.execPath, [bin, 'decode', join(dir, 'missing.ecf8'), join(dir, 'm.out')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ecf8: ECF8_IO_ERROR: /);
    const demo = spawnSync(process.execPath, [bin, 'demo'], { encoding: 'utf8' });
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/sha256 identical to the original checkpoint/);
  });
});
