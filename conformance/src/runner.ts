/**
 * The conformance runner: runs a decoder or encoder under test on every shared vector and reports, vector by vector,
 * whether it conforms (docs/implementers-guide.md).
 *
 * Decoder levels: `basic` — valid vectors decode to the exact bytes (sha256) and invalid vectors make the decoder
 * fail (non-zero exit, no output file); `strict` — additionally the spec's error code (spec §11.1, first failing
 * check of §11.2) appears on stderr.
 * Encoder levels: `valid` — every stream the encoder writes passes the reference decoder and decodes to the input;
 * `canonical` — additionally it is byte-identical to the reference encoder's stream.
 *
 * API-level vectors (a stream plus the caller's parameters, test-vectors/README.md) run when the decoder takes a
 * `maxOutputBytes` (an in-process decoder, or a command given as `limitProgram` with `{max_output_bytes}`); those
 * that need a caller-provided output buffer cannot be expressed as files and are reported as skipped, with why.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as referenceDecode, isEcf8Error } from '@ecf8/core';
import { loadVectors, usesOutputBuffer, type VectorSet } from './vectors.js';

export type DecoderLevel = 'basic' | 'strict';
export type EncoderLevel = 'valid' | 'canonical';

/** What a program under test did with one file. */
export interface Execution {
  exitCode: number;
  stderr: string;
  timedOut?: boolean;
}

/** The caller parameters a program can be given (API-level vectors). */
export interface ProgramParameters {
  maxOutputBytes?: number;
}

/**
 * A program under test: reads `inPath`, writes `outPath`. `threadsPerBlock` is passed to encoders, `parameters` to
 * decoders that take them (`acceptsMaxOutputBytes`).
 */
export type Program = ((inPath: string, outPath: string, threadsPerBlock: number, parameters?: ProgramParameters) => Promise<Execution>) & {
  /** Set on programs that honour `parameters.maxOutputBytes` (so the runner may give them the API-level vectors). */
  acceptsMaxOutputBytes?: boolean;
};

export interface CaseResult {
  /** e.g. `decode valid/empty`, `decode invalid/bad-magic`, `encode valid/odd-99`. */
  id: string;
  passed: boolean;
  /** Why it failed, or why it was skipped (empty when passed). */
  reason: string;
  /** True when the case did not run (neither passed nor failed); `reason` says why. */
  skipped?: boolean;
  ms: number;
}

export interface Report {
  cases: CaseResult[];
  passed: number;
  failed: number;
  /** Cases that could not run with this program (see each case's reason). */
  skipped: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A program given as a shell command template with `{in}`, `{out}` and optionally `{threads}` placeholders,
 * e.g. `python3 ecf8_decode.py {in} {out}`. Runs under `sh -c` with a per-file timeout. A template with
 * `{max_output_bytes}` (e.g. `python3 ecf8_decode.py {in} {out} --max-output-bytes {max_output_bytes}`) is a
 * decoder that takes the caller's limit; it is meant for `limitProgram` and runs only the vectors that set one.
 */
export function commandProgram(template: string, timeoutMs = 60_000): Program {
  if (!template.includes('{in}') || !template.includes('{out}')) throw new Error(`command '${template}' must contain {in} and {out}`);
  const program: Program = (inPath, outPath, threads, parameters) =>
    new Promise((resolve) => {
      let cmd = template.replaceAll('{in}', shellQuote(inPath)).replaceAll('{out}', shellQuote(outPath)).replaceAll('{threads}', String(threads));
      if (template.includes('{max_output_bytes}')) {
        if (parameters?.maxOutputBytes === undefined) {
          resolve({ exitCode: 2, stderr: `the command '${template}' needs {max_output_bytes}, and this case sets no limit\n` });
          return;
        }
        cmd = cmd.replaceAll('{max_output_bytes}', String(parameters.maxOutputBytes));
      }
      const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => {
        if (stderr.length < 65536) stderr += d;
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ exitCode: code ?? (signal ? 128 : 1), stderr, timedOut });
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ exitCode: 127, stderr: String(e) });
      });
    });
  if (template.includes('{max_output_bytes}')) program.acceptsMaxOutputBytes = true;
  return program;
}

/**
 * An in-process decoder (bytes in, bytes out or an error with a `code`) adapted to the file protocol. It receives the
 * caller's `maxOutputBytes` of API-level vectors as its second argument.
 */
