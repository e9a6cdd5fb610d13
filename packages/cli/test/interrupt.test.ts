/**
 * Issue #13 regression tests that need a real process: the `ecf8` executable (from its TypeScript source through
 * tsx) is spawned, stopped at a named step by the test hook (ECF8_TEST_PAUSE_AT, see @ecf8/safetensors output.ts),
 * and sent a signal once the hook's marker file appears. Assertions are about files and exit status, never time;
 * the marker is polled with a generous timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CLI = join(ROOT, 'packages/cli/src/cli.ts');
const MODEL = join(ROOT, 'packages/cli/samples/model.safetensors');
const FP8 = join(ROOT, 'packages/cli/samples/default.fp8');
const PROTO_INDEX = join(ROOT, 'packages/safetensors/test/abuse/prototype-index');
// tsx by absolute URL and the root tsconfig (its paths map @ecf8/* to the sources), so the child can run anywhere.
const NODE_ARGS = ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, CLI];
const CHILD_ENV = { TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-interrupt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const temps = (d: string) => readdirSync(d).filter((f) => /\.ecf8-\d+-[0-9a-f]{8}\.[a-z]+$/.test(f));
let n = 0;
const fresh = (name: string) => {
  const d = join(dir, String(n++));
  mkdirSync(d);
  return join(d, name);
};

/** Runs the CLI to completion (tsx loads the TypeScript sources, resolved by the root tsconfig paths). */
function runCli(args: string[], options: { input?: Uint8Array; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: dir, input: options.input, env: { ...process.env, ...CHILD_ENV, ...options.env }, timeout: 120_000, maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout as Buffer, stderr: String(r.stderr) };
}

function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: dir, env: { ...process.env, ...CHILD_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
  return { child, exit };
}

/** Polls for the hook's marker file (generous timeout: the machine may be busy); fails if the process ends first. */
async function waitForMarker(marker: string, exit: Promise<{ code: number | null; stderr: string }>): Promise<void> {
  let ended: { code: number | null; stderr: string } | null = null;
  void exit.then((e) => (ended = e));
  for (let i = 0; i < 3000; i++) {
    if (existsSync(marker)) return;
    if (ended) throw new Error(`the process ended before the marker: ${JSON.stringify(ended)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('marker never appeared');
}

/** Starts the CLI paused at `step`; returns once it is there. */
async function pausedAt(step: string, args: string[], extraEnv: Record<string, string> = {}) {
  const marker = fresh('marker');
  const run = startCli(args, { ECF8_TEST_PAUSE_AT: step, ECF8_TEST_PAUSE_FILE: marker, ...extraEnv });
  await waitForMarker(marker, run.exit);
  return run;
}

describe('#13 point 10: every catchable signal removes the temporaries of every command', () => {
  const cases: [string, NodeJS.Signals, (out: string) => string[]][] = [
    ['compress', 'SIGINT', (out) => ['compress', MODEL, out]],
    ['compress', 'SIGTERM', (out) => ['compress', MODEL, out]],
    ['compress', 'SIGHUP', (out) => ['compress', MODEL, out]],
    ['compress', 'SIGQUIT', (out) => ['compress', MODEL, out]],
    ['encode', 'SIGHUP', (out) => ['encode', FP8, out]],
    ['encode', 'SIGINT', (out) => ['encode', FP8, out]],
    ['decompress', 'SIGQUIT', (out) => ['decompress', COMPRESSED, out]],
    ['decode', 'SIGTERM', (out) => ['decode', STREAM, out]],
  ];
  let COMPRESSED = '';
  let STREAM = '';
  beforeAll(() => {
    COMPRESSED = fresh('model.ecf8.safetensors');
    STREAM = fresh('default.ecf8');
    expect(runCli(['compress', MODEL, COMPRESSED]).status).toBe(0);
    expect(runCli(['encode', FP8, STREAM]).status).toBe(0);
  });
  for (const [command, signal, argv] of cases) {
    it(`point 10: ${command} stopped by ${signal} with its output written to a temporary: no temporary, no output`, async () => {
      const out = fresh('out.bin');
      const outDir = join(out, '..');
      const run = await pausedAt('file-written', argv(out));
      expect(temps(outDir)).toHaveLength(1); // the complete temporary, not yet renamed
      run.child.kill(signal);
      const e = await run.exit;
      expect(e.signal).toBe(signal); // ended by the signal itself, after cleaning up
      expect(e.stderr).toMatch(new RegExp(`interrupted \\(${signal}\\)`));
      expect(temps(outDir)).toEqual([]);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('point 10: a temporary left by a killed process (SIGKILL) has a predictable name and the next run sweeps it', async () => {
    const out = fresh('out.safetensors');
    const outDir = join(out, '..');
    const run = await pausedAt('file-written', ['compress', MODEL, out]);
    run.child.kill('SIGKILL');
    await run.exit;
    const left = temps(outDir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^\\.out\\.safetensors\\.ecf8-${run.child.pid}-[0-9a-f]{8}\\.tmp$`));
    expect(runCli(['compress', MODEL, out]).status).toBe(0);
    expect(temps(outDir)).toEqual([]);
  });
});

