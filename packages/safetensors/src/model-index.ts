/**
 * The `*.safetensors.index.json` of a sharded checkpoint and its `ecf8` entry (model-file spec §5): parsing, the
 * original index kept in it, and the check of a compressed directory's shards against it. Pure (no Node imports):
 * `ecf8 verify DIR` (model-dir.ts) and @ecf8/runtime's directory open both call it, through
 * `@ecf8/safetensors/layout`. The caller lists the shards and reads their headers; this module only judges.
 */
import { decodeBase64Strict, type CompressedLayout } from './container.js';
import { ModelErrorCode, modelFail } from './errors.js';
import type { SafetensorsHeader } from './format.js';
import { Sha256 } from './sha256.js';

export const INDEX_SUFFIX = '.safetensors.index.json';
export const INDEX_FORMAT = 'ecf8-safetensors-index';
/** Largest index read (the side-file cap of model-file spec §5, io.ts's MAX_SIDECAR_BYTES): checked before reading. */
export const MAX_INDEX_BYTES = 64 << 20;

export interface IndexEcf8Entry {
  format: string;
  version: string;
  original_index: string;
  original_sha256: string;
  /** Shard file name (relative to the index) -> SHA-256 of the original shard, as recorded at compression. */
  shards?: Record<string, string>;
}

export interface IndexJson {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
  ecf8?: IndexEcf8Entry;
  [k: string]: unknown;
}

/** Parses an index: UTF-8 JSON with a `weight_map` object whose shard names are plain file names. */
export function parseIndex(bytes: Uint8Array, path: string): IndexJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: index is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  const j = json as IndexJson;
  if (typeof j !== 'object' || j === null || Array.isArray(j) || !Object.hasOwn(j, 'weight_map') || typeof j.weight_map !== 'object' || j.weight_map === null || Array.isArray(j.weight_map)) {
    modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: index has no weight_map object`);
  }
  if (Object.hasOwn(j, 'metadata') && j.metadata !== null && (typeof j.metadata !== 'object' || Array.isArray(j.metadata))) {
    modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: index metadata is not an object`);
  }
  for (const [k, v] of Object.entries(j.weight_map)) {
    if (typeof v !== 'string' || v === '' || v === '.' || v === '..' || /[\\/]/.test(v) || v.includes('\0')) {
      modelFail(ModelErrorCode.BAD_SAFETENSORS, `${path}: weight_map entry ${JSON.stringify(k)} names an unsafe shard ${JSON.stringify(v)}`);
    }
  }
  return j;
}

/** SHA-256 of `bytes` as 64 lowercase hex digits. */
export const sha256Hex = (bytes: Uint8Array): string => new Sha256().update(bytes).hex();

/**
 * The original index bytes kept in a compressed index's `ecf8` entry, checked against their SHA-256; null for an
 * index without an `ecf8` entry (not written by compression). A malformed entry is ECF8_BAD_MODEL_METADATA.
 */
export function originalIndexBytes(index: IndexJson, path: string): Uint8Array | null {
  if (!Object.hasOwn(index, 'ecf8')) return null;
  const e = index.ecf8 as IndexEcf8Entry;
  if (typeof e !== 'object' || e === null || e.format !== INDEX_FORMAT || e.version !== '1' || typeof e.original_index !== 'string') {
    modelFail(ModelErrorCode.BAD_MODEL_METADATA, `${path}: malformed ecf8 entry`);
  }
  if (e.shards !== undefined && (typeof e.shards !== 'object' || e.shards === null || Array.isArray(e.shards) || !Object.values(e.shards).every((v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)))) {
    modelFail(ModelErrorCode.BAD_MODEL_METADATA, `${path}: malformed ecf8.shards entry`);
  }
  const bytes = decodeBase64Strict(e.original_index, `${path}: ecf8.original_index`);
  if (sha256Hex(bytes) !== e.original_sha256) modelFail(ModelErrorCode.MODEL_CHECKSUM_MISMATCH, `${path}: original index does not match its SHA-256`);
  return bytes;
}

/** The path of `shard` (named in an index at `indexPath`) as the caller lists shards: the index's folder + the name. */
export function indexShardPath(indexPath: string, shard: string): string {
  const cut = Math.max(indexPath.lastIndexOf('/'), indexPath.lastIndexOf('\\'));
  return cut < 0 ? shard : indexPath.slice(0, cut + 1) + shard;
}

/** What {@link checkIndexShards} needs of one shard: its header and, for a compressed shard, its layout. */
export interface IndexedShard {
  header: Pick<SafetensorsHeader, 'byName'>;
  layout: Pick<CompressedLayout, 'sha256'> | null;
}

/**
 * Checks a compressed directory's shards against one of its indexes (model-file spec §5): each shard the
 * `weight_map` names exists and holds the tensor it is named for, and each shard recorded in `ecf8.shards` is a
 * compressed file of that original (its `ecf8.original_sha256`). A missing, renamed or swapped shard is
 * ECF8_MISSING_SHARD. An index without an `ecf8` entry records nothing to check against and passes.
 *
 * `indexPath` is the index's path in the caller's listing (shard paths are resolved against its folder), `where`
 * names it in messages, and `shardOf` returns a listed shard's header and layout, or null when no such file exists.
 */
export async function checkIndexShards(
  index: IndexJson,
  indexPath: string,
  where: string,
  shardOf: (path: string) => Promise<IndexedShard | null> | IndexedShard | null,
): Promise<void> {
  if (!Object.hasOwn(index, 'ecf8')) return;
  originalIndexBytes(index, where);
  for (const [name, shard] of Object.entries(index.weight_map)) {
    const found = await shardOf(indexShardPath(indexPath, shard));
    if (!found) modelFail(ModelErrorCode.MISSING_SHARD, `${where}: shard ${JSON.stringify(shard)} (holding ${JSON.stringify(name)}) is missing`);
    if (!found.header.byName.has(name)) modelFail(ModelErrorCode.MISSING_SHARD, `${where}: shard ${JSON.stringify(shard)} does not hold ${JSON.stringify(name)} (renamed or replaced shard?)`);
  }
  for (const [shard, sha] of Object.entries(index.ecf8!.shards ?? {})) {
    const found = await shardOf(indexShardPath(indexPath, shard));
    if (!found) modelFail(ModelErrorCode.MISSING_SHARD, `${where}: shard ${JSON.stringify(shard)} is missing`);
    if (!found.layout || found.layout.sha256 !== sha) modelFail(ModelErrorCode.MISSING_SHARD, `${where}: shard ${JSON.stringify(shard)} is not the compressed shard recorded in the index (renamed or replaced?)`);
  }
}
