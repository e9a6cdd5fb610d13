import { describe, expect, it } from 'vitest';
import { buildSafetensors, lengthPrefix, MAX_HEADER_SIZE, ModelErrorCode, parseSafetensors, serializeHeader } from '../src/index.js';
import { tensor } from './fixtures.js';

const enc = new TextEncoder();
/** A file from raw header text and data length. */
function raw(header: string | Uint8Array, data = 0, n?: bigint): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(h.length), true);
  out.set(h, 8);
  return out;
}
const bad = (file: Uint8Array, pattern: RegExp) => {
  expect(() => parseSafetensors(file)).toThrow(pattern);
  try {
    parseSafetensors(file);
  } catch (e) {
    expect((e as { code: string }).code).toBe(ModelErrorCode.BAD_SAFETENSORS);
  }
};

describe('safetensors header validation', () => {
  it('parses a valid file with metadata, every dtype and empty tensors', () => {
    const ts = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'I64', 'U64', 'F64', 'C64'].map((d, i) => tensor(`t${i}`, d, [3, 1]));
    ts.push(tensor('f4', 'F4', [2, 3]), tensor('f6', 'F6_E2M3', [4]), tensor('empty', 'F32', [0, 5]), tensor('scalar', 'F16', []));
    const h = parseSafetensors(buildSafetensors(ts, { a: 'b' }));
    expect(h.metadata).toEqual({ a: 'b' });
    expect(h.tensors.map((t) => t.name)).toEqual(ts.map((t) => t.name));
    expect(h.byName.get('f4')!.byteLength).toBe(3);
    expect(h.byName.get('scalar')!.elementCount).toBe(1);
    expect((8 + h.headerSize) % 8).toBe(0);
  });

  it('rejects short files, huge and out-of-range header lengths', () => {
    bad(new Uint8Array(5), /too short/);
    bad(raw('{}', 0, 2n ** 63n), /exceeds the limit/);
    bad(raw('{}', 0, BigInt(MAX_HEADER_SIZE) + 1n), /exceeds the limit/);
    bad(raw('{}', 0, 1000n), /runs past the end/);
  });

  it('rejects bad JSON, bad UTF-8, non-objects and a bad start', () => {
    bad(raw('{"a": '), /not valid JSON/);
    bad(raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /UTF-8/);
    bad(raw(' {}'), /must start with/);
    bad(raw('[1]'), /must start with/);
    bad(raw('{"__metadata__": {"a": 1}}'), /not a string/);
    bad(raw('{"x": 5}'), /not an object/);
  });

  it('rejects unknown dtypes, bad shapes and sizes that do not match', () => {
    bad(raw('{"x":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}', 1), /unknown dtype/);
    bad(raw('{"x":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', 1), /shape/);
    bad(raw('{"x":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}', 1), /shape/);
    bad(raw('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,1]}}', 1), /needs 2 bytes/);
    bad(raw('{"x":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', 1), /end before/);
    bad(raw('{"x":{"dtype":"U8","shape":[1]}}', 1), /data_offsets/);
    bad(raw('{"x":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}', 1), /whole bytes/);
    bad(raw('{"x":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', 1), /needs/);
  });

  it('rejects overlapping, non-contiguous and incomplete data', () => {
    bad(raw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3), /overlaps/);
    bad(raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}', 3), /gap/);
    bad(raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 4), /cover only 1/);
    bad(raw('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', 2), /the file has 2/);
    bad(raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), /gap/);
  });

  it('serialises headers padded so the data section starts 8-byte aligned', () => {
    for (let extra = 0; extra < 9; extra++) {
      const h = serializeHeader([{ name: 'x'.repeat(extra), dtype: 'U8', shape: [1], begin: 0, end: 1 }], null);
      expect((8 + h.length) % 8).toBe(0);
      expect(JSON.parse(new TextDecoder().decode(h))).toEqual({ ['x'.repeat(extra)]: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } });
    }
    expect(lengthPrefix(300)).toEqual(new Uint8Array([44, 1, 0, 0, 0, 0, 0, 0]));
  });
});
