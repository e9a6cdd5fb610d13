/** The `ecf8` commands. `main` never throws: it returns the exit code and writes to the given streams. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  analyze,
  decode,
  encode,
  Ecf8Error,
  ErrorCode,
  inspect,
  inspectHeader,
  isEcf8Error,
  listBackends,
  MAGIC,
  resolveBackend,
  type DecodeOptions,
} from '@ecf8/core';
// The fast pure-TypeScript codec (streams and decoded bytes identical to the reference's; registers `cpu-fast`).
import { encodeFast } from '@ecf8/fast';
import { backendLoadErrors, loadOptionalBackends } from './backends.js';
import { asEcf8Error, isStdout, readWholeFileSync, withOutputPolicy } from '@ecf8/safetensors';
import { writeWholeOutput } from './io.js';
import { commandHelp } from './help.js';
import { inspectModelFile, modelCommands, MODEL_USAGE, MODEL_VALUE_FLAGS } from './model-commands.js';

/** Default decoders of `decode` and `verify` (raw streams), fastest first: same bytes and error codes on each. */
const FASTEST_CPU_BACKENDS = ['cpu-wasm', 'cpu-fast', 'reference'];

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const USAGE = `usage: ecf8 <command> [options]

commands:
  encode IN.fp8 OUT.ecf8 [--threads-per-block T]   compress raw FP8 E4M3 bytes into an ECF8 stream
  decode IN.ecf8 OUT.fp8 [--backend NAME] [--max-output-bytes N] [--no-verify]
                                                    decompress a stream (bit-exact)
  inspect FILE [--json]                             describe a stream (header, code, tables, entropy)
                                                    or analyse raw FP8 bytes
  backends                                          list decoding backends and whether they can run here
  demo [FILE]                                       compress, verify and restore the bundled FP8 checkpoint
                                                    (or FILE.safetensors; FILE.fp8: one raw stream) and report
options:
  --json        machine-readable output     --quiet   print nothing on success
  -h, --help    this text                   --version print the version
  -f, --force   replace an existing output (never an input); OUT '-' writes to standard output
  ecf8 <command> --help (or ecf8 help <command>): that command's options and an example
${MODEL_USAGE}`;

/** Default input of `ecf8 demo`: FP8 weights bundled with the package. */
export function bundledSamplePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', 'samples', 'default.fp8');
}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags that take a value (`--flag VALUE`); model commands add theirs. `--flag=VALUE` always works. */
export const VALUE_FLAGS = new Set(['--threads-per-block', '-t', '--backend', '--max-output-bytes', ...MODEL_VALUE_FLAGS]);

function parseArgs(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
      else if (VALUE_FLAGS.has(a)) {
        if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
        flags.set(a, argv[++i]);
      } else flags.set(a, true);
    } else positional.push(a);
  }
  return { positional, flags };
}

/** A command-line usage mistake: reported with the usage text and exit status 2. */
export class UsageError extends Error {}

/** Reads a whole input file; a FIFO or device is refused at once (never waited on). */
function readInput(path: string): Uint8Array {
  return readWholeFileSync(path);
}

/** `--force` / `-f`: replace an existing output. */
export function forced(flags: Map<string, string | true>): boolean {
  return flags.has('--force') || flags.has('-f');
}

/** Where a command's summary goes: stderr when its output is standard output (so the data stays clean). */
function summaryTo(outPath: string, out: (s: string) => void, io: Io, quiet: boolean): (s: string) => void {
  if (!isStdout(outPath)) return out;
  return quiet ? () => {} : io.stderr;
}

function intFlag(p: Parsed, names: string[], fallback?: number): number | undefined {
  for (const n of names) {
    const v = p.flags.get(n);
    if (v === undefined) continue;
    if (v === true || !/^\d+$/.test(v)) throw new UsageError(`${n} needs a non-negative integer`);
    return Number(v);
  }
  return fallback;
}