export function functionDecoder(fn: (stream: Uint8Array, options?: ProgramParameters) => Uint8Array | Promise<Uint8Array>): Program {
  const program: Program = async (inPath, outPath, _threads, parameters) => {
    try {
      const input = new Uint8Array(readFileSync(inPath));
      const out = await (parameters?.maxOutputBytes === undefined ? fn(input) : fn(input, { maxOutputBytes: parameters.maxOutputBytes }));
      writeFileSync(outPath, out);
      return { exitCode: 0, stderr: '' };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERROR';
      const message = (e as Error).message ?? String(e);
      return { exitCode: 1, stderr: `ecf8: ${message.startsWith(code) ? message : `${code}: ${message}`}\n` };
    }
  };
  program.acceptsMaxOutputBytes = true;
  return program;
}

export interface DecoderRunOptions {
  level?: DecoderLevel;
  vectors?: VectorSet;
  /** Only vectors whose `kind/name` matches. */
  filter?: RegExp;
  /**
   * The program for API-level vectors that set `maxOutputBytes` (e.g. a command with `{max_output_bytes}`). Default:
   * the decoder itself when it accepts the parameter (in-process decoders do); otherwise those vectors are skipped.
   */
  limitProgram?: Program;
  onResult?: (r: CaseResult) => void;
}

/** One case: the input to hand the program, and how to judge what it did (a reason, or '' when it passed). */
interface Case {
  id: string;
  input: Uint8Array;
  inName: string;
  outName: string;
  threads: number;
  /** The program to run instead of the run's own (API-level vectors). */
  program?: Program;
  parameters?: ProgramParameters;
  /** When set, the case is not run and is reported as skipped for this reason. */
  skip?: string;
  judge: (ex: Execution, outPath: string) => string;
}

/** Runs the cases one by one in a temporary directory: write the input, run, time, judge, remove the output. */
async function runCases(program: Program, cases: Case[], filter: RegExp | undefined, onResult?: (r: CaseResult) => void): Promise<Report> {
  const work = mkdtempSync(join(tmpdir(), 'ecf8-conformance-'));
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      if (filter && !filter.test(c.id)) continue;
      if (c.skip) {
        const r = { id: c.id, passed: false, skipped: true, reason: c.skip, ms: 0 };
        results.push(r);
        onResult?.(r);
        continue;
      }
      const inPath = join(work, c.inName);
      const outPath = join(work, c.outName);
      writeFileSync(inPath, c.input);
      const t0 = performance.now();
      const ex = await (c.program ?? program)(inPath, outPath, c.threads, c.parameters);
      const ms = performance.now() - t0;
      const reason = ex.timedOut ? 'timed out' : c.judge(ex, outPath);
      rmSync(outPath, { force: true });
      const r = { id: c.id, passed: !reason, reason, ms };
      results.push(r);
      onResult?.(r);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return summarize(results);
}

/** The reason a run that should have produced a file did not ('' when exit 0 and the file exists). */
function missingOutput(ex: Execution, outPath: string): string {
  if (ex.exitCode !== 0) return `exit ${ex.exitCode}: ${firstLine(ex.stderr)}`;
  return existsSync(outPath) ? '' : 'no output file';
}

