/**
 * Model-file commands (safetensors compress/decompress/verify/inspect, official-layout import/export). Each entry
 * receives the positional arguments after the command name, the parsed flags, and the output streams, and returns
 * the exit code; errors are thrown as Ecf8Error and reported by `main`.
 */
import { open, stat } from 'node:fs/promises';
import { ErrorCode, Ecf8Error, getBackend, resolveBackend } from '@ecf8/core';
import {
  compressModel,
  decompressModel,
  exportOfficial,
  importOfficial,
  inspectModel,
  isStdout,
  renderInspectSvg,
  verifyModel,
  withOutputPolicy,
  writeOutput,
  type InspectReport,
  type ModelResult,
  type Progress,
  type ProgressCallback,
  type StreamDecoder,
} from '@ecf8/safetensors';
import type { Io } from './commands.js';
import { loadOptionalBackends } from './backends.js';
import { cmdPlan, PLAN_VALUE_FLAGS } from './plan-command.js';

export type ModelCommand = (args: string[], flags: Map<string, string | true>, io: Io) => Promise<number>;

/** Flags of the model commands that take a value (merged into the CLI's VALUE_FLAGS). */
export const MODEL_VALUE_FLAGS = ['--plot', '--pattern-dict', '--shapes', '--official-threads-per-block', ...PLAN_VALUE_FLAGS];

/** Usage lines of the model commands (appended to the CLI's usage text). */
export const MODEL_USAGE = `model files (safetensors; a directory = a sharded checkpoint, index rewritten):
  compress IN.safetensors OUT.safetensors [-t T] [--force]
                                                    every F8_E4M3 tensor -> ECF8 stream, the rest copied
  decompress IN OUT [--backend NAME] [--force]      restore the original file(s) byte for byte
  verify FILE                                       check every stream and the original SHA-256, write nothing
  inspect FILE.safetensors [--plot OUT.svg] [--json]
                                                    per-tensor entropy, Huffman length, size vs Shannon bound
  import-official IN OUT [--pattern-dict F] [--shapes F] [--official-threads-per-block T] [--plain]
                                                    authors' ECF8 layout (luts/encoded/gaps/...) -> our file;
                                                    IN: a file, a sharded release (directory or index), a
                                                    DiffSynth directory, or their cache/<block>.safetensors
  export-official IN OUT [-t T] [--no-check] [--diffsynth] [--force]
                                                    our streams -> authors' buffers (no re-encoding), with
                                                    config.json (or dfloat_config.json) and pattern_dict.json
  plan FILE [--slots N] [--workspace-bytes N] [--json]
                                                    memory kept compressed (@ecf8/runtime) vs plain FP8
  progress bars go to stderr on a terminal (--progress forces, --no-progress or --quiet hides them)`;

/** Commands by name; `main` dispatches any command not built in to this table. */
export const modelCommands: Record<string, ModelCommand> = {
  compress: withOutputRule(cmdCompress),
  decompress: withOutputRule(cmdDecompress),
  verify: withOutputRule(cmdVerify),
  'import-official': withOutputRule(cmdImport),
  'export-official': withOutputRule(cmdExport),
  plan: cmdPlan,
};

/** Handles `ecf8 inspect FILE` for model files (e.g. `.safetensors`); returns undefined when FILE is not one. */
export let inspectModelFile: ((path: string, flags: Map<string, string | true>, io: Io) => Promise<number | undefined>) | undefined = async (path, flags, io) => {
  if (!(await looksLikeModel(path))) return undefined;
  return cmdInspect(path, flags, io);
};

export function setInspectModelFile(fn: typeof inspectModelFile): void {
  inspectModelFile = fn;
}

class UsageProblem extends Ecf8Error {}

function usage(message: string): never {
  // Exit status 1 with ECF8_INVALID_ARGUMENT (the usage text is for the built-in commands).
  throw new UsageProblem(ErrorCode.INVALID_ARGUMENT, message);
}

function need(args: string[], n: number, what: string): void {
  if (args.length !== n) usage(`expected ${what}`);
}