const mb = (bytes: number, ms: number) => (ms > 0 ? (bytes / 1e6 / (ms / 1e3)).toFixed(1) : '-');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export async function main(argv: string[], io: Io): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(argv);
  } catch (e) {
    io.stderr(`ecf8: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ...args] = p.positional;
  if (p.flags.has('--version')) {
    io.stdout('ecf8 0.1.0 (ECF8 stream format version 1)\n');
    return 0;
  }
  const helpAsked = p.flags.has('-h') || p.flags.has('--help');
  const helpFor = command === 'help' ? args[0] : helpAsked ? command : undefined;
  if (helpFor !== undefined) {
    const text = commandHelp(helpFor);
    if (text === undefined) {
      io.stderr(`ecf8: unknown command '${helpFor}'\n${USAGE}\n`);
      return 2;
    }
    io.stdout(text + '\n');
    return 0;
  }
  if (!command || helpAsked || command === 'help') {
    io.stdout(USAGE + '\n');
    return command || helpAsked ? 0 : 2;
  }
  const json = p.flags.has('--json');
  const quiet = p.flags.has('--quiet');
  const out = (text: string) => {
    if (!quiet) io.stdout(text);
  };
  try {
    switch (command) {
      case 'encode':
        return await withOutputPolicy({ force: forced(p.flags), inputs: args.slice(0, 1) }, () => cmdEncode(args, p, json, summaryTo(args[1] ?? '', out, io, quiet)));
      case 'decode':
        return await withOutputPolicy({ force: forced(p.flags), inputs: args.slice(0, 1) }, () => cmdDecode(args, p, json, summaryTo(args[1] ?? '', out, io, quiet)));
      case 'inspect': {
        // A raw ECF8 stream is recognised by its magic, whatever its name; then model files; else raw FP8 bytes.
        const stream = args.length === 1 && fileKind(args[0]) === 'ecf8-stream';
        const handled = args.length === 1 && !stream && inspectModelFile ? await inspectModelFile(args[0], p.flags, quietIo(io, quiet)) : undefined;
        return handled ?? cmdInspect(args, json, out);
      }
      case 'verify':
        if (args.length === 1 && fileKind(args[0]) === 'ecf8-stream') return await cmdVerifyStream(args[0], p, json, out);
        return await modelCommands.verify(args, p.flags, quietIo(io, quiet));
      case 'backends':
        return await cmdBackends(json, out);
      case 'demo':
        return await cmdDemo(args, json, out, io);
      default:
        if (Object.hasOwn(modelCommands, command)) return await modelCommands[command](args, p.flags, quietIo(io, quiet));
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`ecf8: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (isEcf8Error(e)) {
      io.stderr(`ecf8: ${e.message}\n`);
      return 1;
    }
    // A plain JavaScript or system error: a stable code, and the command and files it concerns.
    const coded = asEcf8Error(e, [command, ...args].join(' '));
    if (isEcf8Error(coded)) {
      io.stderr(`ecf8: ${coded.message}\n`);
      return 1;
    }
    io.stderr(`ecf8: ${ErrorCode.IO_ERROR}: ${[command, ...args].join(' ')}: ${(e as Error).message}\n`);
    return 1;
  }
}

function quietIo(io: Io, quiet: boolean): Io {
  return quiet ? { stdout: () => {}, stderr: io.stderr } : io;
}

function needArgs(args: string[], n: number, what: string): void {
  if (args.length !== n) throw new UsageError(`expected ${what}`);
}

async function cmdEncode(args: string[], p: Parsed, json: boolean, out: (s: string) => void): Promise<number> {
  needArgs(args, 2, 'IN.fp8 OUT.ecf8');
  const [inPath, outPath] = args;
  const T = intFlag(p, ['--threads-per-block', '-t']);
  const fp8 = readInput(inPath);
  const t0 = performance.now();
  const stream = encodeFast(fp8, { threadsPerBlock: T });
  const ms = performance.now() - t0;
  await writeWholeOutput(outPath, stream);
  const summary = { input: inPath, output: outPath, elements: fp8.length, inputBytes: fp8.length, outputBytes: stream.length, ratio: fp8.length ? stream.length / fp8.length : 0, encodeMBps: Number(mb(fp8.length, ms)) || 0 };
  out(json ? JSON.stringify(summary) + '\n' : `${inPath}: ${fp8.length} bytes -> ${outPath}: ${stream.length} bytes (${pct(summary.ratio)}), ${mb(fp8.length, ms)} MB/s\n`);
  return 0;
}