/** Runs a decoder under test over every valid, invalid and header-only vector. */
export async function runDecoderConformance(program: Program, options: DecoderRunOptions = {}): Promise<Report> {
  const vectors = options.vectors ?? loadVectors();
  const level = options.level ?? 'strict';
  const judgeValid = (decoded: Uint8Array) => (ex: Execution, outPath: string) => {
    const missing = missingOutput(ex, outPath);
    if (missing) return missing;
    const got = new Uint8Array(readFileSync(outPath));
    if (got.length !== decoded.length) return `output has ${got.length} bytes, expected ${decoded.length}`;
    if (sha256(got) !== sha256(decoded)) return `output sha256 differs (first difference at byte ${firstDiff(got, decoded)})`;
    return '';
  };
  const judgeInvalid = (error: string, what = 'an invalid stream') => (ex: Execution, outPath: string) => {
    if (ex.exitCode === 0) return `accepted ${what} (expected ${error})`;
    if (ex.exitCode >= 128 || /Segmentation|core dumped|Traceback|panicked/.test(ex.stderr)) return `crashed (exit ${ex.exitCode}): ${firstLine(ex.stderr)}`;
    if (existsSync(outPath)) return 'failed but left an output file';
    if (level === 'strict' && !new RegExp(`\\b${error}\\b`).test(ex.stderr)) return `expected ${error} on stderr, got: ${firstLine(ex.stderr) || '(nothing)'}`;
    return '';
  };
  const cases: Case[] = vectors.valid.map((v) => ({
    id: `decode valid/${v.name}`,
    input: v.stream,
    inName: `${v.name}.ecf8`,
    outName: `${v.name}.out`,
    threads: v.threadsPerBlock,
    judge: judgeValid(v.decoded),
  }));
  for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
    const kind = vectors.invalid.includes(v) ? 'invalid' : 'header-only';
    cases.push({ id: `decode ${kind}/${v.name}`, input: v.stream, inName: `${v.name}.ecf8`, outName: `${v.name}.out`, threads: 512, judge: judgeInvalid(v.error) });
  }
  const limitProgram = options.limitProgram ?? (program.acceptsMaxOutputBytes ? program : undefined);
  for (const v of vectors.api) {
    const skip = usesOutputBuffer(v)
      ? 'needs a caller-provided output buffer (decodeInto), which the file protocol cannot express: test it through your library API'
      : !limitProgram
        ? 'needs the caller limit maxOutputBytes: give a decoder command with {max_output_bytes} (--decoder-limit)'
        : undefined;
    cases.push({
      id: `decode api/${v.name}`,
      input: v.stream,
      inName: `${v.name}.ecf8`,
      outName: `${v.name}.out`,
      threads: 512,
      program: limitProgram,
      parameters: { maxOutputBytes: v.parameters.maxOutputBytes },
      skip,
      judge: v.error ? judgeInvalid(v.error, `the stream with maxOutputBytes = ${v.parameters.maxOutputBytes}`) : judgeValid(v.decoded!),
    });
  }
  return runCases(program, cases, options.filter, options.onResult);
}

export interface EncoderRunOptions {
  level?: EncoderLevel;
  vectors?: VectorSet;
  filter?: RegExp;
  /** Whether the program honours `{threads}` (else only vectors with T = 512 are compared at canonical level). */
  passesThreads?: boolean;
  onResult?: (r: CaseResult) => void;
}

/** Runs an encoder under test on every valid vector's decoded bytes. */
export async function runEncoderConformance(program: Program, options: EncoderRunOptions = {}): Promise<Report> {
  const vectors = options.vectors ?? loadVectors();
  const level = options.level ?? 'canonical';
  const cases: Case[] = vectors.valid.map((v) => {
    const threads = options.passesThreads ? v.threadsPerBlock : 512;
    return {
      id: `encode valid/${v.name}`,
      input: v.decoded,
      inName: `${v.name}.fp8`,
      outName: `${v.name}.ecf8`,
      threads,
      judge: (ex, outPath) => {
        const missing = missingOutput(ex, outPath);
        if (missing) return missing;
        const stream = new Uint8Array(readFileSync(outPath));
        try {
          const back = referenceDecode(stream);
          if (sha256(back) !== sha256(v.decoded)) return 'stream decodes to different bytes';
          if (level === 'canonical' && threads === v.threadsPerBlock && sha256(stream) !== sha256(v.stream)) {
            return `stream is valid but not canonical (differs from the reference encoder at byte ${firstDiff(stream, v.stream)})`;
          }
          return '';
        } catch (e) {
          return `stream is invalid: ${isEcf8Error(e) ? e.message : String(e)}`;
        }
      },
    };
  });
  return runCases(program, cases, options.filter, options.onResult);
}

function summarize(cases: CaseResult[]): Report {
  const passed = cases.filter((c) => c.passed).length;
  const skipped = cases.filter((c) => c.skipped).length;
  return { cases, passed, failed: cases.length - passed - skipped, skipped };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** JUnit XML for CI systems: one testsuite, one testcase per vector. */
export function toJUnit(report: Report, suiteName = 'ecf8-conformance'): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xmlEscape(suiteName)}" tests="${report.cases.length}" failures="${report.failed}" errors="0" skipped="${report.skipped ?? 0}">`,
  ];
  for (const c of report.cases) {
    const [classname, name] = c.id.split(' ');
    lines.push(`  <testcase classname="${xmlEscape(classname)}" name="${xmlEscape(name)}" time="${(c.ms / 1000).toFixed(3)}">`);
    if (c.skipped) lines.push(`    <skipped message="${xmlEscape(c.reason)}"/>`);
    else if (!c.passed) lines.push(`    <failure message="${xmlEscape(c.reason)}"/>`);
    lines.push('  </testcase>');
  }
  lines.push('</testsuite>', '');
  return lines.join('\n');
}
