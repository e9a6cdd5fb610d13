/**
 * `ecf8-conformance`: checks an outside ECF8 decoder and/or encoder against the shared vectors.
 *
 *   ecf8-conformance --decoder 'CMD {in} {out}' [--level basic|strict]
 *                    [--decoder-limit 'CMD {in} {out} {max_output_bytes}']
 *   ecf8-conformance --encoder 'CMD {in} {out} [{threads}]' [--encoder-level valid|canonical]
 *   options: --vectors DIR  --filter REGEX  --junit FILE  --timeout SECONDS  --quiet
 */
import { writeFileSync } from 'node:fs';
import { commandProgram, runDecoderConformance, runEncoderConformance, toJUnit, type CaseResult, type Report } from './runner.js';
import { loadVectors, DEFAULT_VECTORS_DIR } from './vectors.js';

const USAGE = `usage: ecf8-conformance [--decoder 'CMD {in} {out}'] [--encoder 'CMD {in} {out} [{threads}]']
  --level basic|strict             decoder level (default strict: the spec's error code must appear on stderr)
  --decoder-limit 'CMD {in} {out} {max_output_bytes}'
                                   the decoder with the caller's output limit, for the API-level vectors that set
                                   maxOutputBytes (without it they are reported as skipped)
  --encoder-level valid|canonical  encoder level (default canonical: byte-identical to the reference encoder)
  --vectors DIR                    vector directory (default: the bundled test-vectors)
  --filter REGEX                   only cases whose id matches, e.g. 'invalid/'
  --junit FILE                     also write JUnit XML
  --timeout SECONDS                per-file limit (default 60)
  --quiet                          print failures, skips and the summary only`;

export async function conformanceMain(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const opts = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quiet' || a === '-h' || a === '--help') flags.add(a);
    else if (a.startsWith('--') && i + 1 < argv.length) opts.set(a, argv[++i]);
    else {
      out(`unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  if (flags.has('-h') || flags.has('--help') || (!opts.has('--decoder') && !opts.has('--encoder'))) {
    out(USAGE + '\n');
    return flags.size ? 0 : 2;
  }
  const level = (opts.get('--level') ?? 'strict') as 'basic' | 'strict';
  const encoderLevel = (opts.get('--encoder-level') ?? 'canonical') as 'valid' | 'canonical';
  if (!['basic', 'strict'].includes(level) || !['valid', 'canonical'].includes(encoderLevel)) {
    out(`bad level\n${USAGE}\n`);
    return 2;
  }
  const timeoutMs = Number(opts.get('--timeout') ?? 60) * 1000;
  const limitTemplate = opts.get('--decoder-limit');
  if (limitTemplate !== undefined && !limitTemplate.includes('{max_output_bytes}')) {
    out(`--decoder-limit must contain {max_output_bytes}\n${USAGE}\n`);
    return 2;
  }
  const vectors = loadVectors(opts.get('--vectors') ?? DEFAULT_VECTORS_DIR);
  const filter = opts.has('--filter') ? new RegExp(opts.get('--filter')!) : undefined;
  const quiet = flags.has('--quiet');
  const show = (r: CaseResult) => {
    const status = r.skipped ? 'SKIP' : r.passed ? 'PASS' : 'FAIL';
    if (!quiet || status !== 'PASS') out(`${status}  ${r.id.padEnd(52)} ${r.ms.toFixed(0).padStart(6)} ms${r.reason ? `  ${r.reason}` : ''}\n`);
  };
  const reports: Report[] = [];
  if (opts.has('--decoder')) {
    out(`# decoder: ${opts.get('--decoder')} (level ${level}, ${vectors.valid.length} valid + ${vectors.invalid.length + vectors.headerOnly.length} invalid + ${vectors.api.length} api vectors)\n`);
    const limitProgram = limitTemplate === undefined ? undefined : commandProgram(limitTemplate, timeoutMs);
    reports.push(await runDecoderConformance(commandProgram(opts.get('--decoder')!, timeoutMs), { level, vectors, filter, limitProgram, onResult: show }));
  }
  if (opts.has('--encoder')) {
    const template = opts.get('--encoder')!;
    out(`# encoder: ${template} (level ${encoderLevel})\n`);
    reports.push(
      await runEncoderConformance(commandProgram(template, timeoutMs), { level: encoderLevel, vectors, filter, passesThreads: template.includes('{threads}'), onResult: show }),
    );
  }
  const sum = (k: 'passed' | 'failed' | 'skipped') => reports.reduce((a, r) => a + r[k], 0);
  const all: Report = { cases: reports.flatMap((r) => r.cases), passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped') };
  if (opts.has('--junit')) writeFileSync(opts.get('--junit')!, toJUnit(all));
  out(`${all.passed} passed, ${all.failed} failed${all.skipped ? `, ${all.skipped} skipped (see SKIP lines)` : ''}\n`);
  return all.failed === 0 ? 0 : 1;
}
