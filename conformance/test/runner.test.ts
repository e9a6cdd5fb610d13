import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decode, encode } from '@ecf8/core';
import { commandProgram, conformanceMain, functionDecoder, runDecoderConformance, runEncoderConformance, toJUnit, type Program } from '../src/index.js';
import { loadVectors } from '../src/vectors.js';
import { brokenDecoder, type Fault } from './broken-decoders.js';

const vectors = loadVectors();
const ROOT = resolve(__dirname, '..', '..');

const failedIds = (r: { cases: { id: string; passed: boolean; skipped?: boolean }[] }) => r.cases.filter((c) => !c.passed && !c.skipped).map((c) => c.id);

describe('conformance runner', () => {
  it('passes the reference decoder at the strict level', async () => {
    const r = await runDecoderConformance(functionDecoder(decode));
    expect(failedIds(r)).toEqual([]);
    const buffered = vectors.api.filter((v) => v.parameters.outputBytes !== undefined);
    expect(r.passed).toBe(vectors.valid.length + vectors.invalid.length + vectors.headerOnly.length + vectors.api.length - buffered.length);
    // decodeInto vectors cannot be expressed as files: reported as skipped, with the reason, never as passed.
    expect(r.skipped).toBe(buffered.length);
    expect(r.cases.filter((c) => c.skipped).every((c) => /decodeInto/.test(c.reason))).toBe(true);
  });

  it('runs the API-level limit vectors and catches a decoder that ignores maxOutputBytes', async () => {
    const ignoresLimit = functionDecoder((s) => decode(s));
    const failed = failedIds(await runDecoderConformance(ignoresLimit, { filter: /^decode api\// }));
    expect(failed).toContain('decode api/limit-one-below');
    expect(failed).toContain('decode api/limit-before-phase-b');
    expect(failed).not.toContain('decode api/limit-exact');
    // A command without {max_output_bytes} cannot take the limit: those vectors are skipped, not passed.
    const r = await runDecoderConformance(commandProgram('cp {in} {out}'), { filter: /^decode api\// });
    expect(r.passed).toBe(0);
    expect(r.failed).toBe(0);
    expect(r.skipped).toBe(vectors.api.length);
  });

  it('passes the fault-free harness decoder (so the broken ones differ only by their fault)', async () => {
    expect(failedIds(await runDecoderConformance(functionDecoder(brokenDecoder('none'))))).toEqual([]);
  });

  const expectations: [Fault, string[]][] = [
    ['gap-ignored', ['decode valid/gaussian-262144', 'decode valid/real-weights-slice', 'decode invalid/gap-mismatch']],
    ['nibble-order', ['decode valid/two-elements', 'decode valid/all-byte-values', 'decode valid/odd-1001']],
    ['no-checksum', ['decode invalid/content-checksum-nibble', 'decode invalid/content-checksum-field', 'decode invalid/metadata-checksum']],
    ['block-off-by-one', ['decode valid/block-boundary-t32-513', 'decode valid/gaussian-20k-t32', 'decode invalid/position-mismatch']],
    ['accepts-truncated', ['decode invalid/truncated-last-byte', 'decode invalid/truncated-exponents']],
  ];
  for (const [fault, caughtBy] of expectations) {
    it(`catches the '${fault}' decoder by name`, async () => {
      const failed = failedIds(await runDecoderConformance(functionDecoder(brokenDecoder(fault))));
      for (const id of caughtBy) expect(failed, `${fault} should fail ${id}`).toContain(id);
    });
  }

  it('distinguishes basic from strict: a decoder with the wrong error code passes basic only', async () => {
    const vague: Program = functionDecoder((s, o) => {
      try {
        return decode(s, o);
      } catch {
        throw Object.assign(new Error('bad stream'), { code: 'SOMETHING_WRONG' });
      }
    });
    expect((await runDecoderConformance(vague, { level: 'basic' })).failed).toBe(0);
    const apiErrors = vectors.api.filter((v) => v.error && v.parameters.outputBytes === undefined).length;
    expect((await runDecoderConformance(vague, { level: 'strict' })).failed).toBe(vectors.invalid.length + vectors.headerOnly.length + apiErrors);
  });

  it('fails a decoder that leaves an output file behind on error', async () => {
    const sloppy: Program = async (inPath, outPath) => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(outPath, 'partial');
      return functionDecoder(decode)(inPath, outPath, 512);
    };
    const r = await runDecoderConformance(sloppy, { filter: /invalid\/bad-magic$/ });
    expect(r.cases[0].reason).toMatch(/left an output file/);
  });

  it('checks encoders: the reference is canonical, a valid-but-different encoder is only valid', async () => {
    const refEncoder: Program = async (inPath, outPath, threads) => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(outPath, encode(new Uint8Array(readFileSync(inPath)), { threadsPerBlock: threads }));
      return { exitCode: 0, stderr: '' };
    };
    expect(failedIds(await runEncoderConformance(refEncoder, { passesThreads: true }))).toEqual([]);
    const otherT: Program = async (inPath, outPath) => refEncoder(inPath, outPath, 64);
    const valid = await runEncoderConformance(otherT, { level: 'valid', passesThreads: true });
    expect(valid.failed).toBe(0);
    const canonical = await runEncoderConformance(otherT, { level: 'canonical', passesThreads: true });
    expect(canonical.failed).toBeGreaterThan(10);
    const garbage: Program = async (inPath, outPath) => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(outPath, new Uint8Array(100));
      return { exitCode: 0, stderr: '' };
    };
    expect((await runEncoderConformance(garbage, { filter: /odd-99$/ })).cases[0].reason).toMatch(/stream is invalid: ECF8_BAD_MAGIC/);
  });

  it('writes JUnit XML', async () => {
    const r = await runDecoderConformance(functionDecoder(brokenDecoder('nibble-order')), { filter: /valid\/(two-elements|empty)$/ });
    const xml = toJUnit(r);
    expect(xml).toMatch(/<testsuite name="ecf8-conformance" tests="2" failures="1"/);
    expect(xml).toMatch(/<failure message="exit 1: ecf8: ECF8_CONTENT_CHECKSUM_MISMATCH: /);
  });
});

describe('ecf8-conformance command line', () => {
  const cli = resolve(ROOT, 'packages/cli/dist/cli.js');
  const built = existsSync(cli);
  it.skipIf(!built && !process.env.CI)(
    `runs an outside decoder process (our built CLI) and prints 'N passed, N failed'${built ? '' : ' (skipped: run npm run build)'}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ecf8-junit-'));
      let out = '';
      const code = await conformanceMain(
        [
          '--decoder', `node ${cli} decode {in} {out}`,
          '--decoder-limit', `node ${cli} decode {in} {out} --max-output-bytes {max_output_bytes}`,
          '--encoder', `node ${cli} encode {in} {out} -t {threads}`,
          '--junit', join(dir, 'j.xml'), '--quiet',
        ],
        (s) => (out += s),
      );
      const buffered = vectors.api.filter((v) => v.parameters.outputBytes !== undefined).length;
      const total = 2 * vectors.valid.length + vectors.invalid.length + vectors.headerOnly.length + vectors.api.length - buffered;
      expect(out).toMatch(new RegExp(`^${total} passed, 0 failed, ${buffered} skipped \\(see SKIP lines\\)$`, 'm'));
      expect(code).toBe(0);
      expect(readFileSync(join(dir, 'j.xml'), 'utf8')).toMatch(/failures="0"/);
      rmSync(dir, { recursive: true, force: true });
    },
    // About 150 Node processes: 70 s measured with the machine's load average at 15 (two cores), far less idle;
    // the budget holds at more than 3x a busy run, as no test may fail for the machine being slow.
    300_000,
  );

  it('exits non-zero and names the failures for a broken command', async () => {
    let out = '';
    const code = await conformanceMain(['--decoder', 'cp {in} {out}', '--filter', 'valid/(empty|odd-99)$|invalid/bad-magic$'], (s) => (out += s));
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL  decode valid\/odd-99/);
    expect(out).toMatch(/FAIL  decode invalid\/bad-magic .*accepted an invalid stream/);
    expect(out).toMatch(/^0 passed, 3 failed$/m);
  });

  it('gives the API-level limit vectors to --decoder-limit and shows the decodeInto ones as SKIP', async () => {
    let out = '';
    const py = resolve(ROOT, 'conformance/examples/python/ecf8_decode.py');
    const code = await conformanceMain(
      ['--decoder', `python3 ${py} {in} {out}`, '--decoder-limit', `python3 ${py} {in} {out} --max-output-bytes {max_output_bytes}`, '--filter', '^decode api/'],
      (s) => (out += s),
    );
    const buffered = vectors.api.filter((v) => v.parameters.outputBytes !== undefined).length;
    expect(out).toMatch(/PASS  decode api\/limit-one-below/);
    expect(out).toMatch(/SKIP  decode api\/output-one-too-small .*decodeInto/);
    expect(out).toMatch(new RegExp(`^${vectors.api.length - buffered} passed, 0 failed, ${buffered} skipped`, 'm'));
    expect(code).toBe(0);
    let usage = '';
    expect(await conformanceMain(['--decoder', 'cp {in} {out}', '--decoder-limit', 'cp {in} {out}'], (s) => (usage += s))).toBe(2);
    expect(usage).toMatch(/must contain \{max_output_bytes\}/);
  });

  it('runs the Python decoder written from the spec alone', async () => {
    const py = resolve(ROOT, 'conformance/examples/python/ecf8_decode.py');
    if (!existsSync(py)) throw new Error('conformance/examples/python/ecf8_decode.py is missing');
    const limitProgram = commandProgram(`python3 ${py} {in} {out} --max-output-bytes {max_output_bytes}`);
    const r = await runDecoderConformance(commandProgram(`python3 ${py} {in} {out}`), { level: 'strict', limitProgram });
    expect(failedIds(r)).toEqual([]);
    expect(r.cases.filter((c) => c.id.startsWith('decode api/') && c.passed).length).toBeGreaterThan(5);
    // One Python process per vector: 13 s here alone, 82 s reported on a slower idle machine; the budget holds at
    // more than 3x the slower figure, so a busy machine slows it without failing it.
  }, 300_000);
});