describe('#13 point 2: interrupting a forced directory replacement never loses the original', () => {
  function setup() {
    const m = fresh('M');
    mkdirSync(m);
    writeFileSync(join(m, 'original.txt'), 'the original');
    return m;
  }
  it('point 2: SIGTERM after the new tree is built, before the swap: the original is untouched, nothing left', async () => {
    const m = setup();
    const run = await pausedAt('dir-built', ['compress', PROTO_INDEX, m, '--force']);
    run.child.kill('SIGTERM');
    expect((await run.exit).signal).toBe('SIGTERM');
    expect(readdirSync(m)).toEqual(['original.txt']);
    expect(temps(join(m, '..'))).toEqual([]);
  });

  it('point 2: SIGTERM right after the swap: the new tree is in place; the replaced original is removed by the next run', async () => {
    const m = setup();
    const run = await pausedAt('dir-swapped', ['compress', PROTO_INDEX, m, '--force']);
    run.child.kill('SIGTERM');
    expect((await run.exit).signal).toBe('SIGTERM');
    expect(readdirSync(m).sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect(temps(join(m, '..'))).toHaveLength(1); // the replaced original, as .old: never deleted by a signal handler
    expect(runCli(['verify', m]).status).toBe(0);
    expect(runCli(['compress', PROTO_INDEX, m, '--force']).status).toBe(0);
    expect(temps(join(m, '..'))).toEqual([]);
  });

  it('point 2: SIGKILL once the new tree is built: the original stays, the next run sweeps the partial tree', async () => {
    const m = setup();
    const run = await pausedAt('dir-built', ['compress', PROTO_INDEX, m, '--force']);
    run.child.kill('SIGKILL');
    await run.exit;
    expect(readdirSync(m)).toEqual(['original.txt']);
    expect(temps(join(m, '..'))).toHaveLength(1);
    const r = runCli(['compress', PROTO_INDEX, m]);
    expect(r.stderr).toMatch(/^ecf8: ECF8_OUTPUT_EXISTS: /);
    expect(readdirSync(m)).toEqual(['original.txt']);
    expect(temps(join(m, '..'))).toEqual([]);
  });
});

describe('#13 points 5 and 9: standard output, pipes and FIFOs', () => {
  it('point 5: "-" streams to standard output (encode, decode, compress, decompress), the summary goes to stderr', () => {
    const enc = runCli(['encode', FP8, '-']);
    expect(enc.status).toBe(0);
    const streamFile = fresh('s.ecf8');
    expect(runCli(['encode', FP8, streamFile]).status).toBe(0);
    expect(sha256(enc.stdout)).toBe(sha(streamFile));
    expect(enc.stderr).toMatch(/-> -: /);
    const dec = runCli(['decode', streamFile, '-']);
    expect(sha256(dec.stdout)).toBe(sha(FP8));
    const comp = runCli(['compress', MODEL, '-']);
    expect(comp.status).toBe(0);
    const compFile = fresh('m.ecf8.safetensors');
    expect(runCli(['compress', MODEL, compFile]).status).toBe(0);
    expect(sha256(comp.stdout)).toBe(sha(compFile)); // the same bytes as the file written with a temporary
    const decomp = runCli(['decompress', compFile, '/dev/stdout']);
    expect(decomp.status).toBe(0);
    expect(sha256(decomp.stdout)).toBe(sha(MODEL));
    expect(temps(dir)).toEqual([]);
  });

  it('point 5: a reader that goes away (EPIPE) is ECF8_IO_ERROR on one line, not a crash', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, 'decompress', await compressedSample(), '-'], { cwd: dir, env: { ...process.env, ...CHILD_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // The restored file (1.2 MB) is far larger than a pipe's buffer: close our end after the first bytes.
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^ecf8: ECF8_IO_ERROR: .*standard output.*EPIPE\n$/);
  });

  it('point 5: an existing FIFO output is written through, never replaced by a regular file', async () => {
    const fifo = fresh('out.fifo');
    spawnSync('mkfifo', [fifo]);
    const got = fresh('got.bin');
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${got}"`]);
    const readerDone = new Promise((r) => reader.on('exit', r));
    const r = runCli(['decode', await encodedSample(), fifo]);
    await readerDone;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(sha(got)).toBe(sha(FP8));
  });

  it('point 9: a FIFO input is refused at once by every command (no open() that blocks)', () => {
    const fifo = fresh('in.fifo');
    spawnSync('mkfifo', [fifo]);
    for (const args of [['compress', fifo, fresh('o')], ['verify', fifo], ['encode', fifo, fresh('o')], ['decode', fifo, fresh('o')], ['inspect', fifo], ['decompress', fifo, fresh('o')]]) {
      const r = runCli(args);
      expect(r.signal, args.join(' ')).toBe(null); // not killed by the spawn timeout
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^ecf8: ECF8_INVALID_ARGUMENT: .*FIFO/);
    }
  });

  it('point 9: a command blocked opening a FIFO output (no reader) still ends on SIGTERM, leaving nothing', async () => {
    const fifo = fresh('noreader.fifo');
    spawnSync('mkfifo', [fifo]);
    const run = await pausedAt('device-open', ['decode', await encodedSample(), fifo], { ECF8_TEST_PAUSE_MARK_ONLY: '1' });
    run.child.kill('SIGTERM');
    const e = await run.exit;
    expect(e.signal).toBe('SIGTERM');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let compressed: string | null = null;
async function compressedSample(): Promise<string> {
  if (!compressed) {
    compressed = fresh('sample.ecf8.safetensors');
    expect(runCli(['compress', MODEL, compressed]).status).toBe(0);
  }
  return compressed;
}
let encoded: string | null = null;
async function encodedSample(): Promise<string> {
  if (!encoded) {
    encoded = fresh('sample.ecf8');
    expect(runCli(['encode', FP8, encoded]).status).toBe(0);
  }
  return encoded;
}
