/**
 * The pure index check (model-index.ts, exported through @ecf8/safetensors/layout) that `ecf8 verify DIR` and
 * @ecf8/runtime share: the `ecf8` entry, missing and swapped shards, recorded shard checksums, prototype-key names.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkIndexShards, indexShardPath, INDEX_FORMAT, originalIndexBytes, parseIndex, sha256Hex, type IndexedShard, type IndexJson } from '../src/layout.js';

const enc = (s: string) => new TextEncoder().encode(s);
const shardWith = (names: string[], sha: string | null): IndexedShard => ({ header: { byName: new Map(names.map((n) => [n, null as never])) }, layout: sha === null ? null : { sha256: sha } });
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

/** A compressed index naming `__proto__` and `constructor` in shard A, `toString` in shard B, as compression writes it. */
function compressedIndex(): IndexJson {
  const original = '{"weight_map":{}}';
  return parseIndex(
    enc(
      JSON.stringify({
        weight_map: { '__proto__.ecf8': 'a.safetensors', constructor: 'a.safetensors', 'toString.ecf8': 'b.safetensors' },
        ecf8: { format: INDEX_FORMAT, version: '1', original_index: btoa(original), original_sha256: createHash('sha256').update(original).digest('hex'), shards: { 'a.safetensors': SHA_A, 'b.safetensors': SHA_B } },
      }),
    ),
    'model.safetensors.index.json',
  );
}

const goodShards = new Map([
  ['sub/a.safetensors', shardWith(['__proto__.ecf8', 'constructor'], SHA_A)],
  ['sub/b.safetensors', shardWith(['toString.ecf8'], SHA_B)],
]);
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e as { code: string }).code);

describe('checkIndexShards', () => {
  it('accepts the shards an index names, prototype-key tensor names included', async () => {
    const index = compressedIndex();
    expect(Object.hasOwn(index.weight_map, '__proto__.ecf8')).toBe(true);
    await expect(checkIndexShards(index, 'sub/model.safetensors.index.json', 'x', (p) => goodShards.get(p) ?? null)).resolves.toBeUndefined();
  });

  it('a missing shard, a swapped shard and a shard of another original are ECF8_MISSING_SHARD', async () => {
    const index = compressedIndex();
    const check = (shards: Map<string, IndexedShard>) => codeOf(checkIndexShards(index, 'sub/model.safetensors.index.json', 'x', (p) => shards.get(p) ?? null));
    const missing = new Map(goodShards);
    missing.delete('sub/b.safetensors');
    expect(await check(missing)).toBe('ECF8_MISSING_SHARD');
    const swapped = new Map([
      ['sub/a.safetensors', goodShards.get('sub/b.safetensors')!],
      ['sub/b.safetensors', goodShards.get('sub/a.safetensors')!],
    ]);
    expect(await check(swapped)).toBe('ECF8_MISSING_SHARD');
    // Same tensor names, but not the compressed shard the index recorded (another original's SHA-256, or uncompressed).
    const other = new Map(goodShards).set('sub/b.safetensors', shardWith(['toString.ecf8'], 'c'.repeat(64)));
    expect(await check(other)).toBe('ECF8_MISSING_SHARD');
    const plain = new Map(goodShards).set('sub/b.safetensors', shardWith(['toString.ecf8'], null));
    expect(await check(plain)).toBe('ECF8_MISSING_SHARD');
    // A name that only exists on Object.prototype is not "held" by a shard.
    const proto = new Map(goodShards).set('sub/a.safetensors', shardWith(['constructor'], SHA_A));
    expect(await check(proto)).toBe('ECF8_MISSING_SHARD');
  });

  it('an index without an ecf8 entry records nothing to check; a malformed or altered entry is refused', async () => {
    const plain = parseIndex(enc('{"weight_map":{"w":"gone.safetensors"}}'), 'i');
    await expect(checkIndexShards(plain, 'i', 'i', () => null)).resolves.toBeUndefined();
    expect(originalIndexBytes(plain, 'i')).toBeNull();
    const index = compressedIndex();
    expect(new TextDecoder().decode(originalIndexBytes(index, 'i')!)).toBe('{"weight_map":{}}');
    const tampered = { ...index, ecf8: { ...index.ecf8!, original_sha256: SHA_A } };
    expect(await codeOf(checkIndexShards(tampered, 'i', 'i', (p) => goodShards.get('sub/' + p) ?? null))).toBe('ECF8_MODEL_CHECKSUM_MISMATCH');
    const badShards = { ...index, ecf8: { ...index.ecf8!, shards: { 'a.safetensors': 'not hex' } } };
    expect(await codeOf(checkIndexShards(badShards, 'i', 'i', () => null))).toBe('ECF8_BAD_MODEL_METADATA');
    const badBase64 = { ...index, ecf8: { ...index.ecf8!, original_index: 'e30' } };
    expect(() => originalIndexBytes(badBase64, 'i')).toThrow(/ECF8_BAD_MODEL_METADATA: .*not valid base64/);
  });

  it('parseIndex refuses non-JSON, a missing weight_map and shard names that are paths', () => {
    expect(() => parseIndex(enc('{'), 'i')).toThrow(/ECF8_BAD_SAFETENSORS: i: index is not valid UTF-8 JSON/);
    expect(() => parseIndex(enc('{"__proto__":{}}'), 'i')).toThrow(/ECF8_BAD_SAFETENSORS: i: index has no weight_map/);
    for (const shard of ['../x.safetensors', 'a/b.safetensors', 'a\\b', '..', '']) {
      expect(() => parseIndex(enc(JSON.stringify({ weight_map: { w: shard } })), 'i'), shard).toThrow(/ECF8_BAD_SAFETENSORS: .*unsafe shard/);
    }
  });

  it('resolves shard names against the index folder; sha256Hex matches node:crypto', () => {
    expect(indexShardPath('model.safetensors.index.json', 'a.safetensors')).toBe('a.safetensors');
    expect(indexShardPath('sub/dir/i.json', 'a.safetensors')).toBe('sub/dir/a.safetensors');
    expect(indexShardPath('sub\\i.json', 'a.safetensors')).toBe('sub\\a.safetensors');
    const bytes = enc('ecf8 index');
    expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
