/** The pure layout module (what browsers import as @ecf8/safetensors/layout): no Node imports, strict base64. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSafetensors, parseSafetensors } from '../src/index.js';
import { META, CONTAINER_FORMAT, CONTAINER_VERSION, readCompressedLayout } from '../src/layout.js';

const src = join(__dirname, '..', 'src');

function metadataWith(originalHeader: string) {
  return parseSafetensors(
    buildSafetensors([], {
      [META.format]: CONTAINER_FORMAT,
      [META.version]: CONTAINER_VERSION,
      [META.originalHeader]: originalHeader,
      [META.originalSize]: '10',
      [META.originalSha256]: '0'.repeat(64),
      [META.tensors]: '{}',
    }),
  );
}

describe('layout.ts', () => {
  it('imports nothing from Node (directly or through model-index.ts, sha256.ts, format.ts and errors.ts)', () => {
    for (const f of ['layout.ts', 'container.ts', 'model-index.ts', 'sha256.ts', 'format.ts', 'errors.ts']) {
      const text = readFileSync(join(src, f), 'utf8');
      expect(text, f).not.toMatch(/from 'node:|Buffer\./);
      for (const [, dep] of text.matchAll(/from '([^']+)'/g)) expect(['./container.js', './model-index.js', './sha256.js', './errors.js', './format.js', '@ecf8/core'], `${f} imports ${dep}`).toContain(dep);
    }
  });

  it('decodes the original header from canonical base64 only', () => {
    // "{}" padded: the 2-byte header '{}' is 'e30=' in base64; the original is then 8 + 2 = 10 bytes with no data.
    expect(readCompressedLayout(metadataWith('e30=')).original.tensors).toEqual([]);
    expect(() => readCompressedLayout(metadataWith('e31='))).toThrow(/ECF8_BAD_MODEL_METADATA: .*not canonical base64/);
    expect(() => readCompressedLayout(metadataWith('e30'))).toThrow(/ECF8_BAD_MODEL_METADATA: .*not valid base64/);
    expect(() => readCompressedLayout(metadataWith('e3=0'))).toThrow(/ECF8_BAD_MODEL_METADATA: .*not valid base64/);
  });
});
