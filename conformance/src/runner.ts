/**
 * The conformance runner: runs a decoder or encoder under test on every shared vector and reports, vector by vector,
 * whether it conforms (docs/implementers-guide.md).
 *
 * Decoder levels: `basic` — valid vectors decode to the exact bytes (sha256) and invalid vectors make the decoder
 * fail (non-zero exit, no output file); `strict` — additionally the spec's error code (spec §11.1, first failing
 * check of §11.2) appears on stderr.
 * Encoder levels: `valid` — every stream the encoder writes passes the reference decoder and decodes to the input;
 * `canonical` — additionally it is byte-identical to the reference encoder's stream.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as referenceDecode, isEcf8Error } from '@ecf8/core';
import { loadVectors, type VectorSet } from './vectors.js';

export type DecoderLevel = 'basic' | 'strict';
export type EncoderLevel = 'valid' | 'canonical';

/** What a program under test did with one file. */
export interface Execution {
  exitCode: number;
  stderr: string;
  timedOut?: boolean;
}

/** A program under test: reads `inPath`, writes `outPath`. `threadsPerBlock` is passed to encoders. */
export type Program = (inPath: string, outPath: string, threadsPerBlock: number) => Promise<Execution>;

export interface CaseResult {
  /** e.g. `decode valid/empty`, `decode invalid/bad-magic`, `encode valid/odd-99`. */
  id: string;
  passed: boolean;
  /** Why it failed (empty when passed). */
  reason: string;
  ms: number;
}

export interface Report {
  cases: CaseResult[];
  passed: number;
  failed: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A program given as a shell command template with `{in}`, `{out}` and optionally `{threads}` placeholders,
 * e.g. `python3 ecf8_decode.py {in} {out}`. Runs under `sh -c` with a per-file timeout.
 */
export function commandProgram(template: string, timeoutMs = 60_000): Program {
  if (!template.includes('{in}') || !template.includes('{out}')) throw new Error(`command '${template}' must contain {in} and {out}`);
  return (inPath, outPath, threads) =>
    new Promise((resolve) => {
      const cmd = template.replaceAll('{in}', shellQuote(inPath)).replaceAll('{out}', shellQuote(outPath)).replaceAll('{threads}', String(threads));
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
}

/** An in-process decoder (bytes in, bytes out or an error with a `code`) adapted to the file protocol. */
export function functionDecoder(fn: (stream: Uint8Array) => Uint8Array | Promise<Uint8Array>): Program {
  return async (inPath, outPath) => {
    try {
      const out = await fn(new Uint8Array(readFileSync(inPath)));
      writeFileSync(outPath, out);
      return { exitCode: 0, stderr: '' };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERROR';
      const message = (e as Error).message ?? String(e);
      return { exitCode: 1, stderr: `ecf8: ${message.startsWith(code) ? message : `${code}: ${message}`}\n` };
    }
  };
}

export interface DecoderRunOptions {
  level?: DecoderLevel;
  vectors?: VectorSet;
  /** Only vectors whose `kind/name` matches. */
  filter?: RegExp;
  onResult?: (r: CaseResult) => void;
}

/** One case: the input to hand the program, and how to judge what it did (a reason, or '' when it passed). */
interface Case {
  id: string;
  input: Uint8Array;
  inName: string;
  outName: string;
  threads: number;
  judge: (ex: Execution, outPath: string) => string;
}

/** Runs the cases one by one in a temporary directory: write the input, run, time, judge, remove the output. */
async function runCases(program: Program, cases: Case[], filter: RegExp | undefined, onResult?: (r: CaseResult) => void): Promise<Report> {
  const work = mkdtempSync(join(tmpdir(), 'ecf8-conformance-'));
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      if (filter && !filter.test(c.id)) continue;
      const inPath = join(work, c.inName);
      const outPath = join(work, c.outName);
      writeFileSync(inPath, c.input);
      const t0 = performance.now();
      const ex = await program(inPath, outPath, c.threads);
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
  const cases: Case[] = vectors.valid.map((v) => ({
    id: `decode valid/${v.name}`,
    input: v.stream,
    inName: `${v.name}.ecf8`,
    outName: `${v.name}.out`,
    threads: v.threadsPerBlock,
    judge: (ex, outPath) => {
      const missing = missingOutput(ex, outPath);
      if (missing) return missing;
      const got = new Uint8Array(readFileSync(outPath));
      if (got.length !== v.decoded.length) return `output has ${got.length} bytes, expected ${v.decoded.length}`;
      if (sha256(got) !== sha256(v.decoded)) return `output sha256 differs (first difference at byte ${firstDiff(got, v.decoded)})`;
      return '';
    },
  }));
  for (const v of [...vectors.invalid, ...vectors.headerOnly]) {
    const kind = vectors.invalid.includes(v) ? 'invalid' : 'header-only';
    cases.push({
      id: `decode ${kind}/${v.name}`,
      input: v.stream,
      inName: `${v.name}.ecf8`,
      outName: `${v.name}.out`,
      threads: 512,
      judge: (ex, outPath) => {
        if (ex.exitCode === 0) return `accepted an invalid stream (expected ${v.error})`;
        if (ex.exitCode >= 128 || /Segmentation|core dumped|Traceback|panicked/.test(ex.stderr)) return `crashed (exit ${ex.exitCode}): ${firstLine(ex.stderr)}`;
        if (existsSync(outPath)) return 'failed but left an output file';
        if (level === 'strict' && !new RegExp(`\\b${v.error}\\b`).test(ex.stderr)) return `expected ${v.error} on stderr, got: ${firstLine(ex.stderr) || '(nothing)'}`;
        return '';
      },
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
  return { cases, passed, failed: cases.length - passed };
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
    `<testsuite name="${xmlEscape(suiteName)}" tests="${report.cases.length}" failures="${report.failed}" errors="0">`,
  ];
  for (const c of report.cases) {
    const [classname, name] = c.id.split(' ');
    lines.push(`  <testcase classname="${xmlEscape(classname)}" name="${xmlEscape(name)}" time="${(c.ms / 1000).toFixed(3)}">`);
    if (!c.passed) lines.push(`    <failure message="${xmlEscape(c.reason)}"/>`);
    lines.push('  </testcase>');
  }
  lines.push('</testsuite>', '');
  return lines.join('\n');
}