async function cmdDecode(args: string[], p: Parsed, json: boolean, out: (s: string) => void): Promise<number> {
  needArgs(args, 2, 'IN.ecf8 OUT.fp8');
  const [inPath, outPath] = args;
  const kind = fileKind(inPath);
  if (kind === 'safetensors' || kind === 'directory') {
    throw new Ecf8Error(
      ErrorCode.INVALID_ARGUMENT,
      `${inPath} is a ${kind === 'directory' ? 'directory (a sharded checkpoint?)' : 'safetensors file'}, not a raw ECF8 stream; use \`ecf8 decompress ${inPath} OUT\` for model files`,
    );
  }
  const options: DecodeOptions = { maxOutputBytes: intFlag(p, ['--max-output-bytes']), verifyChecksums: !p.flags.has('--no-verify') };
  const name = p.flags.get('--backend');
  if (name === true) throw new UsageError('--backend needs a name');
  await loadOptionalBackends();
  // Default: the fastest single-thread CPU decoder available (same bytes, same error codes as the reference).
  const backend = await resolveBackend(name || FASTEST_CPU_BACKENDS);
  const stream = readInput(inPath);
  const t0 = performance.now();
  const fp8 = await backend.decode(stream, options);
  const ms = performance.now() - t0;
  await writeWholeOutput(outPath, fp8);
  const summary = { input: inPath, output: outPath, backend: backend.name, inputBytes: stream.length, elements: fp8.length, decodeMBps: Number(mb(fp8.length, ms)) || 0 };
  out(json ? JSON.stringify(summary) + '\n' : `${inPath}: ${stream.length} bytes -> ${outPath}: ${fp8.length} bytes (backend ${backend.name}, ${mb(fp8.length, ms)} MB/s)\n`);
  return 0;
}

/** What a path holds, from its first bytes (never its name): a raw ECF8 stream, a safetensors file, or other. */
export type FileKind = 'ecf8-stream' | 'safetensors' | 'directory' | 'other' | 'missing';

/**
 * Tells a raw ECF8 stream (magic "ECF8", spec §3) from a safetensors file (an 8-byte little-endian header length
 * that fits the file, then a JSON object) without reading more than the first 9 bytes.
 */
export function fileKind(path: string): FileKind {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'directory';
    // Only a regular file is opened here: opening a FIFO would block until a writer comes (the commands then refuse
    // what is not a regular file, with ECF8_INVALID_ARGUMENT, through the shared input helper).
    if (!st.isFile()) return 'other';
    size = st.size;
  } catch {
    return 'missing';
  }
  const head = new Uint8Array(9);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, 9, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'other';
  }
  if (isStream(head.subarray(0, n))) return 'ecf8-stream';
  if (n === 9 && head[8] === 0x7b) {
    const headerLength = new DataView(head.buffer).getBigUint64(0, true);
    if (headerLength >= 2n && headerLength + 8n <= BigInt(size)) return 'safetensors';
  }
  return 'other';
}

/** `ecf8 verify STREAM.ecf8` on a raw stream: phases A-C of spec §11.2 (structure and both CRC-32C), nothing written. */
async function cmdVerifyStream(path: string, p: Parsed, json: boolean, out: (s: string) => void): Promise<number> {
  const name = p.flags.get('--backend');
  if (name === true) throw new UsageError('--backend needs a name');
  await loadOptionalBackends();
  const backend = await resolveBackend(name || FASTEST_CPU_BACKENDS);
  const stream = readInput(path);
  const fp8 = await backend.decode(stream, { verifyChecksums: true });
  const { header } = inspectHeader(stream);
  if (json) out(JSON.stringify({ kind: 'ecf8-stream', file: path, valid: true, elements: fp8.length, streamBytes: stream.length, threadsPerBlock: header.threadsPerBlock, backend: backend.name }) + '\n');
  else out(`${path}: raw ECF8 stream: OK — ${fp8.length} elements, structure and both CRC-32C checksums valid (${stream.length} bytes, T = ${header.threadsPerBlock}, backend ${backend.name})\n`);
  return 0;
}

