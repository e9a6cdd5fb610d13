/**
 * Writes the abuse files of this folder (regression inputs for issue #13, kept like safetensors keeps its own):
 *   npx tsx packages/safetensors/test/abuse/make-abuse.ts
 * Headers are written as JSON text, so keys such as `__proto__` are real keys (an object literal would not do that).
 *
 * - prototype-names.safetensors: F8_E4M3 tensors named `__proto__`, `constructor`, `toString`, `hasOwnProperty`,
 *   `valueOf`, a BF16 `isPrototypeOf`, and `__metadata__` keys `__proto__` and `constructor` (issue #13 point 1).
 * - prototype-index/: a two-shard checkpoint whose index `weight_map` has the keys `__proto__`, `constructor`,
 *   `toString` and `hasOwnProperty`, and whose index metadata has a `__proto__` key (point 1).
 * - claims-2pow40-elements.ecf8.safetensors: a compressed file whose metadata says the tensor `w` has 2^40 elements
 *   while its stream holds 4096 (points 11 and 12: nothing may be allocated for 2^40, inspect must fail).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { encode } from '@ecf8/core';
import { lengthPrefix } from '../../src/index.js';
import { SAMPLE } from '../fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A safetensors file from header JSON text (padded to 8) and the data section. */
export function fileFromJson(json: string, data: Uint8Array): Uint8Array {
  let text = json;
  while ((8 + Buffer.byteLength(text)) % 8) text += ' ';
  const header = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + header.length + data.length);
  out.set(lengthPrefix(header.length));
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Tensors given as [name, dtype, shape, bytes] in data order, with raw `__metadata__` JSON text (or null). */
function fileOf(tensors: [string, string, number[], Uint8Array][], metadataJson: string | null): Uint8Array {
  const parts: string[] = [];
  if (metadataJson) parts.push(`"__metadata__":${metadataJson}`);
  let at = 0;
  for (const [name, dtype, shape, data] of tensors) {
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${at},${at + data.length}]}`);
    at += data.length;
  }
  return fileFromJson(`{${parts.join(',')}}`, concat(tensors.map((t) => t[3])));
}

export function prototypeNames(): Uint8Array {
  const w = (i: number) => SAMPLE.slice(i * 4096, (i + 1) * 4096);
  return fileOf(
    [
      ['__proto__', 'F8_E4M3', [64, 64], w(0)],
      ['constructor', 'F8_E4M3', [64, 64], w(1)],
      ['toString', 'F8_E4M3', [4096], w(2)],
      ['hasOwnProperty', 'F8_E4M3', [16, 256], w(3)],
      ['valueOf', 'F8_E4M3', [4096], w(4)],
      ['isPrototypeOf', 'BF16', [8], SAMPLE.slice(0, 16)],
    ],
    '{"__proto__":"metadata under a prototype key","constructor":"x","format":"pt"}',
  );
}

export function prototypeIndex(): Record<string, Uint8Array> {
  const w = (i: number) => SAMPLE.slice(i * 4096, (i + 1) * 4096);
  const a = fileOf(
    [
      ['__proto__', 'F8_E4M3', [4096], w(5)],
      ['constructor', 'F8_E4M3', [4096], w(6)],
    ],
    '{"format":"pt"}',
  );
  const b = fileOf(
    [
      ['toString', 'F8_E4M3', [4096], w(7)],
      ['hasOwnProperty', 'BF16', [4], SAMPLE.slice(0, 8)],
    ],
    '{"format":"pt"}',
  );
  const index =
    '{\n  "metadata": {"total_size": 12296, "__proto__": "kept"},\n  "weight_map": {\n' +
    '    "__proto__": "model-00001-of-00002.safetensors",\n    "constructor": "model-00001-of-00002.safetensors",\n' +
    '    "toString": "model-00002-of-00002.safetensors",\n    "hasOwnProperty": "model-00002-of-00002.safetensors"\n  }\n}\n';
  return {
    'model-00001-of-00002.safetensors': a,
    'model-00002-of-00002.safetensors': b,
    'model.safetensors.index.json': new TextEncoder().encode(index),
  };
}

/** A compressed file (model-file spec §3) of one tensor `w` whose original header claims 2^40 elements; its stream holds 4096. */
export function claims2pow40(): Uint8Array {
  const n = 2 ** 40;
  const originalHeader = new TextEncoder().encode(`{"w":{"dtype":"F8_E4M3","shape":[1048576,1048576],"data_offsets":[0,${n}]}}`);
  const originalSize = 8 + originalHeader.length + n;
  const stream = encode(SAMPLE.slice(0, 4096));
  const meta = {
    'ecf8.format': 'ecf8-safetensors',
    'ecf8.version': '1',
    'ecf8.original_header': Buffer.from(originalHeader).toString('base64'),
    'ecf8.original_size': String(originalSize),
    'ecf8.original_sha256': createHash('sha256').update('not the real file').digest('hex'),
    'ecf8.tensors': JSON.stringify({ w: { stored: 'w.ecf8', dtype: 'F8_E4M3', shape: [1048576, 1048576] } }),
  };
  return fileOf([['w.ecf8', 'U8', [stream.length], stream]], JSON.stringify(meta));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(here, 'prototype-names.safetensors'), prototypeNames());
  mkdirSync(join(here, 'prototype-index'), { recursive: true });
  for (const [name, bytes] of Object.entries(prototypeIndex())) writeFileSync(join(here, 'prototype-index', name), bytes);
  writeFileSync(join(here, 'claims-2pow40-elements.ecf8.safetensors'), claims2pow40());
  console.log(`abuse files written to ${here}`);
}