function intFlag(flags: Map<string, string | true>, names: string[]): number | undefined {
  for (const n of names) {
    const v = flags.get(n);
    if (v === undefined) continue;
    if (v === true || !/^\d+$/.test(v)) usage(`${n} needs a non-negative integer`);
    return Number(v);
  }
  return undefined;
}

function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  if (v === true) usage(`${name} needs a value`);
  return v;
}

/** A model file: a directory, a `.safetensors` name, or a file whose first bytes look like a safetensors header. */
async function looksLikeModel(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) return true;
    if (path.endsWith('.safetensors')) return true;
    if (!st.isFile() || st.size < 10) return false; // a FIFO or device is never opened here (it could block)
    const fh = await open(path, 'r');
    try {
      const b = new Uint8Array(9);
      await fh.read(b, 0, 9, 0);
      const n = new DataView(b.buffer).getBigUint64(0, true);
      return n > 1n && n <= 100_000_000n && Number(n) + 8 <= st.size && b[8] === 0x7b;
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Progress and interruption

const fmtBytes = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);
const fmtTime = (s: number) => (!Number.isFinite(s) ? '--' : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/** One progress line, e.g. `compress [#####-----] 12/340 tensors 1.23 GB/8.80 GB 95.3 MB/s ETA 1m20s name`. */
export function formatProgress(p: Progress, elapsedSeconds: number, width = 100): string {
  const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.tensorsTotal > 0 ? p.tensorsDone / p.tensorsTotal : 0;
  const bar = 20;
  const filled = Math.round(frac * bar);
  const rate = elapsedSeconds > 0 ? p.bytesDone / elapsedSeconds : 0;
  const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Infinity;
  const line = `${p.operation} [${'#'.repeat(filled)}${'-'.repeat(bar - filled)}] ${p.tensorsDone}/${p.tensorsTotal} tensors ${fmtBytes(p.bytesDone)}/${fmtBytes(p.bytesTotal)} ${(rate / 1e6).toFixed(1)} MB/s ETA ${fmtTime(eta)} ${p.tensor}`;
  return line.length > width - 1 ? line.slice(0, width - 2) + '…' : line;
}

/** The progress line's width: the terminal's, at least 40; 80 when it reports none or 0 columns (a pty never sized). */
export function progressWidth(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns > 0 ? Math.max(40, columns) : 80;
}

function progressFor(flags: Map<string, string | true>, io: Io): { onProgress?: ProgressCallback; finish: () => void } {
  const forced = flags.has('--progress');
  const enabled = forced || (!flags.has('--no-progress') && !flags.has('--quiet') && !flags.has('--json') && process.stderr.isTTY === true);
  if (!enabled) return { finish: () => {} };
  const t0 = performance.now();
  let last = 0;
  let shown = false;
  let latest: Progress | null = null;
  let drawn: Progress | null = null;
  const width = progressWidth(process.stderr.columns);
  const draw = (p: Progress) => {
    io.stderr(`\r${formatProgress(p, (performance.now() - t0) / 1e3, width).padEnd(width - 1)}`);
    shown = true;
    drawn = p;
  };
  return {
    onProgress: (p) => {
      latest = p;
      const now = performance.now();
      if (now - last >= 100 || (p.bytesDone >= p.bytesTotal && p.tensorsDone >= p.tensorsTotal)) {
        last = now;
        draw(p);
      }
    },
    finish: () => {
      if (latest && latest !== drawn) draw(latest);
      if (shown) io.stderr('\n');
    },
  };
}

/**
 * Applies the output rule to a command (see @ecf8/safetensors output.ts): `--force`/`-f` to replace an existing
 * output, and its first argument as an input that no output may be. Signals are handled once for the process by
 * the executable (cli.ts), which removes every temporary file.
 */
function withOutputRule(cmd: ModelCommand): ModelCommand {
  return (args, flags, io) => withOutputPolicy({ force: flags.has('--force') || flags.has('-f'), inputs: args.slice(0, 1) }, () => cmd(args, flags, summaryIo(args[1], io)));
}

/** With standard output as the output (`-`), the summary goes to stderr so the data stays clean. */
function summaryIo(output: string | undefined, io: Io): Io {
  return output !== undefined && isStdout(output) ? { stdout: io.stderr, stderr: io.stderr } : io;
}

// ---------------------------------------------------------------------------------------------------------------
// Commands

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const mbps = (bytes: number, s: number) => (s > 0 ? (bytes / 1e6 / s).toFixed(1) : '-');

function summaryJson(r: ModelResult, operation: string) {
  return {
    operation,
    input: r.input,
    output: r.output,
    directory: r.directory,
    files: r.files.length,
    tensors: r.tensors,
    fp8Tensors: r.fp8Tensors,
    originalBytes: r.originalBytes,
    compressedBytes: r.compressedBytes,
    ratio: r.originalBytes ? r.compressedBytes / r.originalBytes : 0,
    fp8Bytes: r.fp8Bytes,
    streamBytes: r.streamBytes,
    fp8Ratio: r.fp8Bytes ? r.streamBytes / r.fp8Bytes : 0,
    seconds: r.seconds,
    MBps: r.seconds > 0 ? r.originalBytes / 1e6 / r.seconds : 0,
    indexes: r.indexes,
    copiedFiles: r.copied,
    perFile: r.files.map((f) => ({
      input: f.input,
      output: f.output,
      originalBytes: f.originalBytes,
      compressedBytes: f.compressedBytes,
      sha256: f.sha256,
      tensors: f.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes, storedBytes: t.storedBytes, compressed: t.compressed, storedName: t.storedName })),
    })),
  };
}

