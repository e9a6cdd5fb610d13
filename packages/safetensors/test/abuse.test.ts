/**
 * Issue #13 regression tests at the library level, on the abuse files of ./abuse (see make-abuse.ts) and on
 * directories built here. Each test names the issue point it covers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '@ecf8/core';
import {
  asEcf8Error,
  compressFile,
  compressModel,
  decompressFile,
  decompressModel,
  inspectModel,
  lengthPrefix,
  MAX_SIDECAR_BYTES,
  ModelErrorCode,
  parseSafetensors,
  readCompressedLayout,
  tempPathFor,
  verifyFile,
  verifyModel,
  writeDirectoryOutput,
} from '../src/index.js';
import { realisticModel } from './fixtures.js';

const ABUSE = fileURLToPath(new URL('./abuse/', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecf8-abuse-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
  return 'no error';
}
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);
/** Every file under `root`, relative, sorted, with its SHA-256. */
function treeHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = rel ? join(rel, e.name) : e.name;
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else out[p] = `${lstatSync(join(root, p)).isSymbolicLink() ? 'link' : 'file'}:${sha(join(root, p))}`;
    }
  };
  walk('');
  return out;
}
const leftovers = (d: string) => readdirSync(d).filter((f) => /\.ecf8-\d+-[0-9a-f]{8}\.[a-z]+$/.test(f));