function isStream(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

function cmdInspect(args: string[], json: boolean, out: (s: string) => void): number {
  needArgs(args, 1, 'FILE');
  const bytes = readInput(args[0]);
  if (!isStream(bytes)) {
    // Raw FP8 bytes: what ECF8 would make of them.
    const a = analyze(bytes);
    if (json) {
      out(JSON.stringify({ kind: 'fp8', file: args[0], ...a, codeLengths: Array.from(a.codeLengths) }) + '\n');
      return 0;
    }
    out(
      [
        `${args[0]}: raw FP8 E4M3, ${a.elementCount} elements`,
        `exponent entropy      ${a.entropy.toFixed(4)} bits/element`,
        `Huffman mean length   ${a.meanCodeLength.toFixed(4)} bits/element`,
        `predicted ECF8 size   ${a.predictedStreamBytes} bytes (${pct(a.ratioToInput)} of input)`,
        `Shannon bound         ${a.shannonBoundBytes.toFixed(0)} bytes ((4 + H) / 8 per element); ECF8 = ${pct(a.ratioToBound)} of it`,
        histogramLines(a.histogram),
      ].join('\n') + '\n',
    );
    return 0;
  }
  let info;
  try {
    info = inspect(bytes);
  } catch (e) {
    // Show what the header says even when the stream is unusable (e.g. truncated), then report the error.
    if (isEcf8Error(e) && e.code !== ErrorCode.BAD_MAGIC) {
      try {
        const { header } = inspectHeader(bytes);
        out(`${args[0]}: header only: ${header.elementCount} elements, T = ${header.threadsPerBlock}, ${header.exponentBitCount} exponent bits\n`);
      } catch {
        /* the header itself is invalid; the error below says why */
      }
    }
    throw e;
  }
  const h = info.header;
  const l = info.layout;
  if (json) {
    out(
      JSON.stringify({
        kind: 'ecf8',
        file: args[0],
        version: h.version,
        elementFormat: h.elementFormat,
        elements: l.elementCount,
        threadsPerBlock: h.threadsPerBlock,
        bytesPerThread: h.bytesPerThread,
        exponentBits: l.exponentBitCount,
        blocks: l.nBlocks,
        threads: l.nThreads,
        streamBytes: l.streamSize,
        sections: { positions: l.positionsSize, gaps: l.gapsSize, exponents: l.exponentsSize, nibbles: l.nibblesSize },
        codeLengths: Array.from(h.codeLengths),
        codes: info.codes,
        decodeTables: info.tables.nLuts,
        contentCrc32c: h.contentCrc32c,
        metadataCrc32c: h.metadataCrc32c,
        histogram: info.histogram,
        entropy: info.entropy,
        meanCodeLength: info.meanCodeLength,
        shannonBoundBytes: info.shannonBoundBytes,
        ratioToInput: info.ratioToInput,
        ratioToBound: info.ratioToBound,
      }) + '\n',
    );
    return 0;
  }
  const hex = (v: number) => '0x' + v.toString(16).padStart(8, '0');
  out(
    [
      `${args[0]}: raw ECF8 stream, version ${h.version}, format ${h.elementFormat} (FP8 E4M3FN), valid`,
      `elements              ${l.elementCount}`,
      `threads per block     ${h.threadsPerBlock} (B = ${h.bytesPerThread} bytes per thread), ${l.nBlocks} blocks, ${l.nThreads} threads`,
      `sections              header 88 + positions ${l.positionsSize} + gaps ${l.gapsSize} + exponents ${l.exponentsSize} + nibbles ${l.nibblesSize} = ${l.streamSize} bytes`,
      `exponent bits         ${l.exponentBitCount} (${info.meanCodeLength.toFixed(4)} bits/element)`,
      `exponent entropy      ${info.entropy.toFixed(4)} bits/element`,
      `size                  ${pct(info.ratioToInput)} of FP8; ${pct(info.ratioToBound)} of the Shannon bound (${info.shannonBoundBytes.toFixed(0)} bytes)`,
      `checksums             content ${hex(h.contentCrc32c)}, metadata ${hex(h.metadataCrc32c)} (CRC-32C, verified)`,
      `decode tables         ${info.tables.nLuts} x 256 bytes (${info.tables.prefixes.length} subtables)`,
      `codes                 ${info.codes.map((c) => `${c.symbol}:${c.code}`).join('  ')}`,
      histogramLines(info.histogram),
    ].join('\n') + '\n',
  );
  return 0;
}

function histogramLines(histogram: number[]): string {
  const total = histogram.reduce((a, b) => a + b, 0) || 1;
  const rows = ['exponent histogram'];
  histogram.forEach((c, x) => {
    if (c > 0) rows.push(`  e=${String(x).padStart(2)}  ${pct(c / total).padStart(7)}  ${'#'.repeat(Math.max(1, Math.round((40 * c) / total)))}`);
  });
  return rows.join('\n');
}

async function cmdBackends(json: boolean, out: (s: string) => void): Promise<number> {
  await loadOptionalBackends();
  const rows = [];
  for (const { name, priority, backend } of listBackends()) rows.push({ name, priority, ...(await backend.isAvailable()) });
  const missing = [...backendLoadErrors.entries()].map(([pkg, reason]) => ({ package: pkg, reason }));
  if (json) out(JSON.stringify({ backends: rows, notInstalled: missing }) + '\n');
  else {
    for (const r of rows) out(`${r.name.padEnd(22)} priority ${String(r.priority).padStart(3)}  ${r.available ? 'available' : `unavailable: ${(r as { reason: string }).reason}`}\n`);
    for (const m of missing) out(`${m.package.padEnd(22)} not installed: ${m.reason}\n`);
  }
  return 0;
}

/** Default input of `ecf8 demo`: a small FP8 checkpoint (real FP8 weights, BF16/F32 tensors) bundled with the package. */
export function bundledModelPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'samples', 'model.safetensors');
}