async function cmdCompress(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  need(args, 2, 'IN OUT (a .safetensors file or a model directory)');
  const progress = progressFor(flags, io);
  let r: ModelResult;
  try {
    r = await compressModel(args[0], args[1], { threadsPerBlock: intFlag(flags, ['--threads-per-block', '-t']), onProgress: progress.onProgress });
  } finally {
    progress.finish();
  }
  if (flags.has('--json')) io.stdout(JSON.stringify(summaryJson(r, 'compress')) + '\n');
  else {
    io.stdout(
      `${r.input} -> ${r.output}: ${r.fp8Tensors} of ${r.tensors} tensors compressed (F8_E4M3)${r.directory ? ` in ${r.files.length} files` : ''}, ` +
        `${fmtBytes(r.originalBytes)} -> ${fmtBytes(r.compressedBytes)} (${pct(r.originalBytes ? r.compressedBytes / r.originalBytes : 0)}); ` +
        `FP8 data ${fmtBytes(r.fp8Bytes)} -> ${fmtBytes(r.streamBytes)} (${pct(r.fp8Bytes ? r.streamBytes / r.fp8Bytes : 0)}); ${mbps(r.originalBytes, r.seconds)} MB/s, ${r.seconds.toFixed(1)} s\n`,
    );
  }
  return 0;
}

async function decoderFor(flags: Map<string, string | true>): Promise<StreamDecoder | undefined> {
  const name = stringFlag(flags, '--backend');
  if (!name) return undefined;
  await loadOptionalBackends();
  const backend = name === 'reference' ? getBackend('reference')! : await resolveBackend(name);
  // Any backend (CPU or GPU) can decode to host bytes; the result is copied into the restore buffer.
  return async (stream, out) => {
    const fp8 = await backend.decode(stream);
    out.set(fp8);
    return fp8.length;
  };
}

async function cmdDecompress(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  need(args, 2, 'IN OUT');
  const decoder = await decoderFor(flags);
  const progress = progressFor(flags, io);
  let r: ModelResult;
  try {
    r = await decompressModel(args[0], args[1], { decoder, onProgress: progress.onProgress });
  } finally {
    progress.finish();
  }
  if (flags.has('--json')) io.stdout(JSON.stringify(summaryJson(r, 'decompress')) + '\n');
  else {
    io.stdout(
      `${r.input} -> ${r.output}: restored ${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${fmtBytes(r.compressedBytes)} -> ${fmtBytes(r.originalBytes)}, ` +
        `${r.fp8Tensors} streams decoded, SHA-256 ${r.files.length === 1 ? r.files[0].sha256 : 'of every file'} verified; ${mbps(r.originalBytes, r.seconds)} MB/s, ${r.seconds.toFixed(1)} s\n`,
    );
  }
  return 0;
}

