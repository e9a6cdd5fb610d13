/**
 * Test helper: builds buffers in the official layout (spec/ecf8-safetensors-v1.md §8) independently of the library, from the
 * layout's description: a Huffman code built by merging the two lightest nodes (codes read off the tree, so not
 * canonical) with an end-of-data symbol; tables with a root row, one row per distinct 8-bit prefix of long codes
 * (pointer = 256 - row), entries filled forward from each code's first key, and a code-length row last; gaps and
 * output positions recorded when a code starts in a new window or block; the end symbol's bits pad the last byte.
 * Also lays such buffers out as the authors' releases do: sharded with an index, DiffSynth per-block files, cache files.
 */
import { join } from 'node:path';

export interface BuiltCode {
  /** code[x] = { len, code } for used exponents; eof likewise. */
  codes: Map<number, { len: number; code: number }>;
  eof: { len: number; code: number };
}

type Node = { w: number; order: number; sym?: number | 'eof'; l?: Node; r?: Node };

export function huffmanWithEof(histogram: ArrayLike<number>): BuiltCode {
  let order = 0;
  let nodes: Node[] = [];
  for (let x = 0; x < 16; x++) if (histogram[x] > 0) nodes.push({ w: histogram[x], order: order++, sym: x });
  nodes.push({ w: 1, order: order++, sym: 'eof' });
  while (nodes.length > 1) {
    nodes.sort((a, b) => a.w - b.w || a.order - b.order);
    const [a, b] = nodes.splice(0, 2);
    // The heavier node takes bit 0: codes are then not in canonical order.
    nodes.push({ w: a.w + b.w, order: order++, l: b, r: a });
  }
  const codes = new Map<number, { len: number; code: number }>();
  let eof = { len: 0, code: 0 };
  const walk = (n: Node, len: number, code: number) => {
    if (n.sym !== undefined) {
      const c = { len: Math.max(1, len), code };
      if (n.sym === 'eof') eof = c;
      else codes.set(n.sym, c);
      return;
    }
    walk(n.l!, len + 1, code * 2);
    walk(n.r!, len + 1, code * 2 + 1);
  };
  walk(nodes[0], 0, 0);
  for (const c of [...codes.values(), eof]) if (c.len > 16) throw new Error('test code longer than 16 bits');
  return { codes, eof };
}

const bitsOf = (c: { len: number; code: number }) => c.code.toString(2).padStart(c.len, '0');

export function officialLuts(code: BuiltCode): Uint8Array {
  const entries = [...code.codes.entries()].sort((a, b) => a[0] - b[0]);
  const prefixes = [''];
  for (const [, c] of entries) {
    const s = bitsOf(c);
    const prefixLen = c.len - 1 - ((c.len - 1) % 8);
    const p = s.slice(0, prefixLen);
    if (!prefixes.includes(p)) prefixes.push(p);
  }
  prefixes.sort((a, b) => a.length - b.length);
  const rows = prefixes.length + 1;
  const luts = new Uint8Array(rows * 256);
  prefixes.forEach((prefix, row) => {
    const keys = new Map<number, number>();
    const pb = prefix.length / 8;
    for (const [x, c] of entries) {
      const s = bitsOf(c);
      if (!s.startsWith(prefix)) continue;
      if (Math.floor((c.len - 1) / 8) === pb) keys.set(parseInt(s.slice(pb * 8).padEnd(8, '0'), 2), x);
      else keys.set(parseInt(s.slice(pb * 8, pb * 8 + 8), 2), 256 - prefixes.indexOf(s.slice(0, pb * 8 + 8)));
    }
    let cur = 0;
    for (let k = 0; k < 256; k++) {
      if (keys.has(k)) cur = keys.get(k)!;
      luts[256 * row + k] = cur;
    }
  });
  for (const [x, c] of entries) luts[256 * (rows - 1) + x] = c.len;
  return luts;
}

export interface Built {
  luts: Uint8Array;
  encoded: Uint8Array;
  packedOther4bits: Uint8Array;
  outputPositions: Uint8Array;
  gaps: Uint8Array;
  splitPositions: number[];
  code: BuiltCode;
}

