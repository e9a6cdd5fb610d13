import { describe, expect, it } from 'vitest';
import { buildDecodeTables, decode, decodeGpuOrder, decodeGpuOrderInto, decodeInto, encode, inspect, inspectHeader, parseStream } from '../src/index.js';
import { firstDifference, loadVectors } from '../../../conformance/src/vectors.js';
import { generate } from '../../../test-vectors/generate.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const vectors = loadVectors();

describe('test vector set', () => {
  it('has at least 40 valid and 20 invalid vectors', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(40);
    expect(vectors.invalid.length).toBeGreaterThanOrEqual(20);
  });

  it('is exactly what the seeded generator produces (committed files are up to date)', () => {
    const { files, manifest } = generate();
    for (const f of files) {
      const committed = createHash('sha256').update(readFileSync(join(vectors.dir, f.path))).digest('hex');
      expect(committed, f.path).toBe(createHash('sha256').update(f.bytes).digest('hex'));
    }
    expect(readFileSync(join(vectors.dir, 'manifest.json'), 'utf8')).toBe(JSON.stringify(manifest, null, 2) + '\n');
  });

  it('covers every stream error code of spec §11.1 with an invalid vector', () => {
    const codes = new Set(vectors.invalid.map((v) => v.error));
    for (const c of [
      'ECF8_BAD_MAGIC', 'ECF8_TRUNCATED', 'ECF8_UNSUPPORTED_VERSION', 'ECF8_UNSUPPORTED_FORMAT', 'ECF8_BAD_BYTES_PER_THREAD',
      'ECF8_BAD_THREADS_PER_BLOCK', 'ECF8_RESERVED_NONZERO', 'ECF8_BAD_CODE_LENGTH', 'ECF8_CODE_OVERSUBSCRIBED',
      'ECF8_CODE_INCOMPLETE', 'ECF8_BAD_BIT_COUNT', 'ECF8_SECTION_SIZE_MISMATCH', 'ECF8_TRAILING_BYTES',
      'ECF8_METADATA_CHECKSUM_MISMATCH', 'ECF8_BAD_OUTPUT_POSITIONS', 'ECF8_BAD_GAP', 'ECF8_NONZERO_PADDING',
      'ECF8_GAP_MISMATCH', 'ECF8_POSITION_MISMATCH', 'ECF8_CONTENT_CHECKSUM_MISMATCH',
    ]) expect(codes, c).toContain(c);
  });
});

describe('valid vectors', () => {
  for (const v of vectors.valid) {
    it(`${v.name}: decodes, re-encodes byte for byte, derives the same tables`, () => {
      expect(firstDifference(decode(v.stream), v.decoded)).toBe(-1);
      expect(firstDifference(decodeGpuOrder(v.stream), v.decoded)).toBe(-1);
      if (v.canonical) expect(firstDifference(encode(v.decoded, { threadsPerBlock: v.threadsPerBlock }), v.stream)).toBe(-1);
      const { header } = parseStream(v.stream);
      expect(firstDifference(buildDecodeTables(header.codeLengths).bytes, v.tables)).toBe(-1);
    });
  }
});

describe('invalid vectors', () => {
  for (const v of vectors.invalid) {
    it(`${v.name} -> ${v.error} (sequential and GPU-order decoders)`, () => {
      expect(() => decode(v.stream)).toThrow(expect.objectContaining({ code: v.error }));
      expect(() => decodeGpuOrder(v.stream)).toThrow(expect.objectContaining({ code: v.error }));
      expect(() => inspect(v.stream)).toThrow(expect.objectContaining({ code: v.error }));
    });
  }
});

describe('header-only vectors (streams too large to ship)', () => {
  for (const v of vectors.headerOnly) {
    it(`${v.name}: header parses with 64-bit counts, decode fails with ${v.error} without allocating`, () => {
      const { header } = inspectHeader(v.stream);
      expect(header.elementCount).toBe(v.elements);
      expect(header.elementCount > 2n ** 32n).toBe(true);
      expect(() => decode(v.stream)).toThrow(expect.objectContaining({ code: v.error }));
    });
  }
});

describe('API-level vectors (caller parameters: maxOutputBytes, decodeInto target)', () => {
  it('exist for both API error codes, with succeeding counterparts', () => {
    const errors = new Set(vectors.api.map((v) => v.error));
    expect(errors).toContain('ECF8_LIMIT_EXCEEDED');
    expect(errors).toContain('ECF8_OUTPUT_TOO_SMALL');
    expect(vectors.api.some((v) => !v.error && v.parameters.outputBytes !== undefined)).toBe(true);
    expect(vectors.api.some((v) => !v.error && v.parameters.outputBytes === undefined)).toBe(true);
  });
  for (const v of vectors.api) {
    it(`${v.name} -> ${v.error ?? 'decoded bytes'} (sequential and GPU-order decoders)`, () => {
      const { maxOutputBytes, outputBytes, outputOffset = 0 } = v.parameters;
      for (const [one, into] of [[decode, decodeInto], [decodeGpuOrder, decodeGpuOrderInto]] as const) {
        const run = () => {
          if (outputBytes === undefined) return one(v.stream, { maxOutputBytes });
          const out = new Uint8Array(outputBytes).fill(0xa5);
          const n = into(v.stream, out, outputOffset, { maxOutputBytes });
          expect(out.subarray(0, outputOffset).every((b) => b === 0xa5)).toBe(true);
          expect(out.subarray(outputOffset + n).every((b) => b === 0xa5)).toBe(true);
          return out.subarray(outputOffset, outputOffset + n);
        };
        if (v.error) expect(run).toThrow(expect.objectContaining({ code: v.error }));
        else expect(firstDifference(run(), v.decoded!)).toBe(-1);
      }
    });
  }
});