/**
 * `ecf8 demo [FILE]`: the main job on a bundled input. With a `.safetensors` file (default: the bundled checkpoint)
 * it compresses the checkpoint, verifies it, restores it and compares sha256; with raw FP8 bytes it encodes and
 * decodes one stream. Either way it prints the sizes, the ratio to the Shannon bound and whether the bytes match.
 */
async function cmdDemo(args: string[], json: boolean, out: (s: string) => void, io: Io): Promise<number> {
  const path = args[0] ?? bundledModelPath();
  if (!path.endsWith('.safetensors')) return cmdDemoStream(path, json, out, io);
  const st = await import('@ecf8/safetensors');
  const { mkdtempSync, rmSync, readFileSync: read } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { createHash } = await import('node:crypto');
  const dir = mkdtempSync(join(tmpdir(), 'ecf8-demo-'));
  try {
    const compressedPath = join(dir, 'model.ecf8.safetensors');
    const restoredPath = join(dir, 'model.restored.safetensors');
    const c = await st.compressModel(path, compressedPath, {});
    await st.verifyModel(compressedPath, {});
    const d = await st.decompressModel(compressedPath, restoredPath, {});
    const sha = (f: string) => createHash('sha256').update(read(f)).digest('hex');
    const equal = sha(path) === sha(restoredPath);
    // Per-tensor Shannon bound (4 + H) / 8 * n over the FP8 tensors, from the original file.
    const file = new Uint8Array(read(path));
    const parsed = st.parseSafetensors(file);
    let bound = 0;
    let entropySum = 0;
    let fp8Elements = 0;
    for (const t of parsed.tensors) {
      if (t.dtype !== st.FP8_DTYPE) continue;
      const a = analyze(file.subarray(parsed.dataOffset + t.begin, parsed.dataOffset + t.end));
      bound += a.shannonBoundBytes;
      entropySum += a.entropy * a.elementCount;
      fp8Elements += a.elementCount;
    }
    const f = c.files[0];
    const result = {
      input: path,
      tensors: f.tensors.length,
      fp8Tensors: f.fp8Tensors,
      fp8Elements,
      checkpointBytes: f.originalBytes,
      compressedBytes: f.compressedBytes,
      fp8Bytes: f.fp8Bytes,
      streamBytes: f.streamBytes,
      exponentEntropy: fp8Elements ? entropySum / fp8Elements : 0,
      shannonBoundBytes: bound,
      streamsToBound: bound ? f.streamBytes / bound : 0,
      compressMBps: f.seconds > 0 ? f.originalBytes / 1e6 / f.seconds : 0,
      decompressMBps: d.files[0].seconds > 0 ? d.files[0].originalBytes / 1e6 / d.files[0].seconds : 0,
      byteEqual: equal,
    };
    if (json) out(JSON.stringify(result) + '\n');
    else
      out(
        [
          `ECF8 demo: compress the bundled FP8 checkpoint ${path}`,
          `  checkpoint         ${result.checkpointBytes} bytes, ${result.tensors} tensors (${result.fp8Tensors} F8_E4M3 with ${fp8Elements} elements; the others are copied)`,
          `  FP8 weights        ${result.fp8Bytes} bytes -> ${result.streamBytes} bytes of ECF8 streams = ${pct(result.streamBytes / (result.fp8Bytes || 1))} (exponent entropy ${result.exponentEntropy.toFixed(3)} of 4 bits)`,
          `  Shannon bound      ${result.shannonBoundBytes.toFixed(0)} bytes ((4 + H) / 8 per element, per tensor); the streams are ${pct(result.streamsToBound)} of it`,
          `  compressed file    ${result.compressedBytes} bytes = ${pct(result.compressedBytes / result.checkpointBytes)} of the checkpoint (a valid safetensors file)`,
          `  verify             every stream's structure and both CRC-32C checksums: ok`,
          `  decompressed file  ${equal ? 'sha256 identical to the original checkpoint (byte for byte)' : 'DIFFERS from the original'}`,
          `  speed              compress ${result.compressMBps.toFixed(1)} MB/s, decompress ${result.decompressMBps.toFixed(1)} MB/s`,
        ].join('\n') + '\n',
      );
    if (!equal) io.stderr('ecf8: demo round trip was not byte-identical\n');
    return equal ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cmdDemoStream(path: string, json: boolean, out: (s: string) => void, io: Io): Promise<number> {
  const fp8 = readInput(path);
  const a = analyze(fp8);
  const t0 = performance.now();
  const stream = encode(fp8);
  const t1 = performance.now();
  const back = decode(stream);
  const t2 = performance.now();
  let equal = back.length === fp8.length;
  for (let i = 0; equal && i < fp8.length; i++) equal = back[i] === fp8[i];
  const result = {
    input: path,
    elements: fp8.length,
    fp8Bytes: fp8.length,
    ecf8Bytes: stream.length,
    ratio: fp8.length ? stream.length / fp8.length : 0,
    saved: fp8.length ? 1 - stream.length / fp8.length : 0,
    exponentEntropy: a.entropy,
    shannonBoundBytes: a.shannonBoundBytes,
    ratioToBound: a.shannonBoundBytes ? stream.length / a.shannonBoundBytes : 0,
    encodeMBps: Number(mb(fp8.length, t1 - t0)) || 0,
    decodeMBps: Number(mb(fp8.length, t2 - t1)) || 0,
    byteEqual: equal,
  };
  if (json) out(JSON.stringify(result) + '\n');
  else
    out(
      [
        `ECF8 demo on ${path}`,
        `  FP8 E4M3 input     ${result.fp8Bytes} bytes (${result.elements} elements)`,
        `  exponent entropy   ${result.exponentEntropy.toFixed(3)} of 4 stored bits`,
        `  ECF8 stream        ${result.ecf8Bytes} bytes = ${pct(result.ratio)} of FP8 (${pct(result.saved)} smaller)`,
        `  Shannon bound      ${result.shannonBoundBytes.toFixed(0)} bytes; stream = ${pct(result.ratioToBound)} of the bound`,
        `  reference encoder  ${result.encodeMBps} MB/s, reference decoder ${result.decodeMBps} MB/s`,
        `  decoded bytes      ${equal ? 'identical to the input (byte for byte)' : 'DIFFER from the input'}`,
      ].join('\n') + '\n',
    );
  if (!equal) io.stderr('ecf8: demo round trip was not byte-identical\n');
  return equal ? 0 : 1;
}