async function cmdVerify(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  need(args, 1, 'FILE (a compressed .safetensors file or directory)');
  const decoder = await decoderFor(flags);
  const progress = progressFor(flags, io);
  let r: ModelResult;
  try {
    r = await verifyModel(args[0], { decoder, onProgress: progress.onProgress });
  } finally {
    progress.finish();
  }
  if (flags.has('--json')) io.stdout(JSON.stringify({ ...summaryJson(r, 'verify'), valid: true }) + '\n');
  else {
    io.stdout(
      `${r.input}: OK — ${r.fp8Tensors} ECF8 streams valid (structure and CRC-32C), ${r.tensors - r.fp8Tensors} copied tensors, ` +
        `restores ${fmtBytes(r.originalBytes)} with the recorded SHA-256${r.directory ? ` (${r.files.length} files, ${r.indexes.length} index)` : ''}; ${mbps(r.originalBytes, r.seconds)} MB/s\n`,
    );
  }
  return 0;
}

function inspectText(r: InspectReport): string {
  const t = r.totals;
  const name = Math.min(60, Math.max(20, ...r.tensors.map((x) => x.name.length)));
  const rows = [
    `${r.input}: ${r.files.length === 1 ? (r.files[0].compressed ? 'ECF8-compressed safetensors' : 'safetensors') : `${r.files.length} safetensors files`}, ` +
      `${t.fp8Tensors} F8_E4M3 tensors${r.files.some((f) => !f.compressed) ? ' (ECF8 sizes predicted exactly for uncompressed tensors)' : ''}`,
    `${'tensor'.padEnd(name)} ${'elements'.padStart(12)} ${'entropy'.padStart(8)} ${'mean len'.padStart(8)} ${'ECF8 bytes'.padStart(12)} ${'bound bytes'.padStart(12)} ${'ECF8/FP8'.padStart(8)} ${'/bound'.padStart(7)}`,
  ];
  for (const x of r.tensors) {
    const label = x.name.length > name ? '…' + x.name.slice(x.name.length - name + 1) : x.name;
    rows.push(
      `${label.padEnd(name)} ${String(x.elements).padStart(12)} ${x.entropy.toFixed(3).padStart(8)} ${x.meanCodeLength.toFixed(3).padStart(8)} ${String(x.streamBytes).padStart(12)} ${x.shannonBoundBytes.toFixed(0).padStart(12)} ${pct(x.elements ? x.streamBytes / x.elements : 0).padStart(8)} ${pct(x.shannonBoundBytes ? x.streamBytes / x.shannonBoundBytes : 0).padStart(7)}`,
    );
  }
  rows.push(
    `${'total'.padEnd(name)} ${String(t.elements).padStart(12)} ${t.meanEntropy.toFixed(3).padStart(8)} ${t.meanCodeLength.toFixed(3).padStart(8)} ${String(t.streamBytes).padStart(12)} ${t.shannonBoundBytes.toFixed(0).padStart(12)} ${pct(t.fp8Bytes ? t.streamBytes / t.fp8Bytes : 0).padStart(8)} ${pct(t.shannonBoundBytes ? t.streamBytes / t.shannonBoundBytes : 0).padStart(7)}`,
    `exponent entropy      pooled ${t.pooledEntropy.toFixed(3)} bits, element-weighted mean ${t.meanEntropy.toFixed(3)} bits (Theorem 2.1, alpha = 2: ${r.bounds.lowerBits.toFixed(2)}..${r.bounds.upperBits.toFixed(2)})`,
    `FP4.67 reference      ${fmtBytes(t.fp467Bytes)} (${r.bounds.fp467Bits.toFixed(2)} bits per element) vs ECF8 ${fmtBytes(t.streamBytes)} (${t.elements ? ((8 * t.streamBytes) / t.elements).toFixed(2) : '0'} bits per element)`,
    `other tensors         ${Object.entries(r.others).map(([d, o]) => `${d} ${o.tensors} (${fmtBytes(o.bytes)})`).join(', ') || 'none'}`,
    `files                 ${fmtBytes(t.fileBytes)} on disk; original ${fmtBytes(t.originalFileBytes)}; with every FP8 tensor compressed ≈ ${fmtBytes(t.originalFileBytes - t.fp8Bytes + t.streamBytes)}`,
  );
  return rows.join('\n') + '\n';
}