describe('#13 point 1: prototype keys are ordinary names', () => {
  it('point 1: tensors and metadata keys named __proto__, constructor, toString, ... round-trip byte for byte', async () => {
    const input = join(ABUSE, 'prototype-names.safetensors');
    const c = fresh('proto.ecf8.safetensors');
    const r = await compressFile(input, c);
    expect(r.fp8Tensors).toBe(5);
    const layout = readCompressedLayout(parseSafetensors(new Uint8Array(readFileSync(c))));
    expect([...layout.streams.keys()].sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']);
    expect(Object.keys(JSON.parse(parseSafetensors(new Uint8Array(readFileSync(c))).metadata!['ecf8.tensors']))).toHaveLength(5);
    expect(Object.hasOwn(parseSafetensors(new Uint8Array(readFileSync(c))).metadata!, '__proto__')).toBe(true);
    await verifyFile(c);
    const d = fresh('proto.out.safetensors');
    await decompressFile(c, d);
    expect(sha(d)).toBe(sha(input));
  });

  it('point 1: an index whose weight_map and metadata have prototype keys round-trips, names rewritten', async () => {
    const src = join(ABUSE, 'prototype-index');
    const c = fresh('proto-index.ecf8');
    await compressModel(src, c);
    const index = JSON.parse(readFileSync(join(c, 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map).sort()).toEqual(['__proto__.ecf8', 'constructor.ecf8', 'hasOwnProperty', 'toString.ecf8']);
    expect(Object.hasOwn(index.metadata, '__proto__')).toBe(true);
    await verifyModel(c);
    const d = fresh('proto-index.out');
    await decompressModel(c, d);
    expect(treeHashes(d)).toEqual(treeHashes(src));
  });
});

describe('#13 points 2 and 4: outputs never replace what the user had', () => {
  it('point 4: an existing output needs force (ECF8_OUTPUT_EXISTS) and is left untouched; force replaces it', async () => {
    const { file } = realisticModel(1);
    const a = fresh('a.safetensors');
    writeFileSync(a, file);
    const out = fresh('out.safetensors');
    writeFileSync(out, 'precious');
    expect(await codeOf(compressFile(a, out))).toBe(ModelErrorCode.OUTPUT_EXISTS);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    await compressFile(a, out, { force: true });
    expect(sha(out)).not.toBe(createHash('sha256').update('precious').digest('hex'));
    expect(await codeOf(decompressFile(out, a))).toBe(ModelErrorCode.OUTPUT_EXISTS);
    expect(await codeOf(decompressFile(out, out, { force: true }))).toBe(ModelErrorCode.OUTPUT_IS_INPUT);
  });

  it('point 4: an output that is the input (same path, a link to it, a hard link) is refused even with force', async () => {
    const { file } = realisticModel(1);
    const a = fresh('in.safetensors');
    writeFileSync(a, file);
    const before = sha(a);
    const soft = fresh('soft.safetensors');
    symlinkSync(a, soft);
    const hard = fresh('hard.safetensors');
    linkSync(a, hard);
    for (const out of [a, soft, hard, join(dir, '.', `${n - 3}-in.safetensors`)]) {
      expect(await codeOf(compressFile(a, out, { force: true })), out).toBe(ModelErrorCode.OUTPUT_IS_INPUT);
    }
    expect(sha(a)).toBe(before);
    expect(leftovers(dir)).toEqual([]);
  });

  it('point 2: a directory output onto itself, inside its input, or holding its input is refused; the tree is intact', async () => {
    const m = fresh('M');
    cpSync(join(ABUSE, 'prototype-index'), m, { recursive: true });
    const before = treeHashes(m);
    expect(await codeOf(compressModel(m, m, { force: true }))).toBe(ModelErrorCode.OUTPUT_IS_INPUT);
    expect(await codeOf(compressModel(m, join(m, 'out'), { force: true }))).toBe(ModelErrorCode.OUTPUT_IS_INPUT);
    const outer = fresh('outer');
    mkdirSync(join(outer, 'inner'), { recursive: true });
    cpSync(m, join(outer, 'inner', 'M'), { recursive: true });
    expect(await codeOf(compressModel(join(outer, 'inner', 'M'), outer, { force: true }))).toBe(ModelErrorCode.OUTPUT_IS_INPUT);
    expect(treeHashes(m)).toEqual(before);
    expect(treeHashes(join(outer, 'inner', 'M'))).toEqual(before);
  });

  it('point 2: a forced directory replacement swaps only a complete tree and never loses the original on failure', async () => {
    const src = join(ABUSE, 'prototype-index');
    const m = fresh('Mout');
    mkdirSync(m);
    writeFileSync(join(m, 'mine.txt'), 'the user had this');
    // A failing build (an unreadable shard) leaves the original exactly as it was, with no temporaries.
    const broken = fresh('broken');
    cpSync(src, broken, { recursive: true });
    writeFileSync(join(broken, 'model-00002-of-00002.safetensors'), 'not safetensors');
    expect(await codeOf(compressModel(broken, m, { force: true }))).toBe(ModelErrorCode.BAD_SAFETENSORS);
    expect(readFileSync(join(m, 'mine.txt'), 'utf8')).toBe('the user had this');
    expect(leftovers(dir)).toEqual([]);
    await compressModel(src, m, { force: true });
    expect(existsSync(join(m, 'mine.txt'))).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('point 2: a re-run restores an original left as .old by a process killed between the two renames', async () => {
    const m = fresh('Killed');
    // The state a SIGKILL between renameSync(M, old) and renameSync(temp, M) leaves: no M, the original as .old, the
    // complete new tree as .tmpdir, both named with the dead process's id.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const old = tempPathFor(m, 'old').replace(`-${process.pid}-`, `-${dead}-`);
    const tmp = tempPathFor(m, 'tmpdir').replace(`-${process.pid}-`, `-${dead}-`);
    mkdirSync(old);
    writeFileSync(join(old, 'original.txt'), 'original');
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'new.txt'), 'new');
    const src = join(ABUSE, 'prototype-index');
    // Without force the re-run refuses to replace M, but first puts the original back and removes the dead temp.
    expect(await codeOf(compressModel(src, m))).toBe(ModelErrorCode.OUTPUT_EXISTS);
    expect(readFileSync(join(m, 'original.txt'), 'utf8')).toBe('original');
    expect(existsSync(old) || existsSync(tmp)).toBe(false);
  });

  it('point 2: a .old tree whose replacement completed is removed by the next run, never a live process\'s', async () => {
    const m = fresh('Done');
    mkdirSync(m);
    writeFileSync(join(m, 'new.txt'), 'new');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const old = tempPathFor(m, 'old').replace(`-${process.pid}-`, `-${dead}-`);
    mkdirSync(old);
    const live = tempPathFor(m, 'tmpdir'); // this process: alive, so never swept
    mkdirSync(live);
    await writeDirectoryOutput(m, async (t) => writeFileSync(join(t, 'x'), 'x'), { force: true });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live, { recursive: true });
  });
});

describe('#13 point 3: directory mode follows symbolic links (Hugging Face cache snapshot)', () => {
  it('point 3: linked shards, index, tokenizer and subdirectory are all in the output as regular files', async () => {
    // hub/models--x/{blobs/<hash>, snapshots/<rev>/<name> -> ../../blobs/<hash>}
    const hub = fresh('hub');
    const blobs = join(hub, 'blobs');
    const snap = join(hub, 'snapshots', 'rev1');
    mkdirSync(blobs, { recursive: true });
    mkdirSync(snap, { recursive: true });
    const src = join(ABUSE, 'prototype-index');
    const files: Record<string, Uint8Array | string> = {
      'model-00001-of-00002.safetensors': readFileSync(join(src, 'model-00001-of-00002.safetensors')),
      'model-00002-of-00002.safetensors': readFileSync(join(src, 'model-00002-of-00002.safetensors')),
      'model.safetensors.index.json': readFileSync(join(src, 'model.safetensors.index.json')),
      'tokenizer.json': '{"version":"1.0"}',
    };
    for (const [name, content] of Object.entries(files)) {
      const blob = createHash('sha256').update(content).digest('hex');
      writeFileSync(join(blobs, blob), content);
      symlinkSync(join('..', '..', 'blobs', blob), join(snap, name));
    }
    mkdirSync(join(blobs, 'vae'));
    writeFileSync(join(blobs, 'vae', 'config.json'), '{"a":1}');
    symlinkSync(join('..', '..', 'blobs', 'vae'), join(snap, 'vae'));
    const c = fresh('snap.ecf8');
    const r = await compressModel(snap, c);
    expect(r.files).toHaveLength(2);
    expect(r.copied.sort()).toEqual(['tokenizer.json', join('vae', 'config.json')]);
    for (const f of ['model-00001-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', join('vae', 'config.json')]) {
      expect(lstatSync(join(c, f)).isFile(), f).toBe(true);
    }
    await verifyModel(c);
    const d = fresh('snap.out');
    await decompressModel(c, d);
    const want = Object.fromEntries(Object.entries(treeHashes(snap)).map(([k, v]) => [k, v.replace(/^link:/, 'file:')]));
    expect(Object.keys(want)).toHaveLength(5);
    expect(treeHashes(d)).toEqual(want);
    // Decompressing a directory of links to compressed files restores every file too.
    const linked = fresh('linked.ecf8');
    mkdirSync(linked);
    for (const name of readdirSync(c)) symlinkSync(join(c, name), join(linked, name));
    const d2 = fresh('linked.out');
    await decompressModel(linked, d2);
    expect(treeHashes(d2)).toEqual(want);
  });

  it('point 3: a dangling link, a link loop and a FIFO inside the directory are errors, never skipped', async () => {
    const src = join(ABUSE, 'prototype-index');
    const dangling = fresh('dangling');
    cpSync(src, dangling, { recursive: true });
    symlinkSync('../nowhere/tokenizer.json', join(dangling, 'tokenizer.json'));
    expect(await codeOf(compressModel(dangling, fresh('o')))).toBe(ErrorCode.IO_ERROR);
    const loop = fresh('loop');
    cpSync(src, loop, { recursive: true });
    mkdirSync(join(loop, 'sub'));
    symlinkSync('..', join(loop, 'sub', 'up'));
    expect(await codeOf(compressModel(loop, fresh('o')))).toBe(ErrorCode.INVALID_ARGUMENT);
    const fifo = fresh('fifo');
    cpSync(src, fifo, { recursive: true });
    execFileSync('mkfifo', [join(fifo, 'pipe')]);
    expect(await codeOf(compressModel(fifo, fresh('o')))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('#13 point 7: a compressed directory with a missing, renamed or replaced shard', () => {
  it('point 7: verify and decompress fail with ECF8_MISSING_SHARD and write nothing', async () => {
    const c = fresh('shards.ecf8');
    await compressModel(join(ABUSE, 'prototype-index'), c);
    const missing = fresh('missing');
    cpSync(c, missing, { recursive: true });
    unlinkSync(join(missing, 'model-00002-of-00002.safetensors'));
    const renamed = fresh('renamed');
    cpSync(c, renamed, { recursive: true });
    renameSync(join(renamed, 'model-00002-of-00002.safetensors'), join(renamed, 'model-00003-of-00002.safetensors'));
    const swapped = fresh('swapped');
    cpSync(c, swapped, { recursive: true });
    renameSync(join(swapped, 'model-00001-of-00002.safetensors'), join(swapped, 'tmp'));
    renameSync(join(swapped, 'model-00002-of-00002.safetensors'), join(swapped, 'model-00001-of-00002.safetensors'));
    renameSync(join(swapped, 'tmp'), join(swapped, 'model-00002-of-00002.safetensors'));
    for (const bad of [missing, renamed, swapped]) {
      expect(await codeOf(verifyModel(bad)), bad).toBe(ModelErrorCode.MISSING_SHARD);
      const out = fresh('restored');
      expect(await codeOf(decompressModel(bad, out)), bad).toBe(ModelErrorCode.MISSING_SHARD);
      expect(existsSync(out)).toBe(false);
    }
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('#13 points 11 and 12: limits and codes', () => {
  const claims = join(ABUSE, 'claims-2pow40-elements.ecf8.safetensors');
  it('point 11: metadata claiming 2^40 elements over a 4096-element stream fails before any allocation', async () => {
    expect(await codeOf(verifyFile(claims))).toBe(ModelErrorCode.BAD_MODEL_METADATA);
    const out = fresh('claims.out');
    expect(await codeOf(decompressFile(claims, out))).toBe(ModelErrorCode.BAD_MODEL_METADATA);
    expect(existsSync(out)).toBe(false);
  });

  it('point 12: inspect fails when the metadata element count contradicts the stream', async () => {
    expect(await codeOf(inspectModel(claims))).toBe(ModelErrorCode.BAD_MODEL_METADATA);
  });

  it('point 11: an index over the side-file cap is refused before it is read (ECF8_LIMIT_EXCEEDED)', async () => {
    const c = fresh('bigindex');
    cpSync(join(ABUSE, 'prototype-index'), c, { recursive: true });
    truncateSync(join(c, 'model.safetensors.index.json'), MAX_SIDECAR_BYTES + 1); // sparse: no disk used
    expect(await codeOf(compressModel(c, fresh('o')))).toBe(ErrorCode.LIMIT_EXCEEDED);
    expect(await codeOf(decompressModel(c, fresh('o')))).toBe(ErrorCode.LIMIT_EXCEEDED);
  });

  it('point 12: a tensor over 4 GiB is ECF8_LIMIT_EXCEEDED naming it (not a raw "Invalid typed array length")', async () => {
    const n = 2 ** 32 + 8;
    const header = new TextEncoder().encode(`{"big":{"dtype":"F8_E4M3","shape":[${n}],"data_offsets":[0,${n}]}}`);
    const f = fresh('big.safetensors');
    writeFileSync(f, Buffer.concat([lengthPrefix(header.length), header]));
    truncateSync(f, 8 + header.length + n); // sparse
    let message = '';
    try {
      await compressFile(f, fresh('big.out'));
    } catch (e) {
      message = (e as Error).message;
      expect((e as { code: string }).code).toBe(ErrorCode.LIMIT_EXCEEDED);
    }
    expect(message).toMatch(/big\.safetensors.*"big"/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('point 12: plain JavaScript and system errors get stable codes and the context', () => {
    expect((asEcf8Error(new RangeError('Invalid typed array length: 5'), 'f.safetensors') as Error).message).toMatch(/^ECF8_LIMIT_EXCEEDED: f\.safetensors: /);
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect((asEcf8Error(enoent, 'x') as Error).message).toBe('ECF8_IO_ERROR: x: ENOENT: no such file');
  });
});

describe('#13 points 9 and 14: inputs that block, names that are long', () => {
  it('point 9: a FIFO input is refused at once (ECF8_INVALID_ARGUMENT), for compress, decompress, verify, inspect', async () => {
    const fifo = fresh('in.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await codeOf(compressFile(fifo, fresh('o')))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(decompressFile(fifo, fresh('o')))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(verifyFile(fifo))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(inspectModel(fifo))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('point 14: an output name of 250 bytes (and of 255) works: the temporary name stays under 255 bytes', async () => {
    const { file } = realisticModel(1);
    const a = fresh('long-in.safetensors');
    writeFileSync(a, file);
    for (const len of [250, 255]) {
      const name = 'é'.repeat(10) + 'x'.repeat(len - 20 - '.safetensors'.length) + '.safetensors';
      expect(Buffer.byteLength(name)).toBe(len);
      const out = join(dir, name);
      await compressFile(a, out);
      await verifyFile(out);
      expect(Buffer.byteLength(tempPathFor(out).split('/').pop()!)).toBeLessThan(255);
    }
    expect(leftovers(dir)).toEqual([]);
  });

  it('point 14: when writing fails, the error reported is the real one (not the cleanup\'s)', async () => {
    const { file } = realisticModel(1);
    const a = fresh('in2.safetensors');
    writeFileSync(a, file);
    const missingDir = join(dir, 'no-such-dir', 'out.safetensors');
    let message = '';
    try {
      await compressFile(a, missingDir);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^ECF8_IO_ERROR: .*cannot write .*no-such-dir.*ENOENT/);
  });
});