/** Encodes FP8 bytes (even count) the way the official layout describes, with threads_per_block T. */
export function buildOfficial(fp8: Uint8Array, T: number, splits: number[] = [], code?: BuiltCode): Built {
  const hist = new Array(16).fill(0);
  for (const v of fp8) hist[(v >> 3) & 15]++;
  const c = code ?? huffmanWithEof(hist);
  const bytes: number[] = [];
  const gaps: number[] = [];
  const positions: number[] = [];
  let acc = 0n;
  let accBits = 0;
  let total = 0;
  const push = (cd: { len: number; code: number }) => {
    acc = (acc << BigInt(cd.len)) | BigInt(cd.code);
    accBits += cd.len;
    while (accBits >= 8) {
      accBits -= 8;
      bytes.push(Number((acc >> BigInt(accBits)) & 0xffn));
    }
    acc &= (1n << BigInt(accBits)) - 1n;
  };
  for (let i = 0; i < fp8.length; i++) {
    if (Math.floor(total / 64) + 1 > gaps.length) gaps.push(total % 64);
    if (Math.floor(total / (64 * T)) + 1 > positions.length) positions.push(i);
    const cd = c.codes.get((fp8[i] >> 3) & 15)!;
    push(cd);
    total += cd.len;
  }
  if (accBits > 0) {
    if (Math.floor(total / 64) + 1 > gaps.length) gaps.push(total % 64);
    if (Math.floor(total / (64 * T)) + 1 > positions.length) positions.push(fp8.length);
    const left = accBits;
    const eofBits = BigInt(c.eof.code);
    const joined = (acc << BigInt(c.eof.len)) | eofBits;
    const size = left + c.eof.len;
    bytes.push(size >= 8 ? Number((joined >> BigInt(size - 8)) & 0xffn) : Number((joined << BigInt(8 - size)) & 0xffn));
  }
  positions.push(fp8.length);
  const nBlocks = Math.ceil(bytes.length / (8 * T));
  while (gaps.length < nBlocks * T) gaps.push(0);
  const packedGaps = new Uint8Array(Math.ceil(gaps.length / 2));
  gaps.forEach((g, t) => (packedGaps[t >> 1] |= t & 1 ? g : g << 4));
  const packed = new Uint8Array(fp8.length / 2);
  for (let j = 0; j < packed.length; j++) {
    const a = fp8[2 * j];
    const b = fp8[2 * j + 1];
    packed[j] = ((((a >> 4) & 8) | (a & 7)) << 4) | (((b >> 4) & 8) | (b & 7));
  }
  const pos = new Uint8Array(8 * positions.length);
  const dv = new DataView(pos.buffer);
  positions.forEach((p, k) => dv.setBigUint64(8 * k, BigInt(p), true));
  return { luts: officialLuts(c), encoded: new Uint8Array(bytes), packedOther4bits: packed, outputPositions: pos, gaps: packedGaps, splitPositions: splits, code: c };
}

export function i64Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Releases as the authors publish them (built from the encoder above, written with our safetensors writer).

export interface Tensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export interface BlockSpec {
  /** Module name, e.g. `model.layers.0`. */
  name: string;
  /** Layers concatenated in the block (relative names; '' when the block is the layer itself). */
  layers: { name: string; shape: number[]; data: Uint8Array }[];
}

/** The tensor a layer of a block restores to: `<block>.<layer>.weight`. */
export const layerTensorName = (block: string, layer: string) => (layer === '' ? `${block}.weight` : `${block}.${layer}.weight`);

/** Encodes a block's layers, concatenated, the way the authors' encoder does (split positions between layers). */
export function encodeBlock(block: BlockSpec, T: number): { built: Built; flat: Uint8Array; splits: number[] } {
  const flat = new Uint8Array(block.layers.reduce((a, l) => a + l.data.length, 0));
  const splits: number[] = [];
  let at = 0;
  for (const l of block.layers) {
    flat.set(l.data, at);
    at += l.data.length;
    splits.push(at);
  }
  splits.pop();
  return { built: buildOfficial(flat, T, splits), flat, splits };
}