async function cmdInspect(path: string, flags: Map<string, string | true>, io: Io): Promise<number> {
  const plot = stringFlag(flags, '--plot');
  const progress = progressFor(flags, io);
  let r: InspectReport;
  try {
    r = await inspectModel(path, { threadsPerBlock: intFlag(flags, ['--threads-per-block', '-t']), onProgress: progress.onProgress });
  } finally {
    progress.finish();
  }
  if (plot) {
    const svg = new TextEncoder().encode(renderInspectSvg(r));
    await withOutputPolicy({ force: flags.has('--force') || flags.has('-f'), inputs: [path] }, () => writeOutput(plot, (sink) => sink.write(svg, 0), { sequential: true }));
  }
  const report = plot && isStdout(plot) ? io.stderr : io.stdout; // `--plot -`: the SVG alone on stdout
  if (flags.has('--json')) report(JSON.stringify({ kind: 'safetensors', ...r, plot: plot ?? null }) + '\n');
  else report(inspectText(r) + (plot ? `plot                  ${plot}\n` : ''));
  return 0;
}

async function cmdImport(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  need(args, 2, 'IN (file, directory or index) OUT.safetensors');
  const progress = progressFor(flags, io);
  let r;
  try {
    r = await importOfficial(args[0], args[1], {
      officialThreadsPerBlock: intFlag(flags, ['--official-threads-per-block']),
      threadsPerBlock: intFlag(flags, ['--threads-per-block', '-t']),
      patternDict: stringFlag(flags, '--pattern-dict'),
      shapes: stringFlag(flags, '--shapes'),
      plain: flags.has('--plain'),
      onProgress: progress.onProgress,
    });
  } finally {
    progress.finish();
  }
  for (const w of r.warnings.slice(0, 20)) io.stderr(`ecf8: warning: ${w}\n`);
  if (r.warnings.length > 20) io.stderr(`ecf8: warning: ... ${r.warnings.length - 20} more\n`);
  if (flags.has('--json')) io.stdout(JSON.stringify({ operation: 'import-official', ...r }) + '\n');
  else {
    io.stdout(
      `${r.input} -> ${r.output}: ${r.modules} official modules${r.files.length > 1 ? ` from ${r.files.length} files` : ''} (threads_per_block ${r.threadsPerBlock}) -> ${r.tensors.length} F8_E4M3 tensors (bit-exact), ${r.copied} tensors copied` +
        (r.compressed ? `, written ECF8-compressed (${fmtBytes(r.compressed.compressedBytes)})` : ', written as plain FP8 safetensors') +
        '\n',
    );
  }
  return 0;
}

async function cmdExport(args: string[], flags: Map<string, string | true>, io: Io): Promise<number> {
  need(args, 2, 'IN.safetensors OUT.safetensors');
  const progress = progressFor(flags, io);
  let r;
  try {
    r = await exportOfficial(args[0], args[1], {
      threadsPerBlock: intFlag(flags, ['--threads-per-block', '-t']),
      check: !flags.has('--no-check'),
      diffsynth: flags.has('--diffsynth'),
      force: flags.has('--force'),
      onProgress: progress.onProgress,
    });
  } finally {
    progress.finish();
  }
  if (flags.has('--json')) io.stdout(JSON.stringify({ operation: 'export-official', ...r }) + '\n');
  else {
    io.stdout(
      `${r.input} -> ${r.output}: ${r.modules.length} tensors as official-layout modules (threads_per_block ${r.threadsPerBlock}, bytes_per_thread 8), ` +
        `${r.copied} tensors copied${flags.has('--no-check') ? '' : '; every module checked with the emulated official decoder'}; wrote ${r.sideFiles.join(', ')}\n`,
    );
  }
  return 0;
}
