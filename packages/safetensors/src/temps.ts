/**
 * Temporary outputs (docs/model-files.md, "Outputs"): their names, `.<name>.ecf8-<pid>-<8 hex>.<kind>` next to the
 * target (a long name is cut and hashed so the temporary name stays under 255 bytes); the set of those being written,
 * removed on errors and, through {@link installSignalCleanup}, on SIGINT, SIGTERM, SIGHUP and SIGQUIT; and the sweep
 * by which a later run removes those of a process that no longer exists, and settles an interrupted directory swap
 * (a `.old` tree goes back to its path when the path is missing, and is deleted when the new tree is in place).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temporary files and directories being written; removed on errors and signals. */
export const activeTemps = new Set<string>();

const TEMP_TAG = 'ecf8';
const TEMP_KIND = /^[a-z]{1,8}$/;
/** Longest target name kept whole in a temporary name (bytes); longer ones are cut and hashed. */
const MAX_STEM_BYTES = 150;

function truncateUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--; // do not cut a character in two
  return b.subarray(0, end).toString('utf8');
}

/** The part of a temporary name that identifies its target: the name itself, or a prefix and a hash when long. */
function tempStem(target: string): string {
  const name = basename(target);
  if (Buffer.byteLength(name, 'utf8') <= MAX_STEM_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${truncateUtf8(name, MAX_STEM_BYTES - 17)}~${hash}`;
}

/** `.<stem>.ecf8-<pid>-<8 hex>.<kind>` next to `target` (at most 1 + 150 + 6 + 10 + 1 + 8 + 1 + 8 = 185 bytes). */
export function tempPathFor(target: string, kind = 'tmp'): string {
  if (!TEMP_KIND.test(kind)) throw new Error(`internal: temporary kind ${JSON.stringify(kind)}`);
  return join(dirname(target), `.${tempStem(target)}.${TEMP_TAG}-${process.pid}-${randomBytes(4).toString('hex')}.${kind}`);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries of `target` left by processes that no longer exist, and settles an interrupted directory
 * swap: a `.old` tree goes back to `target` when `target` is missing, and is deleted when `target` is in place.
 */
export function sweepStaleTemps(target: string): string[] {
  const dir = dirname(target);
  const prefix = `.${tempStem(target)}.${TEMP_TAG}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{8}\.([a-z]{1,8})$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    const path = join(dir, name);
    try {
      if (m[2] === 'old') {
        if (pathExistsSync(target)) rmSync(path, { recursive: true, force: true });
        else renameSync(path, target);
      } else rmSync(path, { recursive: true, force: true });
      swept.push(path);
    } catch {
      /* left for a later run; the command goes on */
    }
  }
  return swept;
}

function pathExistsSync(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes every tracked temporary now (synchronous: safe in a signal handler). Never throws. */
export function removeActiveTempsSync(): void {
  for (const p of [...activeTemps]) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* nothing more can be done on the way out */
    }
    activeTemps.delete(p);
  }
}

/** Async form of {@link removeActiveTempsSync} (kept for callers of the earlier API). */
export async function removeActiveTemps(): Promise<void> {
  removeActiveTempsSync();
}

export async function removeQuietly(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    /* a cleanup failure must not hide the error being reported */
  }
  activeTemps.delete(path);
}

// ---------------------------------------------------------------------------------------------------------------
// Signals

/** Signals after which temporaries are removed before the process ends (by the same signal). */
export const CLEANUP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * Installs handlers that remove every temporary and then end the process by re-raising the signal with its default
 * action (so it ends even while a file-system call is blocked, e.g. opening a FIFO, and the shell sees the signal).
 * `notify` is told the signal first. Returns a function that removes the handlers.
 */
export function installSignalCleanup(notify?: (signal: NodeJS.Signals) => void): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const uninstall = () => {
    for (const [signal, h] of handlers) process.off(signal, h);
    handlers.clear();
  };
  for (const signal of CLEANUP_SIGNALS) {
    const h = () => {
      removeActiveTempsSync();
      try {
        notify?.(signal);
      } catch {
        /* the process ends regardless */
      }
      uninstall();
      process.kill(process.pid, signal);
    };
    handlers.set(signal, h);
    process.on(signal, h);
  }
  return uninstall;
}

/**
 * Test hook: when the environment variable ECF8_TEST_PAUSE_AT names `step`, writes the step to the file named by
 * ECF8_TEST_PAUSE_FILE and waits forever (until a signal), so tests can interrupt at a known point. With
 * ECF8_TEST_PAUSE_MARK_ONLY set it only writes the marker and goes on (to interrupt the call that follows).
 */
export async function testPause(step: string): Promise<void> {
  if (process.env.ECF8_TEST_PAUSE_AT !== step) return;
  const marker = process.env.ECF8_TEST_PAUSE_FILE;
  if (marker) writeFileSync(marker, step);
  if (process.env.ECF8_TEST_PAUSE_MARK_ONLY) return;
  await new Promise<never>(() => {
    setInterval(() => {}, 1 << 30);
  });
}