/** The module's buffers as tensors named `<prefix>.<buffer>` (prefix '' gives the cache files' bare names). */
export function moduleTensors(prefix: string, built: Built, splits: number[]): Tensor[] {
  const n = (k: string) => (prefix === '' ? k : `${prefix}.${k}`);
  return [
    { name: n('luts'), dtype: 'U8', shape: [built.luts.length / 256, 256], data: built.luts },
    { name: n('encoded'), dtype: 'U8', shape: [built.encoded.length], data: built.encoded },
    { name: n('packed_other_4bits'), dtype: 'U8', shape: [built.packedOther4bits.length], data: built.packedOther4bits },
    { name: n('output_positions'), dtype: 'U8', shape: [built.outputPositions.length], data: built.outputPositions },
    { name: n('gaps'), dtype: 'U8', shape: [built.gaps.length], data: built.gaps },
    { name: n('split_positions'), dtype: 'I64', shape: [splits.length], data: i64Bytes(splits) },
  ];
}

/** `{"fp8": {pattern: [layers]}, "bf16": {}}` as their compress script writes it. */
export function patternDictFor(rules: Record<string, string[]>): string {
  return JSON.stringify({ fp8: rules, bf16: {} }, null, 4);
}

type Writer = (tensors: Tensor[], metadata: Record<string, string> | null) => Uint8Array;

/**
 * A `save_pretrained`-style sharded release: tensors spread over shards by `shardOf(tensor name)` (so one module's
 * buffers can sit in two shards), `model.safetensors.index.json`, `config.json` with `dfloat_config`.
 */
export function writeShardedRelease(
  dir: string,
  write: Writer,
  save: (path: string, bytes: Uint8Array | string) => void,
  blocks: BlockSpec[],
  others: Tensor[],
  T: number,
  shards: number,
  shardOf: (name: string, index: number) => number,
): void {
  const all: Tensor[] = [...others];
  for (const b of blocks) {
    const { built, splits } = encodeBlock(b, T);
    all.push(...moduleTensors(b.name, built, splits));
  }
  const files: Tensor[][] = Array.from({ length: shards }, () => []);
  all.forEach((t, i) => files[shardOf(t.name, i)].push(t));
  const shardName = (k: number) => `model-${String(k + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
  const weightMap: Record<string, string> = {};
  files.forEach((ts, k) => {
    save(join(dir, shardName(k)), write(ts, { format: 'pt' }));
    for (const t of ts) Object.defineProperty(weightMap, t.name, { value: shardName(k), enumerable: true });
  });
  save(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: all.reduce((a, t) => a + t.data.length, 0) }, weight_map: weightMap }, null, 2));
  save(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', dfloat_config: { version: '0.2.0', threads_per_block: T, bytes_per_thread: 8 } }, null, 2));
}

/** The DiffSynth layout: one `<block>.safetensors` per block (its buffers and the block's other tensors), dfloat_config.json. */
export function writeDiffSynthRelease(dir: string, write: Writer, save: (path: string, bytes: Uint8Array | string) => void, blocks: BlockSpec[], othersOf: (block: string) => Tensor[], T: number): void {
  for (const b of blocks) {
    const { built, splits } = encodeBlock(b, T);
    save(join(dir, `${b.name}.safetensors`), write([...othersOf(b.name), ...moduleTensors(b.name, built, splits)], null));
  }
  save(join(dir, 'dfloat_config.json'), JSON.stringify({ version: '0.2.0', threads_per_block: T, bytes_per_thread: 8 }, null, 4));
}

/** Their cache files: `cache/<block>.safetensors` with bare buffer names and `flat_weights`. */
export function writeCacheFiles(cacheDir: string, write: Writer, save: (path: string, bytes: Uint8Array | string) => void, blocks: BlockSpec[], T: number): void {
  for (const b of blocks) {
    const { built, splits, flat } = encodeBlock(b, T);
    save(join(cacheDir, `${b.name}.safetensors`), write([{ name: 'flat_weights', dtype: 'F8_E4M3', shape: [flat.length], data: flat }, ...moduleTensors('', built, splits)], null));
  }
}
